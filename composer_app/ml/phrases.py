"""Phrase ends (fermatas) of a bare melody.

A melody drawn in the piano roll or read from MIDI carries no fermatas, yet the
harmonizer writes its cadences where phrases end. Inference runs in two stages because
neither alone measured well on the chorale sopranos (the card in
``models/phrase_ends.json`` has the figures): a small network scores every note from
what marks a phrase end locally (a long note on a strong beat, a rest or a pickup after
it, a stable degree, a step into it, a leap out of it; the note beside its neighbours);
then a dynamic programme over the notes picks the set of ends whose spacing looks like
Bach's phrases (mostly two bars), since a quarter-note fermata looks like any other
quarter note until one counts the bars. Weights and the spacing prior come from
``composer_app.training.phrases``; without the file a hand-set rule score with the
same decoder is used.

Pure numpy at run time: no torch, no sklearn, no music21.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from composer_app.music import Note, Score, detect_key

log = logging.getLogger(__name__)

MODEL_FORMAT = "phrase-ends/1"
FORCED_SCORE = 1e4  # outweighs any spacing cost: the decoder must take the note

FEATURES = (
    "dur", "ioi", "rest", "rest_flag",
    "on_down", "on_mid", "on_beat", "next_down", "next_mid", "next_beat",
    "prev_dur_ratio", "next_dur_ratio", "local_longest",
    "int_in", "abs_in", "step_down_in", "int_out", "abs_out", "leap_out", "repeat_out",
    "first",
    *(f"deg_{d}" for d in range(12)),
    "key_tonic", "key_third", "key_fifth",
)
_F = {name: i for i, name in enumerate(FEATURES)}


def _beat_ticks(score: Score, tick: int) -> tuple[int, int]:
    """(beat length, beats per bar) at ``tick``; compound meters (6/8, 9/8, 12/8) count
    dotted beats, so a 6/8 dotted quarter plays the part of a 4/4 quarter."""
    sig = score.time_signature_at(tick)
    if sig.denominator >= 8 and sig.numerator % 3 == 0 and sig.numerator > 3:
        return 3 * sig.beat_ticks, sig.numerator // 3
    return max(1, sig.beat_ticks), max(1, sig.numerator)


def _metric_class(score: Score, tick: int) -> int:
    """0 downbeat, 1 the strong middle of the bar, 2 another beat, 3 off the beat."""
    offset = tick - score.bar_start(score.bar_of(tick))
    if offset == 0:
        return 0
    beat, beats = _beat_ticks(score, tick)
    if offset % beat:
        return 3
    compound = beat != score.time_signature_at(tick).beat_ticks
    if beats % 2 == 0 and (beats >= 4 or compound) and offset == beats // 2 * beat:
        return 1
    return 2


def _signature_tonic(score: Score, tick: int) -> int | None:
    """Tonic of the major key with the key signature in force (a minor key's relative
    major), so a file that only says "two flats" and one that says "G minor" agree."""
    key = score.key_at(tick)
    if key is None:
        return None
    return key.tonic if key.mode == "major" else (key.tonic + 3) % 12


def bar_clock(notes: Sequence[Note], score: Score) -> np.ndarray:
    """Onset of each note in bars (bar index + fraction of its bar), following meter
    changes. Phrase lengths are counted in bars because phrases measured in bars agreed
    across meters (about two bars in Bach's 4/4 and in Essen's 2/4, 3/4, 4/4 and 6/8
    folk songs) where lengths in beats did not."""
    clock = np.zeros(len(notes))
    for i, m in enumerate(notes):
        bar = score.bar_of(m.start)
        start = score.bar_start(bar)
        clock[i] = bar + (m.start - start) / max(1, score.time_signature_at(start).bar_ticks)
    return clock


def note_features(notes: Sequence[Note], score: Score) -> np.ndarray:
    """(N, len(FEATURES)) features of notes sorted by start (see FEATURES)."""
    n = len(notes)
    x = np.zeros((n, len(FEATURES)))
    if n == 0:
        return x
    detected = detect_key((m.pitch, m.duration) for m in notes)
    third = 3 if detected.mode == "minor" else 4
    fallback = detected.tonic if detected.mode == "major" else (detected.tonic + 3) % 12
    durs = np.array([max(1, m.duration) for m in notes], dtype=float)
    for i, m in enumerate(notes):
        beat, _ = _beat_ticks(score, m.start)
        nxt = notes[i + 1] if i + 1 < n else None
        prv = notes[i - 1] if i else None
        ioi = (nxt.start - m.start) if nxt else m.duration
        rest = max(0, nxt.start - m.end) if nxt else 0
        row = x[i]
        row[_F["dur"]] = np.clip(math.log2(durs[i] / beat), -3, 3)
        row[_F["ioi"]] = np.clip(math.log2(max(ioi, 1) / beat), -3, 3)
        row[_F["rest"]] = min(3.0, math.log2(1 + rest / beat))
        row[_F["rest_flag"]] = float(rest * 2 >= beat)
        here = _metric_class(score, m.start)
        if here < 3:
            row[_F[("on_down", "on_mid", "on_beat")[here]]] = 1.0
        there = _metric_class(score, nxt.start) if nxt else 0
        if there < 3:
            row[_F[("next_down", "next_mid", "next_beat")[there]]] = 1.0
        if prv is not None:
            row[_F["prev_dur_ratio"]] = np.clip(math.log2(durs[i] / durs[i - 1]), -3, 3)
            step = m.pitch - prv.pitch
            row[_F["int_in"]] = np.clip(step, -12, 12) / 12
            row[_F["abs_in"]] = min(abs(step), 12) / 12
            row[_F["step_down_in"]] = float(step in (-1, -2))
        else:
            row[_F["first"]] = 1.0
        if nxt is not None:
            row[_F["next_dur_ratio"]] = np.clip(math.log2(durs[i + 1] / durs[i]), -3, 3)
            step = nxt.pitch - m.pitch
            row[_F["int_out"]] = np.clip(step, -12, 12) / 12
            row[_F["abs_out"]] = min(abs(step), 12) / 12
            row[_F["leap_out"]] = float(abs(step) >= 5)
            row[_F["repeat_out"]] = float(step == 0)
        row[_F["local_longest"]] = float(durs[i] >= durs[max(0, i - 2):i + 3].max())
        tonic = _signature_tonic(score, m.start)
        row[_F[f"deg_{(m.pitch - (fallback if tonic is None else tonic)) % 12}"]] = 1.0
        rel = (m.pitch - detected.tonic) % 12
        row[_F["key_tonic"]] = float(rel == 0)
        row[_F["key_third"]] = float(rel == third)
        row[_F["key_fifth"]] = float(rel == 7)
    return x


@dataclass
class PhraseModel:
    """A note scorer and the spacing decoder's settings.

    The scorer reads each note's features beside its neighbours' (``window`` offsets),
    standardizes them and averages the logits of ``members``, each a stack of dense
    layers ``(W, b)`` with ReLU between them: one layer is a logistic regression.
    ``log_prior[k]`` is the log-probability of a phrase lasting ``k * bin`` bars from its
    first onset to its last; each bar past ``tail_start`` costs ``tail_slope`` more nats,
    so a melody with no cue at all (even quarter notes) still gets phrases no longer
    than Bach's longest. ``bias`` moves every note's score (more
    or fewer ends); ``prior_weight`` says how much the spacing counts.
    """

    window: tuple[int, ...]
    mean: np.ndarray
    scale: np.ndarray
    members: list[list[tuple[np.ndarray, np.ndarray]]]
    log_prior: np.ndarray
    bin: float = 0.25
    bias: float = 0.0
    prior_weight: float = 1.0
    window_bars: float = 16.0
    tail_start: float = 4.0
    tail_slope: float = 2.0
    name: str = "mlp+spacing"
    card: dict = field(default_factory=dict)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of a phrase end per note, from (N, len(FEATURES)) features."""
        h0 = (windowed(x, self.window) - self.mean) / self.scale
        total = np.zeros(len(x))
        for layers in self.members:
            h = h0
            for i, (w, b) in enumerate(layers):
                h = h @ w + b
                if i < len(layers) - 1:
                    h = np.maximum(h, 0.0)
            total += h[:, 0]
        return total / max(1, len(self.members))

    def length_score(self, bars: np.ndarray) -> np.ndarray:
        idx = np.minimum(np.round(bars / self.bin).astype(int), len(self.log_prior) - 1)
        return self.log_prior[idx] - self.tail_slope * np.maximum(0.0, bars - self.tail_start)

    def to_dict(self, digits: int = 6) -> dict:
        def r(a: np.ndarray) -> list:
            return np.vectorize(lambda v: float(f"{v:.{digits}g}"))(a).tolist()

        return {"format": MODEL_FORMAT, "name": self.name, "card": self.card,
                "features": list(FEATURES), "window": list(self.window),
                "mean": r(self.mean), "scale": r(self.scale),
                "members": [[{"W": r(w), "b": r(b)} for w, b in m] for m in self.members],
                "decoder": {"log_prior": r(self.log_prior), "bin": self.bin,
                            "bias": self.bias, "prior_weight": self.prior_weight,
                            "window_bars": self.window_bars, "tail_start": self.tail_start,
                            "tail_slope": self.tail_slope}}

    @classmethod
    def from_dict(cls, data: dict) -> PhraseModel:
        """Raises ValueError (or KeyError/TypeError) on a file for other features."""
        if data.get("format") != MODEL_FORMAT or list(data["features"]) != list(FEATURES):
            raise ValueError("written for another format or feature set")
        window = tuple(int(k) for k in data["window"])
        width = len(window) * len(FEATURES)
        mean, scale = (np.asarray(data[k], dtype=float) for k in ("mean", "scale"))
        members = [[(np.asarray(layer["W"], float).reshape(-1, len(layer["b"])),
                     np.asarray(layer["b"], float)) for layer in m] for m in data["members"]]
        if mean.shape != (width,) or scale.shape != (width,) or not members or any(
                m[0][0].shape[0] != width or m[-1][1].shape != (1,) for m in members):
            raise ValueError("arrays of the wrong shape")
        dec = data["decoder"]
        return cls(window, mean, scale, members, np.asarray(dec["log_prior"], float),
                   float(dec["bin"]), float(dec["bias"]), float(dec["prior_weight"]),
                   float(dec["window_bars"]), float(dec["tail_start"]),
                   float(dec["tail_slope"]), str(data.get("name", "")),
                   dict(data.get("card", {})))


