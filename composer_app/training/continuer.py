"""Training and evaluation of the melody continuer (``composer-app train|evaluate continuer``).

Data: :mod:`composer_app.training.melodies` (folk tunes + Bach sopranos, fixed split).
Each melody becomes one grid-token sequence (see :mod:`composer_app.ml.continuer`),
key-normalised to C (major or minor kept as a condition). Training packs the shuffled
sequences of an epoch into rows of ``seq_len`` steps (no padding wasted); the one loop
(:mod:`.loop`) checkpoints every epoch into the run folder (``last.pt`` to resume,
``best.pt`` by validation NLL) and ends with ``continuer.pt`` + ``continuer.json`` (the
weights and their model card, as shipped).
"""

from __future__ import annotations

import json
import logging
import math
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from composer_app import paths
from composer_app.ml import continuer as C
from composer_app.music import Key, UserError
from composer_app.music.theory import profile_fit

from . import loop
from . import melodies as M
from .loop import Task

log = logging.getLogger(__name__)

IGNORE = -100


@dataclass
class TrainConfig:
    epochs: int = 20
    batch: int = 64
    seq_len: int = 192
    lr: float = 3e-3
    lr_min: float = 2e-4
    weight_decay: float = 1e-4
    clip: float = 1.0
    seed: int = 4
    threads: int = 1
    key_mode: str = "normalise"  # or "augment": all transpositions, no normalisation
    max_train_steps: int | None = None  # cap on optimizer steps per epoch (quick runs)
    sources: tuple = ("essen", "oneills", "ryans", "bach")
    model: dict = field(default_factory=dict)
    # Fine-tuning: start from these weights (a checkpoint without a style input gets one,
    # its new input columns zero, so it starts as the network it was).
    init_from: str | None = None
    # Each chorale soprano is seen this many times per epoch (the Chorale style has 290
    # train melodies against 9,280 folk tunes).
    chorale_repeats: int = 1


# -- sequences ------------------------------------------------------------------------------


