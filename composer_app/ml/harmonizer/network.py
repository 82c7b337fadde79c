"""The harmonizer network: DeepBach's idea in a whole-sequence layout.

A forward LSTM's output at ``t-1`` carries the past, a backward LSTM's output at ``t+1``
carries the future, a feed-forward net reads the four voices at ``t`` (entries being
sampled replaced by ``MASK``) and the metadata (position in the bar, fermata, key).
One trunk with three heads (alto, tenor, bass) gives all lower voices in one pass.

:meth:`Harmonizer.forward` serves the refinement passes (every step at once);
:class:`Draft` runs the same weights one step at a time for the left-to-right draft,
carrying the forward LSTM's state in plain tensor maths (a one-step ``nn.LSTM`` call
costs 1-2.6 ms on this CPU, the cell maths a tenth of that).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from composer_app.music import Key

from .. import grid

UNKNOWN_KEY = 12


def key_class(key: Key | None, shift: int = 0) -> int:
    """The model's key input: pitch class of the key signature's major tonic."""
    if key is None:
        return UNKNOWN_KEY
    return (key.sharps * 7 + shift) % 12


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
        known = set(cls.__dataclass_fields__)
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

    def meta(self, pos: torch.Tensor, fermata: torch.Tensor,
             key: torch.Tensor | None) -> torch.Tensor:
        """(B, T, meta_dim) metadata embedding; ``key`` (B,), 12 if unknown."""
        meta = self.pos(pos) + self.fermata(fermata)
        if self.key is not None:
            if key is None:
                key = torch.full((pos.shape[0],), UNKNOWN_KEY, dtype=torch.long,
                                 device=pos.device)
            meta = meta + self.key(key)[:, None, :]
        return meta

    def features(self, tokens: torch.Tensor, meta: torch.Tensor) -> torch.Tensor:
        """(B, T, d_in) from tokens (B, 4, T) and metadata (B, T, meta_dim)."""
        return torch.cat([self.tokens[v](tokens[:, v]) for v in range(4)] + [meta], dim=-1)

    def forward(self, tokens: torch.Tensor, pos: torch.Tensor, fermata: torch.Tensor,
                key: torch.Tensor | None = None):
        b, _, t = tokens.shape
        x = self.features(tokens, self.meta(pos, fermata, key))
        h = self.inp(x)
        fwd, _ = self.past(h)
        bwd, _ = self.future(h.flip(1))
        bwd = bwd.flip(1)
        zero = fwd.new_zeros(b, 1, fwd.shape[-1])
        past = torch.cat([zero, fwd[:, :-1]], dim=1)  # state after t-1
        future = torch.cat([bwd[:, 1:], zero], dim=1)  # state from t+1 on
        return self.head(past, future, x)

    def head(self, past: torch.Tensor, future: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, 3, T, V) (or (B, 3, V) for one step) from the three summaries."""
        joined = self.join(torch.cat([past, future, self.centre(x)], dim=-1))
        logits = self.heads(joined)
        if logits.dim() == 2:
            return logits.view(logits.shape[0], 3, self.config.vocab_size)
        b, t = logits.shape[:2]
        return logits.view(b, t, 3, self.config.vocab_size).permute(0, 2, 1, 3)


class Draft:
    """One step at a time over the same weights, for left-to-right sampling.

    ``future`` is the backward LSTM over the tokens as they are before drafting (the
    music after a step is unknown then, except what the user keeps), computed once;
    the forward LSTM's state is carried as steps are decided. The first linear layers
    of ``inp`` and ``centre`` are folded into per-voice token tables, so a step costs a
    few gathers instead of four embedding lookups and a wide matmul.
    """

    def __init__(self, model: Harmonizer, tokens: torch.Tensor, pos: torch.Tensor,
                 fermata: torch.Tensor, key: torch.Tensor | None) -> None:
        self.model = model
        c = model.config
        meta = model.meta(pos, fermata, key)  # (B, T, M)
        self.meta = meta
        x = model.features(tokens, meta)
        bwd, _ = model.future(model.inp(x).flip(1))
        bwd = bwd.flip(1)
        zero = bwd.new_zeros(bwd.shape[0], 1, bwd.shape[-1])
        self.future = torch.cat([bwd[:, 1:], zero], dim=1)
        b = tokens.shape[0]
        self.h = [bwd.new_zeros(b, c.hidden) for _ in range(c.layers)]
        self.c = [bwd.new_zeros(b, c.hidden) for _ in range(c.layers)]
        lstm = model.past
        self.weights = [(getattr(lstm, f"weight_ih_l{i}").t(), getattr(lstm, f"weight_hh_l{i}").t(),
                         getattr(lstm, f"bias_ih_l{i}") + getattr(lstm, f"bias_hh_l{i}"))
                        for i in range(c.layers)]
        self.inp_tables, self.inp_meta = self._fold(model.inp[0], meta)
        self.centre_tables, self.centre_meta = self._fold(model.centre[0], meta)
        self.centre_second = model.centre[3]

    def _fold(self, layer: nn.Linear, meta: torch.Tensor):
        td = self.model.config.token_dim
        w = layer.weight  # (H, 4 * td + M)
        tables = [self.model.tokens[v].weight @ w[:, v * td:(v + 1) * td].t() for v in range(4)]
        return tables, meta @ w[:, 4 * td:].t() + layer.bias

    def _first(self, tables, meta, tokens_t: torch.Tensor, t: int) -> torch.Tensor:
        out = meta[:, t] + tables[0][tokens_t[:, 0]]
        for v in (1, 2, 3):
            out = out + tables[v][tokens_t[:, v]]
        return torch.relu(out)

    def prime(self, tokens: torch.Tensor, upto: int) -> None:
        """Feed steps ``0..upto-1`` (decided context before the span) in one LSTM call."""
        if upto <= 0:
            return
        x = self.model.features(tokens[:, :, :upto], self.meta[:, :upto])
        _, (h, c) = self.model.past(self.model.inp(x))
        self.h, self.c = list(h.unbind(0)), list(c.unbind(0))

    def logits(self, tokens_t: torch.Tensor, t: int) -> torch.Tensor:
        """(B, 3, V) logits at step ``t`` given the voices there (B, 4) and the past."""
        centre = torch.relu(self.centre_second(
            self._first(self.centre_tables, self.centre_meta, tokens_t, t)))
        m = self.model
        joined = m.join(torch.cat([self.h[-1], self.future[:, t], centre], dim=-1))
        return m.heads(joined).view(tokens_t.shape[0], 3, m.config.vocab_size)

    def advance(self, tokens_t: torch.Tensor, t: int) -> None:
        """Feed the decided step ``t`` (B, 4) into the forward LSTM."""
        inp = self._first(self.inp_tables, self.inp_meta, tokens_t, t)
        for i, (w_ih, w_hh, bias) in enumerate(self.weights):
            gates = torch.addmm(bias, inp, w_ih) + self.h[i] @ w_hh
            ig, fg, gg, og = gates.chunk(4, dim=1)
            self.c[i] = torch.sigmoid(fg) * self.c[i] + torch.sigmoid(ig) * torch.tanh(gg)
            self.h[i] = torch.sigmoid(og) * torch.tanh(self.c[i])
            inp = self.h[i]
