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
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from composer_app import paths
from composer_app.ml import continuer as C
from composer_app.music import Key, Note, Score, UserError, in_scale
from composer_app.music.atomic import atomic_write_bytes
from composer_app.music.score import KeySignature, TimeSignature
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
        shift += C._octave_fit([p + shift for p in pitches])
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
            "mode": 1 if key.mode == "minor" else 0}


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
    prev, last, tgt, pos, meter, mode = [], [], [], [], [], []
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
    rows = len(tgt) // seq_len
    cut = rows * seq_len

    def t(x):
        return torch.tensor(x[:cut], dtype=torch.long).view(rows, seq_len)

    return {"prev": t(prev), "last": t(last), "tgt": t(tgt), "pos": t(pos), "meter": t(meter), "mode": t(mode)}


def padded_batches(seqs: list[dict], batch: int):
    """Whole sequences (from BOS) padded to the longest in each batch, for evaluation."""
    seqs = sorted(seqs, key=lambda s: len(s["tokens"]))
    for i in range(0, len(seqs), batch):
        group = seqs[i:i + batch]
        n = max(len(s["tokens"]) for s in group)
        out = {k: torch.zeros((len(group), n), dtype=torch.long)
               for k in ("prev", "last", "pos", "meter", "mode")}
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
        yield out


@torch.no_grad()
def nll_per_token(model: C.ContinuerModel, seqs: list[dict], batch: int = 64) -> float:
    model.eval()
    total, count = 0.0, 0
    for b in padded_batches(seqs, batch):
        logits, _ = model(b["prev"], b["last"], b["pos"], b["meter"], b["mode"])
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
              rng: random.Random | None = None) -> list[dict]:
    out = []
    for mel in mels:
        transpose = None
        if key_mode == "augment":
            transpose = (rng or random).randint(-6, 5)
        s = melody_sequence(mel, transpose)
        if s and len(s["tokens"]) >= 8:
            out.append(s)
    return out


# -- training -------------------------------------------------------------------------------


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
        probe = pack_epoch(sequences(self.data["train"], cfg.key_mode, random.Random(0)),
                           cfg.seq_len, random.Random(0))
        self.per_epoch = math.ceil(probe["tgt"].shape[0] / cfg.batch)
        if cfg.max_train_steps:
            self.per_epoch = min(self.per_epoch, cfg.max_train_steps)

    def build_model(self) -> C.ContinuerModel:
        return C.ContinuerModel(C.ContinuerConfig(**self.config.model))

    def model_from_checkpoint(self, data: dict, path: Path) -> C.ContinuerModel:
        return C.model_from_checkpoint(data, path)

    def checkpoint(self, model: C.ContinuerModel, training: dict) -> dict:
        return C.checkpoint_dict(model, training)

    def steps_per_epoch(self) -> int:
        return self.per_epoch

    def batches(self, epoch: int):
        cfg = self.config
        packed = pack_epoch(sequences(self.data["train"], cfg.key_mode, self.rng), cfg.seq_len,
                            self.rng)
        perm = torch.randperm(packed["tgt"].shape[0])
        for b in range(self.per_epoch):
            idx = perm[b * cfg.batch:(b + 1) * cfg.batch]
            if len(idx) == 0:
                return
            yield {k: v[idx] for k, v in packed.items()}

    def loss(self, model: C.ContinuerModel, batch) -> torch.Tensor:
        logits, _ = model(batch["prev"], batch["last"], batch["pos"], batch["meter"],
                          batch["mode"])
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
        "reproduce": "composer-app train continuer && composer-app evaluate continuer",
    }
    if checkpoint is not None:
        card["checkpoint"] = {k: checkpoint[k] for k in ("config", "vocabulary", "sampling",
                                                         "versions")}
    from composer_app.ml.motifs import MOTIFS

    card["motifs"] = {"rules": MOTIFS.as_dict()}  # `evaluate continuer` measures them
    return {**card, **(extra or {})}


def train_cli(args) -> int:
    cfg = TrainConfig()
    if args.epochs is not None:
        if args.epochs < 1:
            raise UserError("--epochs must be at least 1")
        cfg.epochs = args.epochs
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


# -- evaluation ---------------------------------------------------------------------------------


def melody_score(mel: dict) -> Score:
    """A corpus melody as a one-track score with its meter and key (bar 1 at tick 0)."""
    num, den = mel["meter"]
    offset = mel["phase"]
    notes = [Note(p, s + offset, d) for p, s, d in mel["notes"]]
    return Score(notes=notes, time_signatures=[TimeSignature(0, num, den)],
                 key_signatures=[KeySignature(0, melody_key(mel))],
                 title=mel["id"])


