"""Training and evaluation of the harmonizer (``composer-app train|evaluate harmonizer``).

Training reads random windows of the training chorales, each transposed by a random
interval that keeps every voice in its range (see :func:`allowed_transpositions`),
masks a random share of the alto/tenor/bass entries (0-100 %, sometimes a whole voice)
and learns to predict them: the conditionals the Gibbs sampler draws from.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from composer_app.ml import grid
from composer_app.ml.harmonizer import (
    UNKNOWN_KEY,
    Harmonizer,
    HarmonizerConfig,
    model_from_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from composer_app.music import SATB_RANGES, VOICE_NAMES, UserError
from composer_app.music.atomic import atomic_write, atomic_write_bytes

from .chorales import ChoraleGrid, build_chorales, print_progress, split_chorales

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    epochs: int = 48
    batches_per_epoch: int = 150
    batch_size: int = 32
    window: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-5
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


def train(run_dir: str | os.PathLike, config: TrainConfig | None = None,
          model_config: HarmonizerConfig | None = None, resume: bool = False,
          chorales: list[ChoraleGrid] | None = None, valid: list[ChoraleGrid] | None = None,
          device: str = "cpu", show: bool = True) -> dict:
    """Train; checkpoint every epoch into ``run_dir``; returns the history summary.

    ``run_dir/last.pt`` (model + optimizer, to resume) and ``run_dir/best.pt`` (the
    lowest validation loss, a shippable checkpoint) are written after each epoch.
    """
    from composer_app.ml.device import choose_device

    config = config or TrainConfig()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, config.threads))
    dev = choose_device(device)
    if chorales is None:
        parts = split_chorales(build_chorales(progress=print_progress("parsing chorales") if show else None))
        chorales, valid = parts["train"], parts["valid"]
    history: list[dict] = []
    start_epoch = 0
    wall_before = 0.0
    torch.manual_seed(config.seed)
    state_path = run_dir / "last.pt"
    if resume and state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        model = model_from_checkpoint(state["checkpoint"], state_path)
        config = TrainConfig(**{**asdict(config), **state["train_config"], "epochs": config.epochs})
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        opt.load_state_dict(state["optimizer"])
        history = json.loads(state["history"])
        start_epoch = len(history)
        wall_before = history[-1]["wall_s"] if history else 0.0
        rng = np.random.default_rng(config.seed + start_epoch)
        log.info("resuming at epoch %d", start_epoch + 1)
    else:
        model = Harmonizer(model_config or HarmonizerConfig())
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        rng = np.random.default_rng(config.seed)
    model.to(dev)
    sampler = WindowSampler(chorales, config.window, config.transpose, config.max_transpose, rng)
    total_batches = config.epochs * config.batches_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, total_batches)))) * 0.95 + 0.05)
    sched.last_epoch = start_epoch * config.batches_per_epoch  # resume the schedule where it was
    best = min((h["valid_loss"] for h in history), default=float("inf"))
    t_start = time.perf_counter()
    for epoch in range(start_epoch, config.epochs):
        model.train()
        losses = []
        t_epoch = time.perf_counter()
        for b in range(config.batches_per_epoch):
            toks, pos, ferm, valid_steps, keys = sampler.batch(config.batch_size)
            mask = random_mask(valid_steps, rng)
            loss = masked_loss(model, torch.from_numpy(toks).to(dev), torch.from_numpy(pos).to(dev),
                               torch.from_numpy(ferm).to(dev), torch.from_numpy(mask).to(dev),
                               torch.from_numpy(keys).to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            if show and (b % 10 == 0 or b == config.batches_per_epoch - 1):
                done = (epoch - start_epoch) * config.batches_per_epoch + b + 1
                left = total_batches - start_epoch * config.batches_per_epoch - done
                rate = (time.perf_counter() - t_start) / done
                print(f"\repoch {epoch + 1}/{config.epochs} batch {b + 1}/{config.batches_per_epoch} "
                      f"loss {np.mean(losses[-20:]):.3f} ETA {_fmt_eta(rate * left)}   ",
                      end="", file=sys.stderr, flush=True)
        vloss = validation_loss(model, valid, dev) if valid else float("nan")
        wall = wall_before + time.perf_counter() - t_start
        history.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)),
                        "valid_loss": vloss, "epoch_s": time.perf_counter() - t_epoch,
                        "wall_s": wall})
        if show:
            print(f"\repoch {epoch + 1}/{config.epochs}: train {np.mean(losses):.4f} "
                  f"valid {vloss:.4f} ({time.perf_counter() - t_epoch:.0f} s)" + " " * 20,
                  file=sys.stderr, flush=True)
        extra = {"train_config": asdict(config), "history": history}
        model.cpu()
        training = {"config": asdict(config), "epoch": epoch + 1, "valid_loss": vloss}
        if vloss < best or not math.isfinite(best):
            best = vloss
            save_checkpoint(model, run_dir / "best.pt", training)
        save_checkpoint(model, run_dir / "model.pt", training)
        ckpt = read_checkpoint(run_dir / "model.pt")
        state = {"checkpoint": ckpt, "optimizer": opt.state_dict(),
                 "train_config": asdict(config), "history": json.dumps(history)}
        atomic_write(state_path, functools.partial(torch.save, state))
        atomic_write_bytes(run_dir / "history.json", json.dumps(extra, indent=1).encode())
        model.to(dev)
    return {"history": history, "best_valid_loss": best, "run_dir": str(run_dir)}


def _key_tensor(c: ChoraleGrid, batch: int, device="cpu") -> torch.Tensor:
    return torch.full((batch,), chorale_key(c), dtype=torch.long, device=device)


def _fmt_eta(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


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

    config.threads = default_threads()
    if getattr(args, "resume", False) and not (run_dir / "last.pt").is_file():
        raise UserError(f"{run_dir}: nothing to resume (no last.pt)")
    model_config = HarmonizerConfig(hidden=args.hidden) if getattr(args, "hidden", None) else None
    result = train(run_dir, config, model_config, resume=getattr(args, "resume", False),
                   device=getattr(args, "device", "auto") or "auto")
    print(f"best validation loss {result['best_valid_loss']:.4f}; weights in {run_dir / 'best.pt'}")
    return 0


def evaluate_cli(args) -> int:
    from .harmonizer_eval import evaluate_cli as run

    return run(args)