def melody_sequence(mel: dict, transpose: int | None = None) -> dict | None:
    """Grid tokens and conditions of one corpus melody, or None if it does not fit.

    ``transpose`` None: key-normalise (tonic to C, octave into the middle); otherwise
    move by that many semitones (the augmentation variant).
    """
    num, den = mel["meter"]
    bar_ticks = num * 4 * 480 // den
    if bar_ticks % C.STEP or C.bar_steps(num, den) > C.MAX_POS:
        return None
    key = melody_key(mel)
    pitches = [n[0] for n in mel["notes"]]
    if transpose is None:
        shift = C.key_shift(key)
        shift += C.octave_fit([p + shift for p in pitches])
    else:
        shift = transpose
    notes = [(p + shift, s, d) for p, s, d in mel["notes"]]
    end = max(s + d for _, s, d in notes)
    tokens = C.encode_melody(notes, 0, end)
    steps = C.bar_steps(num, den)
    phase = int(round(mel["phase"] / C.STEP))
    pickup = 1 if phase % steps else 0
    pos = [C.metric_position((phase + i) % steps, (phase + i) // steps - pickup)
           for i in range(len(tokens))]
    return {"tokens": tokens, "pos": pos, "meter": C.meter_id(num, den),
            "mode": 1 if key.mode == "minor" else 0,
            "style": C.style_id(C.SOURCE_STYLE.get(mel.get("source"), C.DEFAULT_STYLE))}


def melody_key(mel: dict) -> Key:
    """The melody's key. Essen's ABC ``K:`` names only the tonic (accidentals are written
    out), so the mode there is chosen by the Krumhansl-Kessler profiles."""
    key = Key(mel["key"][0], mel["key"][1])
    if mel["source"] != "essen":
        return key
    hist = [0.0] * 12
    for p, _, d in mel["notes"]:
        hist[p % 12] += d
    best = max(("major", "minor"), key=lambda mode: profile_fit(hist, key.tonic, mode))
    return Key(key.tonic, best)


def pack_epoch(seqs: list[dict], seq_len: int, rng: random.Random) -> dict[str, torch.Tensor]:
    """Shuffle sequences, join them (BOS between), cut into rows of ``seq_len``."""
    order = list(range(len(seqs)))
    rng.shuffle(order)
    prev, last, tgt, pos, meter, mode, style = [], [], [], [], [], [], []
    for i in order:
        s = seqs[i]
        n = len(s["tokens"])
        inputs = [C.BOS] + s["tokens"][:-1]
        prev += inputs
        last += C.last_pitches(inputs)
        tgt += s["tokens"]
        pos += s["pos"]
        meter += [s["meter"]] * n
        mode += [s["mode"]] * n
        style += [s.get("style", 0)] * n
    rows = len(tgt) // seq_len
    cut = rows * seq_len

    def t(x):
        return torch.tensor(x[:cut], dtype=torch.long).view(rows, seq_len)

    return {"prev": t(prev), "last": t(last), "tgt": t(tgt), "pos": t(pos), "meter": t(meter),
            "mode": t(mode), "style": t(style)}


def padded_batches(seqs: list[dict], batch: int):
    """Whole sequences (from BOS) padded to the longest in each batch, for evaluation."""
    seqs = sorted(seqs, key=lambda s: len(s["tokens"]))
    for i in range(0, len(seqs), batch):
        group = seqs[i:i + batch]
        n = max(len(s["tokens"]) for s in group)
        out = {k: torch.zeros((len(group), n), dtype=torch.long)
               for k in ("prev", "last", "pos", "meter", "mode", "style")}
        out["tgt"] = torch.full((len(group), n), IGNORE, dtype=torch.long)
        for r, s in enumerate(group):
            L = len(s["tokens"])
            inputs = [C.BOS] + s["tokens"][:-1]
            out["prev"][r, :L] = torch.tensor(inputs)
            out["last"][r, :L] = torch.tensor(C.last_pitches(inputs))
            out["tgt"][r, :L] = torch.tensor(s["tokens"])
            out["pos"][r, :L] = torch.tensor(s["pos"])
            out["meter"][r, :] = s["meter"]
            out["mode"][r, :] = s["mode"]
            out["style"][r, :] = s.get("style", 0)
        yield out


@torch.no_grad()
def nll_per_token(model: C.ContinuerModel, seqs: list[dict], batch: int = 64) -> float:
    model.eval()
    total, count = 0.0, 0
    for b in padded_batches(seqs, batch):
        logits, _ = model(b["prev"], b["last"], b["pos"], b["meter"], b["mode"],
                          style=b["style"])
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           b["tgt"].reshape(-1), ignore_index=IGNORE,
                                           reduction="sum")
        total += loss.item()
        count += int((b["tgt"] != IGNORE).sum())
    return total / max(count, 1)


def load_data(cfg: TrainConfig, quiet: bool = False) -> dict[str, list[dict]]:
    """Train/valid/test melodies of the committed split (parsing on first use)."""
    mels = M.load_melodies(tuple(cfg.sources), quiet=quiet)
    if not M.SPLIT_PATH.exists():
        raise UserError(f"{M.SPLIT_PATH}: split file missing")
    return M.split_melodies(mels)


def sequences(mels: list[dict], key_mode: str = "normalise",
              rng: random.Random | None = None, chorale_repeats: int = 1) -> list[dict]:
    """The melodies' sequences (:func:`melody_sequence`); each chorale soprano
    ``chorale_repeats`` times (oversampling the smaller style)."""
    out = []
    for mel in mels:
        for _ in range(chorale_repeats if mel.get("source") == "bach" else 1):
            transpose = None
            if key_mode == "augment":
                transpose = (rng or random).randint(-6, 5)
            s = melody_sequence(mel, transpose)
            if s and len(s["tokens"]) >= 8:
                out.append(s)
    return out


# -- training -------------------------------------------------------------------------------


def with_style_input(model: C.ContinuerModel, style_dim: int) -> C.ContinuerModel:
    """``model`` with a style input of ``style_dim`` (fine-tuning the weights shipped
    before it): every weight copied, the first LSTM layer's new input columns zero, so
    the result predicts what ``model`` predicted whatever the style; a model that has a
    style input already is returned as it is."""
    if model.style_emb is not None or not style_dim:
        return model
    from dataclasses import replace

    new = C.ContinuerModel(replace(model.config, style_dim=style_dim))
    old_state = model.state_dict()
    state = new.state_dict()
    for name, value in old_state.items():
        if name == "lstm.weight_ih_l0":
            w = torch.zeros_like(state[name])
            w[:, :value.shape[1]] = value
            state[name] = w
        else:
            state[name] = value
    new.load_state_dict(state)
    return new


