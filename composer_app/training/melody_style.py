"""Folk or chorale? A bar classifier on single melody lines, to measure the continuer's
style input (issue 15): a fixed-seed logistic regression trained on the real bars of the
train split (the folk tunes against the Bach sopranos), then applied to continuations
generated under each style on test-split openings of both corpora.

The features read one bar of a line and leave the meter out (a continuation keeps its
opening's meter whatever the style, so a classifier that knew the meter would only tell
the openings apart): note lengths, onsets against the quarter and eighth grid, notes per
quarter, melodic intervals by size and direction, repeated notes, rests, range, a note
held over the bar line.

:func:`fit` trains it (:class:`StyleClassifier`); :func:`evaluate_styles` is the
measurement in the model card (``composer-app evaluate continuer``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

PPQ = 480
STYLE_NAMES = ("folk", "chorale")  # class 0, class 1 (as ml.continuer.STYLES)
_LENGTHS = (60, 120, 180, 240, 360, 480, 720, 960)  # bin edges in ticks: 1/32 .. half
_INTERVALS = (0, 1, 2, 3, 4, 5, 7, 12)  # |semitones| bin edges; by direction


def bar_features(notes: list[tuple[int, int, int]], lo: int, hi: int,
                 before: int | None = None) -> np.ndarray | None:
    """Features of the bar ``[lo, hi)`` of a line of ``(pitch, start, duration)`` notes
    (ticks at 480 per quarter; the notes may extend past the bar and begin before it).
    ``before`` is the pitch of the note before the bar's first onset (for its interval).
    None when nothing begins in the bar."""
    inside = sorted((n for n in notes if lo <= n[1] < hi), key=lambda n: n[1])
    if not inside:
        return None
    span = hi - lo
    quarters = span / PPQ
    lengths = [min(d, hi - s) for _, s, d in inside]
    f_len = np.bincount(np.searchsorted(_LENGTHS, lengths, side="left"),
                        minlength=len(_LENGTHS) + 1)[:len(_LENGTHS) + 1] / len(inside)
    rel = [s - lo for _, s, _ in inside]
    on_quarter = sum(r % PPQ == 0 for r in rel) / len(rel)
    on_eighth = sum(r % (PPQ // 2) == 0 and r % PPQ for r in rel) / len(rel)
    off = 1.0 - on_quarter - on_eighth
    pitches = [p for p, _, _ in inside]
    prev = [before] + pitches[:-1] if before is not None else pitches[:-1]
    nxt = pitches if before is not None else pitches[1:]
    moves = np.array([b - a for a, b in zip(prev, nxt, strict=False)], dtype=int)
    f_int = np.zeros(2 * (len(_INTERVALS) + 1))
    if len(moves):
        bins = np.searchsorted(_INTERVALS, np.abs(moves), side="left")
        np.add.at(f_int, bins + (len(_INTERVALS) + 1) * (moves < 0), 1)
        f_int /= len(moves)
    sounding = 0
    for _p, s, d in notes:
        a, b = max(s, lo), min(s + d, hi)
        if b > a:
            sounding += b - a
    held_in = any(s < lo < s + d for _p, s, d in notes)
    return np.concatenate([
        f_len, [on_quarter, on_eighth, off, len(inside) / quarters,
                1.0 - min(sounding, span) / span, (max(pitches) - min(pitches)) / 12.0,
                float(held_in), float(len(set(lengths)))], f_int])


def line_bars(notes: list[tuple[int, int, int]], bounds: list[int]) -> list[np.ndarray]:
    """The features of each bar between successive ``bounds`` (bar lines) that has an onset."""
    notes = sorted(notes, key=lambda n: n[1])
    out = []
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        before = [p for p, s, _ in notes if s < lo]
        f = bar_features(notes, lo, hi, before[-1] if before else None)
        if f is not None:
            out.append(f)
    return out


def melody_bars(mel: dict) -> list[np.ndarray]:
    """The whole bars of a corpus melody (:mod:`.melodies`), its pickup left out."""
    num, den = mel["meter"]
    bar = num * 4 * PPQ // den
    phase = mel["phase"]
    notes = [(p, s + phase, d) for p, s, d in mel["notes"]]
    end = max(s + d for _, s, d in notes)
    first = bar if phase else 0
    whole = max(0, (end - first) // bar)
    return line_bars(notes, [first + i * bar for i in range(whole + 1)]) if whole else []


@dataclass
class StyleClassifier:
    """A fitted pipeline (scaler + logistic regression); class 1 = chorale."""

    model: object
    train_bars: dict
    heldout: dict | None = None

    def chorale_probability(self, bars: list[np.ndarray]) -> float:
        """The mean probability of the Chorale class over ``bars`` (0.5 with none)."""
        if not bars:
            return 0.5
        return float(self.model.predict_proba(np.array(bars))[:, 1].mean())

    def style_of(self, bars: list[np.ndarray]) -> str:
        return STYLE_NAMES[int(self.chorale_probability(bars) > 0.5)]


def _corpus_bars(mels: list[dict], folk_limit: int | None, seed: int):
    folk = [b for m in mels if m["source"] != "bach" for b in melody_bars(m)]
    chorale = [b for m in mels if m["source"] == "bach" for b in melody_bars(m)]
    rng = np.random.default_rng(seed)
    if folk_limit and len(folk) > folk_limit:
        folk = [folk[i] for i in sorted(rng.choice(len(folk), folk_limit, replace=False))]
    return folk, chorale


def fit(data: dict, seed: int = 0, folk_limit: int = 30000) -> StyleClassifier:
    """Fit on the real bars of ``data["train"]`` (folk bars: a fixed-seed sample of at
    most ``folk_limit``; classes weighted), and score the real bars of ``data["test"]``
    (balanced accuracy: 50 % = cannot tell)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folk, chorale = _corpus_bars(data["train"], folk_limit, seed)
    X = np.array(folk + chorale)
    y = np.array([0] * len(folk) + [1] * len(chorale))
    model = make_pipeline(StandardScaler(), LogisticRegression(
        max_iter=3000, class_weight="balanced", random_state=seed))
    model.fit(X, y)
    clf = StyleClassifier(model, {"folk": len(folk), "chorale": len(chorale)})
    if data.get("test"):
        tf, tc = _corpus_bars(data["test"], None, seed)
        Xt, yt = np.array(tf + tc), np.array([0] * len(tf) + [1] * len(tc))
        pred = model.predict(Xt)
        clf.heldout = {"bars_folk": len(tf), "bars_chorale": len(tc),
                       "balanced_accuracy_percent": round(
                           100 * balanced_accuracy_score(yt, pred), 1),
                       "folk_bars_as_folk_percent": round(100 * float((pred[yt == 0] == 0).mean()), 1),
                       "chorale_bars_as_chorale_percent": round(
                           100 * float((pred[yt == 1] == 1).mean()), 1)}
    return clf


