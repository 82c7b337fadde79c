"""Bach-style reharmonization: the model, its checkpoint, Gibbs sampling, public calls.

The model follows DeepBach's idea with a whole-sequence layout so one network call
serves every position of a sweep: a forward LSTM's output at ``t-1`` carries the past,
a backward LSTM's output at ``t+1`` carries the future, a feed-forward net reads the
four voices at ``t`` (with the entries being sampled replaced by ``MASK``) and the
metadata (position in the bar, fermata). One trunk with three heads (alto, tenor,
bass) gives all lower voices in one pass.

Generation (see :class:`Schedule`): start from the lower voices all masked, decode them
in a few passes keeping the most confident samples (MaskGIT-style), then annealed
pseudo-Gibbs passes resample a shrinking random share at a falling temperature, and a
last few passes resample the notes that make parallel fifths/octaves (a voice-leading
penalty on the logits). The soprano, locked notes and everything outside the span stay
fixed.

Public calls: :func:`harmonize` (the app) and :func:`harmonize_melody` (the CLI).
Cancelling raises :class:`GenerationCancelled` (a :class:`UserError`).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from composer_app.ml import GenerationCancelled
from composer_app.music import (
    SATB_RANGES,
    VOICE_NAMES,
    Key,
    KeySignature,
    Note,
    Score,
    UserError,
    detect_key,
    parse_key,
)
from composer_app.music.theory import KeyError_

from . import grid
from .device import cap_threads, choose_device

log = logging.getLogger(__name__)

__all__ = ["harmonize", "harmonize_melody", "GenerationCancelled", "HarmonizerConfig",
           "Harmonizer", "load_model", "save_checkpoint", "FORMAT_VERSION", "default_model_path"]

FORMAT = "composer_app.harmonizer"
FORMAT_VERSION = 1
LOWER = (1, 2, 3)  # alto, tenor, bass rows of the grid
UNKNOWN_KEY = 12


def key_class(key: Key | None, shift: int = 0) -> int:
    """The model's key input: pitch class of the key signature's major tonic."""
    if key is None:
        return UNKNOWN_KEY
    return (key.sharps * 7 + shift) % 12




# -- the model ---------------------------------------------------------------------------


@dataclass
class HarmonizerConfig:
    vocab_size: int = grid.VOCAB_SIZE
    pos_max: int = grid.POS_MAX
    token_dim: int = 32
    meta_dim: int = 16
    hidden: int = 192
    layers: int = 2
    dropout: float = 0.2
    key_metadata: bool = True  # the key signature (as its major tonic, 12 = unknown)

    @classmethod
    def from_dict(cls, data: dict) -> HarmonizerConfig:
        known = {f for f in cls.__dataclass_fields__}
        data = {"key_metadata": False, **data}  # checkpoints from before the key input
        return cls(**{k: v for k, v in data.items() if k in known})


class Harmonizer(nn.Module):
    """Logits (B, 3, T, V) for alto, tenor, bass from tokens (B, 4, T) and metadata."""

    def __init__(self, config: HarmonizerConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.tokens = nn.ModuleList(nn.Embedding(c.vocab_size, c.token_dim) for _ in range(4))
        self.pos = nn.Embedding(c.pos_max, c.meta_dim)
        self.fermata = nn.Embedding(2, c.meta_dim)
        self.key = nn.Embedding(13, c.meta_dim) if c.key_metadata else None
        d_in = 4 * c.token_dim + c.meta_dim
        self.inp = nn.Sequential(nn.Linear(d_in, c.hidden), nn.ReLU(), nn.Dropout(c.dropout))
        lstm_drop = c.dropout if c.layers > 1 else 0.0
        self.past = nn.LSTM(c.hidden, c.hidden, c.layers, batch_first=True, dropout=lstm_drop)
        self.future = nn.LSTM(c.hidden, c.hidden, c.layers, batch_first=True, dropout=lstm_drop)
        self.centre = nn.Sequential(nn.Linear(d_in, c.hidden), nn.ReLU(), nn.Dropout(c.dropout),
                                    nn.Linear(c.hidden, c.hidden), nn.ReLU())
        self.join = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(3 * c.hidden, c.hidden),
                                  nn.ReLU(), nn.Dropout(c.dropout))
        self.heads = nn.Linear(c.hidden, 3 * c.vocab_size)

    def forward(self, tokens: torch.Tensor, pos: torch.Tensor, fermata: torch.Tensor,
                key: torch.Tensor | None = None):
        """``key``: (B,) pitch class of the key signature's major tonic, 12 if unknown."""
        b, _, t = tokens.shape
        meta = self.pos(pos) + self.fermata(fermata)
        if self.key is not None:
            if key is None:
                key = torch.full((b,), UNKNOWN_KEY, dtype=torch.long, device=tokens.device)
            meta = meta + self.key(key)[:, None, :]
        x = torch.cat([self.tokens[v](tokens[:, v]) for v in range(4)] + [meta], dim=-1)
        h = self.inp(x)
        fwd, _ = self.past(h)
        bwd, _ = self.future(h.flip(1))
        bwd = bwd.flip(1)
        zero = fwd.new_zeros(b, 1, fwd.shape[-1])
        past = torch.cat([zero, fwd[:, :-1]], dim=1)  # state after t-1
        future = torch.cat([bwd[:, 1:], zero], dim=1)  # state from t+1 on
        joined = self.join(torch.cat([past, future, self.centre(x)], dim=-1))
        logits = self.heads(joined).view(b, t, 3, self.config.vocab_size)
        return logits.permute(0, 2, 1, 3)


