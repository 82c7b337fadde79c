"""One training loop for every model (issue 14): epochs, schedule, checkpoints, resume,
progress, history and the model card.

A model gives a :class:`Task`: its model, its batches and loss, its validation loss,
its checkpoint (:mod:`composer_app.ml.checkpoint`) and its card. :func:`run` owns the
rest, the same for both:

- AdamW, the learning rate on a cosine from ``lr`` to ``lr_min`` over all steps of all
  epochs (by the global step, so a resumed run picks the schedule up where it was),
  gradients clipped to ``clip``;
- after each epoch, into the run folder: ``last.pt`` (checkpoint, optimizer, history,
  train config and the random states of the task and of torch, so a resumed run draws
  what the uninterrupted run would have drawn), ``best.pt`` (the lowest validation loss,
  a shippable checkpoint) and ``history.json``;
- at the end, ``NAME.pt`` (a copy of ``best.pt``) and ``NAME.json`` (the model card)
  beside it: what to copy into ``models/`` to ship it.

Resuming takes the train config stored in ``last.pt``, except the epochs (and threads)
asked for now; with more epochs the cosine is stretched over the new total.
"""

from __future__ import annotations

import functools
import json
import math
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, replace
from pathlib import Path

import torch

from composer_app.ml import checkpoint as schema
from composer_app.music import UserError
from composer_app.music.atomic import atomic_write, atomic_write_bytes


class Task:
    """What one model gives the loop. ``config`` is the model's TrainConfig dataclass,
    with at least ``epochs lr lr_min weight_decay clip seed threads``."""

    name = "model"  # files NAME.pt / NAME.json
    metric = "valid_loss"  # the history's key for the validation loss
    train_loss_tail = 1  # the epoch's train loss: mean over its last 1/tail of steps
    device = torch.device("cpu")

    def __init__(self, config) -> None:
        self.config = config

    def setup(self) -> None:
        """Called once the config is final (after a resume merged it): build data."""

    def build_model(self) -> torch.nn.Module:
        raise NotImplementedError

    def model_from_checkpoint(self, data: dict, path: Path) -> torch.nn.Module:
        raise NotImplementedError

    def checkpoint(self, model: torch.nn.Module, training: dict) -> dict:
        raise NotImplementedError

    def steps_per_epoch(self) -> int:
        raise NotImplementedError

    def batches(self, epoch: int) -> Iterable:
        """At most ``steps_per_epoch()`` batches for ``epoch`` (0-based)."""
        raise NotImplementedError

    def loss(self, model: torch.nn.Module, batch) -> torch.Tensor:
        raise NotImplementedError

    def validate(self, model: torch.nn.Module) -> float:
        raise NotImplementedError

    def rng_state(self):
        return None

    def set_rng_state(self, state) -> None:
        pass

    def describe(self, model: torch.nn.Module) -> str:
        return f"{self.name}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters"

    def summary(self) -> dict:
        """Figures of the data for the summary and the card."""
        return {}

    def card(self, weights: Path, summary: dict) -> dict:
        raise NotImplementedError


def lr_at(config, progress: float) -> float:
    """The cosine from ``lr`` (progress 0) to ``lr_min`` (progress 1)."""
    return config.lr_min + 0.5 * (config.lr - config.lr_min) * (
        1 + math.cos(math.pi * min(progress, 1.0)))


def jsonable(obj):
    return json.loads(json.dumps(obj, default=list))


