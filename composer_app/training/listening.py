"""``composer-app listening-test make``: the passages and the systems' versions of them.

The blind test itself (rendering, blinding, the page, the key, scoring) lives in
:mod:`composer_app.listening`, which never harmonizes; this module picks the passages,
has each system harmonize the soprano, and hands the pairs over (:func:`make_pairs`,
passed in by the CLI).

Sources: ``test-chorales`` (the held-out test split: Bach's own harmonization is the
original, the soprano given as a bare melody as in ``evaluate harmonizer``) or files
holding a melody with its own harmony (the top voice, or the track named Soprano, is
harmonized anew; the file's voices are the original).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from composer_app.listening.passage import PairSpec, Window, rendition, windows
from composer_app.ml import grid
from composer_app.music import Score, Track, UserError
from composer_app.music.gm import DRUM_CHANNEL

SYSTEMS = ("shipped", "network-alone")
MIN_SHARE = 0.5  # a passage shorter than this share of --seconds is not used


@dataclass
class Piece:
    name: str
    melody: Score  # one track
    original: Score


def schedules() -> dict:
    """The sampler set-ups by system name: those `evaluate harmonizer` compares."""
    from .harmonizer_eval import systems

    columns = systems()
    return {"shipped": columns["model + rules"], "network-alone": columns["network alone"]}


def parse_systems(text: str | None) -> list[str]:
    names = [s.strip() for s in (text or ",".join(SYSTEMS)).split(",") if s.strip()]
    bad = [s for s in names if s not in SYSTEMS]
    if bad or not names:
        raise UserError(f"unknown system {', '.join(bad) or '(none)'}; "
                        f"known: {', '.join(SYSTEMS)}")
    return list(dict.fromkeys(names))


def chorale_pieces() -> list[Piece]:
    from .chorales import build_chorales, split_chorales
    from .harmonizer import soprano_score

    out = []
    for c in split_chorales(build_chorales())["test"]:
        melody, lead = soprano_score(c)
        bach = grid.grid_to_score(c.tokens, c.numerator, c.denominator)
        bach.notes = [n.moved(start=n.start + lead * grid.STEP_TICKS) for n in bach.notes]
        bach.key_signatures = list(melody.key_signatures)
        out.append(Piece(c.name, melody, bach))
    return out


def file_piece(path: str) -> Piece:
    from composer_app.music import load_score

    score = load_score(path)
    voices = [t for t in score.tracks_with_notes() if score.tracks[t].channel != DRUM_CHANNEL]
    if len(voices) < 2:
        raise UserError(f"{path}: one voice only; a listening test needs the file's own "
                        "harmony (a melody and the voices under it) as the original")
    names = [score.tracks[t].name.lower() for t in voices]
    top = voices[names.index("soprano")] if "soprano" in names else max(
        voices, key=lambda t: sum(n.pitch for n in score.track_notes(t))
        / len(score.track_notes(t)))
    melody = Score(notes=[n.moved(track=0, locked=False) for n in score.track_notes(top)],
                   tracks=[Track("Melody")], tempos=list(score.tempos),
                   time_signatures=list(score.time_signatures),
                   key_signatures=list(score.key_signatures), ppq=score.ppq)
    return Piece(Path(path).name, melody, score)


def pick_passages(pieces: list[Piece], pairs: int, seconds: float,
                  rng: random.Random) -> list[tuple[Piece, Window]]:
    """``pairs`` windows, at most one per piece until every piece has given one (a
    piece's first window first), in the order ``rng`` shuffles the pieces."""
    per_piece = []
    order = list(pieces)
    rng.shuffle(order)
    for p in order:
        ws = [w for w in windows(p.melody, seconds)
              if w.seconds(p.melody.ppq) >= MIN_SHARE * seconds]
        per_piece.append((p, ws))
    total = sum(len(ws) for _, ws in per_piece)
    if total < pairs:
        raise UserError(f"only {total} passage{'s' if total != 1 else ''} of about {seconds:g} s "
                        f"in the source for {pairs} pairs; ask for fewer --pairs, shorter "
                        "--seconds or give more music")
    out: list[tuple[Piece, Window]] = []
    depth = 0
    while len(out) < pairs:
        for p, ws in per_piece:
            if depth < len(ws) and len(out) < pairs:
                out.append((p, ws[depth]))
        depth += 1
    return out


def harmonized(piece: Piece, window: Window, schedule, seed: int, runtime) -> Score:
    """The system's four voices under the piece's melody, generated through the bar
    after the window (the rest of the melody is context)."""
    from composer_app.ml.harmonizer import harmonize

    m = piece.melody
    end = min(m.end_tick, m.bar_start(m.bar_of(window.end) + 1))
    return harmonize(m, start=0, end=max(end, window.end), seed=seed, runtime=runtime,
                     schedule=schedule)[0]


def make_pairs(source: list[str], pairs: int, seconds: float, systems: list[str], seed: int,
               progress: Callable[[int, int], None] | None = None) -> list[PairSpec]:
    """``pairs`` pairs from ``source`` (``["test-chorales"]`` or file paths), the systems
    spread evenly over them in an order drawn from ``seed``."""
    from composer_app.ml.runtime import Runtime

    systems = parse_systems(",".join(systems))
    if source == ["test-chorales"]:
        pieces = chorale_pieces()
    elif "test-chorales" in source:
        raise UserError("--source is either test-chorales or files, not both")
    else:
        pieces = [file_piece(f) for f in source]
    rng = random.Random(seed)
    chosen = pick_passages(pieces, pairs, seconds, rng)
    assigned = [systems[i % len(systems)] for i in range(pairs)]
    rng.shuffle(assigned)
    runtime = Runtime("cpu")  # the model loads once
    plans = schedules()
    specs = []
    for i, ((piece, window), system) in enumerate(zip(chosen, assigned, strict=True)):
        version = harmonized(piece, window, plans[system], seed * 1000 + i, runtime)
        specs.append(PairSpec(piece.name, (window.first_bar, window.last_bar), system,
                              rendition(piece.original, window), rendition(version, window),
                              window.end - window.start))
        if progress:
            progress(i + 1, pairs)
    return specs
