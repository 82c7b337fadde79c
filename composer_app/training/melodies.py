"""Monophonic melodies from music21's bundled corpus, for the continuer.

Sources (nothing is downloaded): the ABC collections ``essenFolksong`` (~8,500 tunes),
``oneills1850`` (~2,000) and ``ryansMammoth`` (~1,000), and the soprano lines of the Bach
chorales of the harmonizer's split (``splits/bach_chorales.json``, when it exists).

Each melody is a plain dict, cheap to pickle::

    {"id": "essen/altdeu10.abc#3", "source": "essen",
     "meter": [6, 8], "key": [tonic_pc, "major"|"minor"],
     "phase": ticks from the first bar line before the first note to the first note,
     "notes": [[pitch, start, duration], ...]}   # ticks at 480 per quarter, start 0 = first note

Parsing uses every core (a process pool over single tunes) and the result is cached under
``paths.cache_dir()``; a second call reads the cache. The split into train/valid/test is
fixed in ``splits/melodies.json`` (tune ids), written once by :func:`make_split`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import random
import re
import sys
import time
from fractions import Fraction
from pathlib import Path

from composer_app import paths
from composer_app.music.atomic import atomic_write

log = logging.getLogger(__name__)

PPQ = 480
CACHE_VERSION = 1
ABC_SOURCES = {"essen": "essenFolksong", "oneills": "oneills1850", "ryans": "ryansMammoth"}
SPLIT_PATH = Path(__file__).with_name("splits") / "melodies.json"
CHORALE_SPLIT_PATH = Path(__file__).with_name("splits") / "bach_chorales.json"

__all__ = ["load_melodies", "load_split", "make_split", "corpus_tunes", "SPLIT_PATH"]


# -- finding the tunes -------------------------------------------------------------------


def _corpus_root() -> Path:
    import music21

    return Path(music21.__file__).resolve().parent / "corpus"


def corpus_tunes(sources=("essen", "oneills", "ryans")) -> list[tuple[str, str]]:
    """(id, abc text) for every tune of the ABC collections, in a stable order.

    The ABC files hold many tunes each; a tune starts at an ``X:`` line. Splitting the
    files lets the pool spread single tunes over the cores.
    """
    root = _corpus_root()
    tunes: list[tuple[str, str]] = []
    for source in sources:
        folder = root / ABC_SOURCES[source]
        for path in sorted(folder.glob("*.abc")):
            text = path.read_text(encoding="latin-1")
            chunks = re.split(r"(?m)^(?=X:)", text)
            for chunk in chunks:
                m = re.match(r"X:\s*(\d+)", chunk)
                if m:
                    tunes.append((f"{source}/{path.name}#{m.group(1)}", chunk))
    return tunes


def chorale_ids() -> dict[str, list[str]] | None:
    """The harmonizer's chorale split (part -> list of chorale ids), if committed yet."""
    if not CHORALE_SPLIT_PATH.exists():
        return None
    data = json.loads(CHORALE_SPLIT_PATH.read_text())
    parts = data.get("splits", data)
    out = {}
    for part in ("train", "valid", "test"):
        if part in parts:
            out[part] = [str(x) for x in parts[part]]
    return out or None


# -- parsing (runs in pool workers) --------------------------------------------------------


def _to_ticks(ql) -> int:
    return int(round(Fraction(ql).limit_denominator(96) * PPQ))