def openings(mels: list[dict], prefix_bars: int, new_bars: int):
    """``(melody, sketch, cut, stop)`` for each melody with ``prefix_bars + new_bars``
    whole bars after its pickup (the protocol of ``evaluate_structure``)."""
    from .continuer_eval import opening

    for mel in mels:
        found = opening(mel, prefix_bars, new_bars)
        if found is not None:
            yield (mel, *found[1:])


def evaluate_styles(checkpoint: Path | None = None, data: dict | None = None,
                    seeds: int = 3, prefix_bars: int = 4, new_bars: int = 4,
                    folk_openings: int = 72, chorale_openings: int | None = None,
                    runtime=None, classifier: StyleClassifier | None = None,
                    style_guidance: dict | None = None, split: str = "test") -> dict:
    """The share of continuations classified as each style, by the style asked for and
    the corpus of the opening: test-split openings (all the chorales', the first
    ``folk_openings`` folk ones), ``prefix_bars`` given, ``new_bars`` continued with
    ``seeds`` seeds under each style (``style_guidance``: style -> weight, default the
    sampler's); a continuation is the style its bars' mean probability says. The corpus's own next bars are classified beside them."""
    from composer_app.ml import continuer as C
    from composer_app.ml.runtime import Runtime

    from .continuer import TrainConfig, load_data

    data = data or load_data(TrainConfig(), quiet=True)
    clf = classifier or fit(data)
    if runtime is None:
        runtime = Runtime("cpu")
        runtime.apply_threads()
    path = Path(checkpoint) if checkpoint else C.default_checkpoint()
    t0 = time.time()
    groups = {"folk": [m for m in data[split] if m["source"] != "bach"],
              "chorale": [m for m in data[split] if m["source"] == "bach"]}
    limits = {"folk": folk_openings, "chorale": chorale_openings}
    table: dict = {}
    for corpus, mels in groups.items():
        items = _spread(list(openings(mels, prefix_bars, new_bars)), limits[corpus])
        real = []
        asked = {s: [] for s in C.STYLES}
        for i, (mel, sketch, cut, stop) in enumerate(items):
            sig = sketch.time_signatures[0]
            bounds = [cut + b * sig.bar_ticks for b in range(new_bars + 1)]
            whole = _mel_notes(mel)
            given = [n for n in whole if n[1] < cut]
            real.append(clf.chorale_probability(line_bars(
                given[-1:] + [(p, s, min(d, stop - s)) for p, s, d in whole
                              if cut <= s < stop], bounds)))
            for style in C.STYLES:
                for k in range(seeds):
                    res = C.continue_melody(sketch, new_bars, seed=1000 * k + i,
                                            runtime=runtime, checkpoint=path, style=style,
                                            style_guidance=(style_guidance or {}).get(style))[0]
                    notes = [(n.pitch, n.start, n.duration) for n in res.track_notes(0)]
                    new = [n for n in notes if n[1] >= cut]
                    before = [n for n in notes if n[1] < cut]
                    asked[style].append(clf.chorale_probability(
                        line_bars(before[-1:] + new, bounds)))
        row = {"openings": len(items),
               "real_continuations_as_chorale_percent": _share(real)}
        for style, probs in asked.items():
            row[f"{style}_style_as_chorale_percent"] = _share(probs)
            row[f"{style}_style_mean_chorale_probability"] = round(float(np.mean(probs)), 3) \
                if probs else None
        table[f"{corpus}_openings"] = row
    own = {}
    for style in C.STYLES:
        shares = [table[f"{c}_openings"][f"{style}_style_as_chorale_percent"]
                  for c in groups if table[f"{c}_openings"]["openings"]]
        chorale_share = float(np.mean(shares)) if shares else float("nan")
        own[style] = round(chorale_share if style == "chorale" else 100 - chorale_share, 1)
    return {
        "protocol": f"a logistic regression (scaler + LogisticRegression, seed 0, classes "
                    f"weighted) on the real bars of the train split, folk tunes (a fixed "
                    f"sample of {clf.train_bars['folk']} bars) against Bach sopranos "
                    f"({clf.train_bars['chorale']} bars), features of one bar without its "
                    f"meter (note lengths, onsets on quarters/eighths, notes per quarter, "
                    f"intervals by size and direction, rests, range, held over the bar line); "
                    f"applied to test-split openings ({prefix_bars} bars given, {new_bars} "
                    f"continued, {seeds} seeds, each style): a continuation is classified by "
                    f"the mean chorale probability of its bars",
        "classifier_on_real_test_bars": clf.heldout,
        "style_guidance": {s: (style_guidance or {}).get(s, C.STYLE_GUIDANCE.get(s, 0.0))
                           for s in C.STYLES},
        "by_opening": table,
        "own_style_percent": own,
        "own_style_note": "the share classified as the style asked for, the mean over the "
                          "two corpora's openings (each corpus weighted equally)",
        "seconds": round(time.time() - t0, 1),
    }


