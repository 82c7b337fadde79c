"""Quantizing for notation only: what a score writer (MusicXML, a score view) shows.

A performance (a piano étude played in, a karaoke file) has onsets and lengths off any
grid a notation can spell (music21 gives up with ``Cannot convert "2048th" duration``).
:func:`notation_copy` returns a *copy* whose onsets and ends are snapped to a grid, a
straight one (default sixteenths) or, where it is closer, the triplet one a level up
(eighth-note triplets for a sixteenth grid), as music21's own ``quantize`` does; the piece
itself is never changed. A score already on a fine notatable grid (down to 128ths,
triplets and quintuplets of 64ths) is left as it is.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from .score import Score

__all__ = ["DEFAULT_GRID", "GRIDS", "MAX_NOTATION_BARS", "is_notatable", "notation_copy",
           "quantize_tick"]

DEFAULT_GRID = 16  # a sixteenth note
GRIDS = (4, 8, 16, 32)


# The longest piece written as notation (MusicXML): music21 spells a bar in about 4 ms at
# 1,000 bars and 11 ms at 5,000 (56 s), and a note of a million bars took 7.7 GB.
MAX_NOTATION_BARS = 4000


def _notatable_tick(tick: int, ppq: int) -> bool:
    """Whether ``tick`` is a position a notation spells without absurd note values: its
    place in the beat is a multiple of a 128th, or of a triplet or quintuplet of a 64th."""
    den = Fraction(tick % ppq, ppq).denominator
    while den % 2 == 0:
        den //= 2
    twos = Fraction(tick % ppq, ppq).denominator // den
    return (den == 1 and twos <= 32) or (den in (3, 5) and twos <= 16)


def is_notatable(score: Score) -> bool:
    """Whether every note's start and end sits on a grid a notation can spell."""
    ppq = score.ppq
    return all(_notatable_tick(n.start, ppq) and _notatable_tick(n.end, ppq)
               for n in score.notes)


def _steps(grid: int, triplets: bool, ppq: int) -> tuple[int, ...]:
    if grid not in GRIDS:
        raise ValueError(f"grid 1/{grid}: use one of {', '.join(f'1/{g}' for g in GRIDS)}")
    straight = ppq * 4 // grid
    return (straight, straight * 4 // 3) if triplets else (straight,)


def quantize_tick(tick: int, steps: tuple[int, ...]) -> int:
    """The nearest point of any of the grids ``steps``; the first (straight) wins ties."""
    best = None
    for step in steps:
        point = (tick + step // 2) // step * step
        if best is None or abs(point - tick) < abs(best - tick):
            best = point
    return best


def notation_copy(score: Score, grid: int = DEFAULT_GRID, triplets: bool = True,
                  force: bool = False) -> tuple[Score, str | None]:
    """(the score to write as notation, the one line saying how it was quantized or
    None when it needed nothing). ``score`` is not changed; ``force`` quantizes even a
    score that looks notatable (when the writer could not spell it after all)."""
    if not force and is_notatable(score):
        return score, None
    steps = _steps(grid, triplets, score.ppq)
    out = score.copy()
    moved = 0
    notes = []
    for n in out.notes:
        start = quantize_tick(n.start, steps)
        end = quantize_tick(n.end, steps)
        if end <= start:  # a note shorter than the grid lasts one straight step
            end = start + steps[0]
        if (start, end) != (n.start, n.end):
            moved += 1
        notes.append(replace(n, start=start, duration=end - start))
    out.notes = notes
    # The maps move with the notes so nothing falls between grid points.
    out.tempos = _snapped(out.tempos, steps)
    out.time_signatures = _snapped(out.time_signatures, steps)
    out.key_signatures = _snapped(out.key_signatures, steps)
    # Lyrics, dynamics and chord symbols stay on the notes they were at.
    out.text_events = [replace(t, tick=quantize_tick(t.tick, steps)) for t in out.text_events]
    out.sort()
    kind = f"1/{grid}" + (" (triplets allowed)" if triplets else "")
    return out, (f"quantized to {kind} for the notation only: {moved:,} of "
                 f"{len(notes):,} notes moved in the file written; the piece is unchanged")


def _snapped(items: list, steps: tuple[int, ...]) -> list:
    by_tick = {}
    for item in items:
        tick = quantize_tick(item.tick, steps)
        by_tick[tick] = replace(item, tick=tick)
    return [by_tick[t] for t in sorted(by_tick)]
