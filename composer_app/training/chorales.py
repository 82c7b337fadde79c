"""The Bach chorale data set: music21's bundled corpus on a sixteenth-note grid.

Each four-part chorale becomes a :class:`ChoraleGrid` (tokens of the four voices per
sixteenth, position in the bar, fermatas). Parsing all of them with music21 takes tens
of seconds, so the first build runs on every core and caches the result under
``paths.cache_dir()``; later builds load the cache.

The split by BWV number (all chorales of one BWV stay in one part) is the committed
file ``splits/bach_chorales.json``; :func:`make_split` wrote it and is kept to show how.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from composer_app.ml import grid
from composer_app.music import UserError
from composer_app.music.atomic import atomic_write, atomic_write_bytes

log = logging.getLogger(__name__)

SPLIT_FILE = Path(__file__).resolve().parent / "splits" / "bach_chorales.json"
CACHE_VERSION = 3  # 2: read by the app's MusicXML reader (fermatas on ties, 3/4 meters);
# 3: that reader keeps grace notes as 32nds (bwv299, bwv315) and a staff's voices apart
_SCORE_SUFFIXES = (".mxl", ".xml", ".krn")


@dataclass
class ChoraleGrid:
    """One chorale on the grid. ``tokens`` is (4, T) int16: S, A, T, B."""

    name: str
    tokens: np.ndarray
    pos: np.ndarray  # (T,) sixteenths since the bar line
    fermata: np.ndarray  # (T,) 0/1
    key_sharps: int  # key signature, for the record
    numerator: int  # meter of the first bar
    denominator: int

    @property
    def steps(self) -> int:
        return int(self.tokens.shape[1])


def bwv_number(name: str) -> int | None:
    """The BWV number of a corpus name: "bwv248.12-2" -> 248; None if it has none."""
    m = re.match(r"bwv(\d+)", name)
    return int(m.group(1)) if m else None


def corpus_names() -> list[str]:
    """Names (file stems) of music21's bundled Bach scores, without duplicates."""
    from music21 import corpus

    names: dict[str, Path] = {}
    for path in corpus.getComposer("bach"):
        if path.suffix in _SCORE_SUFFIXES and bwv_number(path.stem) is not None:
            names.setdefault(path.stem, path)
    return sorted(names, key=lambda n: (bwv_number(n), n))


# -- parsing -----------------------------------------------------------------------------


def parse_chorale(name: str) -> ChoraleGrid | str:
    """Parse one corpus chorale onto the grid; a string says why it was skipped.

    Read by the app's own MusicXML reader (:func:`~composer_app.music.musicxml.
    score_from_music21`), so the model trains on exactly what a user's file gives it:
    ties, fermatas (on a tie's last note too), the meter and the key as the app sees them.
    """
    from music21 import corpus

    from composer_app.music.musicxml import score_from_music21

    try:
        stream = corpus.parse(f"bach/{name}")
    except Exception as exc:  # music21 raises many kinds; a skip with the reason is enough
        return f"cannot parse ({type(exc).__name__})"
    try:
        score = score_from_music21(stream)
    except UserError as exc:
        return f"cannot read ({exc})"
    return chorale_grid(name, score)


