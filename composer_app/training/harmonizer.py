"""Training and evaluation of the harmonizer (``composer-app train|evaluate harmonizer``).

Training reads random windows of the training chorales, each transposed by a random
interval that keeps every voice in its range (see :func:`allowed_transpositions`),
masks a random share of the alto/tenor/bass entries (0-100 %, sometimes a whole voice)
and learns to predict them: the conditionals the Gibbs sampler draws from.
"""

from __future__ import annotations

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

from .chorales import ChoraleGrid, build_chorales, print_progress, split_chorales

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    epochs: int = 36
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


def random_mask(valid: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(B, 3, W) bool: which lower-voice entries are hidden and predicted."""
    b, w = valid.shape
    rate = rng.uniform(0.05, 1.0, size=(b, 1, 1))
    mask = rng.random((b, 3, w)) < rate
    whole = rng.random(b) < 0.25  # sometimes a whole voice, as when one voice is resampled
    voice = rng.integers(0, 3, size=b)
    mask[whole, voice[whole], :] = True
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
        if vloss < best or not math.isfinite(best):
            best = vloss
            save_checkpoint(model, run_dir / "best.pt", extra={"epoch": epoch + 1, "valid_loss": vloss})
        save_checkpoint(model, run_dir / "model.pt", extra={"epoch": epoch + 1, "valid_loss": vloss})
        ckpt = read_checkpoint(run_dir / "model.pt")
        torch.save({"checkpoint": ckpt, "optimizer": opt.state_dict(),
                    "train_config": asdict(config), "history": json.dumps(history)},
                   run_dir / "last.pt.tmp")
        os.replace(run_dir / "last.pt.tmp", state_path)
        (run_dir / "history.json").write_text(json.dumps(extra, indent=1))
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


# -- voice-leading metrics ---------------------------------------------------------------

_TRIADS = {frozenset(s) for s in ((0, 4, 7), (0, 3, 7), (0, 3, 6), (0, 4, 8))}
_SEVENTHS = {frozenset(s) for s in ((0, 4, 7, 10), (0, 4, 7, 11), (0, 3, 7, 10), (0, 3, 6, 10),
                                    (0, 3, 6, 9), (0, 3, 7, 11), (0, 4, 8, 11), (0, 4, 8, 10))}


def is_triad_or_seventh(pitches) -> bool:
    """Pitch-class set is a complete triad or seventh chord (any inversion)."""
    pcs = {p % 12 for p in pitches}
    for root in pcs:
        rel = frozenset((p - root) % 12 for p in pcs)
        if rel in _TRIADS or rel in _SEVENTHS:
            return True
    return False


def sounding_pitches(row: np.ndarray) -> np.ndarray:
    """Pitch sounding at each step (-1 for silence), from a token row."""
    out = np.full(len(row), -1, dtype=np.int64)
    current = -1
    for t, tok in enumerate(row):
        tok = int(tok)
        if tok >= grid.FIRST_PITCH:
            current = grid.token_pitch(tok)
        elif tok != grid.HOLD:
            current = -1
        out[t] = current
    return out


def piece_metrics(tokens: np.ndarray, shift: int = 0) -> dict:
    """Voice-leading figures of one four-voice grid, sampled at eighth notes.

    Parallel fifths/octaves follow music21's ``VoiceLeadingQuartet.parallelFifth`` /
    ``parallelOctave`` on semitones: both voices move, the interval is a (compound)
    fifth, or an octave or compound octave (not a unison), before and after; antiparallel
    counts too. ``shift`` is the frame's transposition (ranges move with it).
    """
    sounding = np.stack([sounding_pitches(tokens[v]) for v in range(4)])[:, ::2]
    full = (sounding >= 0).all(axis=0)
    chords = sounding[:, full].T  # (N, 4) S A T B
    changes = parallels = 0
    prev = None
    idx = np.flatnonzero(full)
    for k, chord in enumerate(chords):
        if prev is not None and idx[k] == idx[k - 1] + 1 and tuple(chord) != tuple(prev):
            changes += 1
            for i in range(4):
                for j in range(i + 1, 4):
                    a1, a2, b1, b2 = prev[i], chord[i], prev[j], chord[j]
                    if a1 == a2 or b1 == b2:
                        continue
                    d1, d2 = abs(a1 - b1), abs(a2 - b2)
                    if (d1 % 12 == 7 and d2 % 12 == 7) or \
                       (d1 and d2 and d1 % 12 == 0 and d2 % 12 == 0):
                        parallels += 1
        prev = chord
    n = max(1, len(chords))
    crossings = int(((chords[:, 0] < chords[:, 1]) | (chords[:, 1] < chords[:, 2])
                     | (chords[:, 2] < chords[:, 3])).sum()) if len(chords) else 0
    spacing = int(((chords[:, 0] - chords[:, 1] > 12)
                   | (chords[:, 1] - chords[:, 2] > 12)).sum()) if len(chords) else 0
    harmonic = sum(is_triad_or_seventh(c) for c in chords)
    notes = out_of_range = 0
    for v in (1, 2, 3):
        lo, hi = SATB_RANGES[VOICE_NAMES[v]]
        row = tokens[v]
        pitches = row[row >= grid.FIRST_PITCH] - grid.FIRST_PITCH + grid.PITCH_LO - shift
        notes += len(pitches)
        out_of_range += int(((pitches < lo) | (pitches > hi)).sum())
    return {
        "parallels_per_100_changes": 100.0 * parallels / max(1, changes),
        "crossings_pct": 100.0 * crossings / n,
        "spacing_pct": 100.0 * spacing / n,
        "out_of_range_pct": 100.0 * out_of_range / max(1, notes),
        "triad_or_seventh_pct": 100.0 * harmonic / n,
    }


def average_metrics(rows: list[dict]) -> dict:
    return {k: round(float(np.mean([r[k] for r in rows])), 3) for k in rows[0]} if rows else {}


# -- evaluation --------------------------------------------------------------------------


@torch.no_grad()
def nll_per_voice(model: Harmonizer, chorales: list[ChoraleGrid], stride: int = 16) -> dict:
    """NLL (nats/token) of each lower voice's tokens given all the other entries.

    Each pass hides one step in ``stride`` of one voice, so every token is predicted
    with the rest of the music known (the hidden steps are ``stride`` apart).
    """
    model.eval()
    out = {}
    for vi, name in enumerate(VOICE_NAMES[1:]):
        total, count = 0.0, 0
        for c in chorales:
            toks = torch.from_numpy(c.tokens.astype(np.int64))[None].repeat(stride, 1, 1)
            pos = torch.from_numpy(np.minimum(c.pos, grid.POS_MAX - 1).astype(np.int64))[None].repeat(stride, 1)
            ferm = torch.from_numpy(c.fermata.astype(np.int64))[None].repeat(stride, 1)
            hide = torch.zeros(stride, c.steps, dtype=torch.bool)
            for k in range(stride):
                hide[k, k::stride] = True
            inp = toks.clone()
            inp[:, vi + 1][hide] = grid.MASK
            logits = model(inp, pos, ferm, _key_tensor(c, stride))[:, vi]  # (stride, T, V)
            total += float(F.cross_entropy(logits[hide], toks[:, vi + 1][hide], reduction="sum"))
            count += int(hide.sum())
        out[name] = round(total / max(1, count), 4)
    return out


def _far_key_shift(c: ChoraleGrid) -> int:
    """The allowed transposition that gives the most accidentals (Db, F#m and alike)."""
    from composer_app.music.theory import _MAJOR_SHARPS

    major_pc = (c.key_sharps * 7) % 12
    return max(allowed_transpositions(c), key=lambda k: (abs(_MAJOR_SHARPS[(major_pc + k) % 12]), -abs(k)))


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


def harmonize_chorales(chorales: list[ChoraleGrid], model_path, shifts=None, seed: int = 0,
                       show: bool = True, schedule=None) -> list[dict]:
    """Harmonize each chorale's soprano; the metrics of each result, and whether the
    soprano came back exactly."""
    from composer_app.ml.harmonizer import harmonize

    rows = []
    for i, c in enumerate(chorales):
        k = shifts[i] if shifts else 0
        melody, lead = soprano_score(c, k)
        result = harmonize(melody, seed=seed + i, model_path=model_path, device="cpu",
                           schedule=schedule)[0]
        soprano_ok = [(n.pitch, n.start, n.duration) for n in result.track_notes(0)] == \
                     [(n.pitch, n.start, n.duration) for n in melody.track_notes(0)]
        toks = grid.score_to_grid(result)[:, lead:]
        row = piece_metrics(toks)
        row["soprano_exact"] = 100.0 if soprano_ok else 0.0
        rows.append(row)
        if show:
            print(f"\rharmonizing {i + 1}/{len(chorales)}", end="" if i + 1 < len(chorales) else "\n",
                  file=sys.stderr, flush=True)
    return rows


def evaluate(model_path=None, limit: int | None = None, show: bool = True) -> dict:
    """Every figure of the model card, on the test split."""
    from composer_app.ml.harmonizer import default_model_path, load_model

    model_path = Path(model_path) if model_path else default_model_path()
    model = load_model(model_path, "cpu")
    torch.set_num_threads(1)
    test = split_chorales(build_chorales(progress=print_progress("parsing chorales") if show else None))["test"]
    if limit:
        test = test[:limit]
    t0 = time.perf_counter()
    bach = average_metrics([piece_metrics(c.tokens) for c in test])
    model_rows = harmonize_chorales(test, model_path, show=show)
    far_shifts = [_far_key_shift(c) for c in test]
    far_rows = harmonize_chorales(test, model_path, far_shifts, seed=1000, show=show)
    minor_rows = [r for r, c in zip(model_rows, test, strict=False) if _is_minor(c)]
    from composer_app.ml.harmonizer import Schedule

    bare_rows = harmonize_chorales(test, model_path, show=show,
                                   schedule=Schedule(parallel_penalty=0.0, repair=0))
    return {
        "test_pieces": len(test),
        "nll_per_token": nll_per_voice(model, test),
        "model": average_metrics(model_rows),
        "model_far_keys": average_metrics(far_rows),
        "model_minor_pieces": average_metrics(minor_rows),
        "model_without_voice_leading_rule": average_metrics(bare_rows),
        "minor_pieces": len(minor_rows),
        "bach": bach,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _is_minor(c: ChoraleGrid) -> bool:
    from composer_app.music import Key, detect_key

    pitches = [(grid.token_pitch(t), 1) for t in c.tokens.reshape(-1) if t >= grid.FIRST_PITCH]
    k = detect_key(pitches)
    return isinstance(k, Key) and k.mode == "minor"


TARGETS = {
    "parallels_per_100_changes": ("<=", 1.5),
    "crossings_pct": ("<=", 3.0),
    "spacing_pct": ("<=", 3.0),
    "out_of_range_pct": ("<=", 0.5),
    "triad_or_seventh_pct": (">=", 70.0),
}


def format_report(result: dict) -> str:
    lines = [f"test split: {result['test_pieces']} chorales (never trained on)",
             "NLL per token given the rest (nats): "
             + ", ".join(f"{k} {v:.3f}" for k, v in result["nll_per_token"].items()),
             f"{'metric':<28} {'model':>9} {'far keys':>9} {'minor':>9} {'no rule':>9} "
             f"{'Bach':>9}  target"]
    for k, (op, val) in TARGETS.items():
        lines.append(f"{k:<28} {result['model'][k]:>9.2f} {result['model_far_keys'][k]:>9.2f} "
                     f"{result['model_minor_pieces'].get(k, float('nan')):>9.2f} "
                     f"{result['model_without_voice_leading_rule'][k]:>9.2f} "
                     f"{result['bach'][k]:>9.2f}  {op} {val}")
    lines.append(f"{'soprano kept exactly %':<28} {result['model']['soprano_exact']:>9.1f} "
                 f"{result['model_far_keys']['soprano_exact']:>9.1f}")
    lines.append("far keys: each piece moved to the allowed key with the most accidentals; "
                 "minor: the minor-key pieces; no rule: sampling without the parallel-"
                 "fifths/octaves penalty and repair passes (the network alone)")
    return "\n".join(lines)


# -- CLI ---------------------------------------------------------------------------------


def train_cli(args) -> int:
    """``composer-app train harmonizer [--epochs E] [--resume] [--out DIR] [--device D]``."""
    run_dir = Path(args.out) if getattr(args, "out", None) else default_run_dir()
    config = TrainConfig()
    if getattr(args, "epochs", None):
        if args.epochs < 1:
            raise UserError("--epochs must be at least 1")
        config.epochs = args.epochs
    threads = os.environ.get("COMPOSER_APP_THREADS")
    config.threads = int(threads) if threads and threads.isdigit() else max(1, (os.cpu_count() or 2) - 1)
    if getattr(args, "resume", False) and not (run_dir / "last.pt").is_file():
        raise UserError(f"{run_dir}: nothing to resume (no last.pt)")
    result = train(run_dir, config, resume=getattr(args, "resume", False),
                   device=getattr(args, "device", "auto") or "auto")
    print(f"best validation loss {result['best_valid_loss']:.4f}; weights in {run_dir / 'best.pt'}")
    return 0


def evaluate_cli(args) -> int:
    """``composer-app evaluate harmonizer [--checkpoint P] [--limit N] [--json PATH]``."""
    if getattr(args, "limit", None) is not None and args.limit < 1:
        raise UserError("--limit must be at least 1")
    result = evaluate(getattr(args, "checkpoint", None), getattr(args, "limit", None))
    print(format_report(result))
    if getattr(args, "json", None):
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


# -- model card --------------------------------------------------------------------------


def model_card(checkpoint: str | os.PathLike, history: list[dict], train_config: dict,
               evaluation: dict, measurements: dict, bench: dict | None = None) -> dict:
    """The JSON card shipped beside the weights."""
    from composer_app.ml.harmonizer import Schedule

    ckpt = read_checkpoint(checkpoint)
    params = sum(int(np.prod(t.shape)) for t in ckpt["state_dict"].values())
    split_sizes = {k: len(v) for k, v in split_chorales(build_chorales()).items()}
    best = min(history, key=lambda h: h["valid_loss"])
    return {
        "model": "harmonizer",
        "file": "harmonizer.pt",
        "format_version": ckpt["format_version"],
        "parameters": params,
        "size_bytes": Path(checkpoint).stat().st_size,
        "architecture": {
            "summary": "DeepBach-style, whole-sequence: token + metadata embeddings; forward "
                       "LSTM output at t-1 (past), backward LSTM output at t+1 (future), "
                       "feed-forward over the four voices at t (entries being sampled are "
                       "MASK); joined by an MLP; one trunk, three softmax heads (alto, tenor, "
                       "bass), so one network call per pass serves all lower voices",
            "config": ckpt["config"],
            "vocabulary": ckpt["vocabulary"],
        },
        "data": {
            "corpus": "music21's bundled Bach chorales (four-part scores only; the rest skipped)",
            "grid": "sixteenth notes; per voice per step: pitch / HOLD / REST; metadata: "
                    "position in the bar, fermata (soprano), key signature",
            "split_file": "composer_app/training/splits/bach_chorales.json (by BWV number)",
            "chorales": split_sizes,
            "augmentation": "every transposition within +-6 semitones that keeps each voice "
                            "within 2 semitones of its SATB range (or no further out than "
                            "Bach wrote it)",
        },
        "measurements": measurements,
        "training": {
            "config": train_config,
            "epochs": len(history),
            "best_epoch": best["epoch"],
            "best_valid_masked_nll": round(best["valid_loss"], 4),
            "wall_time_s": round(history[-1]["wall_s"], 1),
            "history": [{k: round(v, 4) if isinstance(v, float) else v for k, v in h.items()}
                        for h in history],
        },
        "sampling": asdict(Schedule()),
        "evaluation_test_split": evaluation,
        "bench": bench or {},
        "reproduce": [
            "COMPOSER_APP_THREADS=1 composer-app train harmonizer --out RUN",
            "cp RUN/best.pt models/harmonizer.pt",
            "composer-app evaluate harmonizer --json eval.json",
            "composer-app bench --only harmonize_8_bars",
        ],
    }
