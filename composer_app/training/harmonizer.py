"""Training and evaluation of the harmonizer (``composer-app train|evaluate harmonizer``).

Training reads random windows of the training chorales, each transposed by a random
interval that keeps every voice in its range (see :func:`allowed_transpositions`),
masks a random share of the alto/tenor/bass entries (0-100 %, sometimes a whole voice)
and learns to predict them: the conditionals the Gibbs sampler draws from. The one
training loop (:mod:`.loop`) runs it and writes ``harmonizer.pt`` + ``harmonizer.json``
(the model card, :mod:`.harmonizer_card`) into the run folder.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from composer_app.ml import grid
from composer_app.ml.harmonizer import UNKNOWN_KEY, Harmonizer, HarmonizerConfig
from composer_app.ml.harmonizer.checkpoint import checkpoint_dict, model_from_checkpoint
from composer_app.music import SATB_RANGES, VOICE_NAMES, UserError

from . import loop
from .chorales import ChoraleGrid, build_chorales, print_progress, split_chorales
from .loop import Task

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    epochs: int = 48
    batches_per_epoch: int = 150
    batch_size: int = 32
    window: int = 64
    lr: float = 2e-3
    lr_min: float = 1e-4  # the cosine's floor (5 % of lr)
    weight_decay: float = 1e-5
    clip: float = 1.0
    transpose: bool = True  # augment with transpositions that keep voices in range
    max_transpose: int = 6
    seed: int = 1
    threads: int = 1


# -- data --------------------------------------------------------------------------------


def allowed_transpositions(c: ChoraleGrid, max_shift: int = 6, tolerance: int = 2) -> list[int]:
    """Shifts (semitones) after which no voice goes further out of its SATB range than
    ``tolerance`` (or than it already was)."""
    out = []
    for k in range(-max_shift, max_shift + 1):
        ok = True
        for v, name in enumerate(VOICE_NAMES):
            row = c.tokens[v]
            pitches = row[row >= grid.FIRST_PITCH].astype(int) - grid.FIRST_PITCH + grid.PITCH_LO
            lo, hi = SATB_RANGES[name]
            if pitches.min() + k < min(lo - tolerance, pitches.min()) or \
               pitches.max() + k > max(hi + tolerance, pitches.max()):
                ok = False
                break
            if pitches.min() + k < grid.PITCH_LO or pitches.max() + k > grid.PITCH_HI:
                ok = False
                break
        if ok:
            out.append(k)
    return out or [0]


def transpose_tokens(tokens: np.ndarray, k: int) -> np.ndarray:
    out = tokens.astype(np.int64).copy()
    out[out >= grid.FIRST_PITCH] += k
    return out


class WindowSampler:
    """Random training windows (tokens, pos, fermata) with transposition."""

    def __init__(self, chorales: list[ChoraleGrid], window: int, transpose: bool,
                 max_transpose: int, rng: np.random.Generator) -> None:
        self.chorales = chorales
        self.window = window
        self.rng = rng
        lengths = np.array([c.steps for c in chorales], dtype=float)
        self.weights = lengths / lengths.sum()
        self.shifts = [allowed_transpositions(c, max_transpose) if transpose else [0]
                       for c in chorales]

    def batch(self, size: int):
        w = self.window
        toks = np.full((size, 4, w), grid.REST, dtype=np.int64)
        pos = np.zeros((size, w), dtype=np.int64)
        ferm = np.zeros((size, w), dtype=np.int64)
        valid = np.zeros((size, w), dtype=bool)
        keys = np.zeros(size, dtype=np.int64)
        for i, ci in enumerate(self.rng.choice(len(self.chorales), size, p=self.weights)):
            c = self.chorales[ci]
            start = int(self.rng.integers(0, max(1, c.steps - w // 2)))
            end = min(c.steps, start + w)
            n = end - start
            k = int(self.rng.choice(self.shifts[ci]))
            part = transpose_tokens(c.tokens[:, start:end], k)
            # a window starting on a HOLD: that note began before it; show it as its pitch
            for v in range(4):
                if part[v, 0] == grid.HOLD:
                    back = start
                    while back > 0 and c.tokens[v, back] == grid.HOLD:
                        back -= 1
                    first = int(c.tokens[v, back])
                    part[v, 0] = first + k if first >= grid.FIRST_PITCH else grid.REST
            toks[i, :, :n] = part
            pos[i, :n] = np.minimum(c.pos[start:end], grid.POS_MAX - 1)
            ferm[i, :n] = c.fermata[start:end]
            valid[i, :n] = True
            # now and then no key, so the model also works when none is known
            keys[i] = UNKNOWN_KEY if self.rng.random() < 0.1 else chorale_key(c, k)
        return toks, pos, ferm, valid, keys


MASK_MIX = {"iid": 0.35, "causal": 0.4, "voice": 0.15, "all": 0.1}
"""Shares of the training masks by kind; see :func:`random_mask`."""


def random_mask(valid: np.ndarray, rng: np.random.Generator,
                mix: dict[str, float] | None = None) -> np.ndarray:
    """(B, 3, W) bool: which lower-voice entries are hidden and predicted.

    The masks look like what the sampler shows the network (:mod:`ml.harmonizer`):

    - ``iid``: each entry hidden with a rate drawn from 5-100 % (the refinement passes);
    - ``causal``: everything from a random step on is hidden, at that step a random
      subset of the voices (the left-to-right draft, which samples bass, tenor, alto
      in turn at each step), and now and then the music after a later step is known
      again (a span harmonized between existing bars);
    - ``voice``: one whole voice hidden (one voice rewritten);
    - ``all``: every lower entry hidden.

    Before the draft existed the model saw only ``iid`` and ``voice`` masks; the draft
    then showed it a known past and an unknown future it had hardly been trained on.
    """
    mix = mix or MASK_MIX
    b, w = valid.shape
    kinds = list(mix)
    p = np.array([mix[k] for k in kinds], dtype=float)
    kind = rng.choice(len(kinds), size=b, p=p / p.sum())
    rate = rng.uniform(0.05, 1.0, size=(b, 1, 1))
    mask = rng.random((b, 3, w)) < rate
    steps = np.arange(w)
    for i in range(b):
        name = kinds[kind[i]]
        if name == "causal":
            t0 = int(rng.integers(0, w))
            mask[i] = steps[None, :] > t0
            mask[i, :, t0] = rng.random(3) < 0.5
            if rng.random() < 0.25:
                t1 = int(rng.integers(t0 + 1, w + 1))
                mask[i, :, t1:] = False
        elif name == "voice":
            mask[i] = False
            mask[i, int(rng.integers(0, 3))] = True
        elif name == "all":
            mask[i] = True
    return mask & valid[:, None, :]


def chorale_key(c: ChoraleGrid, shift: int = 0) -> int:
    """The model's key input for a chorale transposed by ``shift``."""
    return (c.key_sharps * 7 + shift) % 12


