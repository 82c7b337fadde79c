"""The continuer network: an LSTM language model over the grid, and its one-step form."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from .tokens import MAX_POS, METERS, PHRASE_BARS, STYLES, VOCAB

log = logging.getLogger(__name__)

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
    # The style input (issue 15: Folk / Chorale, :data:`STYLES`); 0 = a model without
    # one (the checkpoints written before it), which ignores the style asked for.
    style_dim: int = 8
    hidden: int = 192
    layers: int = 2
    dropout: float = 0.2

    @property
    def input_dim(self) -> int:
        return (self.token_dim + self.last_dim + self.pos_dim + self.phrase_dim
                + self.meter_dim + self.mode_dim + self.style_dim)


class ContinuerModel(nn.Module):
    """LSTM language model over grid tokens.

    Input per step: the previous token, the last pitch played (so intervals need not be
    remembered through runs of HOLD and REST), and the metric position, meter and mode
    of the step to predict. A metric position is ``bar * MAX_POS + step``: the step in
    its bar and the bar counted mod ``PHRASE_BARS`` from the melody's first full bar, so
    phrase ends (long notes, rests) can fall where folk phrases put them. The style
    (an index of :data:`STYLES`: the corpus a melody came from) is the last input, so a
    model without one is the same network with those input columns zero.
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
        self.style_emb = nn.Embedding(len(STYLES), c.style_dim) if c.style_dim else None
        self.lstm = nn.LSTM(c.input_dim, c.hidden, num_layers=c.layers, batch_first=True,
                            dropout=c.dropout if c.layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden, c.vocab)

    def embed(self, prev, last, pos, meter, mode, style=None):
        parts = [self.token_emb(prev), self.last_emb(last), self.metric_emb(pos),
                 self.meter_emb(meter), self.mode_emb(mode)]
        if self.style_emb is not None:
            parts.append(self.embed_style(style, mode))
        return torch.cat(parts, dim=-1)

    def embed_style(self, style, like):
        """The style's embedding at each index of ``like`` (``style`` broadcast to its
        shape; None: the first style, Folk)."""
        style = torch.zeros_like(like) if style is None else style.expand_as(like)
        return self.style_emb(style)

    def metric_emb(self, pos):
        return torch.cat([self.pos_emb(pos % MAX_POS), self.phrase_emb(pos // MAX_POS)], dim=-1)

    def forward(self, prev, last, pos, meter, mode, state=None, style=None):
        """Logits ``(batch, time, vocab)`` and the final LSTM state; all inputs (B, T)
        (``style`` may also be one index per row, (B, 1))."""
        out, state = self.lstm(self.embed(prev, last, pos, meter, mode, style), state)
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
