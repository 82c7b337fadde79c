"""Melody continuer: an LSTM language model over a sixteenth-note grid.

Tokens, one per sixteenth step: ``REST``, ``HOLD`` (the sounding note goes on) or a
pitch (a new onset). Every step also carries its position in the bar (and the bar's
place in an 8-bar phrase), the meter and the mode, so the model knows where the bar
lines are; a continuation is exactly a number of
grid steps, so it ends on a bar line by construction.

Melodies are key-normalised: the sketch is transposed to the key signature of C major /
A minor (mode kept as a condition), continued, and the new notes are transposed back
(chosen by measurement against training on all transpositions; see
``models/continuer.json``).

Sampling primes a whole-sequence ``nn.LSTM`` on the sketch, then steps ``LSTMCell``s that
share its weights with the state carried, all variations as one batch, under a seeded
``torch.Generator``. Public call: :func:`continue_melody`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

from composer_app import paths
from composer_app.ml import GenerationCancelled
from composer_app.music import Key, Note, Score, UserError

from . import checkpoint as schema
from . import grid
from . import motifs as motif_rules
from .runtime import Runtime

log = logging.getLogger(__name__)

__all__ = [
    "continue_melody",
    "ContinuationCancelled",
    "ContinuerConfig",
    "ContinuerModel",
    "Continuer",
    "load_continuer",
    "encode_melody",
    "decode_tokens",
    "default_checkpoint",
]

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


# -- the model -----------------------------------------------------------------------------


@dataclass
class ContinuerConfig:
    vocab: int = VOCAB
    token_dim: int = 64
    last_dim: int = 32
    pos_dim: int = 16
    phrase_dim: int = 8
    meter_dim: int = 8
    mode_dim: int = 4
    hidden: int = 192
    layers: int = 2
    dropout: float = 0.2

    @property
    def input_dim(self) -> int:
        return (self.token_dim + self.last_dim + self.pos_dim + self.phrase_dim
                + self.meter_dim + self.mode_dim)


class ContinuerModel(nn.Module):
    """LSTM language model over grid tokens.

    Input per step: the previous token, the last pitch played (so intervals need not be
    remembered through runs of HOLD and REST), and the metric position, meter and mode
    of the step to predict. A metric position is ``bar * MAX_POS + step``: the step in
    its bar and the bar counted mod ``PHRASE_BARS`` from the melody's first full bar, so
    phrase ends (long notes, rests) can fall where folk phrases put them.
    """

    def __init__(self, config: ContinuerConfig):
        super().__init__()
        self.config = config
        c = config
        self.token_emb = nn.Embedding(c.vocab, c.token_dim)
        self.last_emb = nn.Embedding(c.vocab, c.last_dim)
        self.pos_emb = nn.Embedding(MAX_POS, c.pos_dim)
        self.phrase_emb = nn.Embedding(PHRASE_BARS, c.phrase_dim)
        self.meter_emb = nn.Embedding(len(METERS) + 1, c.meter_dim)
        self.mode_emb = nn.Embedding(2, c.mode_dim)
        self.lstm = nn.LSTM(c.input_dim, c.hidden, num_layers=c.layers, batch_first=True,
                            dropout=c.dropout if c.layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden, c.vocab)

    def embed(self, prev, last, pos, meter, mode):
        return torch.cat([self.token_emb(prev), self.last_emb(last), self.metric_emb(pos),
                          self.meter_emb(meter), self.mode_emb(mode)], dim=-1)

    def metric_emb(self, pos):
        return torch.cat([self.pos_emb(pos % MAX_POS), self.phrase_emb(pos // MAX_POS)], dim=-1)

    def forward(self, prev, last, pos, meter, mode, state=None):
        """Logits ``(batch, time, vocab)`` and the final LSTM state; all inputs (B, T)."""
        out, state = self.lstm(self.embed(prev, last, pos, meter, mode), state)
        return self.head(self.drop(out)), state


class _Stepper:
    """``LSTMCell``s sharing the weights of a trained ``nn.LSTM`` (one-step sampling).

    One-step calls of ``nn.LSTM`` on CPU were measured 3-5x slower than cells.
    """

    def __init__(self, model: ContinuerModel):
        lstm = model.lstm
        self.cells = []
        for layer in range(lstm.num_layers):
            cell = nn.LSTMCell(lstm.input_size if layer == 0 else lstm.hidden_size,
                               lstm.hidden_size)
            cell.weight_ih = getattr(lstm, f"weight_ih_l{layer}")
            cell.weight_hh = getattr(lstm, f"weight_hh_l{layer}")
            cell.bias_ih = getattr(lstm, f"bias_ih_l{layer}")
            cell.bias_hh = getattr(lstm, f"bias_hh_l{layer}")
            self.cells.append(cell)

    def __call__(self, x, hs, cs):
        new_h, new_c = [], []
        for cell, h, c in zip(self.cells, hs, cs, strict=False):
            h, c = cell(x, (h, c))
            new_h.append(h)
            new_c.append(c)
            x = h
        return x, new_h, new_c


# -- checkpoints ---------------------------------------------------------------------------


def default_checkpoint() -> Path:
    return paths.models_dir() / "continuer.pt"


def vocabulary() -> dict:
    return schema.grid_vocabulary(size=VOCAB, rest=REST, hold=HOLD, first_pitch=N_SPECIAL,
                                  pitch_lo=MIN_PITCH, pitch_hi=MAX_PITCH, bos=BOS,
                                  max_pos=MAX_POS, phrase_bars=PHRASE_BARS,
                                  meters=list(METERS), normalise_key=True)


def sampling() -> dict:
    return {"temperature": DEFAULT_TEMPERATURE, "top_p": DEFAULT_TOP_P,
            "rest_logit_bias": REST_LOGIT_BIAS}


def _legacy(data: dict, path: Path) -> dict:
    """Format version 1 (the shipped file): ``version``, ``vocab`` (these fields checked)
    and ``train_config`` at the top."""
    vocab = data.get("vocab") if isinstance(data.get("vocab"), dict) else {}
    if (vocab.get("step_ticks"), vocab.get("min_pitch"), vocab.get("max_pitch"),
            vocab.get("max_pos"), vocab.get("phrase_bars"), vocab.get("meters")) != (
            STEP, MIN_PITCH, MAX_PITCH, MAX_POS, PHRASE_BARS, list(METERS)):
        raise UserError(f"{path}: the melody-continuer checkpoint's vocabulary does not "
                        "match this app's grid; retrain")
    training = {"config": data["train_config"]} if "train_config" in data else {}
    return {**schema.legacy_sections(data), "vocabulary": vocabulary(), "sampling": sampling(),
            "training": training}


KIND = schema.Kind(FORMAT, "melody-continuer", "composer-app train continuer", vocabulary,
                   sampling, _legacy)


def checkpoint_dict(model: ContinuerModel, training: dict | None = None) -> dict:
    """What a checkpoint holds: enough to rebuild the model with nothing else."""
    return schema.build(KIND, asdict(model.config), model.state_dict(), training)


def model_from_checkpoint(data, path: Path) -> ContinuerModel:
    """Rebuild the model from a loaded checkpoint dict; UserError naming ``path``."""
    data = schema.check(data, path, KIND)
    try:
        config = ContinuerConfig(**data["config"])
        model = ContinuerModel(config)
        model.load_state_dict(data["state_dict"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise UserError(f"{path}: continuer checkpoint does not fit the model ({exc})") from None
    return model


def read_checkpoint(path: Path) -> dict:
    """The checkpoint dict, checked. Raises :class:`UserError` naming the file."""
    return schema.read(path, KIND)


class Continuer:
    """A loaded continuer model on a device, ready to sample."""

    def __init__(self, model: ContinuerModel, device: torch.device | None = None):
        self.device = device or torch.device("cpu")
        self.model = model.to(self.device).eval()
        self.stepper = _Stepper(self.model)

    @torch.inference_mode()
    def generate(self, prev_tokens: list[int], prev_pos: list[int], new_pos: list[int],
                 meter: int, mode: int, variations: int, temperature: float, top_p: float,
                 generator: torch.Generator, first_no_hold: bool = True,
                 progress: Callable[[int], None] | None = None,
                 cancel: Callable[[], bool] | None = None,
                 forced: torch.Tensor | None = None,
                 logprobs: list | None = None) -> list[list[int]]:
        """New tokens after a primed prefix, one row per variation.

        ``forced`` (variations, new steps), when given, holds a token per step that
        replaces the sampled one (-1: sample); the copy path restates bars with it. A
        list ``logprobs`` receives each row's mean log-probability (under the sampling
        distribution's logits, before top-p) of the tokens it got.

        ``prev_tokens`` are the inputs of the prefix steps (BOS first) and ``prev_pos``
        the metric positions (:func:`metric_position`) of the steps they predict; the last prefix input's prediction
        is the first new step, at ``new_pos[0]``. So ``len(prev_tokens) ==
        len(prev_pos)`` and ``prev_pos[-1] == new_pos[0]``.
        """
        dev = self.device
        m = self.model
        n_new = len(new_pos)
        meter_t = torch.full((variations,), meter, dtype=torch.long, device=dev)
        mode_t = torch.full((variations,), mode, dtype=torch.long, device=dev)
        # Prime on all prefix inputs but the last: that one is stepped below.
        hs = [torch.zeros(1, m.config.hidden, device=dev) for _ in range(m.config.layers)]
        cs = [torch.zeros(1, m.config.hidden, device=dev) for _ in range(m.config.layers)]
        if len(prev_tokens) > 1:
            t = torch.tensor([prev_tokens[:-1]], device=dev)
            lp = torch.tensor([last_pitches(prev_tokens[:-1])], device=dev)
            p = torch.tensor([prev_pos[:-1]], device=dev)
            _, (h, c) = m.lstm(m.embed(t, lp, p, meter_t[:1, None].expand_as(t),
                                       mode_t[:1, None].expand_as(t)))
            hs, cs = list(h[:, 0:1]), list(c[:, 0:1])  # per layer (1, H)
        hs = [h.expand(variations, -1).contiguous() for h in hs]
        cs = [c.expand(variations, -1).contiguous() for c in cs]
        prev = torch.full((variations,), prev_tokens[-1], dtype=torch.long, device=dev)
        last = torch.full((variations,), last_pitches(prev_tokens)[-1], dtype=torch.long,
                          device=dev)
        prev_is_rest = prev == REST
        if prev_tokens[-1] == BOS:
            prev_is_rest = torch.ones_like(prev_is_rest)
        pos_emb = m.metric_emb(torch.tensor(new_pos, device=dev))
        meter_e, mode_e = m.meter_emb(meter_t), m.mode_emb(mode_t)
        out = torch.empty((variations, n_new), dtype=torch.long, device=dev)
        inv_t = 1.0 / temperature
        every = max(1, n_new // 20)
        total_lp = torch.zeros(variations, device=dev) if logprobs is not None else None
        if forced is not None:
            forced = forced.to(dev)
        for i in range(n_new):
            if cancel is not None and cancel():
                raise ContinuationCancelled("continuation cancelled")
            x = torch.cat([m.token_emb(prev), m.last_emb(last), pos_emb[i].expand(variations, -1), meter_e,
                           mode_e], dim=-1)
            y, hs, cs = self.stepper(x, hs, cs)
            logits = m.head(y)
            logits[:, BOS] = -math.inf
            logits[:, REST] += REST_LOGIT_BIAS
            # HOLD needs a sounding note; the sketch's last note is never lengthened.
            if i == 0 and first_no_hold:
                logits[:, HOLD] = -math.inf
            else:
                logits[:, HOLD].masked_fill_(prev_is_rest, -math.inf)
            tok = _sample_top_p(logits * inv_t, top_p, generator)
            if forced is not None:
                tok = torch.where(forced[:, i] >= 0, forced[:, i], tok)
            if total_lp is not None:
                lp = torch.log_softmax(logits * inv_t, dim=-1).gather(1, tok[:, None])[:, 0]
                total_lp += lp.clamp(min=-30.0)
            out[:, i] = tok
            prev = tok
            prev_is_rest = tok == REST
            last = torch.where(tok >= N_SPECIAL, tok, last)
            if progress is not None and (i % every == 0 or i == n_new - 1):
                progress(int(100 * (i + 1) / n_new))
        if total_lp is not None:
            logprobs.extend((total_lp / max(n_new, 1)).tolist())
        return out.tolist()


def _sample_top_p(logits: torch.Tensor, top_p: float, generator: torch.Generator) -> torch.Tensor:
    """Nucleus sampling per row: keep the smallest set of tokens with mass >= top_p.

    Inverse-CDF sampling on the sorted distribution (one uniform draw per row from the
    seeded generator); cheaper per step than ``torch.multinomial`` here.
    """
    probs = torch.softmax(logits, dim=-1)
    sorted_p, idx = torch.sort(probs, dim=-1, descending=True)
    cum = torch.cumsum(sorted_p, dim=-1)
    # mass kept: up to and including the first token where the cumulative sum reaches p
    kept = torch.where((cum - sorted_p) < top_p, sorted_p, torch.zeros_like(sorted_p))
    cum = torch.cumsum(kept, dim=-1)
    u = torch.rand((logits.shape[0], 1), generator=generator).to(logits.device) * cum[:, -1:]
    choice = torch.searchsorted(cum, u, right=True).clamp_(max=logits.shape[-1] - 1)
    return idx.gather(-1, choice).squeeze(-1)


def load_continuer(path: str | Path | None = None, device: str = "auto",
                   notify: Callable[[str], None] | None = None) -> Continuer:
    """The continuer at ``path`` (default: the shipped weights), read, checked, on ``device``.

    Not cached: a :class:`~composer_app.ml.runtime.Runtime` keeps what it loaded.
    """
    from .device import choose_device

    path = Path(path) if path is not None else default_checkpoint()
    dev = choose_device(device, notify)
    data = read_checkpoint(path)
    return Continuer(model_from_checkpoint(data, path), dev)


# -- the public call -----------------------------------------------------------------------


def melody_track(score: Score) -> int:
    """The track to continue: the highest-sounding track with notes (the top line)."""
    tracks = score.tracks_with_notes()
    if len(tracks) == 1:
        return tracks[0]

    def mean_pitch(t: int) -> float:
        ns = score.track_notes(t)
        return sum(n.pitch for n in ns) / len(ns)

    return max(tracks, key=mean_pitch)


def _check_args(score: Score, bars: int, variations: int, temperature: float,
                top_p: float) -> None:
    if not score.notes:
        raise UserError("the sketch is empty: draw or load a few notes to continue")
    if not isinstance(bars, int) or bars <= 0 or bars > MAX_BARS:
        raise UserError(f"bars must be between 1 and {MAX_BARS}, not {bars}")
    if not 1 <= variations <= 16:
        raise UserError(f"variations must be between 1 and 16, not {variations}")
    if not temperature > 0 or math.isinf(temperature):
        raise UserError(f"temperature must be above 0, not {temperature}")
    if not 0 < top_p <= 1:
        raise UserError(f"top-p must be in (0, 1], not {top_p}")


def continue_melody(score: Score, bars: int, *, variations: int = 1,
                    temperature: float = DEFAULT_TEMPERATURE,
                    top_p: float = DEFAULT_TOP_P, seed: int | None = None, device: str = "auto",
                    progress: Callable[[int], None] | None = None,
                    cancel: Callable[[], bool] | None = None,
                    checkpoint: str | Path | None = None,
                    runtime: Runtime | None = None,
                    motifs: motif_rules.Motifs | None = None) -> list[Score]:
    """Continue the sketch's top line by ``bars`` whole bars; one score per variation.

    The continuation starts where the sketch ends (its last note-off) and stops on a bar
    line: it fills the bar the sketch ends in, then adds exactly ``bars`` whole bars (a
    sketch ending on a bar line gets exactly ``bars`` bars). Meter and key are those of
    the score where the sketch ends (key detected from the melody when the score names
    none). Every input note comes out unchanged. A four-voice sketch (a chorale) gets
    its lower voices filled by the harmonizer over the new span.

    Each variation is the best of ``motifs.candidates`` samples (some restating opening
    bars at phrase-parallel places) by :func:`composer_app.ml.motifs.score`; pass
    ``motifs=motifs.FREE_SAMPLING`` for the network alone (one sample, nothing copied).

    ``seed`` makes the output reproducible; ``progress(percent)`` is called as it goes;
    ``cancel()`` returning true raises :class:`ContinuationCancelled`. Problems the user
    can fix (empty sketch, bars outside 1-64, temperature <= 0, missing or wrong
    weights) raise :class:`UserError`.
    """
    _check_args(score, bars, variations, temperature, top_p)
    polyphonic = len(score.tracks_with_notes()) == 4
    runtime = runtime or Runtime(device)
    continuer = runtime.continuer(checkpoint)
    if continuer.device.type == "cpu":
        runtime.apply_threads()
    track = melody_track(score)
    melody = score.track_notes(track)
    end = score.end_tick
    sig = score.time_signature_at(max(end - 1, 0))
    target_end = score.bars_after(end, bars)
    if sig.bar_ticks % STEP:
        raise UserError(f"meter {sig} is not a whole number of sixteenths; cannot continue")

    key = score.key_in_force(max(end - 1, 0), melody)
    shift = key_shift(key)
    # Prefix: from the first melody note to the sketch end, key-normalised and moved
    # by octaves into the model's comfortable range.
    first = melody[0].start
    prefix_notes = [(n.pitch + shift, n.start, n.duration) for n in melody]
    octave = _octave_fit([p for p, _, _ in prefix_notes])
    prefix_notes = [(p + octave, s, d) for p, s, d in prefix_notes]
    # Grid origin: the sketch end minus whole steps, so new steps fall on the grid of
    # the sketch end; prefix onsets snap to it.
    n_prefix = max(0, int(round((end - first) / STEP)))
    origin = end - n_prefix * STEP
    prefix = encode_melody(prefix_notes, origin, end) if n_prefix else []
    prefix = prefix[-512:]  # long sketches: the last 512 steps are context enough
    origin = end - len(prefix) * STEP

    n_new = (target_end - end) // STEP
    prev_tokens = [BOS] + prefix
    prev_pos = metric_positions(score, first, [origin + i * STEP for i in range(len(prefix) + 1)])
    new_pos = metric_positions(score, first, [end + i * STEP for i in range(n_new)])
    mode = 1 if key.mode == "minor" else 0
    generator = torch.Generator(device="cpu")
    # No seed: fresh entropy, without touching torch's global generator.
    generator.manual_seed(int(seed) if seed is not None
                          else int.from_bytes(os.urandom(7), "little"))
    rules = motifs or motif_rules.MOTIFS
    if not 1 <= rules.candidates <= 64:
        raise UserError(f"candidates must be between 1 and 64, not {rules.candidates}")
    plans = _copy_plans(score, first, origin, end, target_end, prefix, rules)
    k = len(plans)
    forced = None
    if any(plans):
        forced = torch.full((variations * k, n_new), -1, dtype=torch.long)
        for c, plan in enumerate(plans):
            for _src, tgt_i, toks in plan:
                forced[c::k, tgt_i:tgt_i + len(toks)] = torch.tensor(toks)
    logprobs: list[float] = []
    rows = continuer.generate(prev_tokens, prev_pos, new_pos, meter_id(sig.numerator,
                              sig.denominator), mode, variations * k, temperature, top_p,
                              generator, progress=None if polyphonic else progress,
                              cancel=cancel, forced=forced,
                              logprobs=logprobs if k > 1 else None)
    if k > 1:
        rows = _rerank(rows, logprobs, k, score, melody, first, end, target_end, key,
                       octave + shift, rules)
    velocity = int(round(sum(n.velocity for n in melody) / len(melody)))
    results = []
    for row in rows:
        new_notes = [
            Note(pitch=_fit_midi(p - octave - shift), start=s, duration=min(d, target_end - s),
                 velocity=velocity, track=track)
            for p, s, d in decode_tokens(row, end)
        ]
        # Notes are frozen: share them, deep-copy only the rest (a deep copy of every
        # note was 40 % of a 4-variation call).
        out = replace(score, notes=[]).copy()
        out.notes = list(score.notes) + new_notes
        out.sort()
        results.append(out)
    if polyphonic:
        results = _fill_lower_voices(results, score, track, end, target_end, seed, runtime,
                                     progress, cancel)
    return results


def _first_full_bar(score: Score, first: int) -> int:
    bar = score.bar_of(first)
    return bar if score.bar_start(bar) == first else bar + 1


def _copy_plans(score: Score, first: int, origin: int, end: int, target_end: int,
                prefix: list[int], rules: motif_rules.Motifs) -> list[list]:
    """Per candidate: ``(source step, target step, tokens)`` of the bars it restates.

    Whole bars of the primed prefix, restated at whole bars of the continuation of the
    same length (:func:`composer_app.ml.motifs.copy_plans`); a source bar that begins by
    holding a note restrikes it, so the copy stands on its own.
    """
    base = _first_full_bar(score, first)

    def whole(lo: int, hi: int) -> dict[int, tuple[int, int]]:
        out = {}
        bar = score.bar_of(lo)
        while score.bar_start(bar + 1) <= hi:
            if score.bar_start(bar) >= lo:
                out[bar - base] = (score.bar_start(bar), score.bar_start(bar + 1))
            bar += 1
        return out

    opening, new = whole(max(origin, first), end), whole(end, target_end)
    plans = []
    for plan in motif_rules.copy_plans(sorted(opening), sorted(new), rules):
        steps = []
        for src, tgt in plan:
            (s0, s1), (t0, t1) = opening[src], new[tgt]
            if s1 - s0 != t1 - t0:
                continue
            i0 = (s0 - origin) // STEP
            toks = list(prefix[i0:i0 + (s1 - s0) // STEP])
            if toks and toks[0] == HOLD:
                back = [t for t in prefix[:i0] if t != HOLD]
                toks[0] = back[-1] if back and back[-1] >= N_SPECIAL else REST
            steps.append((i0, (t0 - end) // STEP, toks))
        plans.append(steps)
    return plans


def _rerank(rows: list[list[int]], logprobs: list[float], k: int, score: Score,
            melody: list[Note], first: int, end: int, target_end: int, key: Key,
            offset: int, rules: motif_rules.Motifs) -> list[list[int]]:
    """The best of each variation's ``k`` candidate rows by the structure score."""
    opening = [(n.pitch, n.start, n.duration) for n in melody]
    open_bounds = [score.bar_start(b) for b in range(score.bar_of(first),
                                                     score.bar_of(max(end - 1, 0)) + 2)]
    bounds = [end]
    while bounds[-1] < target_end:
        bounds.append(score.next_bar_line(bounds[-1] + 1))
    base = _first_full_bar(score, first)
    phrase_ends = [t for t in bounds[1:-1]
                   if (score.bar_of(t) - base) % rules.phrase_bars == 0]
    best = []
    for v in range(len(rows) // k):
        scored = []
        for c in range(v * k, (v + 1) * k):
            notes = [(p - offset, s, min(d, target_end - s))
                     for p, s, d in decode_tokens(rows[c], end)]
            m = motif_rules.measure(opening, open_bounds, notes, bounds, key,
                                    phrase_ends=phrase_ends)
            scored.append((motif_rules.score(m, logprobs[c], rules), -c))
        best.append(rows[-max(scored)[1]])
    return best


def metric_positions(score: Score, first: int, ticks: list[int]) -> list[int]:
    """Model positions (see :func:`metric_position`) of grid steps at ``ticks``.

    Bars are counted from the first full bar at or after ``first`` (the melody's first
    note; a pickup bar is bar -1), steps from the bar line of each tick's bar.
    """
    first_bar = score.bar_of(first)
    if score.bar_start(first_bar) != first:
        first_bar += 1
    out = []
    for tick in ticks:
        bar = score.bar_of(max(tick, 0))
        out.append(metric_position((tick - score.bar_start(bar)) // STEP, bar - first_bar))
    return out


def _octave_fit(pitches: list[int]) -> int:
    """Octaves (in semitones) that move the pitches' middle near the training range."""
    if not pitches:
        return 0
    middle = (min(pitches) + max(pitches)) / 2
    shift = 0
    while middle + shift < 62:
        shift += 12
    while middle + shift > 80:
        shift -= 12
    return shift


def _fit_midi(pitch: int) -> int:
    while pitch < 0:
        pitch += 12
    while pitch > 127:
        pitch -= 12
    return pitch


def _fill_lower_voices(results: list[Score], sketch: Score, track: int, start: int, end: int,
                       seed: int | None, runtime: Runtime, progress, cancel) -> list[Score]:
    """Chorale sketches: the harmonizer writes the other voices under the new top line.

    The four voices are handed over as Soprano/Alto/Tenor/Bass (by mean pitch) so the
    harmonizer hears the sketch's lower voices as context; only the notes it writes in
    ``[start, end)`` are taken back, on the sketch's own tracks.
    """
    try:
        from .harmonizer import GenerationCancelled, harmonize
    except ImportError:
        raise UserError("this sketch has four voices; continuing it needs the harmonizer, "
                        "which is not installed") from None
    from composer_app.music import Track

    voices = sorted(sketch.tracks_with_notes(),
                    key=lambda t: -sum(n.pitch for n in sketch.track_notes(t))
                    / len(sketch.track_notes(t)))
    voices.remove(track)
    voices = [track] + voices[:3]
    to_voice = {t: v for v, t in enumerate(voices)}
    names = [Track("Soprano", 0), Track("Alto", 1), Track("Tenor", 2), Track("Bass", 3)]
    filled = []
    for i, res in enumerate(results):
        if cancel is not None and cancel():
            raise ContinuationCancelled("continuation cancelled")
        four = res.copy()
        four.tracks = names
        four.notes = [n.moved(track=to_voice[n.track]) for n in res.notes if n.track in to_voice]
        sub = None
        if progress is not None:
            def sub(p, i=i):
                progress(int((100 * i + p) / len(results)))
        try:
            out = harmonize(four, melody_track=0, start=start, end=end, variations=1,
                            seed=None if seed is None else seed + i, runtime=runtime,
                            progress=sub, cancel=cancel)[0]
        except GenerationCancelled:
            raise ContinuationCancelled("continuation cancelled") from None
        new = [n.moved(track=voices[n.track]) for n in out.notes
               if n.track in (1, 2, 3) and start <= n.start < end]
        res = res.copy()
        res.notes = res.notes + new
        res.sort()
        filled.append(res)
    return filled