def cut_score(score: Score, end_tick: int) -> Score:
    notes = [n.moved(duration=min(n.duration, end_tick - n.start))
             for n in score.notes if n.start < end_tick]
    return score.replace_notes(notes)


def line_stats(note_lists: list[list[Note]], keys: list[Key], span_ticks: list[int]) -> dict:
    """Key, range, interval, length and rest statistics of melody fragments."""
    in_key = total = 0
    ranges, intervals, lengths, distinct, rests = [], [], Counter(), [], []
    for notes, key, span in zip(note_lists, keys, span_ticks, strict=False):
        if not notes:
            continue
        total += len(notes)
        in_key += sum(in_scale(n.pitch, key) for n in notes)
        ps = [n.pitch for n in notes]
        ranges.append(max(ps) - min(ps))
        intervals += [abs(b - a) for a, b in zip(ps, ps[1:], strict=False)]
        lens = [max(1, round(n.duration / C.STEP)) for n in notes]
        lengths.update(lens)
        distinct.append(len(set(lens)))
        sounding = sum(n.duration for n in notes)
        rests.append(max(0.0, 1 - sounding / span) if span else 0.0)
    n_len = sum(lengths.values()) or 1
    return {
        "notes": total,
        "in_key_percent": round(100 * in_key / max(total, 1), 2),
        "pitch_range_mean": round(statistics.fmean(ranges), 2) if ranges else None,
        "interval_mean": round(statistics.fmean(intervals), 3) if intervals else None,
        "steps_percent": round(100 * sum(i <= 2 for i in intervals) / max(len(intervals), 1), 1),
        "leaps_over_5th_percent": round(100 * sum(i > 7 for i in intervals) / max(len(intervals), 1), 1),
        "repeat_percent": round(100 * sum(i == 0 for i in intervals) / max(len(intervals), 1), 1),
        "distinct_lengths_mean": round(statistics.fmean(distinct), 2) if distinct else None,
        "three_or_more_lengths_percent": round(100 * sum(d >= 3 for d in distinct)
                                               / max(len(distinct), 1), 1),
        "rest_fraction_mean": round(statistics.fmean(rests), 3) if rests else None,
        "with_rest_percent": round(100 * sum(r > 0 for r in rests) / max(len(rests), 1), 1),
        "length_distribution_16ths": {str(k): round(v / n_len, 3)
                                      for k, v in sorted(lengths.items()) if v / n_len >= 0.005},
    }


def evaluate(checkpoint: Path | None = None, limit: int | None = None, prefix_bars: int = 8,
             new_bars: int = 4, seed: int = 0, quiet: bool = False) -> dict:
    """Test-split NLL and continuation statistics beside the corpus's own continuations."""
    from composer_app.ml.runtime import Runtime

    runtime = Runtime("cpu")
    runtime.apply_threads()
    path = Path(checkpoint) if checkpoint else C.default_checkpoint()
    model = C.model_from_checkpoint(C.read_checkpoint(path), path)
    data = load_data(TrainConfig(), quiet=quiet)
    test = data["test"]
    if limit:
        test = test[:limit]
    nll = nll_per_token(model, sequences(test))
    gen_notes, real_notes, keys, spans = [], [], [], []
    t0 = time.time()
    used = 0
    for i, mel in enumerate(test):
        score = melody_score(mel)
        sig = score.time_signatures[0]
        if score.bar_of(score.end_tick - 1) < prefix_bars + new_bars:
            continue
        if sig.bar_ticks % C.STEP or C.bar_steps(sig.numerator, sig.denominator) > C.MAX_POS:
            continue
        cut = score.bar_start(prefix_bars + (1 if mel["phase"] else 0))
        sketch = cut_score(score, cut)
        res = C.continue_melody(sketch, new_bars, seed=seed + i, runtime=runtime,
                                checkpoint=path)[0]
        start, stop = sketch.end_tick, score.next_bar_line(sketch.end_tick) + new_bars * sig.bar_ticks
        gen_notes.append([n for n in res.notes if n.start >= start])
        real_notes.append([n.moved(duration=min(n.duration, stop - n.start))
                           for n in score.notes if start <= n.start < stop])
        keys.append(score.key)
        spans.append(stop - start)
        used += 1
    result = {
        "checkpoint": path.name,
        "test_melodies": len(test),
        "test_nll_per_token": round(nll, 4),
        "test_perplexity": round(math.exp(nll), 3),
        "continuation_protocol": f"first {prefix_bars} bars of each test melody with at least "
                                 f"{prefix_bars + new_bars} bars, continued by {new_bars} bars, "
                                 "temperature 1.0, top-p 0.95, one seed per melody",
        "continued_melodies": used,
        "generated": line_stats(gen_notes, keys, spans),
        "corpus": line_stats(real_notes, keys, spans),
        "seconds": round(time.time() - t0, 1),
    }
    return result


