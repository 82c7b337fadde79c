"""The sixteenth-note grid the harmonizer reads and writes.

Each voice at each step is one token: ``REST``, ``HOLD`` (the previous pitch goes on) or
a pitch. ``MASK`` is input only: "unknown here, to be sampled". Pure numpy; no torch.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from composer_app.music import PPQ, VOICE_NAMES, Note, Score, TimeSignature, Track
from composer_app.music.gm import CHOIR_AAHS

GRID_VERSION = "g1"
STEP_TICKS = PPQ // 4  # one sixteenth note

MASK, REST, HOLD = 0, 1, 2
PITCH_LO, PITCH_HI = 28, 90  # E1..F#6: every chorale voice plus transpositions
FIRST_PITCH = 3
VOCAB_SIZE = FIRST_PITCH + PITCH_HI - PITCH_LO + 1
POS_MAX = 32  # positions in the bar are clamped to 0..POS_MAX-1 sixteenths

CHOIR_PROGRAM = CHOIR_AAHS  # the four voices sound as a choir


def pitch_token(pitch: int) -> int:
    if not PITCH_LO <= pitch <= PITCH_HI:
        raise ValueError(f"pitch {pitch} outside the grid ({PITCH_LO}..{PITCH_HI})")
    return FIRST_PITCH + pitch - PITCH_LO


def token_pitch(token: int) -> int:
    return PITCH_LO + int(token) - FIRST_PITCH


def vocabulary() -> dict:
    """The vocabulary a version-1 harmonizer checkpoint stores (the shipped one); version 2
    stores :func:`composer_app.ml.checkpoint.grid_vocabulary` and the model's own fields."""
    return {"mask": MASK, "rest": REST, "hold": HOLD, "pitch_lo": PITCH_LO,
            "pitch_hi": PITCH_HI, "first_pitch": FIRST_PITCH, "size": VOCAB_SIZE,
            "step_ticks_at_ppq480": STEP_TICKS, "pos_max": POS_MAX, "grid": GRID_VERSION}


def step_of(tick: int, origin: int = 0) -> int:
    """Nearest grid step of ``tick`` counted from ``origin``; half-way rounds up.

    The one rounding rule of both models' grids (the continuer's tokens are built on
    :func:`note_spans` too).
    """
    return int((tick - origin + STEP_TICKS // 2) // STEP_TICKS)


def note_spans(notes: Iterable[tuple[int, int, int]], steps: int,
               origin: int = 0) -> list[tuple[int, int, int]]:
    """``(start_step, end_step, pitch)`` of a single line on the grid, in time order.

    ``notes`` are ``(pitch, start_tick, duration_ticks)``; step 0 is at ``origin``.
    Onsets and ends snap to the nearest step (:func:`step_of`); a note lasts at least
    one step and ends where the next onset begins; of notes whose onsets land on one
    step the highest wins, except that a note shorter than the grid (its end snaps to
    its onset's step: a 32nd-note turn) gives way to a real note there, so an ornament
    never hides the note it decorates; onsets outside ``0..steps-1`` are dropped.
    Shared by the harmonizer's rows and the continuer's tokens.
    """
    onsets: dict[int, tuple[tuple[bool, int], int, int]] = {}
    for pitch, start, duration in notes:
        s = step_of(start, origin)
        if not 0 <= s < steps:
            continue
        end = step_of(start + duration, origin)
        rank = (end > s, pitch)  # a note of its own step first, then the highest
        if s not in onsets or rank > onsets[s][0]:
            onsets[s] = (rank, pitch, min(steps, max(s + 1, end)))
    order = sorted(onsets)
    spans = []
    for i, s in enumerate(order):
        _, pitch, e = onsets[s]
        if i + 1 < len(order):
            e = min(e, order[i + 1])
        spans.append((s, e, pitch))
    return spans


def notes_to_row(notes: list[Note], steps: int, fill: int = REST) -> np.ndarray:
    """One voice's notes as a token row of ``steps`` steps (see :func:`note_spans`).

    A note whose onset lands on a higher note's onset step is dropped from the grid (the
    grid only conditions the model; callers keep the notes themselves).
    """
    row = np.full(steps, fill, dtype=np.int64)
    for s, e, pitch in note_spans(((n.pitch, n.start, n.duration) for n in notes), steps):
        row[s] = pitch_token(pitch)
        row[s + 1:e] = HOLD
    return row


def row_to_notes(row: np.ndarray, track: int, first_step: int = 0, velocity: int = 80,
                 steps: range | None = None) -> list[Note]:
    """Notes of a token row. ``steps`` limits which onsets count (a span); a HOLD after a
    REST or at the start reads as a REST."""
    out: list[Note] = []
    allowed = steps if steps is not None else range(len(row))
    t = 0
    n = len(row)
    while t < n:
        tok = int(row[t])
        if tok >= FIRST_PITCH and t in allowed:
            e = t + 1
            while e < n and int(row[e]) == HOLD and e in allowed:
                e += 1
            out.append(Note(token_pitch(tok), (first_step + t) * STEP_TICKS,
                            (e - t) * STEP_TICKS, velocity, track))
            t = e
        else:
            t += 1
    return out


def sounding(tokens: np.ndarray) -> np.ndarray:
    """(V, T) MIDI pitch sounding in each voice at each step, -1 for silence."""
    tok = np.asarray(tokens, dtype=np.int64)
    steps = np.arange(tok.shape[1])
    last = np.maximum.accumulate(np.where(tok != HOLD, steps, -1), axis=1)
    src = np.take_along_axis(tok, np.maximum(last, 0), axis=1)
    return np.where((last >= 0) & (src >= FIRST_PITCH), src - FIRST_PITCH + PITCH_LO, -1)


def bar_positions(score: Score, steps: int, first_step: int = 0) -> np.ndarray:
    """Sixteenths since the bar line at each step, clamped to ``POS_MAX - 1``."""
    pos = np.zeros(steps, dtype=np.int64)
    cache: dict[int, int] = {}
    for i in range(steps):
        tick = (first_step + i) * STEP_TICKS
        bar = score.bar_of(tick)
        if bar not in cache:
            cache[bar] = score.bar_start(bar)
        pos[i] = min(POS_MAX - 1, (tick - cache[bar]) // STEP_TICKS)
    return pos


def choir_tracks() -> list[Track]:
    return [Track(name=name, channel=i, program=CHOIR_PROGRAM) for i, name in enumerate(VOICE_NAMES)]


def grid_to_score(tokens: np.ndarray, numerator: int = 4, denominator: int = 4,
                  title: str = "") -> Score:
    """A four-voice Score (tracks Soprano..Bass) from a (4, T) token grid."""
    notes = []
    for v in range(tokens.shape[0]):
        notes.extend(row_to_notes(tokens[v], track=v))
    score = Score(notes=notes, tracks=choir_tracks(),
                  time_signatures=[TimeSignature(0, numerator, denominator)], title=title)
    score.sort()
    return score


def score_to_grid(score: Score, steps: int | None = None) -> np.ndarray:
    """(4, T) tokens of a four-voice Score: tracks named Soprano..Bass, else tracks 0..3."""
    names = [t.name for t in score.tracks]
    index = [names.index(v) if v in names else i for i, v in enumerate(VOICE_NAMES)]
    if steps is None:
        steps = max(1, -(-score.end_tick // STEP_TICKS))
    return np.stack([notes_to_row(score.track_notes(i), steps) for i in index])