def windowed(x: np.ndarray, offsets: Sequence[int]) -> np.ndarray:
    """Each row beside the rows at ``offsets`` from it (zeros past either end)."""
    n, f = x.shape
    reach = max(abs(k) for k in offsets)
    pad = np.vstack([np.zeros((reach, f)), x, np.zeros((reach, f))])
    return np.hstack([pad[reach + k:reach + k + n] for k in offsets])


def rule_model() -> PhraseModel:
    """Hand-set weights on the note itself (long notes on strong beats, a rest after, a
    stable degree) and a hand-drawn preference for two-bar phrases; only its bias and
    prior weight were picked on the validation split. The fallback when the shipped
    file is unusable, and the baseline the fitted model is measured against."""
    w = np.zeros((len(FEATURES), 1))
    for name, value in (("dur", 1.5), ("rest_flag", 3.0), ("on_down", 0.8), ("on_mid", 0.8),
                        ("key_tonic", 0.6), ("key_third", 0.3), ("key_fifth", 0.3),
                        ("next_beat", 0.5), ("first", -3.0)):
        w[_F[name], 0] = value
    prior = np.log(np.array([0.02] * 4 + [0.1] * 2 + [1.0] * 5 + [0.3] * 6 + [0.05] * 16))
    return PhraseModel((0,), np.zeros(len(FEATURES)), np.ones(len(FEATURES)),
                       [[(w, np.array([-2.5]))]], prior, bias=1.5, prior_weight=0.5,
                       name="rules")