def masked_loss(model: Harmonizer, toks, pos, ferm, mask, keys=None) -> torch.Tensor:
    """Mean cross-entropy over the masked lower-voice entries."""
    inp = toks.clone()
    inp[:, 1:][mask] = grid.MASK
    logits = model(inp, pos, ferm, keys)  # (B, 3, W, V)
    target = toks[:, 1:]
    return F.cross_entropy(logits[mask], target[mask])


# -- training ----------------------------------------------------------------------------


def default_run_dir() -> Path:
    from composer_app.paths import data_dir

    return data_dir() / "runs" / "harmonizer"


class HarmonizerTask(Task):
    """The harmonizer's part of the training loop (:mod:`.loop`): random transposed
    windows of the training chorales, masks as :func:`random_mask`, the masked loss."""

    name = "harmonizer"
    metric = "valid_loss"

    def __init__(self, config: TrainConfig, model_config: HarmonizerConfig | None,
                 chorales: list[ChoraleGrid] | None, valid: list[ChoraleGrid] | None,
                 device: str, show: bool) -> None:
        super().__init__(config)
        self.model_config = model_config or HarmonizerConfig()
        self.chorales, self.valid, self.show = chorales, valid, show
        self.device_name = device
        self.split_sizes: dict[str, int] = {}

    def setup(self) -> None:
        from composer_app.ml.device import choose_device

        self.device = choose_device(self.device_name)
        if self.chorales is None:
            progress = print_progress("parsing chorales") if self.show else None
            parts = split_chorales(build_chorales(progress=progress))
            self.chorales, self.valid = parts["train"], parts["valid"]
            self.split_sizes = {k: len(v) for k, v in parts.items()}
        else:
            self.split_sizes = {"train": len(self.chorales), "valid": len(self.valid or [])}
        c = self.config
        self.rng = np.random.default_rng(c.seed)
        self.sampler = WindowSampler(self.chorales, c.window, c.transpose, c.max_transpose,
                                     self.rng)

    def build_model(self) -> Harmonizer:
        return Harmonizer(self.model_config)

    def model_from_checkpoint(self, data: dict, path: Path) -> Harmonizer:
        return model_from_checkpoint(data, path)

    def checkpoint(self, model: Harmonizer, training: dict) -> dict:
        return checkpoint_dict(model, training)

    def steps_per_epoch(self) -> int:
        return self.config.batches_per_epoch

    def batches(self, epoch: int):
        dev = self.device
        for _ in range(self.config.batches_per_epoch):
            toks, pos, ferm, valid_steps, keys = self.sampler.batch(self.config.batch_size)
            mask = random_mask(valid_steps, self.rng)
            yield tuple(torch.from_numpy(x).to(dev) for x in (toks, pos, ferm, mask, keys))

    def loss(self, model: Harmonizer, batch) -> torch.Tensor:
        toks, pos, ferm, mask, keys = batch
        return masked_loss(model, toks, pos, ferm, mask, keys)

    def validate(self, model: Harmonizer) -> float:
        return validation_loss(model, self.valid, self.device) if self.valid else float("nan")

    def rng_state(self):
        return self.rng.bit_generator.state

    def set_rng_state(self, state) -> None:
        if state is not None:
            self.rng.bit_generator.state = state

    def summary(self) -> dict:
        return {"chorales": self.split_sizes}

    def card(self, weights: Path, summary: dict) -> dict:
        from .harmonizer_card import model_card

        return model_card(weights, {}, summary, split_sizes=self.split_sizes)