# -- checkpoints -------------------------------------------------------------------------


def default_model_path() -> Path:
    from composer_app.paths import models_dir

    return models_dir() / "harmonizer.pt"


def save_checkpoint(model: Harmonizer, path: str | os.PathLike, extra: dict | None = None) -> None:
    """State dict + config + vocabulary + format version; readable with weights_only."""
    path = Path(path)
    data = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": asdict(model.config),
        "vocabulary": grid.vocabulary(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "extra": extra or {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(data, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint dict, checked. Raises :class:`UserError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no harmonizer weights there "
                        "(run `composer-app train harmonizer` or reinstall)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of many kinds: all mean "not readable"
        raise UserError(f"{path}: not a readable harmonizer checkpoint ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{path}: not a harmonizer checkpoint")
    if data.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{path}: harmonizer checkpoint format version "
                        f"{data.get('format_version')!r}, this app reads version {FORMAT_VERSION}")
    if data.get("vocabulary") != grid.vocabulary():
        raise UserError(f"{path}: the checkpoint's vocabulary does not match this app's grid")
    return data


def model_from_checkpoint(data: dict, path: str | os.PathLike) -> Harmonizer:
    try:
        model = Harmonizer(HarmonizerConfig.from_dict(data["config"]))
        model.load_state_dict(data["state_dict"])
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: harmonizer weights do not fit the model ({first})") from None
    model.eval()
    return model


_cache: dict[tuple, Harmonizer] = {}
_cache_lock = threading.Lock()


def load_model(path: str | os.PathLike | None = None, device: str = "auto",
               notify: Callable[[str], None] | None = None) -> Harmonizer:
    """The model at ``path`` (default: the shipped one), loaded once and cached."""
    path = Path(path) if path is not None else default_model_path()
    dev = choose_device(device, notify)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = None
    key = (str(path.resolve()), stamp, str(dev))
    with _cache_lock:
        model = _cache.get(key)
        if model is None:
            model = model_from_checkpoint(read_checkpoint(path), path).to(dev)
            _cache.clear()  # one model at a time is plenty for the app
            _cache[key] = model
    return model


# -- sampling ----------------------------------------------------------------------------


@dataclass
class SamplingPlan:
    """Everything the sampler needs, on the grid (numpy, one row per voice)."""

    tokens: np.ndarray  # (4, T) initial tokens; free entries hold MASK
    free: np.ndarray  # (3, T) bool: lower-voice entries to sample
    pos: np.ndarray  # (T,)
    fermata: np.ndarray  # (T,)
    allowed: np.ndarray  # (3, V) bool: tokens each lower voice may take
    key: int = UNKNOWN_KEY  # see key_class
    soprano_sounds: np.ndarray | None = None  # (T,) bool: no REST in the lower voices there
    no_hold: np.ndarray | None = None  # (3, T) bool: no HOLD there (a free run's first step)
    cadence: np.ndarray | None = None  # (3, T, V) bool: tokens ruled out (the final chord)


def voice_allowed(shift: int = 0, margin: int = 0) -> np.ndarray:
    """(3, V) allowed tokens of alto, tenor, bass: REST, HOLD and pitches in range."""
    allowed = np.zeros((3, grid.VOCAB_SIZE), dtype=bool)
    allowed[:, grid.REST] = True
    allowed[:, grid.HOLD] = True
    for i, name in enumerate(VOICE_NAMES[1:]):
        lo, hi = SATB_RANGES[name]
        for p in range(max(grid.PITCH_LO, lo + shift - margin), min(grid.PITCH_HI, hi + shift + margin) + 1):
            allowed[i, grid.pitch_token(p)] = True
    return allowed


@dataclass
class Schedule:
    """Three phases of network calls, one pass each over the whole sequence.

    Decode (``decode`` passes, as in MaskGIT): all free entries start masked; each pass
    samples every masked entry at ``temp_decode`` and keeps the most confident ones,
    re-masking a share that falls along a cosine to zero. Refine (``refine`` passes,
    annealed pseudo-Gibbs): re-mask a random share of the free entries falling from
    ``mask_start`` to ``mask_end`` and resample them as the temperature falls from
    ``temp_start`` to ``temp_end``. Repair (``repair`` passes): resample the notes that
    still make parallel fifths or octaves, a few steps apart so each sees its neighbours.
    Every pass lowers a pitch's logit by ``parallel_penalty`` per parallel it would make
    (0 turns this voice-leading rule off: the model alone).

    Measured on the validation split: without the rule the model alone made about 20-30
    parallels per 100 chord changes (its conditionals are good, but entries sampled in
    the same pass do not see each other); with it, about Bach's own rate.
    """

    decode: int = 8
    refine: int = 6
    temp_decode: float = 0.8
    mask_start: float = 0.3
    mask_end: float = 0.05
    temp_start: float = 0.7
    temp_end: float = 0.2
    parallel_penalty: float = 4.0  # logit penalty per parallel fifth/octave a pitch would make
    repair: int = 4  # last passes: resample only the notes that make parallels

    @property
    def passes(self) -> int:
        return self.decode + self.refine + self.repair

    def refine_at(self, i: int) -> tuple[float, float]:
        f = i / max(1, self.refine - 1)
        return (self.mask_start + (self.mask_end - self.mask_start) * f,
                self.temp_start + (self.temp_end - self.temp_start) * f)


def _sounding(tokens: torch.Tensor) -> torch.Tensor:
    """(B, 4, T) pitch sounding at each step; -1 for rests and unknown (masked) steps."""
    steps = tokens.shape[-1]
    idx = torch.arange(steps, device=tokens.device).expand_as(tokens)
    last = torch.where(tokens != grid.HOLD, idx, torch.zeros_like(idx)).cummax(dim=-1).values
    head = tokens.gather(-1, last)
    return torch.where(head >= grid.FIRST_PITCH, head - grid.FIRST_PITCH + grid.PITCH_LO,
                       torch.full_like(head, -1))


def _is_parallel(a1, a2, b1, b2) -> torch.Tensor:
    """Both voices move and keep a (compound) fifth or octave: as music21's
    VoiceLeadingQuartet.parallelFifth/parallelOctave count it, on semitones."""
    known = (a1 >= 0) & (a2 >= 0) & (b1 >= 0) & (b2 >= 0)
    moved = (a1 != a2) & (b1 != b2)
    d1, d2 = (a1 - b1).abs(), (a2 - b2).abs()
    fifths = (d1 % 12 == 7) & (d2 % 12 == 7)
    octaves = (d1 > 0) & (d2 > 0) & (d1 % 12 == 0) & (d2 % 12 == 0)
    return known & moved & (fifths | octaves)


def parallel_counts(tokens: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """(N, V): for each chosen lower-voice entry (``chosen`` is (B, 3, T) bool, N of them
    set) and each candidate pitch token, how many parallel fifths/octaves a note starting
    there with that pitch would make with the other voices as they stand, into it and
    out of it, a sixteenth and an eighth away. Non-pitch tokens and unknown (masked)
    neighbours count nothing."""
    b, _, steps = tokens.shape
    bi, vi, ti = chosen.nonzero(as_tuple=True)
    n = bi.numel()
    sound = _sounding(tokens)  # (B, 4, T)
    cand = torch.full((1, grid.VOCAB_SIZE), -1, dtype=torch.long, device=tokens.device)
    cand[0, grid.FIRST_PITCH:] = torch.arange(grid.PITCH_LO, grid.PITCH_HI + 1, device=tokens.device)
    count = torch.zeros(n, grid.VOCAB_SIZE, dtype=torch.float32, device=tokens.device)
    if n == 0:
        return count
    rows = torch.arange(n, device=tokens.device)
    v = vi + 1
    other = (torch.arange(4, device=tokens.device)[None, :] != v[:, None])[:, :, None]  # (N, 4, 1)
    now = sound[bi, :, ti]  # (N, 4)
    held = torch.ones(n, dtype=torch.bool, device=tokens.device)
    for lag in (1, 2):
        t_prev, t_next = ti - lag, ti + lag
        prev = sound[bi, :, t_prev.clamp(min=0)]
        prev[t_prev < 0] = -1
        nxt = sound[bi, :, t_next.clamp(max=steps - 1)]
        nxt[t_next >= steps] = -1
        # the note itself lasts while HOLDs follow: then it does not move on yet
        held = held & (tokens[bi, v, (ti + lag).clamp(max=steps - 1)] == grid.HOLD) & (t_next < steps)
        v_prev = prev[rows, v][:, None, None]
        v_next = torch.where(held, torch.full_like(ti, -1), nxt[rows, v])[:, None, None]
        into = _is_parallel(v_prev, cand[:, None], prev[:, :, None], now[:, :, None])  # (N, 4, V)
        out_of = _is_parallel(cand[:, None], v_next, now[:, :, None], nxt[:, :, None])
        count += (into & other).sum(dim=1).float() + (out_of & other).sum(dim=1).float()
    return count


def _spread(chosen: torch.Tensor, generator: torch.Generator, reach: int = 2) -> torch.Tensor:
    """A random subset of ``chosen`` (B, 3, T) with no two entries within ``reach`` steps
    of each other in any voice, so each is resampled knowing its neighbours."""
    prio = torch.rand(chosen.shape, generator=generator).to(chosen.device)
    prio = torch.where(chosen, prio, torch.full_like(prio, -1.0))
    per_step = prio.max(dim=1).values  # (B, T)
    window = torch.nn.functional.max_pool1d(per_step[:, None], 2 * reach + 1, stride=1,
                                            padding=reach)[:, 0]
    return chosen & (prio == window[:, None, :])


def current_parallels(tokens: torch.Tensor, among: torch.Tensor) -> torch.Tensor:
    """(B, 3, T) bool: entries of ``among`` whose note onset makes a parallel."""
    counts = parallel_counts(tokens, among)
    current = tokens[:, 1:][among]
    bad = counts.gather(1, current[:, None]).squeeze(1) > 0
    out = torch.zeros_like(among)
    out[among] = bad
    return out


@torch.inference_mode()
def gibbs(model: Harmonizer, plan: SamplingPlan, variations: int, generator: torch.Generator,
          schedule: Schedule | None = None, progress=None, cancel=None) -> np.ndarray:
    """Confidence-ordered decoding then annealed pseudo-Gibbs over the free entries;
    returns (variations, 4, T) tokens."""
    schedule = schedule or Schedule()
    dev = next(model.parameters()).device
    b = variations
    steps = plan.tokens.shape[-1]
    tokens = torch.as_tensor(plan.tokens, dtype=torch.long).unsqueeze(0).repeat(b, 1, 1)
    free = torch.as_tensor(plan.free, dtype=torch.bool).unsqueeze(0).repeat(b, 1, 1)
    pos = torch.as_tensor(plan.pos, dtype=torch.long).unsqueeze(0).repeat(b, 1).to(dev)
    fermata = torch.as_tensor(plan.fermata, dtype=torch.long).unsqueeze(0).repeat(b, 1).to(dev)
    key = torch.full((b,), int(plan.key), dtype=torch.long, device=dev)
    bias = torch.zeros(3, 1, grid.VOCAB_SIZE)
    bias[~torch.as_tensor(plan.allowed).unsqueeze(1)] = -1e9
    bias = bias.expand(3, steps, grid.VOCAB_SIZE).clone()
    if plan.soprano_sounds is not None:
        # the lower voices keep sounding while the melody sounds, as in the chorales
        sounds = torch.as_tensor(plan.soprano_sounds, dtype=torch.bool)
        bias[:, sounds, grid.REST] = -1e9
    if plan.no_hold is not None:
        hold_bias = bias[..., grid.HOLD]
        hold_bias[torch.as_tensor(plan.no_hold, dtype=torch.bool)] = -1e9
    if plan.cadence is not None:
        bias[torch.as_tensor(plan.cadence, dtype=torch.bool)] = -1e9
    lower = tokens[:, 1:]
    lower[free] = grid.MASK
    n_free = int(free[0].sum())
    if n_free == 0:
        return tokens.numpy()
    tokens = tokens.to(dev)
    lower = tokens[:, 1:]
    free = free.to(dev)
    bias = bias.to(dev)
    total = schedule.passes
    done = 0

    def predict(chosen: torch.Tensor, temp: float):
        logits = (model(tokens, pos, fermata, key) + bias)[chosen]
        if schedule.parallel_penalty:
            logits = logits - schedule.parallel_penalty * parallel_counts(tokens, chosen)
        probs = torch.softmax(logits.float().cpu() / temp, dim=-1)
        picked = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        return picked, probs.gather(1, picked[:, None]).squeeze(1)

    def step_done():
        nonlocal done
        done += 1
        if progress is not None:
            progress(int(100 * done / total))

    masked = free.clone()
    for i in range(schedule.decode):
        if cancel is not None and cancel():
            raise GenerationCancelled()
        picked, conf = predict(masked, schedule.temp_decode)
        lower[masked] = picked.to(dev)
        keep_masked = int(n_free * math.cos(math.pi / 2 * (i + 1) / schedule.decode))
        if i == schedule.decode - 1:
            keep_masked = 0
        score = torch.full(masked.shape, float("inf"))
        score[masked.cpu()] = conf
        flat = score.view(b, -1)
        new_mask = torch.zeros_like(flat, dtype=torch.bool)
        if keep_masked > 0:
            low = torch.topk(flat, keep_masked, dim=1, largest=False).indices
            new_mask.scatter_(1, low, True)
        masked = new_mask.view(masked.shape).to(dev) & masked
        lower[masked] = grid.MASK
        step_done()
    for i in range(schedule.refine):
        if cancel is not None and cancel():
            raise GenerationCancelled()
        share, temp = schedule.refine_at(i)
        draw = torch.rand(free.shape, generator=generator).to(dev)
        chosen = free & (draw < share)
        if bool(chosen.any()):
            lower[chosen] = grid.MASK
            picked, _ = predict(chosen, temp)
            lower[chosen] = picked.to(dev)
        step_done()
    for _ in range(schedule.repair):
        if cancel is not None and cancel():
            raise GenerationCancelled()
        chosen = current_parallels(tokens, free) if schedule.parallel_penalty else None
        if chosen is not None and bool(chosen.any()):
            chosen = _spread(chosen, generator)
            lower[chosen] = grid.MASK
            picked, _ = predict(chosen, schedule.temp_end)
            lower[chosen] = picked.to(dev)
        step_done()
    return tokens.cpu().numpy()


# -- public calls ------------------------------------------------------------------------

CONTEXT_STEPS = 64  # grid steps of music kept on each side of a span as context
MAX_VARIATIONS = 16


def harmonize(score: Score, melody_track: int | None = None, start: int | None = None,
              end: int | None = None, locked: Iterable[Note] | None = None,
              variations: int = 1, seed: int | None = None, device: str = "auto",
              progress: Callable[[int], None] | None = None,
              cancel: Callable[[], bool] | None = None, key: Key | str | None = None,
              model_path: str | os.PathLike | None = None,
              schedule: Schedule | None = None) -> list[Score]:
    """Alto, tenor and bass under a melody, in Bach's chorale style.

    ``melody_track`` is a 0-based track index (default: the track named Soprano, else the
    only track with notes). Only lower-voice notes with onsets in ``[start, end)`` ticks
    are generated; other notes of the tracks named Alto/Tenor/Bass and the ``locked``
    notes (default: notes marked ``locked`` on those tracks) are kept as they are and
    heard as context. Returns ``variations`` four-track Scores (Soprano, Alto, Tenor,
    Bass on channels 0-3, Choir Aahs) whose soprano is the melody note for note.

    ``progress(percent)`` is called after each sweep; ``cancel()`` returning True stops
    between sweeps with :class:`GenerationCancelled`. Same ``seed`` and input, same
    output. Raises :class:`UserError` for input the user can fix.
    """
    if not 1 <= int(variations) <= MAX_VARIATIONS:
        raise UserError(f"variations must be between 1 and {MAX_VARIATIONS}, not {variations}")
    mt = _melody_track(score, melody_track)
    melody = _top_line(score.track_notes(mt), score.tracks[mt].name)
    span_start = 0 if start is None else int(start)
    span_end = max(n.end for n in melody) if end is None else int(end)
    s0 = -(-span_start // grid.STEP_TICKS)  # first whole step in the span
    s1 = span_end // grid.STEP_TICKS if end is not None else -(-span_end // grid.STEP_TICKS)
    if s1 <= s0:
        raise UserError(f"empty span: ticks {span_start}..{span_end} hold no sixteenth to harmonize")
    if not any(n.start < span_end and n.end > span_start for n in melody):
        raise UserError(f"the span (ticks {span_start}..{span_end}) holds no melody notes")
    the_key = _resolve_key(score, key, melody, span_start)
    shift = _frame_shift(melody)
    if shift:
        log.info("melody outside the soprano range: harmonizing %+d semitones away and "
                 "moving the lower voices back", shift)

    lower_tracks = _lower_voice_tracks(score, mt)
    kept: list[list[Note]] = [[], [], []]  # existing notes that stay, per lower voice
    for i, tr in enumerate(lower_tracks):
        if tr is None:
            continue
        for n in score.track_notes(tr):
            if n.start < span_start or n.start >= span_end or n.locked:
                kept[i].append(n)
    lock_list = list(locked) if locked is not None else []
    for n in lock_list:
        i = _voice_of(n, score, lower_tracks)
        if i is not None and n not in kept[i]:
            kept[i].append(n)

    last = max([n.end for n in melody] + [n.end for k in kept for n in k] + [span_end])
    total = -(-last // grid.STEP_TICKS)
    w0 = max(0, s0 - CONTEXT_STEPS)
    w1 = min(total, s1 + CONTEXT_STEPS)
    steps = w1 - w0
    tokens = np.full((4, steps), grid.MASK, dtype=np.int64)
    tokens[0] = _row(melody, w0, steps, shift, grid.REST)
    free = np.zeros((3, steps), dtype=bool)
    span_mask = np.zeros(steps, dtype=bool)
    span_mask[s0 - w0:s1 - w0] = True
    for i in range(3):
        row = _row(kept[i], w0, steps, shift, grid.MASK)
        tokens[i + 1] = row
        free[i] = span_mask & (row == grid.MASK)
    no_hold = free & ~np.concatenate([np.zeros((3, 1), bool), free[:, :-1]], axis=1)
    plan = SamplingPlan(
        tokens=tokens, free=free,
        pos=grid.bar_positions(score, steps, w0),
        fermata=_fermatas(melody, w0, steps),
        allowed=voice_allowed(0),
        soprano_sounds=tokens[0] != grid.REST,
        no_hold=no_hold,
        key=key_class(the_key, shift),
        cadence=_final_chord_rule(melody, _resolve_key(score, key, melody, melody[-1].start),
                                  shift, w0, steps, span_mask),
    )

    model = load_model(model_path, device, notify=log.warning)
    if next(model.parameters()).device.type == "cpu":
        cap_threads()
    gen = torch.Generator().manual_seed(int(seed) if seed is not None
                                        else int.from_bytes(os.urandom(4), "little"))
    out = gibbs(model, plan, int(variations), gen, schedule, progress, cancel)

    velocity = int(np.median([n.velocity for n in melody]))
    results = []
    for b in range(out.shape[0]):
        notes = [n.moved(track=0) for n in melody]
        for i in range(3):
            notes.extend(n.moved(track=i + 1) for n in kept[i])
            allowed_steps = set(np.flatnonzero(free[i]).tolist())
            for n in grid.row_to_notes(out[b, i + 1], i + 1, w0, velocity, allowed_steps):
                notes.append(n.moved(pitch=n.pitch - shift))
        result = Score(notes=notes, tracks=grid.choir_tracks(),
                       tempos=list(score.tempos), time_signatures=list(score.time_signatures),
                       key_signatures=list(score.key_signatures) or [KeySignature(0, the_key)],
                       ppq=score.ppq, title=score.title)
        result.sort()
        results.append(result)
    return results


def harmonize_melody(score: Score, track: int | None = None, key: str | None = None,
                     variations: int = 1, seed: int | None = None, device: str = "auto",
                     progress: Callable[[int], None] | None = None,
                     cancel: Callable[[], bool] | None = None) -> list[Score]:
    """The CLI's call: ``track`` is 1-based as ``composer-app info`` lists tracks."""
    if track is not None:
        if not 1 <= track <= len(score.tracks):
            raise UserError(f"--track {track}: the file has tracks 1..{len(score.tracks)}")
        track -= 1
    return harmonize(score, melody_track=track, key=key, variations=variations, seed=seed,
                     device=device, progress=progress, cancel=cancel)


# -- helpers -----------------------------------------------------------------------------


def _melody_track(score: Score, requested: int | None) -> int:
    with_notes = score.tracks_with_notes()
    if requested is not None:
        if not 0 <= requested < len(score.tracks):
            raise UserError(f"melody track {requested + 1} does not exist "
                            f"(the score has {len(score.tracks)} tracks)")
        if requested not in with_notes:
            raise UserError(f"track {requested + 1} ({score.tracks[requested].name}) has no notes")
        return requested
    if not with_notes:
        raise UserError("no melody: the score has no notes")
    if len(with_notes) == 1:
        return with_notes[0]
    for i in with_notes:
        if score.tracks[i].name.strip().lower() == "soprano":
            return i
    listed = ", ".join(f"{i + 1}: {score.tracks[i].name or 'unnamed'}" for i in with_notes)
    raise UserError(f"several tracks have notes ({listed}); choose the melody with --track")


def _top_line(notes: list[Note], name: str) -> list[Note]:
    """The notes themselves when monophonic; else the highest line, and say so."""
    notes = sorted(notes, key=lambda n: (n.start, -n.pitch))
    if all(a.end <= b.start for a, b in zip(notes, notes[1:], strict=False)):
        return notes
    tops: list[Note] = []
    for n in notes:
        if tops and tops[-1].start == n.start:
            continue  # a lower note of the same chord
        if tops and tops[-1].end > n.start:
            prev = tops[-1]
            if prev.pitch > n.pitch and prev.end >= n.end:
                continue  # under a longer, higher note
            tops[-1] = prev.moved(duration=n.start - prev.start)
        tops.append(n)
    log.warning("the melody track %s has several notes at once; using its top line (%d of %d notes)",
                name or "", len(tops), len(notes))
    return tops


def _resolve_key(score: Score, key, melody: list[Note], tick: int) -> Key:
    if isinstance(key, Key):
        return key
    if key:
        try:
            return parse_key(key)
        except KeyError_ as exc:
            raise UserError(str(exc)) from None
    return score.key_at(tick) or detect_key((n.pitch, n.duration) for n in melody)


def _frame_shift(melody: list[Note]) -> int:
    """Semitones that bring the melody into the soprano range (0 when it is in it);
    whole octaves are preferred so the key stays."""
    lo, hi = min(n.pitch for n in melody), max(n.pitch for n in melody)
    s_lo, s_hi = SATB_RANGES["Soprano"]
    if hi - lo > 36:
        raise UserError(f"the melody spans {hi - lo} semitones (from MIDI {lo} to {hi}); "
                        "a singable melody spans at most three octaves")
    if s_lo <= lo and hi <= s_hi:
        return 0

    def cost(k: int):
        over = max(0, s_lo - (lo + k)) + max(0, (hi + k) - s_hi)
        return (over, k % 12 != 0, abs(k))

    best = min(range(-60, 61), key=cost)
    bass_lo, alto_hi = SATB_RANGES["Bass"][0], SATB_RANGES["Alto"][1]
    if lo + best < grid.PITCH_LO or hi + best > grid.PITCH_HI or \
            bass_lo - best < 0 or alto_hi - best > 127:
        raise UserError(f"the melody's range (MIDI {lo}..{hi}) is too extreme to harmonize")
    return best


def _lower_voice_tracks(score: Score, melody_track: int) -> list[int | None]:
    names = [t.name.strip().lower() for t in score.tracks]
    out: list[int | None] = []
    for voice in VOICE_NAMES[1:]:
        idx = names.index(voice.lower()) if voice.lower() in names else None
        out.append(idx if idx != melody_track else None)
    return out


def _voice_of(note: Note, score: Score, lower_tracks: list[int | None]) -> int | None:
    if note.track in lower_tracks:
        return lower_tracks.index(note.track)
    centres = [sum(SATB_RANGES[v]) / 2 for v in VOICE_NAMES[1:]]
    return int(np.argmin([abs(note.pitch - c) for c in centres]))


def _row(notes: list[Note], first_step: int, steps: int, shift: int, fill: int) -> np.ndarray:
    """A voice's token row over the window, pitches moved by ``shift``."""
    offset = first_step * grid.STEP_TICKS
    moved = []
    for n in notes:
        s, e = n.start - offset, n.end - offset
        if e <= 0 or s >= steps * grid.STEP_TICKS:
            continue
        s = max(0, s)
        pitch = min(grid.PITCH_HI, max(grid.PITCH_LO, n.pitch + shift))
        moved.append(Note(pitch, s, max(1, e - s)))
    return grid.notes_to_row(moved, steps, fill)


def _final_chord_rule(melody: list[Note], key: Key, shift: int, first_step: int, steps: int,
                      span_mask: np.ndarray) -> np.ndarray | None:
    """Tokens ruled out under the melody's last note: the piece ends on its tonic chord.

    Every chorale ends on the tonic (in minor often with a major third). Left to itself
    the sampler ended a test melody on the tonic in only 3 of 8 variations (others on
    VI or an inversion), so when the span holds the last note and that note belongs to
    the tonic triad, the bass must take the tonic and alto and tenor the triad's notes,
    struck with the melody's last note.
    """
    last = melody[-1]
    s = grid.step_of(last.start) - first_step
    e = min(steps, max(s + 1, grid.step_of(last.end) - first_step))
    if not 0 <= s < steps or not span_mask[s]:
        return None
    tonic = (key.tonic + shift) % 12
    major_third, minor_third, fifth = (tonic + 4) % 12, (tonic + 3) % 12, (tonic + 7) % 12
    melody_pc = (last.pitch + shift) % 12
    if key.mode == "major":
        triad = {tonic, major_third, fifth}
    elif melody_pc == minor_third:
        triad = {tonic, minor_third, fifth}
    else:  # tonic or fifth on top: minor, or the Picardy third
        triad = {tonic, minor_third, major_third, fifth}
    if melody_pc not in triad:
        return None
    ruled_out = np.zeros((3, steps, grid.VOCAB_SIZE), dtype=bool)
    for voice in range(3):
        pcs = {tonic} if voice == 2 else triad
        for p in range(grid.PITCH_LO, grid.PITCH_HI + 1):
            if p % 12 not in pcs:
                ruled_out[voice, s:e, grid.pitch_token(p)] = True
        ruled_out[voice, s, grid.HOLD] = True  # a new chord with the melody's last note
    return ruled_out


def _fermatas(melody: list[Note], first_step: int, steps: int) -> np.ndarray:
    """Fermatas the chorales would have: the last note and notes before a rest (a MIDI
    melody carries none)."""
    ferm = np.zeros(steps, dtype=np.int64)
    marked = [melody[-1]] + [a for a, b in zip(melody, melody[1:], strict=False)
                             if b.start - a.end >= grid.STEP_TICKS * 2]
    for n in marked:
        s = grid.step_of(n.start) - first_step
        e = max(s + 1, grid.step_of(n.end) - first_step)
        ferm[max(0, s):max(0, min(steps, e))] = 1
    return ferm