def _eta(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def read_state(run_dir: Path) -> dict:
    last = Path(run_dir) / "last.pt"
    if not last.is_file():
        raise UserError(f"{last}: nothing to resume")
    try:
        state = torch.load(last, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"{last}: not a readable training state ({type(exc).__name__})") from None
    if not isinstance(state, dict) or not {"checkpoint", "optimizer", "epoch", "history",
                                           "train_config"} <= set(state):
        raise UserError(f"{last}: not a training state of this app (train again without "
                        "--resume)")
    return state


def run(task: Task, run_dir: str | Path, resume: bool = False,
        say: Callable[[str], None] | None = None, log_every: int = 50,
        stop_after: int | None = None) -> dict:
    """Train ``task`` into ``run_dir``; returns the summary (also in ``history.json``).

    ``stop_after``: stop after that epoch as if interrupted there (the schedule still
    counts all ``epochs``; ``resume`` goes on from it)."""
    say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = read_state(run_dir) if resume else None
    if state is not None:
        fields = set(asdict(task.config))
        stored = {k: v for k, v in state["train_config"].items() if k in fields}
        task.config = replace(task.config, **{**stored, "epochs": task.config.epochs,
                                               "threads": task.config.threads})
    cfg = task.config
    torch.set_num_threads(max(1, cfg.threads))
    torch.manual_seed(cfg.seed)
    task.setup()
    if state is None:
        model = task.build_model()
        history, start_epoch = [], 0
    else:
        model = task.model_from_checkpoint(state["checkpoint"], run_dir / "last.pt")
        history, start_epoch = list(state["history"]), int(state["epoch"])
        rng = state.get("rng") or {}
        if rng.get("torch") is not None:
            torch.set_rng_state(rng["torch"])
        if rng.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        task.set_rng_state(rng.get("task"))
        say(f"resuming after epoch {start_epoch}")
    model.to(task.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if state is not None:
        opt.load_state_dict(state["optimizer"])
    metric = task.metric
    say(task.describe(model))
    per_epoch = max(1, task.steps_per_epoch())
    total = per_epoch * cfg.epochs
    best = min((h[metric] for h in history), default=math.inf)
    wall_before = history[-1]["wall_s"] if history else 0.0
    t_run = time.perf_counter()
    done = 0
    for epoch in range(start_epoch, min(cfg.epochs, stop_after or cfg.epochs)):
        model.train()
        losses: list[float] = []
        t_epoch = time.perf_counter()
        for b, batch in enumerate(task.batches(epoch)):
            if b >= per_epoch:
                break
            for group in opt.param_groups:
                group["lr"] = lr_at(cfg, (epoch * per_epoch + b) / max(total, 1))
            loss = task.loss(model, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            losses.append(loss.item())
            done += 1
            if log_every and ((b + 1) % log_every == 0 or b + 1 == per_epoch):
                left = total - epoch * per_epoch - b - 1
                rate = (time.perf_counter() - t_run) / done
                say(f"epoch {epoch + 1}/{cfg.epochs} step {b + 1}/{per_epoch} "
                    f"loss {statistics.fmean(losses[-log_every:]):.4f} "
                    f"lr {opt.param_groups[0]['lr']:.2e} ETA {_eta(rate * left)}")
        value = float(task.validate(model))
        tail = losses[-max(1, len(losses) // task.train_loss_tail):] or [math.nan]
        entry = {"epoch": epoch + 1, "train_loss": statistics.fmean(tail), metric: value,
                 "epoch_s": time.perf_counter() - t_epoch,
                 "wall_s": wall_before + time.perf_counter() - t_run}
        history.append(entry)
        say(f"epoch {epoch + 1}/{cfg.epochs}: train {entry['train_loss']:.4f} "
            f"{metric.replace('_', ' ')} {value:.4f} ({entry['epoch_s']:.0f} s)")
        train_config = jsonable(asdict(cfg))
        ckpt = task.checkpoint(model, {"config": train_config, "epoch": epoch + 1,
                                       metric: value})
        if value < best or not math.isfinite(best):
            best = value
            schema.save(ckpt, run_dir / "best.pt")
        rng = {"task": task.rng_state(), "torch": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state_all() if task.device.type == "cuda" else None}
        schema.save({"checkpoint": ckpt, "optimizer": opt.state_dict(), "epoch": epoch + 1,
                     "history": history, "train_config": train_config, "rng": rng},
                    run_dir / "last.pt")
        summary = _summary(task, model, history, run_dir)
        atomic_write_bytes(run_dir / "history.json",
                           (json.dumps(summary, indent=1) + "\n").encode())
    summary = _summary(task, model, history, run_dir)
    atomic_write_bytes(run_dir / "history.json", (json.dumps(summary, indent=1) + "\n").encode())
    if (run_dir / "best.pt").is_file():
        summary["weights"] = str(export(task, run_dir, run_dir, summary))
    return summary


def _summary(task: Task, model: torch.nn.Module, history: list[dict], run_dir: Path) -> dict:
    metric = task.metric
    best = min(history, key=lambda h: h[metric]) if history else None
    return {
        "model": task.name,
        "train_config": jsonable(asdict(task.config)),
        "history": history,
        f"best_{metric}": best[metric] if best else math.inf,
        "best_epoch": best["epoch"] if best else None,
        "wall_s": round(history[-1]["wall_s"], 1) if history else 0.0,
        "parameters": sum(p.numel() for p in model.parameters()),
        "where": {"device": task.device.type, "threads": task.config.threads,
                  "machine": platform.machine()},
        "run_dir": str(run_dir),
        **task.summary(),
    }


def export(task: Task, run_dir: Path, dest_dir: Path, summary: dict | None = None,
           card_extra: dict | None = None) -> Path:
    """``best.pt`` copied as ``dest_dir/NAME.pt``, the model card ``NAME.json`` beside it."""
    src = Path(run_dir) / "best.pt"
    if not src.exists():
        raise UserError(f"{src}: no trained weights in {run_dir}")
    if summary is None:
        hist = Path(run_dir) / "history.json"
        summary = json.loads(hist.read_text()) if hist.is_file() else {}
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{task.name}.pt"
    if dest.resolve() != src.resolve():
        with open(src, "rb") as weights:
            atomic_write(dest, functools.partial(shutil.copyfileobj, weights))
    card = {**task.card(dest, summary), **(card_extra or {})}
    atomic_write_bytes(dest.with_suffix(".json"),
                       (json.dumps(card, indent=1, default=float) + "\n").encode())
    return dest
