"""Evaluation of the melody continuer (``composer-app evaluate continuer``): test-split NLL,
the statistics of continued lines beside the corpus's own continuations, the structure
table of issue 15 (motifs reused, opening bars restated, phrase endings), and the
measurements behind the token scheme and the key normalisation (model card)."""

from __future__ import annotations

import json
import logging
import math
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import torch

from composer_app import paths
from composer_app.ml import continuer as C
from composer_app.music import Key, Note, Score, in_scale
from composer_app.music.atomic import atomic_write_bytes
from composer_app.music.score import KeySignature, TimeSignature

from .continuer import (
    TrainConfig,
    load_data,
    melody_key,
    melody_sequence,
    nll_per_token,
    sequences,
    train,
)

log = logging.getLogger(__name__)


# -- evaluation ---------------------------------------------------------------------------------


def melody_score(mel: dict) -> Score:
    """A corpus melody as a one-track score with its meter and key (bar 1 at tick 0)."""
    num, den = mel["meter"]
    offset = mel["phase"]
    notes = [Note(p, s + offset, d) for p, s, d in mel["notes"]]
    return Score(notes=notes, time_signatures=[TimeSignature(0, num, den)],
                 key_signatures=[KeySignature(0, melody_key(mel))],
                 title=mel["id"])


def opening(mel: dict, prefix_bars: int, new_bars: int):
    """``(score, sketch, cut, stop)``: the melody, its first ``prefix_bars`` bars after
    its pickup (the sketch, up to tick ``cut``) and where its own next ``new_bars`` bars
    end; None when it is shorter than that or its meter is not on the continuer's grid.
    The protocol of :func:`evaluate_structure` and of the style measurement."""
    score = melody_score(mel)
    sig = score.time_signatures[0]
    if sig.bar_ticks % C.STEP or C.bar_steps(sig.numerator, sig.denominator) > C.MAX_POS:
        return None
    cut = score.bar_start(prefix_bars + (1 if mel["phase"] else 0))
    stop = cut + new_bars * sig.bar_ticks
    if score.end_tick < stop:  # (one meter: every bar up to ``stop`` is there)
        return None
    return score, cut_score(score, cut), cut, stop


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
    # Each corpus's test melodies read with each style input: the style input is heard
    # when each corpus is likelier under its own style.
    nll_by_style = {}
    for corpus, mels in (("folk", [m for m in test if m["source"] != "bach"]),
                         ("chorale", [m for m in test if m["source"] == "bach"])):
        seqs = sequences(mels)
        if seqs:
            nll_by_style[f"{corpus}_melodies"] = {
                f"{style}_style": round(nll_per_token(
                    model, [{**q, "style": C.style_id(style)} for q in seqs]), 4)
                for style in C.STYLES}
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
        "test_nll_per_token_by_style_input": nll_by_style,
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
                       quiet: bool = True, style: str | None = None,
                       style_guidance: float | None = None,
                       sources: tuple | None = None) -> dict:
    """Issue 15's table: the first ``prefix_bars`` bars of each melody of ``split`` with at
    least ``prefix_bars + new_bars`` whole bars, continued by ``new_bars`` with each of
    ``seeds`` seeds (ours) in ``style`` (default folk), beside the melody's own next bars
    (the corpus). ``sources`` keeps the melodies of those corpora only (``("bach",)``:
    the chorales)."""
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
    mels = [m for m in data[split] if sources is None or m["source"] in sources]
    for i, mel in enumerate(mels):
        if limit and used >= limit:
            break
        found = opening(mel, prefix_bars, new_bars)
        if found is None:
            continue
        score, sketch, cut, stop = found
        sig = score.time_signatures[0]
        pickup = 1 if mel["phase"] else 0
        key = score.key
        given = [(n.pitch, n.start, n.duration) for n in sketch.notes]
        open_bounds = [score.bar_start(b) for b in range(prefix_bars + pickup + 1)]
        bounds = [cut + b * sig.bar_ticks for b in range(new_bars + 1)]

        phrase_ends = [t for t in bounds[1:-1] if (score.bar_of(t) - pickup) % 4 == 0]

        def measured(notes, given=given, open_bounds=open_bounds, bounds=bounds,
                     key=key, phrase_ends=phrase_ends):
            m = MO.measure(given, open_bounds, notes, bounds, key, phrase_ends=phrase_ends)
            m["n_shapes"] = max(0, len(notes) - 3)
            m["n_bars"] = new_bars
            return m

        real.append(measured([(n.pitch, n.start, min(n.duration, stop - n.start))
                              for n in score.notes if cut <= n.start < stop]))
        for k in range(seeds):
            res = C.continue_melody(sketch, new_bars, seed=1000 * k + i, runtime=runtime,
                                    checkpoint=path, motifs=rules, style=style,
                                    style_guidance=style_guidance)[0]
            ours.append(measured([(n.pitch, n.start, n.duration) for n in res.notes
                                  if n.start >= cut]))
        used += 1
    return {
        "protocol": f"{split} split: the first {prefix_bars} bars of each melody with at least "
                    f"{prefix_bars + new_bars} whole bars, continued by {new_bars} bars with "
                    f"{seeds} seeds (temperature 1.0, top-p 0.95), beside its own next "
                    f"{new_bars} bars",
        "split": split, "melodies": used, "seeds": seeds,
        "style": style or C.DEFAULT_STYLE,
        "style_guidance": (C.STYLE_GUIDANCE.get(style or C.DEFAULT_STYLE, 0.0)
                           if style_guidance is None else style_guidance),
        "sources": list(sources) if sources else "all",
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
    from . import melody_style

    result = evaluate(args.checkpoint, args.limit)
    split, seeds = args.split or "test", args.seeds or 3
    data = load_data(TrainConfig(), quiet=True)
    result["structure"] = evaluate_structure(args.checkpoint, split, args.limit, seeds,
                                             data=data)
    print(structure_table(result["structure"]), file=sys.stderr)
    # Issue 15's style input: the table in each style, on all openings and on the
    # chorales' alone, and the folk-vs-chorale classifier's verdict on both.
    by_style = {}
    for style in C.STYLES:
        by_style[style] = {
            "all_openings": result["structure"] if style == C.DEFAULT_STYLE else
            evaluate_structure(args.checkpoint, split, args.limit, seeds, data=data,
                               style=style),
            "chorale_openings": evaluate_structure(args.checkpoint, split, args.limit, seeds,
                                                   data=data, style=style,
                                                   sources=("bach",))}
        for where, table in by_style[style].items():
            print(f"\nstyle {style}, {where.replace('_', ' ')}:\n{structure_table(table)}",
                  file=sys.stderr)
    result["structure_by_style"] = by_style
    result["style_classifier"] = melody_style.evaluate_styles(
        args.checkpoint, data=data, seeds=seeds, split=split,
        folk_openings=min(72, args.limit) if args.limit else 72,
        chorale_openings=args.limit or None)
    print(f"\nclassified as their own style: {result['style_classifier']['own_style_percent']}",
          file=sys.stderr)
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
