"""Passages: whole-bar windows of a piece, and the fixed rendition clips are heard in.

Every clip of a test sounds with the same instrument, tempo and velocity, so what a
listener judges is the notes: a file's own tempo, programs, dynamics, mutes and key
signature are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from composer_app.music import Note, Score, TempoChange, TimeSignature, Track
from composer_app.music.gm import DRUM_CHANNEL, MELODIC_CHANNELS

INSTRUMENT = 0  # General MIDI Acoustic Grand Piano, for every clip
TEMPO_BPM = 80.0  # quarter notes per minute, for every clip
VELOCITY = 80


@dataclass(frozen=True)
class Window:
    """Ticks ``[start, end)`` of a piece; ``end`` is a bar line, ``start`` is the first
    onset (a pickup) or a bar line. ``first_bar``/``last_bar`` count from 1."""

    start: int
    end: int
    first_bar: int
    last_bar: int

    def seconds(self, ppq: int, bpm: float = TEMPO_BPM) -> float:
        return (self.end - self.start) / ppq * 60.0 / bpm


@dataclass
class PairSpec:
    """One pair before blinding: renditions (:func:`rendition`) of a passage."""

    passage: str  # where it came from (kept in the key only)
    bars: tuple[int, int]  # first and last bar, counted from 1
    system: str
    original: Score
    version: Score
    length: int  # ticks of the window (the renditions' ticks): the clips' music


def windows(score: Score, seconds: float, bpm: float = TEMPO_BPM,
            until: int | None = None) -> list[Window]:
    """Consecutive windows of whole bars, each as long as fits in ``seconds`` at ``bpm``
    (at least one bar), from the first note to the last bar line before ``until``
    (default: the end of the last note, up to the bar line closing it; the last window
    may be shorter)."""
    audible = [n for n in score.notes if score.tracks[n.track].channel != DRUM_CHANNEL]
    if not audible:
        return []
    end_tick = max(n.end for n in audible) if until is None else int(until)
    cap = score.bar_start(score.bar_of(max(end_tick, 1) - 1) + 1)  # the bar line closing it
    limit = seconds * bpm / 60.0 * score.ppq  # ticks that fit in `seconds`
    start = min(n.start for n in audible)
    out: list[Window] = []
    while start < cap:
        bar = score.bar_of(start) + 1  # the first bar line after `start`
        while score.bar_start(bar + 1) - start <= limit and score.bar_start(bar + 1) <= cap:
            bar += 1
        end = score.bar_start(bar)
        if end > cap or not any(start <= n.start < end for n in audible):
            break
        out.append(Window(start, end, score.bar_of(start) + 1, score.bar_of(end - 1) + 1))
        start = end
    return out


def rendition(score: Score, window: Window, bpm: float = TEMPO_BPM,
              program: int = INSTRUMENT, velocity: int = VELOCITY) -> Score:
    """The notes of ``score`` sounding in ``window``, cut to it, moved to start at tick 0,
    on ``program`` at ``bpm`` and one velocity (drum tracks dropped)."""
    tracks: list[Track] = []
    index: dict[int, int] = {}
    for t in score.tracks_with_notes():
        if score.tracks[t].channel == DRUM_CHANNEL or len(tracks) >= len(MELODIC_CHANNELS):
            continue
        index[t] = len(tracks)
        tracks.append(Track(score.tracks[t].name, MELODIC_CHANNELS[len(tracks)], program))
    # A note held into the window sounds from its start; every note stops at its end.
    notes = [Note(n.pitch, max(n.start, window.start) - window.start,
                  min(n.end, window.end) - max(n.start, window.start), velocity, index[n.track])
             for n in score.notes
             if n.track in index and n.start < window.end and n.end > window.start]
    sig = score.time_signature_at(window.start)
    out = Score(notes=notes, tracks=tracks or [Track()], tempos=[TempoChange(0, bpm)],
                time_signatures=[TimeSignature(0, sig.numerator, sig.denominator)],
                ppq=score.ppq)
    out.sort()
    return out