def default_model_path() -> Path:
    from composer_app.paths import models_dir

    return models_dir() / "phrase_ends.json"


def load_phrase_model(path: str | os.PathLike | None = None) -> PhraseModel:
    """The shipped model; the rule model (with a warning) when the file is unusable,
    so a broken install degrades the cadences instead of failing the harmonization."""
    path = Path(path) if path is not None else default_model_path()
    try:
        return PhraseModel.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("phrase-end model %s unusable (%s); using the rules", path, exc)
        return rule_model()


def decode(scores: np.ndarray, clock: np.ndarray, model: PhraseModel,
           forced: np.ndarray | None = None) -> np.ndarray:
    """Best set of phrase ends: each chosen note earns its score, each phrase (first to
    last onset, in bars: ``clock``) its spacing log-prior; the last note and the notes
    ``forced`` always end one.

    O(N x notes per window); a window longer than any phrase keeps it linear in N.
    """
    n = len(scores)
    if forced is not None:
        scores = np.where(forced, FORCED_SCORE, scores)
    best = np.zeros(n + 1)  # best[k]: best total with a phrase end just before note k
    back = np.zeros(n, dtype=int)
    for j in range(n):
        lo = int(np.searchsorted(clock, clock[j] - model.window_bars, side="left"))
        ks = np.arange(lo, j + 1)
        cand = best[ks] + model.prior_weight * model.length_score(clock[j] - clock[ks])
        k = int(np.argmax(cand))
        back[j] = ks[k]
        best[j + 1] = cand[k] + (scores[j] if j < n - 1 else 0.0)
    flags = np.zeros(n, dtype=bool)
    j = n - 1
    while j >= 0:
        flags[j] = True
        j = back[j] - 1
    return flags