def train(run_dir: str | os.PathLike, config: TrainConfig | None = None,
          model_config: HarmonizerConfig | None = None, resume: bool = False,
          chorales: list[ChoraleGrid] | None = None, valid: list[ChoraleGrid] | None = None,
          device: str = "cpu", show: bool = True, stop_after: int | None = None) -> dict:
    """Train with the one loop (:func:`.loop.run`) into ``run_dir``; returns its summary.

    ``run_dir`` gets ``last.pt`` (to resume), ``best.pt`` (the lowest validation loss),
    ``history.json``, and at the end ``harmonizer.pt`` + ``harmonizer.json`` (the card).
    """
    task = HarmonizerTask(config or TrainConfig(), model_config, chorales, valid, device, show)
    say = None if show else (lambda msg: None)
    return loop.run(task, run_dir, resume=resume, say=say, log_every=50 if show else 0,
                    stop_after=stop_after)


def _key_tensor(c: ChoraleGrid, batch: int, device="cpu") -> torch.Tensor:
    return torch.full((batch,), chorale_key(c), dtype=torch.long, device=device)


@torch.no_grad()
def validation_loss(model: Harmonizer, chorales: list[ChoraleGrid], device="cpu",
                    rate: float = 0.5, seed: int = 0) -> float:
    """Masked cross-entropy over whole validation chorales (original keys, fixed masks)."""
    model.eval()
    rng = np.random.default_rng(seed)
    total, count = 0.0, 0
    for c in chorales:
        toks = torch.from_numpy(c.tokens.astype(np.int64))[None].to(device)
        pos = torch.from_numpy(np.minimum(c.pos, grid.POS_MAX - 1).astype(np.int64))[None].to(device)
        ferm = torch.from_numpy(c.fermata.astype(np.int64))[None].to(device)
        mask = torch.from_numpy(rng.random((1, 3, c.steps)) < rate).to(device)
        inp = toks.clone()
        inp[:, 1:][mask] = grid.MASK
        logits = model(inp, pos, ferm, _key_tensor(c, 1, device))
        total += float(F.cross_entropy(logits[mask], toks[:, 1:][mask], reduction="sum"))
        count += int(mask.sum())
    model.train()
    return total / max(1, count)


# -- the evaluation's melodies -------------------------------------------------------


def soprano_score(c: ChoraleGrid, shift: int = 0):
    """The chorale's soprano as a one-track Score, with its pickup as leading silence."""
    from composer_app.music import Key, KeySignature, Score, TimeSignature, Track

    lead = int(c.pos[0]) if c.pos[0] < grid.POS_MAX else 0
    row = transpose_tokens(c.tokens[0:1], shift)[0]
    notes = [n.moved(start=n.start + lead * grid.STEP_TICKS)
             for n in grid.row_to_notes(row, track=0)]
    key = Key((c.key_sharps * 7 + shift) % 12, "major")  # as a file's key signature gives it
    return Score(notes=notes, tracks=[Track("Melody")],
                 time_signatures=[TimeSignature(0, c.numerator, c.denominator)],
                 key_signatures=[KeySignature(0, key)]), lead


# -- CLI ---------------------------------------------------------------------------------


def train_cli(args) -> int:
    """``composer-app train harmonizer [--epochs E] [--resume] [--out DIR] [--device D]``."""
    run_dir = Path(args.out) if getattr(args, "out", None) else default_run_dir()
    config = TrainConfig()
    if getattr(args, "epochs", None):
        if args.epochs < 1:
            raise UserError("--epochs must be at least 1")
        config.epochs = args.epochs
    from composer_app.ml.runtime import default_threads
    from composer_app.paths import models_dir

    config.threads = default_threads()
    if getattr(args, "resume", False) and not (run_dir / "last.pt").is_file():
        raise UserError(f"{run_dir}: nothing to resume (no last.pt)")
    model_config = HarmonizerConfig(hidden=args.hidden) if getattr(args, "hidden", None) else None
    result = train(run_dir, config, model_config, resume=getattr(args, "resume", False),
                   device=getattr(args, "device", "auto") or "auto")
    weights = Path(result["weights"])
    print(f"best validation loss {result['best_valid_loss']:.4f}; weights {weights}, "
          f"card {weights.with_suffix('.json')}")
    print(f"to ship them: copy both into {models_dir()}; `composer-app evaluate harmonizer "
          f"--card {weights.with_suffix('.json')} --history {run_dir / 'history.json'}` "
          "adds the evaluation to the card")
    return 0


def evaluate_cli(args) -> int:
    from .harmonizer_eval import evaluate_cli as run

    return run(args)
