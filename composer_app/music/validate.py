"""What a Score may hold: the one check every file reader runs before handing a Score on.

The readers differ in what they forgive in foreign files (the MIDI and MusicXML readers
clamp absurd tempos and skip meters that cannot be counted, with :func:`clamp_bpm` and
:func:`countable_meter` below), but each ends with :func:`validate_score`, so a Score that
leaves a reader can be counted in bars and seconds: no division by zero, no negative
length. README "Files and limits" states the same limits.
"""

from __future__ import annotations

import math

from .errors import FileFormatError
from .score import PPQ, Score

__all__ = [
    "MAX_NOTES", "MIN_BPM", "MAX_BPM", "MAX_NUMERATOR", "VALID_DENOMINATORS", "MAX_TICK",
    "clamp_bpm", "countable_meter", "score_problem", "validate_score",
]

MAX_NOTES = 1_000_000
MIN_BPM, MAX_BPM = 5.0, 1000.0
MAX_NUMERATOR = 64
VALID_DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)
MAX_TICK = 2**31 - 1  # about 620 hours at 120 bpm; Qt paints in 32-bit coordinates


def clamp_bpm(bpm: float) -> float:
    """A readable tempo from a foreign file: clamped to MIN_BPM..MAX_BPM."""
    return min(max(float(bpm), MIN_BPM), MAX_BPM)


def countable_meter(numerator: int, denominator: int) -> bool:
    """Whether bars of this meter can be counted (1-64 beats of a power-of-two note)."""
    return 0 < numerator <= MAX_NUMERATOR and denominator in VALID_DENOMINATORS


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tick_ok(tick) -> bool:
    return _is_int(tick) and 0 <= tick <= MAX_TICK


def score_problem(score: Score) -> str | None:
    """The first thing wrong with ``score`` in words, or None when it is sound."""
    if score.ppq != PPQ:
        return f"unsupported resolution {score.ppq} (expected {PPQ})"
    if not score.tracks:
        return "no tracks"
    for i, t in enumerate(score.tracks, 1):
        if not (_is_int(t.channel) and 0 <= t.channel <= 15):
            return f"bad track {i} {t.name!r}: channel {t.channel} (channels are 1-16)"
        if not (_is_int(t.program) and 0 <= t.program <= 127):
            return f"bad track {i} {t.name!r}: program {t.program} (programs are 0-127)"
    if len(score.notes) > MAX_NOTES:
        return f"more than {MAX_NOTES:,} notes: too large to edit"
    n_tracks = len(score.tracks)
    for n in score.notes:
        if not (_is_int(n.pitch) and 0 <= n.pitch <= 127):
            return f"bad note {_note_text(n)}: pitches are 0-127"
        if not (_tick_ok(n.start) and _is_int(n.duration) and n.duration > 0
                and n.start + n.duration <= MAX_TICK):
            return f"bad note {_note_text(n)}: a note starts at tick 0 or later and lasts"
        if not (_is_int(n.velocity) and 1 <= n.velocity <= 127):
            return f"bad note {_note_text(n)}: velocities are 1-127"
        if not (_is_int(n.track) and 0 <= n.track < n_tracks):
            return f"bad note {_note_text(n)}: there is no track {n.track + 1}"
    if not score.tempos:
        return "no tempo"
    for t in score.tempos:
        if not _tick_ok(t.tick):
            return f"bad tempo change at tick {t.tick}"
        bpm = t.bpm
        if not (isinstance(bpm, (int, float)) and math.isfinite(bpm)
                and MIN_BPM <= bpm <= MAX_BPM):
            return (f"tempo {bpm} bpm at tick {t.tick} "
                    f"(a tempo is {MIN_BPM:g}-{MAX_BPM:g} bpm)")
    if not score.time_signatures:
        return "no meter"
    for ts in score.time_signatures:
        if not _tick_ok(ts.tick):
            return f"bad meter change at tick {ts.tick}"
        if not (_is_int(ts.numerator) and _is_int(ts.denominator)
                and countable_meter(ts.numerator, ts.denominator)):
            return (f"meter {ts.numerator}/{ts.denominator} at tick {ts.tick} cannot be counted "
                    f"(1-{MAX_NUMERATOR} beats of a whole, half, quarter … 64th note)")
    for ks in score.key_signatures:
        if not _tick_ok(ks.tick):
            return f"bad key change at tick {ks.tick}"
    for mk in getattr(score, "markers", ()):
        if not _tick_ok(mk.tick) or not isinstance(mk.name, str):
            return f"bad marker at tick {mk.tick}"
    return None


def _note_text(n) -> str:
    return (f"(pitch {n.pitch}, start {n.start}, length {n.duration}, velocity {n.velocity}, "
            f"track {n.track + 1 if _is_int(n.track) else n.track})")


def validate_score(score: Score, where: str, label: str = "not a usable score") -> Score:
    """``score`` when it is sound; else :class:`FileFormatError` ``"WHERE: LABEL (why)"``."""
    problem = score_problem(score)
    if problem:
        raise FileFormatError(f"{where}: {label} ({problem})")
    return score