class ContinuerTask(Task):
    """The continuer's part of the training loop (:mod:`.loop`): each epoch's shuffled
    sequences packed into rows (:func:`pack_epoch`), next-token cross-entropy."""

    name = "continuer"
    metric = "valid_nll"
    train_loss_tail = 5  # the mean over the epoch's last fifth

    def __init__(self, config: TrainConfig, data: dict | None) -> None:
        super().__init__(config)
        self.data = data

    def setup(self) -> None:
        cfg = self.config
        self.data = self.data or load_data(cfg)
        self.rng = random.Random(cfg.seed)
        self.valid = sequences(self.data["valid"], "normalise")
        # The epoch length is known after packing:
        probe = pack_epoch(sequences(self.data["train"], cfg.key_mode, random.Random(0),
                                     cfg.chorale_repeats), cfg.seq_len, random.Random(0))
        self.per_epoch = math.ceil(probe["tgt"].shape[0] / cfg.batch)
        if cfg.max_train_steps:
            self.per_epoch = min(self.per_epoch, cfg.max_train_steps)

    def build_model(self) -> C.ContinuerModel:
        if self.config.init_from:
            return with_style_input(C.load_continuer(self.config.init_from, "cpu").model,
                                    self.config.model.get("style_dim", C.ContinuerConfig.style_dim))
        return C.ContinuerModel(C.ContinuerConfig(**self.config.model))

    def model_from_checkpoint(self, data: dict, path: Path) -> C.ContinuerModel:
        return C.model_from_checkpoint(data, path)

    def checkpoint(self, model: C.ContinuerModel, training: dict) -> dict:
        return C.checkpoint_dict(model, training)

    def steps_per_epoch(self) -> int:
        return self.per_epoch

    def batches(self, epoch: int):
        cfg = self.config
        packed = pack_epoch(sequences(self.data["train"], cfg.key_mode, self.rng,
                                      cfg.chorale_repeats), cfg.seq_len, self.rng)
        perm = torch.randperm(packed["tgt"].shape[0])
        for b in range(self.per_epoch):
            idx = perm[b * cfg.batch:(b + 1) * cfg.batch]
            if len(idx) == 0:
                return
            yield {k: v[idx] for k, v in packed.items()}

    def loss(self, model: C.ContinuerModel, batch) -> torch.Tensor:
        logits, _ = model(batch["prev"], batch["last"], batch["pos"], batch["meter"],
                          batch["mode"], style=batch["style"])
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           batch["tgt"].reshape(-1))

    def validate(self, model: C.ContinuerModel) -> float:
        return nll_per_token(model, self.valid)

    def rng_state(self):
        return self.rng.getstate()

    def set_rng_state(self, state) -> None:
        if state is not None:
            self.rng.setstate(state)

    def describe(self, model: C.ContinuerModel) -> str:
        n_params = sum(p.numel() for p in model.parameters())
        return (f"continuer: {n_params / 1e6:.2f}M parameters, {len(self.data['train'])} train / "
                f"{len(self.valid)} valid melodies, key mode {self.config.key_mode}")

    def summary(self) -> dict:
        return {"train_melodies": len(self.data["train"]), "valid_melodies": len(self.valid)}

    def card(self, weights: Path, summary: dict) -> dict:
        return model_card(summary, checkpoint=C.read_checkpoint(weights))


def train(cfg: TrainConfig, run_dir: Path, resume: bool = False, data=None,
          log_every: int = 50, out=None, stop_after: int | None = None) -> dict:
    """Train with the one loop (:func:`.loop.run`) into ``run_dir``; returns its summary
    (``last.pt``, ``best.pt``, ``history.json``, then ``continuer.pt`` + ``continuer.json``)."""
    return loop.run(ContinuerTask(cfg, data), run_dir, resume=resume, say=out,
                    log_every=log_every, stop_after=stop_after)