def chorale_grid(name: str, score) -> ChoraleGrid | str:
    """A four-voice :class:`Score` on the training grid from its first note (a pickup's
    padding to the bar line is left out; ``pos`` says where in the bar each step is)."""
    if len(score.tracks) != 4:
        return f"{len(score.tracks)} parts, not 4"
    if any(not score.track_notes(v) for v in range(4)):
        return "an empty part"
    for n in score.notes:
        if not grid.PITCH_LO <= n.pitch <= grid.PITCH_HI:
            return f"pitch {n.pitch} outside the grid's range"
    first = min(n.start for n in score.notes) // grid.STEP_TICKS
    end = -(-score.end_tick // grid.STEP_TICKS)
    steps = end - first
    tokens = grid.score_to_grid(score, end)[:, first:].astype(np.int16)
    fermata = np.zeros(steps, dtype=np.int8)
    names = [t.name for t in score.tracks]
    soprano = names.index(grid.VOICE_NAMES[0]) if grid.VOICE_NAMES[0] in names else 0
    held = [(n.pitch, n.start, n.duration) for n in score.track_notes(soprano) if n.fermata]
    for start, stop, _ in grid.note_spans(held, steps, origin=first * grid.STEP_TICKS):
        fermata[start:stop] = 1
    sig = score.time_signatures[0]
    return ChoraleGrid(
        name=name,
        tokens=tokens,
        pos=grid.bar_positions(score, steps, first).astype(np.int16),
        fermata=fermata,
        key_sharps=score.key_signatures[0].key.sharps if score.key_signatures else 0,
        numerator=sig.numerator,
        denominator=sig.denominator,
    )


def _parse_named(name: str):
    return name, parse_chorale(name)


# -- building and caching ----------------------------------------------------------------


def _cache_path() -> Path:
    from composer_app.paths import cache_dir

    return cache_dir() / f"bach_chorales_grid_v{CACHE_VERSION}_{grid.GRID_VERSION}.pkl"


def build_chorales(progress: Callable[[int, int], None] | None = None,
                   workers: int | None = None, use_cache: bool = True) -> dict[str, ChoraleGrid]:
    """All four-part chorales by name, parsed on ``workers`` processes and cached.

    Skipped files are logged with the reason. ``progress(done, total)`` is called while
    parsing (not when the cache answers).
    """
    cache = _cache_path()
    if use_cache and cache.is_file():
        try:
            with cache.open("rb") as fh:
                data = pickle.load(fh)
            if data.get("version") == CACHE_VERSION:
                return {name: ChoraleGrid(**fields) for name, fields in data["chorales"].items()}
        except Exception as exc:  # a stale or broken cache is rebuilt
            log.warning("rebuilding the chorale cache (%s)", exc)
    names = corpus_names()
    chorales: dict[str, ChoraleGrid] = {}
    skipped: dict[str, str] = {}
    workers = workers or min(len(names), os.cpu_count() or 1)
    done = 0
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("spawn" if sys.platform == "darwin" else "fork").Pool(workers) as pool:
            for name, result in pool.imap_unordered(_parse_named, names, chunksize=4):
                done += 1
                _collect(name, result, chorales, skipped)
                if progress:
                    progress(done, len(names))
    else:
        for name in names:
            done += 1
            _collect(name, parse_chorale(name), chorales, skipped)
            if progress:
                progress(done, len(names))
    for name, why in sorted(skipped.items()):
        log.info("skipped %s: %s", name, why)
    log.info("%d four-part chorales, %d files skipped", len(chorales), len(skipped))
    cache.parent.mkdir(parents=True, exist_ok=True)
    # plain dicts, so the cache does not depend on where this class was imported from
    plain = {name: dict(vars(c)) for name, c in chorales.items()}
    atomic_write(cache, lambda fh: pickle.dump(
        {"version": CACHE_VERSION, "chorales": plain, "skipped": skipped}, fh))
    return chorales


def _collect(name, result, chorales, skipped) -> None:
    if isinstance(result, str):
        skipped[name] = result
    else:
        chorales[name] = result


def print_progress(label: str) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        if done % 25 and done < total:
            return
        print(f"\r{label}: {done}/{total}", end="" if done < total else "\n",
              file=sys.stderr, flush=True)

    return report


# -- the split ---------------------------------------------------------------------------


def load_split(path: Path = SPLIT_FILE) -> dict[str, list[str]]:
    """{"train": [...], "valid": [...], "test": [...]} of corpus names."""
    try:
        data = json.loads(Path(path).read_text())
        return {k: list(data[k]) for k in ("train", "valid", "test")}
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"{path}: cannot read the chorale split ({exc})") from None


def split_chorales(chorales: dict[str, ChoraleGrid]) -> dict[str, list[ChoraleGrid]]:
    split = load_split()
    return {k: [chorales[n] for n in names if n in chorales] for k, names in split.items()}


def make_split(names: list[str], seed: int = 20260101) -> dict:
    """Split by BWV number, about 80/10/10 of the chorales (whole BWV groups)."""
    groups: dict[int, list[str]] = {}
    for n in names:
        groups.setdefault(bwv_number(n), []).append(n)
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    total = len(names)
    out = {"train": [], "valid": [], "test": []}
    for bwv in order:
        if len(out["test"]) < 0.1 * total:
            part = "test"
        elif len(out["valid"]) < 0.1 * total:
            part = "valid"
        else:
            part = "train"
        out[part].extend(groups[bwv])
    for k in out:
        out[k].sort(key=lambda n: (bwv_number(n), n))
    return out


def main() -> None:  # python -m composer_app.training.chorales: (re)write the split file
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    chorales = build_chorales(progress=print_progress("parsing chorales"))
    split = make_split(sorted(chorales))
    data = {
        "description": "Bach four-part chorales of music21's corpus, split by BWV number "
                       "(whole BWV groups), about 80/10/10. The test split is never trained on.",
        "corpus": "music21 corpus 'bach' (names are file stems: corpus.parse('bach/NAME'))",
        "seed": 20260101,
        **{k: split[k] for k in ("train", "valid", "test")},
    }
    SPLIT_FILE.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(SPLIT_FILE, (json.dumps(data, indent=1) + "\n").encode())
    print({k: len(v) for k, v in split.items()})


if __name__ == "__main__":
    main()