STRUCTURE_MEASURES = (
    ("in_key_percent", "notes in key"),
    ("distinct_lengths_mean", "distinct note lengths"),
    ("shape_reuse_percent", "4-note interval shapes taken from the opening"),
    ("bar_repeats_percent", "bars that repeat a bar of the opening exactly"),
    ("pc_entropy_bits", "pitch-class entropy (bits)"),
    ("rhythms_per_bar", "rhythm variety (distinct bar rhythms per bar)"),
    ("ends_stable_percent", "ends on a tonic-triad degree"),
    ("phrase_ends_stable_percent", "phrase ends inside it on a tonic-triad degree"),
    ("ends_on_bar_line_percent", "ends on a bar line"),
    ("restating_two_bars_percent", "continuations restating two or more opening bars"),
)


def structure_stats(items: list[dict]) -> dict:
    """Pooled structure figures of per-continuation :func:`motifs.measure` results."""

    n = max(len(items), 1)
    notes = sum(m["notes"] for m in items) or 1
    shapes = sum(m["n_shapes"] for m in items) or 1
    bars = sum(m["n_bars"] for m in items) or 1
    return {
        "continuations": len(items),
        "in_key_percent": round(100 * sum(m["in_key"] * m["notes"] for m in items) / notes, 1),
        "distinct_lengths_mean": round(sum(m["distinct_lengths"] for m in items) / n, 2),
        "shape_reuse_percent": round(100 * sum(m["shape_reuse"] * m["n_shapes"]
                                               for m in items) / shapes, 1),
        "bar_repeats_percent": round(100 * sum(m["bar_repeats"] * m["n_bars"]
                                               for m in items) / bars, 1),
        "pc_entropy_bits": round(sum(m["pc_entropy"] for m in items) / n, 2),
        "rhythms_per_bar": round(sum(m["rhythms"] for m in items) / n, 2),
        "ends_stable_percent": round(100 * sum(m["ends_stable"] for m in items) / n, 1),
        "phrase_ends_stable_percent": (
            round(100 * sum(m["phrase_ends_stable"] * m["n_phrase_ends"] for m in items)
                  / sum(m["n_phrase_ends"] for m in items), 1)
            if any(m["n_phrase_ends"] for m in items) else None),
        "ends_on_bar_line_percent": round(100 * sum(m["ends_on_bar_line"] for m in items) / n, 1),
        "restating_two_bars_percent": round(100 * sum(m["bar_repeats"] * m["n_bars"] >= 2
                                                      for m in items) / n, 1),
    }


def evaluate_structure(checkpoint: Path | None = None, split: str = "test",
                       limit: int | None = None, seeds: int = 3, prefix_bars: int = 4,
                       new_bars: int = 4, motifs=None, data=None, runtime=None,
                       quiet: bool = True) -> dict:
    """Issue 15's table: the first ``prefix_bars`` bars of each melody of ``split`` with at
    least ``prefix_bars + new_bars`` whole bars, continued by ``new_bars`` with each of
    ``seeds`` seeds (ours), beside the melody's own next bars (the corpus)."""
    from composer_app.ml import motifs as MO
    from composer_app.ml.runtime import Runtime

    if runtime is None:
        runtime = Runtime("cpu")
        runtime.apply_threads()
    path = Path(checkpoint) if checkpoint else C.default_checkpoint()
    data = data or load_data(TrainConfig(), quiet=quiet)
    rules = motifs or MO.MOTIFS
    ours, real = [], []
    used = 0
    t0 = time.time()
    for i, mel in enumerate(data[split]):
        if limit and used >= limit:
            break
        score = melody_score(mel)
        sig = score.time_signatures[0]
        pickup = 1 if mel["phase"] else 0
        if score.bar_of(score.end_tick - 1) < prefix_bars + new_bars + pickup - 1:
            continue
        if sig.bar_ticks % C.STEP or C.bar_steps(sig.numerator, sig.denominator) > C.MAX_POS:
            continue
        cut = score.bar_start(prefix_bars + pickup)
        stop = cut + new_bars * sig.bar_ticks
        if score.end_tick < stop:
            continue
        sketch = cut_score(score, cut)
        key = score.key
        opening = [(n.pitch, n.start, n.duration) for n in sketch.notes]
        open_bounds = [score.bar_start(b) for b in range(prefix_bars + pickup + 1)]
        bounds = [cut + b * sig.bar_ticks for b in range(new_bars + 1)]

        phrase_ends = [t for t in bounds[1:-1] if (score.bar_of(t) - pickup) % 4 == 0]

        def measured(notes, opening=opening, open_bounds=open_bounds, bounds=bounds,
                     key=key, phrase_ends=phrase_ends):
            m = MO.measure(opening, open_bounds, notes, bounds, key, phrase_ends=phrase_ends)
            m["n_shapes"] = max(0, len(notes) - 3)
            m["n_bars"] = new_bars
            return m

        real.append(measured([(n.pitch, n.start, min(n.duration, stop - n.start))
                              for n in score.notes if cut <= n.start < stop]))
        for k in range(seeds):
            res = C.continue_melody(sketch, new_bars, seed=1000 * k + i, runtime=runtime,
                                    checkpoint=path, motifs=rules)[0]
            ours.append(measured([(n.pitch, n.start, n.duration) for n in res.notes
                                  if n.start >= cut]))
        used += 1
    return {
        "protocol": f"{split} split: the first {prefix_bars} bars of each melody with at least "
                    f"{prefix_bars + new_bars} whole bars, continued by {new_bars} bars with "
                    f"{seeds} seeds (temperature 1.0, top-p 0.95), beside its own next "
                    f"{new_bars} bars",
        "split": split, "melodies": used, "seeds": seeds,
        "motifs": rules.as_dict(),
        "ours": structure_stats(ours), "corpus": structure_stats(real),
        "seconds": round(time.time() - t0, 1),
    }