def export(run_dir: Path, dest_dir: Path, card_extra: dict | None = None) -> Path:
    """Copy ``best.pt`` as ``continuer.pt`` and write the model card beside it."""
    return loop.export(ContinuerTask(TrainConfig(), None), run_dir, dest_dir,
                       card_extra=card_extra)


def model_card(summary: dict, extra: dict | None = None, checkpoint: dict | None = None) -> dict:
    """The card, from the run's summary (``history.json``) and the checkpoint."""
    history = [{**h, "seconds": round(h["epoch_s"], 1)} if "epoch_s" in h else h
               for h in summary.get("history", [])]
    training = {"history": history, "best_valid_nll": summary.get("best_valid_nll"),
                "wall_seconds": summary.get("wall_s", summary.get("wall_seconds")),
                "parameters": summary.get("parameters"),
                "train_melodies": summary.get("train_melodies"),
                "valid_melodies": summary.get("valid_melodies"),
                "config": summary.get("train_config"), "where": summary.get("where")}
    card = {
        "model": "melody continuer (LSTM language model on a sixteenth grid)",
        "file": "continuer.pt",
        "format": f"{C.FORMAT} v{(checkpoint or {}).get('format_version', C.FORMAT_VERSION)}",
        "data": "music21 corpus: essenFolksong, oneills1850, ryansMammoth (ABC) and the "
                "soprano lines of the Bach chorales of splits/bach_chorales.json",
        "split": "composer_app/training/splits/melodies.json",
        "training": {k: v for k, v in training.items() if v is not None},
        "style_input": "issue 15: each melody's style is its corpus's (folk: essen, oneills, "
                       "ryans; chorale: the Bach sopranos), an embedding of "
                       f"{(checkpoint or {}).get('config', {}).get('style_dim', '?')} "
                       "features appended to every step's input; sampling's style guidance "
                       "per style: " + json.dumps(C.STYLE_GUIDANCE),
        "reproduce": _reproduce(summary.get("train_config") or {}),
    }
    if checkpoint is not None:
        card["checkpoint"] = {k: checkpoint[k] for k in ("config", "vocabulary", "sampling",
                                                         "versions")}
    from composer_app.ml.motifs import MOTIFS

    card["motifs"] = {"rules": MOTIFS.as_dict()}  # `evaluate continuer` measures them
    return {**card, **(extra or {})}


def _reproduce(cfg: dict) -> str:
    """The command line that trains this run again, then evaluates it."""
    cmd = "composer-app train continuer"
    default = TrainConfig()
    if cfg.get("init_from"):
        cmd += f" --init-from {cfg['init_from']}"
    if cfg.get("epochs", default.epochs) != default.epochs:
        cmd += f" --epochs {cfg['epochs']}"
    if cfg.get("lr", default.lr) != default.lr:
        cmd += f" --lr {cfg['lr']:g}"
    if cfg.get("chorale_repeats", 1) != 1:
        cmd += f" --chorale-repeats {cfg['chorale_repeats']}"
    return cmd + " && composer-app evaluate continuer"


def train_cli(args) -> int:
    cfg = TrainConfig()
    if args.epochs is not None:
        if args.epochs < 1:
            raise UserError("--epochs must be at least 1")
        cfg.epochs = args.epochs
    if getattr(args, "init_from", None):
        cfg.init_from = str(args.init_from)
    if getattr(args, "lr", None) is not None:
        if not args.lr > 0:
            raise UserError("--lr must be above 0")
        cfg.lr, cfg.lr_min = args.lr, min(cfg.lr_min, args.lr / 10)
    if getattr(args, "chorale_repeats", None):
        cfg.chorale_repeats = args.chorale_repeats
    if (args.device or "auto") not in ("auto", "cpu"):
        from composer_app.ml.device import choose_device

        if choose_device(args.device).type != "cpu":
            print("note: the continuer trains on the CPU (small LSTM)", file=sys.stderr)
    run_dir = Path(args.out) if args.out else paths.data_dir() / "runs" / "continuer"
    summary = train(cfg, run_dir, resume=args.resume)
    dest = Path(summary["weights"])
    print(f"best validation NLL/token {summary['best_valid_nll']:.4f}; weights {dest}")
    print(f"to ship them: copy {dest} and {dest.with_suffix('.json')} into "
          f"{paths.models_dir()}")
    return 0
