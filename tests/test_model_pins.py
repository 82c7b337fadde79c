"""The shipped models give what they gave before the checkpoint and training-loop rework.

Figures recorded with the code before ``ml/checkpoint.py`` (issue 14): the masked NLL of
each shipped model on a fixed input (to 1e-5), the continuer's notes for a seed, and
for both models the same notes from the same seed (the harmonizer's sampler is
another owner's room and may change, so its notes are pinned only against themselves).

The continuer's figures were re-pinned when it was fine-tuned with the style input (issue
15, item 4; before: NLL 0.46135467290878296 and other notes for seed 11): the NLL now under
each style input (this hymn-like tune is likelier as a chorale), the notes with the
default style (folk) and its guidance.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

from composer_app.ml import continuer as C  # noqa: E402
from composer_app.ml import grid  # noqa: E402
from composer_app.ml.motifs import FREE_SAMPLING  # noqa: E402
from composer_app.ml.runtime import Runtime  # noqa: E402
from composer_app.music import Key, KeySignature, Note, Score, Track  # noqa: E402
from composer_app.paths import models_dir  # noqa: E402

pytestmark = pytest.mark.skipif(not (models_dir() / "harmonizer.pt").is_file()
                                or not (models_dir() / "continuer.pt").is_file(),
                                reason="shipped weights missing")

HARMONIZER_NLL = 0.3682536780834198
CONTINUER_NLL = 0.46049371361732483  # style input folk (the default)
CONTINUER_NLL_CHORALE = 0.43261465430259705  # style input chorale
# continue_melody(MELODY, 2, variations=2, seed=11, motifs=FREE_SAMPLING): the new notes (pitch, start, length)
CONTINUATIONS = [
    [(67, 7680, 480), (62, 8160, 480), (67, 8640, 480), (69, 9120, 480), (71, 9600, 960),
     (67, 11040, 240), (69, 11280, 240)],
    [(67, 7680, 480), (67, 8640, 480), (67, 9120, 480), (67, 9600, 480), (67, 10080, 480)],
]
CHORDS = [(72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55), (72, 67, 64, 48),
          (69, 64, 60, 57), (74, 65, 62, 50), (71, 67, 62, 43), (72, 64, 55, 48)]
MELODY = Score(notes=[Note(p, i * 480, 480, 80, 0) for i, p in enumerate(
    (67, 67, 66, 64, 62, 67, 69, 71, 71, 71, 71, 69, 67, 72, 71, 69))], tracks=[Track("M")],
    key_signatures=[KeySignature(0, Key(7, "major"))])


def test_harmonizer_nll_on_a_fixed_input_is_unchanged():
    from composer_app.ml.harmonizer import load_model

    satb = Score(notes=[Note(p, i * 480, 480, 80, v) for i, ch in enumerate(CHORDS * 2)
                        for v, p in enumerate(ch)],
                 tracks=[Track(n, i) for i, n in enumerate("SATB")],
                 key_signatures=[KeySignature(0, Key(0, "major"))])
    steps = 64
    model = load_model(device="cpu")
    toks = torch.from_numpy(grid.score_to_grid(satb, steps).astype(np.int64))[None]
    pos = torch.from_numpy(np.minimum(grid.bar_positions(satb, steps), 31).astype(np.int64))[None]
    mask = torch.from_numpy(np.random.default_rng(0).random((1, 3, steps)) < 0.5)
    inp = toks.clone()
    inp[:, 1:][mask] = grid.MASK
    with torch.no_grad():
        logits = model(inp, pos, torch.zeros_like(pos), torch.tensor([0]))
    nll = float(F.cross_entropy(logits[mask], toks[:, 1:][mask]))
    assert nll == pytest.approx(HARMONIZER_NLL, abs=1e-5)


def test_continuer_nll_on_a_fixed_input_is_unchanged():
    model = C.load_continuer(device="cpu").model
    tokens = C.encode_melody([(n.pitch + 5, n.start, n.duration) for n in MELODY.notes], 0,
                             MELODY.end_tick)
    inputs = [C.BOS] + tokens[:-1]
    pos = [C.metric_position(i % 16, i // 16) for i in range(len(tokens))]

    def t(x):
        return torch.tensor([x])

    def nll(style):
        with torch.no_grad():
            logits, _ = model(t(inputs), t(C.last_pitches(inputs)), t(pos),
                              t([C.meter_id(4, 4)] * len(tokens)), t([0] * len(tokens)),
                              style=style)
        return float(F.cross_entropy(logits[0], torch.tensor(tokens)))

    assert nll(None) == pytest.approx(CONTINUER_NLL, abs=1e-5)
    assert nll(torch.tensor([[0]])) == pytest.approx(CONTINUER_NLL, abs=1e-5)
    assert nll(torch.tensor([[1]])) == pytest.approx(CONTINUER_NLL_CHORALE, abs=1e-5)


def test_same_seed_same_notes_for_both_models():
    from composer_app.ml.harmonizer import harmonize

    def notes(score):
        return [(n.pitch, n.start, n.duration, n.track) for n in score.notes]

    first = [notes(s) for s in harmonize(MELODY, seed=5, runtime=Runtime("cpu"))]
    again = [notes(s) for s in harmonize(MELODY, seed=5, runtime=Runtime("cpu"))]
    assert first == again and len(first[0]) > len(MELODY.notes)

    runtime = Runtime("cpu")
    out = C.continue_melody(MELODY, 2, variations=2, seed=11, runtime=runtime,
                          motifs=FREE_SAMPLING)
    new = [[(n.pitch, n.start, n.duration) for n in s.notes if n.start >= MELODY.end_tick]
           for s in out]
    assert new == CONTINUATIONS
