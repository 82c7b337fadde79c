"""Sampling the lower voices: a left-to-right draft, then masked refinement.

1. **Draft** (:class:`network.Draft`): step by step from the span's start, bass, then
   tenor, then alto are sampled at each step, each seeing the past as decided, the
   voices already chosen at this step, the melody and whatever is kept after the span.
   The rules' penalties are exact here, since everything they look at is decided.
2. **Refine** (``refine`` passes of pseudo-Gibbs): a random set of free entries, no two
   within two steps of each other in any voice, is re-masked and resampled with the
   whole piece in view, at a temperature falling from ``temp_start`` to ``temp_end``.
3. **Repair** (``rules.repair`` passes): the notes that still make parallels are
   resampled, spread the same way.

The first sampler (kept as ``order="confidence"`` for measurement) decoded every entry
at once in MaskGIT style: it preferred HOLD, so lower voices moved in long notes (0.84
onsets per beat; Bach 1.18), and entries sampled in one pass did not see each other.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from composer_app.ml import GenerationCancelled

from .. import grid
from .network import Draft, Harmonizer
from .rules import (
    Rules,
    _sounding,
    candidate_pitches,
    current_parallels,
    held_falls,
    motion_penalty,
    parallel_counts,
    passing_sixteenths,
    passing_tones,
    spread,
    step_penalty,
    tie_repeats,
)


@dataclass
class SamplingPlan:
    """Everything the sampler needs, on the grid (numpy, one row per voice)."""

    tokens: np.ndarray  # (4, T) initial tokens; free entries hold MASK
    free: np.ndarray  # (3, T) bool: lower-voice entries to sample
    pos: np.ndarray  # (T,)
    fermata: np.ndarray  # (T,)
    allowed: np.ndarray  # (3, V) bool: tokens each lower voice may take
    key: int  # the network's key input (network.key_class)
    tonic: int = 0  # tonic pitch class in the frame, for the tendency-tone rules
    soprano_sounds: np.ndarray | None = None  # (T,) bool: no REST in the lower voices there
    no_hold: np.ndarray | None = None  # (3, T) bool: no HOLD there (a free run's first step)
    ruled_out: np.ndarray | None = None  # (3, T, V) bool: tokens ruled out (the final chord)
    bias: np.ndarray | None = None  # (3, T, V) float: logit bias (cadences)
    scale: frozenset[int] = frozenset()  # the key's scale in the frame (figuration)
    beat_steps: int = 4  # steps per beat of the meter in force


@dataclass
class Schedule:
    """How the sampler spends its network calls; the rules are in ``rules``."""

    order: str = "draft"  # "draft" (left to right) or "confidence" (MaskGIT, the first one)
    temp_draft: float = 1.0
    top_p: float = 0.9  # nucleus sampling: draw only from the likeliest tokens holding this mass
    refine: int = 4
    refine_share: float = 0.5  # share of steps offered to each refinement pass
    temp_start: float = 0.7
    temp_end: float = 0.3
    decode: int = 8  # passes of the "confidence" order
    temp_decode: float = 0.8
    rules: Rules = field(default_factory=Rules)

    @property
    def passes(self) -> int:
        first = 1 if self.order == "draft" else self.decode
        return first + self.refine + self.rules.repair

    def temp_at(self, i: int) -> float:
        f = i / max(1, self.refine - 1)
        return self.temp_start + (self.temp_end - self.temp_start) * f

    def as_dict(self) -> dict:
        return asdict(self)


class _Run:
    """The state of one sampling call: tokens, masks, biases on the device."""

    def __init__(self, model: Harmonizer, plan: SamplingPlan, variations: int,
                 generator: torch.Generator, schedule: Schedule, progress, cancel) -> None:
        self.model, self.schedule, self.rules = model, schedule, schedule.rules
        self.generator, self.progress, self.cancel = generator, progress, cancel
        dev = self.dev = next(model.parameters()).device
        b = variations
        steps = self.steps = plan.tokens.shape[-1]
        self.tokens = torch.as_tensor(plan.tokens, dtype=torch.long)[None].repeat(b, 1, 1).to(dev)
        self.free = torch.as_tensor(plan.free, dtype=torch.bool)[None].repeat(b, 1, 1).to(dev)
        self.pos = torch.as_tensor(plan.pos, dtype=torch.long)[None].repeat(b, 1).to(dev)
        self.fermata = torch.as_tensor(plan.fermata, dtype=torch.long)[None].repeat(b, 1).to(dev)
        self.key = torch.full((b,), int(plan.key), dtype=torch.long, device=dev)
        self.tonic = int(plan.tonic)
        bias = torch.zeros(3, steps, grid.VOCAB_SIZE)
        rules = self.rules
        if rules.voice_ranges:
            bias[~torch.as_tensor(plan.allowed)[:, None, :].expand(3, steps, -1)] = -1e9
        if rules.sound_with_soprano and plan.soprano_sounds is not None:
            bias[:, torch.as_tensor(plan.soprano_sounds, dtype=torch.bool), grid.REST] = -1e9
        if rules.strike_at_span_start and plan.no_hold is not None:
            hold = bias[..., grid.HOLD]
            hold[torch.as_tensor(plan.no_hold, dtype=torch.bool)] = -1e9
        if rules.final_tonic and plan.ruled_out is not None:
            bias[torch.as_tensor(plan.ruled_out, dtype=torch.bool)] = -1e9
        if plan.bias is not None:
            bias += torch.as_tensor(plan.bias, dtype=torch.float32)
        self.bias = bias.to(dev)
        self.lower = self.tokens[:, 1:]
        self.lower[self.free] = grid.MASK
        self.done = 0
        self.rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))

    # -- bookkeeping ---------------------------------------------------------------------

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel():
            raise GenerationCancelled()

    def step_done(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(int(100 * self.done / self.schedule.passes))

    def draw_np(self, logits: np.ndarray, temp: float) -> np.ndarray:
        """(B,) tokens drawn from (B, V) logits (the draft's path: numpy, one row each
        step, where torch's per-call overhead would dominate)."""
        z = logits / temp
        z = np.exp(z - z.max(axis=1, keepdims=True))
        probs = z / z.sum(axis=1, keepdims=True)
        if self.schedule.top_p < 1.0:
            order = np.argsort(-probs, axis=1, kind="stable")
            ordered = np.take_along_axis(probs, order, axis=1)
            outside = np.cumsum(ordered, axis=1) - ordered > self.schedule.top_p
            np.put_along_axis(probs, order, np.where(outside, 0.0, ordered), axis=1)
            probs /= probs.sum(axis=1, keepdims=True)
        u = self.rng.random((probs.shape[0], 1))
        picked = (np.cumsum(probs, axis=1) < u).sum(axis=1)
        return np.minimum(picked, probs.shape[1] - 1)

    def draw(self, logits: torch.Tensor, temp: float) -> tuple[torch.Tensor, torch.Tensor]:
        probs = torch.softmax(logits.float().cpu() / temp, dim=-1)
        if self.schedule.top_p < 1.0:
            ordered, index = probs.sort(dim=-1, descending=True)
            outside = ordered.cumsum(dim=-1) - ordered > self.schedule.top_p
            probs = probs.scatter(-1, index, ordered.masked_fill(outside, 0.0))
            probs = probs / probs.sum(dim=-1, keepdim=True)
        picked = torch.multinomial(probs, 1, generator=self.generator).squeeze(1)
        return picked.to(self.dev), probs.gather(1, picked[:, None]).squeeze(1)

    # -- passes --------------------------------------------------------------------------

    def predict(self, chosen: torch.Tensor, temp: float, extra: torch.Tensor | None = None):
        """Resample the ``chosen`` (B, 3, T) entries with the whole sequence in view;
        ``extra`` (N, V) is subtracted from their logits."""
        logits = (self.model(self.tokens, self.pos, self.fermata, self.key) + self.bias)[chosen]
        if extra is not None:
            logits = logits - extra
        if self.rules.parallels:
            logits = logits - self.rules.parallels * parallel_counts(self.tokens, chosen)
        return self.draw(logits, temp)

    def draft(self) -> None:
        """Left to right over the free steps: bass, tenor, alto at each step."""
        free_np = self.free.cpu().numpy()
        free_steps = np.flatnonzero(free_np.any(axis=(0, 1)))
        first, last = int(free_steps[0]), int(free_steps[-1])
        d = Draft(self.model, self.tokens, self.pos, self.fermata, self.key)
        sound = _sounding(self.tokens).cpu().numpy()
        tokens_np = self.tokens.cpu().numpy()
        cand = candidate_pitches()
        bias = self.bias.cpu()
        pos_np = self.pos[0].cpu().numpy()
        d.prime(self.tokens, first)  # the context before the span in one call
        for t in range(first, last + 1):
            if t % 16 == 0:
                self.check_cancel()
            time.sleep(0)  # let a waiting GUI thread have the GIL: this loop is Python-heavy
            known = np.ones((tokens_np.shape[0], 4), dtype=bool)
            known[:, 1:] = ~free_np[:, :, t]
            for v in (3, 2, 1):
                sel = free_np[:, v - 1, t]
                if not sel.any():
                    continue
                logits = (d.logits(self.tokens[:, :, t], t)[:, v - 1].cpu()
                          + bias[v - 1, t]).numpy()
                struck = known & (tokens_np[:, :, t] >= grid.FIRST_PITCH)
                pen = step_penalty(self.rules, sound, known, v, t, cand, self.tonic, struck,
                                   bool(pos_np[t] % 4 == 0))
                picked = self.draw_np(logits.astype(np.float64) - pen, self.schedule.temp_draft)
                tok = np.where(sel, picked, tokens_np[:, v, t])
                tokens_np[:, v, t] = tok
                self.tokens[:, v, t] = torch.from_numpy(tok).to(self.dev)
                prev = sound[:, v, t - 1] if t > 0 else np.full_like(tok, -1)
                sound[:, v, t] = np.where(tok >= grid.FIRST_PITCH,
                                          tok - grid.FIRST_PITCH + grid.PITCH_LO,
                                          np.where(tok == grid.HOLD, prev, -1))
                known[:, v] = True
                # a kept HOLD after this step continues what was chosen here
                if t + 1 < self.steps:
                    cont = (tokens_np[:, v, t + 1] == grid.HOLD) & ~free_np[:, v - 1, t + 1]
                    sound[:, v, t + 1] = np.where(cont, sound[:, v, t], sound[:, v, t + 1])
            d.advance(self.tokens[:, :, t], t)
        self.step_done()

    def confidence_decode(self) -> None:
        """The first sampler: MaskGIT-style, the most confident samples kept first."""
        sch = self.schedule
        masked = self.free.clone()
        b = masked.shape[0]
        n_free = int(self.free[0].sum())
        for i in range(sch.decode):
            self.check_cancel()
            picked, conf = self.predict(masked, sch.temp_decode)
            self.lower[masked] = picked
            keep_masked = 0 if i == sch.decode - 1 else \
                int(n_free * math.cos(math.pi / 2 * (i + 1) / sch.decode))
            score = torch.full(masked.shape, float("inf"), device=self.dev)
            score[masked] = conf.to(self.dev)
            flat = score.view(b, -1)
            new_mask = torch.zeros_like(flat, dtype=torch.bool)
            if keep_masked > 0:
                low = torch.topk(flat, keep_masked, dim=1, largest=False).indices
                new_mask.scatter_(1, low, True)
            masked = new_mask.view(masked.shape) & masked
            self.lower[masked] = grid.MASK
            self.step_done()

    def refine(self) -> None:
        sch = self.schedule
        for i in range(sch.refine):
            self.check_cancel()
            offer = self.free & (torch.rand(self.free.shape, generator=self.generator)
                                 .to(self.dev) < sch.refine_share)
            chosen = spread(offer, self.generator)
            if bool(chosen.any()):
                self.lower[chosen] = grid.MASK
                extra = self.context_penalty(chosen)
                picked, _ = self.predict(chosen, sch.temp_at(i), extra)
                self.lower[chosen] = picked
            self.step_done()

    def context_penalty(self, chosen: torch.Tensor) -> torch.Tensor:
        """(N, V) the draft's step rules for each chosen (masked) entry, with the music
        on both sides decided: into the note as in the draft, and the motion out of it
        to the voice's next note."""
        tokens = self.tokens.cpu()
        sound = _sounding(tokens).numpy()
        cand = candidate_pitches()
        rows = []
        pos_np = self.pos[0].cpu().numpy()
        for b, vi, t in chosen.nonzero().tolist():
            v = vi + 1
            on_beat = bool(pos_np[t] % 4 == 0)
            known = np.ones((1, 4), dtype=bool)
            known[0, v] = False
            s1 = sound[b:b + 1]
            struck = (tokens[b:b + 1, :, t] >= grid.FIRST_PITCH).numpy() & known
            pen = step_penalty(self.rules, s1, known, v, t, cand, self.tonic, struck,
                               on_beat)[0]
            nxt = t + 1
            while nxt < self.steps and int(tokens[b, v, nxt]) == grid.HOLD:
                nxt += 1
            if nxt < self.steps and int(tokens[b, v, nxt]) >= grid.FIRST_PITCH:
                pen = pen + motion_penalty(self.rules, v, s1[:, v, nxt], cand)[0]
            rows.append(pen)
        return torch.from_numpy(np.stack(rows)).to(self.dev)

    def repair(self) -> None:
        for _ in range(self.rules.repair):
            self.check_cancel()
            chosen = current_parallels(self.tokens, self.free) if self.rules.parallels else None
            if chosen is not None and bool(chosen.any()):
                chosen = spread(chosen, self.generator)
                self.lower[chosen] = grid.MASK
                picked, _ = self.predict(chosen, self.schedule.temp_end)
                self.lower[chosen] = picked
            self.step_done()


@torch.inference_mode()
def sample(model: Harmonizer, plan: SamplingPlan, variations: int, generator: torch.Generator,
           schedule: Schedule | None = None, progress=None, cancel=None) -> np.ndarray:
    """(variations, 4, T) tokens: the plan's free entries sampled, the rest as given."""
    schedule = schedule or Schedule()
    run = _Run(model, plan, variations, generator, schedule, progress, cancel)
    if not bool(run.free.any()):
        return run.tokens.cpu().numpy()
    if schedule.order == "draft":
        run.draft()
    elif schedule.order == "confidence":
        run.confidence_decode()
    else:
        raise ValueError(f"unknown sampling order {schedule.order!r}")
    run.refine()
    run.repair()
    out = run.tokens.cpu().numpy()
    if schedule.rules.passing_tones > 0:
        out = passing_tones(out, plan.free, plan.pos, plan.fermata, plan.allowed, plan.scale,
                            plan.beat_steps, schedule.rules.passing_tones,
                            lambda: float(torch.rand((), generator=generator)))
    if schedule.rules.passing_sixteenths > 0:
        out = passing_sixteenths(out, plan.free, plan.pos, plan.fermata, plan.allowed,
                                 plan.scale, plan.beat_steps, schedule.rules.passing_sixteenths,
                                 lambda: float(torch.rand((), generator=generator)))
    if schedule.rules.tie_repeats > 0:
        out = tie_repeats(out, plan.free, plan.pos, plan.fermata, plan.beat_steps,
                          schedule.rules.tie_repeats,
                          lambda: float(torch.rand((), generator=generator)))
    if schedule.rules.held_falls > 0:
        out = held_falls(out, plan.free, plan.pos, plan.fermata, plan.beat_steps,
                         schedule.rules.held_falls,
                         lambda: float(torch.rand((), generator=generator)))
    return out