def structure_table(result: dict) -> str:
    """The table as Markdown (ours beside the corpus)."""
    lines = ["| measure | ours | the real continuations |", "|---|---|---|"]
    for key, label in STRUCTURE_MEASURES:
        lines.append(f"| {label} | {result['ours'][key]} | {result['corpus'][key]} |")
    return "\n".join(lines)


def evaluate_cli(args) -> int:
    result = evaluate(args.checkpoint, args.limit)
    result["structure"] = evaluate_structure(args.checkpoint, args.split or "test",
                                             args.limit, args.seeds or 3)
    print(structure_table(result["structure"]), file=sys.stderr)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        atomic_write_bytes(Path(args.json), (text + "\n").encode())
    return 0


# -- token-scheme measurement ---------------------------------------------------------------


def measure_token_schemes(mels: list[dict]) -> dict:
    """Compare the sixteenth grid with pitch+duration events on real melodies.

    Counts tokens per bar, vocabulary sizes and how many notes the sixteenth grid
    cannot place exactly (triplets, 32nds). The event count is what a pitch token plus a
    duration token per note (and a REST + duration per gap) would need.
    """
    grid_tokens = event_tokens = bars = notes = off_grid = 0
    durations, fitted = Counter(), 0
    for mel in mels:
        num, den = mel["meter"]
        bar_ticks = num * 1920 // den
        if bar_ticks % C.STEP or C.bar_steps(num, den) > C.MAX_POS:
            continue
        fitted += 1
        ns = mel["notes"]
        end = max(s + d for _, s, d in ns)
        grid_tokens += -(-end // C.STEP)
        bars += end / bar_ticks
        prev_end = 0
        for _, s, d in ns:
            notes += 1
            if s % C.STEP or d % C.STEP:
                off_grid += 1
            if s > prev_end:
                event_tokens += 2
                durations[round((s - prev_end) / C.STEP)] += 1
            event_tokens += 2
            durations[max(1, round(d / C.STEP))] += 1
            prev_end = s + d
    return {
        "melodies": fitted,
        "grid_tokens_per_bar": round(grid_tokens / bars, 2),
        "event_tokens_per_bar": round(event_tokens / bars, 2),
        "grid_vocabulary": C.VOCAB,
        "event_vocabulary": C.N_PITCH + 2 + len(durations),
        "distinct_durations_16ths": len(durations),
        "notes_off_sixteenth_grid_percent": round(100 * off_grid / max(notes, 1), 2),
    }


def compare_key_modes(steps: int = 120, run_root: Path | None = None) -> dict:
    """Equal-budget short runs: key normalisation vs training on all transpositions.

    Both are scored on the validation melodies as written (the normalised model sees
    them normalised, as at inference), so the NLL is of the same notes.
    """
    run_root = run_root or paths.data_dir() / "runs" / "continuer-keymode"
    data = load_data(TrainConfig(), quiet=True)
    out = {}
    for mode in ("normalise", "augment"):
        cfg = TrainConfig(epochs=1, max_train_steps=steps, key_mode=mode)
        t0 = time.time()
        train(cfg, run_root / mode, data=data, log_every=max(1, steps // 4))
        model = C.model_from_checkpoint(
            torch.load(run_root / mode / "best.pt", weights_only=True), run_root / mode)
        valid = (sequences(data["valid"]) if mode == "normalise"
                 else [s for s in (melody_sequence(m, 0) for m in data["valid"]) if s])
        out[mode] = {"valid_nll_per_token": round(nll_per_token(model, valid), 4),
                     "seconds": round(time.time() - t0, 1), "optimizer_steps": steps}
    return out