def infer_phrase_ends(melody: Sequence[Note], score: Score,
                      model: PhraseModel | None = None) -> list[bool]:
    """One flag per melody note (sorted by start): does a phrase end on it?

    The melody is taken as one line; ``score`` gives its meter, bar lines and key.
    """
    notes = sorted(melody, key=lambda m: m.start)
    if not notes:
        return []
    model = model or load_phrase_model()
    scores = model.logits(note_features(notes, score)) + model.bias
    return decode(scores, bar_clock(notes, score), model, rests_of_a_bar(notes, score)).tolist()


def rests_of_a_bar(notes: Sequence[Note], score: Score) -> np.ndarray:
    """Notes followed by at least a bar of silence: they end a phrase whatever the
    scorer says (the chorales have no such rests, so it learned nothing about them,
    and the spacing prior would rather join a short fragment to the next one)."""
    gaps = [b.start - a.end >= score.time_signature_at(a.end).bar_ticks
            for a, b in zip(notes, notes[1:])]
    return np.array(gaps + [True], dtype=bool)


def phrase_ends(melody: Sequence[Note], score: Score,
                model: PhraseModel | None = None) -> list[bool]:
    """The fermatas the melody carries when any note has one (the user's or the file's
    word wins over a guess); otherwise :func:`infer_phrase_ends`."""
    notes = sorted(melody, key=lambda m: m.start)
    given = [m.fermata for m in notes]
    return given if any(given) else infer_phrase_ends(notes, score, model)


__all__ = ["FEATURES", "PhraseModel", "bar_clock", "decode", "infer_phrase_ends",
           "load_phrase_model", "note_features", "phrase_ends", "rests_of_a_bar", "rule_model",
           "windowed"]