def _melody_from_part(part, tune_id: str, source: str) -> dict | None:
    """Extract a monophonic melody (top note of chords) from a music21 part or score."""
    from music21 import chord, key, meter, note

    flat = part.flatten()
    sigs = list(flat.getElementsByClass(meter.TimeSignature))
    if not sigs:
        return None
    if len({s.ratioString for s in sigs}) != 1:
        return None  # meter changes: keep the data simple
    ts = sigs[0]
    num, den = ts.numerator, ts.denominator
    bar_ticks = num * PPQ * 4 // den
    if bar_ticks <= 0 or bar_ticks > 4 * 4 * PPQ // 2 * 2:  # up to 8 quarters (e.g. 4/2)
        return None
    notes: list[list[int]] = []
    for el in flat.notes:
        if isinstance(el, note.Note):
            pitch = el.pitch.midi
        elif isinstance(el, chord.Chord) and len(el.pitches):
            pitch = max(p.midi for p in el.pitches)
        else:
            continue
        start, dur = _to_ticks(el.offset), _to_ticks(el.quarterLength)
        if dur <= 0:
            continue  # grace notes
        if notes and start < notes[-1][1] + notes[-1][2]:
            if start == notes[-1][1]:
                notes[-1][0] = max(notes[-1][0], pitch)
                continue
            notes[-1][2] = start - notes[-1][1]  # overlap: cut the earlier note
        notes.append([pitch, start, dur])
    if len(notes) < 8:
        return None
    # Bar phase: where the first note falls in its bar. Measures after the first are
    # full; the first may be a pickup.
    measures = list(part.getElementsByClass("Measure")) if hasattr(part, "getElementsByClass") else []
    if not measures and hasattr(part, "parts") and len(part.parts):
        measures = list(part.parts[0].getElementsByClass("Measure"))
    if len(measures) >= 2:
        ref = _to_ticks(measures[1].offset)
    elif measures:
        ref = _to_ticks(measures[0].offset) + _to_ticks(getattr(measures[0], "paddingLeft", 0))
    else:
        ref = 0
    first = notes[0][1]
    phase = (first - ref) % bar_ticks
    for n in notes:
        n[1] -= first
    ks = None
    keys = list(flat.getElementsByClass(key.Key))
    if keys:
        k = keys[0]
        ks = [k.tonic.pitchClass, "minor" if k.mode == "minor" else "major"]
    if ks is None:
        from composer_app.music.theory import detect_key

        k = detect_key((n[0], n[2]) for n in notes)
        ks = [k.tonic, k.mode]
    return {"id": tune_id, "source": source, "meter": [num, den], "key": ks,
            "phase": phase, "notes": notes}


def _parse_tune(item: tuple[str, str]) -> dict | None:
    tune_id, text = item
    try:
        import warnings

        from music21 import converter

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = converter.parse(text, format="abc")
        if hasattr(parsed, "scores") and not hasattr(parsed, "parts"):
            parsed = parsed.scores[0]
        part = parsed.parts[0] if getattr(parsed, "parts", None) else parsed
        return _melody_from_part(part, tune_id, tune_id.split("/")[0])
    except Exception as exc:  # a tune music21 cannot read: skip it, say so in the log
        log.debug("skip %s: %s", tune_id, exc)
        return None


def _parse_chorale(chorale_id: str) -> dict | None:
    try:
        from music21 import corpus

        score = corpus.parse(f"bach/{chorale_id}")
        if len(score.parts) != 4:
            return None
        soprano = score.parts[0]
        mel = _melody_from_part(soprano, f"bach/{chorale_id}", "bach")
        return mel
    except Exception as exc:
        log.debug("skip %s: %s", chorale_id, exc)
        return None


def _job(item):
    kind, payload = item
    return _parse_tune(payload) if kind == "abc" else _parse_chorale(payload)


# -- the cached data set -------------------------------------------------------------------


def _cache_path(tag: str) -> Path:
    return paths.cache_dir() / f"melodies-v{CACHE_VERSION}-{tag}.pkl"


def _progress_line(done: int, total: int, t0: float) -> None:
    rate = done / max(time.time() - t0, 1e-6)
    eta = (total - done) / rate if rate > 0 else 0
    print(f"\rparsing melodies: {done}/{total} ({100 * done // max(total, 1)}%), "
          f"ETA {eta:.0f} s   ", end="", file=sys.stderr, flush=True)


