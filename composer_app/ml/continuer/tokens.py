"""The continuer's tokens: one per sixteenth step (REST, HOLD or a pitch onset), the
vocabulary, meters, metric positions and key normalisation."""

from __future__ import annotations

import logging

from composer_app.ml import DEFAULT_STYLE, STYLES, GenerationCancelled
from composer_app.music import Key

from .. import checkpoint as schema
from .. import grid

log = logging.getLogger(__name__)

FORMAT = "composer_app.continuer"
FORMAT_VERSION = schema.FORMAT_VERSION
STEP = grid.STEP_TICKS  # ticks per step: the grid's own (a sixteenth)
REST, HOLD, BOS = 0, 1, 2
N_SPECIAL = 3
MIN_PITCH, MAX_PITCH = 45, 96  # model range after key normalisation
N_PITCH = MAX_PITCH - MIN_PITCH + 1
VOCAB = N_SPECIAL + N_PITCH
MAX_POS = 32  # steps per bar the model knows (4/2 = 32 sixteenths)
PHRASE_BARS = 8  # bars are also counted mod 8 from the first full bar (phrase position)
METERS = ("2/4", "3/4", "4/4", "6/8", "3/8", "9/8", "12/8", "2/2", "3/2", "6/4", "4/2")
OTHER_METER = len(METERS)
MAX_BARS = 64
# The styles (composer_app.ml.STYLES) by the corpus a training melody came from.
# Style guidance (a sampler rule), per style asked for: logits l_style + g * (l_style -
# l_other); chosen on the validation split, measured in models/continuer.json ("style").
STYLE_GUIDANCE = {"folk": 1.5, "chorale": 2.0}
SOURCE_STYLE = {"essen": "folk", "oneills": "folk", "ryans": "folk", "bach": "chorale"}
# Sampled freely, the model rests less often than the corpus does (29 % of 4-bar
# continuations of the test split held a rest, the corpus 39.5 %), though under teacher
# forcing it predicts rests at the corpus rate. A logit bias on REST closes the gap:
# measured on the 377 test continuations, +0.3 gave 33 %, +0.6 38 % (rest share of time
# 4.0 % against the corpus's 4.1 %), +0.9 42 %; notes in key stayed at 99 %.
REST_LOGIT_BIAS = 0.6
DEFAULT_TEMPERATURE, DEFAULT_TOP_P = 1.0, 0.95


# The continuer raises the package's one cancellation error (a UserError, as the
# harmonizer's); the old name stays for callers that used it.
ContinuationCancelled = GenerationCancelled


# -- tokens --------------------------------------------------------------------------------


def style_id(style: str | None) -> int:
    """The index of a style name (None: the default); :class:`UserError` otherwise."""
    from composer_app.music import UserError

    name = DEFAULT_STYLE if style is None else str(style).strip().lower()
    if name not in STYLES:
        raise UserError(f"style {style!r}: choose one of {', '.join(STYLES)}")
    return STYLES.index(name)


def meter_id(numerator: int, denominator: int) -> int:
    name = f"{numerator}/{denominator}"
    return METERS.index(name) if name in METERS else OTHER_METER


def bar_steps(numerator: int, denominator: int) -> int:
    """Grid steps in one bar (at least 1; bars not a whole number of steps round up)."""
    return max(1, -(-numerator * 4 * 480 // denominator // STEP))


def pitch_token(pitch: int) -> int:
    """Token of a (normalised) pitch; pitches outside the range move by octaves."""
    while pitch < MIN_PITCH:
        pitch += 12
    while pitch > MAX_PITCH:
        pitch -= 12
    return N_SPECIAL + pitch - MIN_PITCH


def token_pitch(token: int) -> int:
    return token - N_SPECIAL + MIN_PITCH


def encode_melody(notes: list[tuple[int, int, int]], start: int, end: int) -> list[int]:
    """Grid tokens for monophonic ``(pitch, start, duration)`` notes between ticks.

    ``start`` is the tick of step 0, ``end`` the tick after the last step. The grid's
    one rule places the notes (:func:`composer_app.ml.grid.note_spans`: onsets to the
    nearest step, the highest of notes on one step, a note ends where the next starts);
    this model's vocabulary names them. Pitches are taken as they are (transpose first).
    """
    n_steps = max(0, -(-(end - start) // STEP))
    tokens = [REST] * n_steps
    for s, e, pitch in grid.note_spans(notes, n_steps, origin=start):
        tokens[s] = pitch_token(pitch)
        tokens[s + 1:e] = [HOLD] * (e - s - 1)
    return tokens


def decode_tokens(tokens: list[int], start: int) -> list[tuple[int, int, int]]:
    """``(pitch, start, duration)`` notes of grid tokens (pitches as encoded).

    A HOLD with no note sounding (after a rest) reads as a rest.
    """
    notes: list[list[int]] = []
    sounding = False
    for i, tok in enumerate(tokens):
        if tok >= N_SPECIAL:
            notes.append([token_pitch(tok), start + i * STEP, STEP])
            sounding = True
        elif tok == HOLD and sounding:
            notes[-1][2] += STEP
        else:
            sounding = False
    return [tuple(n) for n in notes]


def metric_position(step_in_bar: int, bar: int) -> int:
    """The model's position index: step in the bar plus the bar mod ``PHRASE_BARS``."""
    return (bar % PHRASE_BARS) * MAX_POS + step_in_bar % MAX_POS


def last_pitches(inputs: list[int]) -> list[int]:
    """For each input token, the last pitch token at or before it (BOS before any)."""
    out, last = [], BOS
    for tok in inputs:
        if tok >= N_SPECIAL:
            last = tok
        out.append(last)
    return out


def key_shift(key: Key) -> int:
    """Semitones (-6..5) that move ``key``'s signature to none: a major tonic to C, a
    minor tonic to A (so minor tunes share the white-key pitches of the far more
    numerous major ones; the mode stays a condition)."""
    major_tonic = key.tonic if key.mode == "major" else (key.tonic + 3) % 12
    return (-major_tonic + 6) % 12 - 6
