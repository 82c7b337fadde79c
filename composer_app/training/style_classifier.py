"""The two-sample classifier of the style profile: can a logistic regression tell
generated 2-bar windows from Bach's? Features by group (lower-voice rhythm, melodic
intervals, chord types, motion between voices) read the grid with the profile's own
helpers (:mod:`.style`)."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np

from composer_app.ml import grid
from composer_app.music import voice_leading as vl

from .style import FUNCTIONS, Piece, _moves, function_of, label, sounding, succession

log = logging.getLogger(__name__)

FEATURE_GROUPS = ("rhythm", "intervals", "chords", "motion")
_QUALITIES = ("major", "minor", "diminished", "augmented", "dominant7", "major7", "minor7",
              "half-diminished7", "diminished7")
_DURATIONS = (1, 2, 3, 4, 6, 8, 12, 16)  # bin edges in sixteenths: 1, 2, 3, 4-5, 6-7, ...
_INTERVALS = (0, 2, 4, 5, 7, 12)  # |move| bins: 0, 1-2, 3-4, 5, 6-7, 8-12, more; by sign
_MOTIONS = ("none", "oblique", "similar", "contrary")
_PAIRS = tuple((x, y) for x in range(4) for y in range(x + 1, 4))


def _window_features(p: Piece, start: int, length: int, steps: np.ndarray,
                     chords: list[tuple[int, ...]], s: np.ndarray) -> dict[str, np.ndarray]:
    """Counts by feature group in ``start .. start+length`` (the scaler evens them)."""
    tok = np.asarray(p.tokens)[:, start:start + length]
    pos = np.asarray(p.pos)[start:start + length] % 16
    rhythm, intervals = [], []
    for v in (1, 2, 3):
        onset = tok[v] >= grid.FIRST_PITCH
        rhythm.append(np.bincount(pos[onset], minlength=16))  # onsets by bar position
        where = np.flatnonzero(onset)
        ends = np.append(where[1:], length)
        held = [int(e - b) for b, e in zip(where, ends)]
        rhythm.append(np.bincount(np.searchsorted(_DURATIONS, held, side="right"),
                                  minlength=len(_DURATIONS) + 1))
        rhythm.append(np.array([(s[v, start:start + length] < 0).sum()]))
        moves = np.array(_moves(tok[v]), dtype=int)
        bins = np.searchsorted(_INTERVALS, np.abs(moves), side="left")
        hist = np.zeros(2 * (len(_INTERVALS) + 1))
        np.add.at(hist, bins + (len(_INTERVALS) + 1) * (moves < 0), 1)
        intervals.append(hist)
    inside = [i for i, t in enumerate(steps) if start <= t < start + length]
    quality = np.zeros(len(_QUALITIES) + 2)
    inversion = np.zeros(5)
    motions = np.zeros((6, len(_MOTIONS) + 2))
    for i in inside:
        lab = label(chords[i], p.key)
        if lab is None:
            quality[-1] += 1
        else:
            quality[_QUALITIES.index(lab.quality) if lab.quality in _QUALITIES else -2] += 1
            bass = chords[i][3] % 12 if chords[i][3] >= 0 else -1
            rel = (bass - lab.root) % 12 if bass >= 0 else -1
            inversion[{0: 0, 3: 1, 4: 1, 6: 2, 7: 2, 8: 2}.get(rel, 3 if rel > 0 else 4)] += 1
        if i == 0:
            continue
        a, b = chords[i - 1], chords[i]
        for k, (x, y) in enumerate(_PAIRS):
            if min(a[x], a[y], b[x], b[y]) < 0:
                continue
            m = vl.motion(a[x], b[x], a[y], b[y])
            motions[k, _MOTIONS.index(m)] += 1
            if m == "similar" and abs(a[x] - a[y]) % 12 == abs(b[x] - b[y]) % 12:
                motions[k, -2] += 1  # parallel: the same interval class again
            if vl.motion_findings(a[x], b[x], a[y], b[y]):
                motions[k, -1] += 1
    beats = [t for t in range(start, start + length)
             if p.pos[t] % p.beat_steps == 0 and min(s[:, t]) >= 0]
    functions = Counter(function_of(label(tuple(int(x) for x in s[:, t]), p.key), p.key)
                        for t in beats)
    chord_feats = np.concatenate([quality, inversion, [functions[f] for f in FUNCTIONS],
                                  [len(inside)]])
    return {"rhythm": np.concatenate(rhythm), "intervals": np.concatenate(intervals),
            "chords": chord_feats, "motion": motions.ravel()}


def window_features(p: Piece, bars: int = 2) -> list[dict[str, np.ndarray]]:
    """Features of every ``bars``-bar window of a piece that starts on a bar line, one
    bar apart (the pickup before the first bar line is left out)."""
    bar = max(1, p.numerator * p.beat_steps)
    length = bars * bar
    steps, chords = succession(p.tokens)
    s = sounding(p.tokens)
    starts = [t for t in range(s.shape[1] - length + 1) if p.pos[t] == 0]
    return [_window_features(p, t, length, steps, chords, s) for t in starts]


def classifier_accuracy(real: list[Piece], generated: list[Piece], seed: int = 0,
                        folds: int = 5) -> dict:
    """How well a logistic regression tells ``generated`` 2-bar windows from ``real`` ones.

    Features (:data:`FEATURE_GROUPS`): lower-voice rhythm (onsets by bar position, note
    lengths, rests), melodic intervals per lower voice, chord types (quality, inversion,
    function, harmonic rhythm), motion between each pair of voices. Scaler and
    ``LogisticRegression`` in one pipeline, ``GroupKFold`` by piece name (a chorale's Bach
    and generated windows share a fold, so the test soprano is never seen), fixed seed.
    Classes are weighted and scored by balanced accuracy (the mean of the two recalls):
    50 % means it cannot tell, however many versions per soprano. Returns
    ``accuracy_pct`` (mean over folds), ``<group>_pct`` per group alone, window counts.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rows, labels, groups = [], [], []
    for cls, pieces in ((0, real), (1, generated)):
        for p in pieces:
            windows = window_features(p)
            rows += windows
            labels += [cls] * len(windows)
            groups += [p.name] * len(windows)
    y = np.array(labels)
    n_groups = len(set(groups))
    if n_groups < 2 or len(set(labels)) < 2:
        raise ValueError("the classifier needs real and generated windows of two or more pieces")
    result: dict = {"windows_real": int((y == 0).sum()), "windows_generated": int(y.sum())}
    log.info("classifier: %d real and %d generated windows of %d pieces",
             result["windows_real"], result["windows_generated"], n_groups)
    splitter = GroupKFold(n_splits=min(folds, n_groups), shuffle=True, random_state=seed)
    for name in ("all",) + FEATURE_GROUPS:
        keys = FEATURE_GROUPS if name == "all" else (name,)
        X = np.array([np.concatenate([r[k] for k in keys]) for r in rows], dtype=float)
        scores = []
        for train, held in splitter.split(X, y, groups):
            if len(set(y[train])) < 2 or len(set(y[held])) < 2:
                continue
            model = make_pipeline(StandardScaler(), LogisticRegression(
                max_iter=2000, class_weight="balanced", random_state=seed))
            model.fit(X[train], y[train])
            scores.append(balanced_accuracy_score(y[held], model.predict(X[held])))
        result["accuracy_pct" if name == "all" else f"{name}_pct"] = \
            100.0 * float(np.mean(scores)) if scores else float("nan")
    return result


