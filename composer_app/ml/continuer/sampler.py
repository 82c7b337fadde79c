"""Sampling: a loaded continuer on a device, primed on the sketch, stepped in a batch."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import torch

from .network import ContinuerModel, _Stepper
from .tokens import BOS, HOLD, N_SPECIAL, REST, REST_LOGIT_BIAS, ContinuationCancelled, last_pitches

log = logging.getLogger(__name__)

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
                 logprobs: list | None = None, style: int = 0,
                 guidance: float = 0.0) -> list[list[int]]:
        """New tokens after a primed prefix, one row per variation.

        ``forced`` (variations, new steps), when given, holds a token per step that
        replaces the sampled one (-1: sample); the copy path restates bars with it. A
        list ``logprobs`` receives each row's mean log-probability (under the sampling
        distribution's logits, before top-p) of the tokens it got. ``style`` is an index
        of :data:`~.tokens.STYLES` (a model without a style input ignores it);
        ``guidance`` > 0 pushes the sampling away from the other style (each row is
        stepped under both styles: logits ``l_style + guidance * (l_style - l_other)``).

        ``prev_tokens`` are the inputs of the prefix steps (BOS first) and ``prev_pos``
        the metric positions (:func:`metric_position`) of the steps they predict; the last prefix input's prediction
        is the first new step, at ``new_pos[0]``. So ``len(prev_tokens) ==
        len(prev_pos)`` and ``prev_pos[-1] == new_pos[0]``.
        """
        dev = self.device
        m = self.model
        n_new = len(new_pos)
        # Style guidance: each row is stepped twice, under the style asked for and under
        # the other one, and samples from l_style + g * (l_style - l_other).
        styles = [style]
        if guidance and m.style_emb is not None and m.style_emb.num_embeddings > 1:
            styles.append(1 - style if style in (0, 1) else 0)
        R = len(styles)
        meter_t = torch.full((variations * R,), meter, dtype=torch.long, device=dev)
        mode_t = torch.full((variations * R,), mode, dtype=torch.long, device=dev)
        style_t = torch.tensor(styles, dtype=torch.long, device=dev).repeat_interleave(variations)
        # Prime on all prefix inputs but the last (once per style): that one is stepped below.
        hs = [torch.zeros(R, m.config.hidden, device=dev) for _ in range(m.config.layers)]
        cs = [torch.zeros(R, m.config.hidden, device=dev) for _ in range(m.config.layers)]
        if len(prev_tokens) > 1:
            t = torch.tensor([prev_tokens[:-1]] * R, device=dev)
            lp = torch.tensor([last_pitches(prev_tokens[:-1])] * R, device=dev)
            p = torch.tensor([prev_pos[:-1]] * R, device=dev)
            _, (h, c) = m.lstm(m.embed(t, lp, p, torch.full_like(t, meter),
                                       torch.full_like(t, mode),
                                       torch.tensor(styles, device=dev)[:, None]))
            hs, cs = list(h), list(c)  # per layer (R, H)
        hs = [h.repeat_interleave(variations, dim=0).contiguous() for h in hs]
        cs = [c.repeat_interleave(variations, dim=0).contiguous() for c in cs]
        prev = torch.full((variations,), prev_tokens[-1], dtype=torch.long, device=dev)
        last = torch.full((variations,), last_pitches(prev_tokens)[-1], dtype=torch.long,
                          device=dev)
        prev_is_rest = prev == REST
        if prev_tokens[-1] == BOS:
            prev_is_rest = torch.ones_like(prev_is_rest)
        pos_emb = m.metric_emb(torch.tensor(new_pos, device=dev))
        fixed = [m.meter_emb(meter_t), m.mode_emb(mode_t)]
        if m.style_emb is not None:
            fixed.append(m.style_emb(style_t))
        fixed = torch.cat(fixed, dim=-1)
        out = torch.empty((variations, n_new), dtype=torch.long, device=dev)
        inv_t = 1.0 / temperature
        every = max(1, n_new // 20)
        total_lp = torch.zeros(variations, device=dev) if logprobs is not None else None
        if forced is not None:
            forced = forced.to(dev)
        for i in range(n_new):
            if cancel is not None and cancel():
                raise ContinuationCancelled("continuation cancelled")
            both = prev.repeat(R) if R > 1 else prev
            x = torch.cat([m.token_emb(both), m.last_emb(last.repeat(R) if R > 1 else last),
                           pos_emb[i].expand(variations * R, -1), fixed], dim=-1)
            y, hs, cs = self.stepper(x, hs, cs)
            logits = m.head(y)
            if R > 1:
                logits = logits[:variations] + guidance * (logits[:variations]
                                                           - logits[variations:])
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