def _spread(items: list, n: int | None) -> list:
    """``n`` of ``items`` evenly spread (all when ``n`` is None or more): the folk
    openings of all three collections, not the first of one."""
    if not n or n >= len(items):
        return items
    return [items[i * len(items) // n] for i in range(n)]


def _mel_notes(mel: dict) -> list[tuple[int, int, int]]:
    phase = mel["phase"]
    return [(p, s + phase, d) for p, s, d in mel["notes"]]


def _share(probs: list[float]) -> float | None:
    return round(100 * float(np.mean([p > 0.5 for p in probs])), 1) if probs else None


def sample_data(train_folk: int = 150, train_chorale: int = 30, test_each: int = 4,
                seed: int = 0) -> dict[str, list[dict]]:
    """A small fixed sample of the split, parsed straight from music21's corpus (no cache,
    no whole-corpus parse): ``train_folk`` folk tunes and ``train_chorale`` chorale
    sopranos of the train split, ``test_each`` test melodies of each corpus that have an
    opening to continue (4 bars + 4). For a quick check of the style input (the tests)."""
    import random

    from . import melodies as M

    split = M.load_split()
    rng = random.Random(seed)
    texts = dict(M.corpus_tunes())

    def parsed(ids, folk: bool):
        ids = sorted(i for i in ids if i.startswith("bach/") != folk
                     and (not folk or i in texts))
        for tid in rng.sample(ids, len(ids)):
            mel = (M._parse_tune((tid, texts[tid])) if folk
                   else M._parse_chorale(tid.split("/", 1)[1]))
            if mel:
                yield mel

    def take(ids, folk: bool, n: int, continuable: bool = False) -> list[dict]:
        out: list[dict] = []
        for mel in parsed(ids, folk) if n > 0 else ():
            if not continuable or any(True for _ in openings([mel], 4, 4)):
                out.append(mel)
                if len(out) >= n:
                    break
        return out

    return {"train": take(split["train"], True, train_folk)
            + take(split["train"], False, train_chorale),
            "test": take(split["test"], True, test_each, True)
            + take(split["test"], False, test_each, True)}