def load_melodies(sources=("essen", "oneills", "ryans", "bach"), processes: int | None = None,
                  quiet: bool = False) -> list[dict]:
    """All melodies of ``sources``, parsed once (all cores) and cached.

    The ABC tunes and the Bach sopranos are cached apart, so the chorales can join
    once the harmonizer's split exists without parsing the folk tunes again.
    """
    abc_sources = tuple(s for s in sources if s != "bach")
    out: list[dict] = []
    if abc_sources:
        jobs = [("abc", t) for t in corpus_tunes(abc_sources)]
        out += _cached_parse("-".join(abc_sources), jobs, processes, quiet)
    chorales = chorale_ids() if "bach" in sources else None
    if chorales:
        ids = sorted({c for part in chorales.values() for c in part})
        tag = "bach-" + hashlib.sha1(json.dumps(ids).encode()).hexdigest()[:10]
        out += _cached_parse(tag, [("bach", c) for c in ids], processes, quiet)
    return out


def _cached_parse(tag: str, jobs: list, processes: int | None, quiet: bool) -> list[dict]:
    cache = _cache_path(tag)
    if cache.exists():
        with open(cache, "rb") as fh:
            return pickle.load(fh)
    processes = processes or os.cpu_count() or 1
    t0 = time.time()
    results: list[dict] = []
    if processes > 1:
        import multiprocessing as mp

        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ctx.Pool(processes) as pool:
            for i, mel in enumerate(pool.imap(_job, jobs, chunksize=16), 1):
                if mel:
                    results.append(mel)
                if not quiet and (i % 100 == 0 or i == len(jobs)):
                    _progress_line(i, len(jobs), t0)
    else:
        for i, item in enumerate(jobs, 1):
            mel = _job(item)
            if mel:
                results.append(mel)
            if not quiet and (i % 100 == 0 or i == len(jobs)):
                _progress_line(i, len(jobs), t0)
    if not quiet:
        print(f"\nparsed {len(results)} melodies of {len(jobs)} ({tag}) in "
              f"{time.time() - t0:.0f} s", file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(cache, lambda fh: pickle.dump(results, fh, protocol=pickle.HIGHEST_PROTOCOL))
    return results


# -- the fixed split -------------------------------------------------------------------------


def make_split(melodies: list[dict], seed: int = 4, valid: float = 0.05,
               test: float = 0.05) -> dict:
    """Random split of the ABC tunes by id; Bach sopranos follow the chorale split."""
    chorales = chorale_ids() or {}
    bach_part = {f"bach/{c}": part for part, ids in chorales.items() for c in ids}
    abc_ids = sorted(m["id"] for m in melodies if m["source"] != "bach")
    rng = random.Random(seed)
    rng.shuffle(abc_ids)
    n_valid, n_test = int(len(abc_ids) * valid), int(len(abc_ids) * test)
    split = {
        "test": sorted(abc_ids[:n_test]),
        "valid": sorted(abc_ids[n_test:n_test + n_valid]),
        "train": sorted(abc_ids[n_test + n_valid:]),
    }
    for mid, part in sorted(bach_part.items()):
        split[part].append(mid)
    return {"version": 1, "note": "tune ids of composer_app.training.melodies; "
            "Bach sopranos follow splits/bach_chorales.json", "seed": seed, **split}


def load_split() -> dict[str, set[str]]:
    data = json.loads(SPLIT_PATH.read_text())
    return {part: set(data[part]) for part in ("train", "valid", "test")}


def split_melodies(melodies: list[dict]) -> dict[str, list[dict]]:
    """Melodies by part. Ids missing from the split file (new chorales) go to train
    only when they are Bach chorales of the chorale split's train part."""
    split = load_split()
    chorales = chorale_ids() or {}
    bach_train = {f"bach/{c}" for c in chorales.get("train", [])}
    out: dict[str, list[dict]] = {"train": [], "valid": [], "test": []}
    for mel in melodies:
        for part in ("train", "valid", "test"):
            if mel["id"] in split[part]:
                out[part].append(mel)
                break
        else:
            if mel["id"] in bach_train:
                out["train"].append(mel)
    return out
