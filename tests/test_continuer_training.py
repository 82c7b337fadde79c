"""Continuer training: the split file, a short run that lowers the loss, resume."""

from __future__ import annotations

import json
import math
import random

import pytest

torch = pytest.importorskip("torch")

from composer_app.ml import continuer as C  # noqa: E402
from composer_app.training import continuer as T  # noqa: E402
from composer_app.training import continuer_eval as TE  # noqa: E402
from composer_app.training import melodies as M  # noqa: E402


@pytest.fixture(scope="module")
def small_corpus() -> list[dict]:
    tunes = M.corpus_tunes(("oneills",))[:60]
    mels = [m for m in (M._parse_tune(t) for t in tunes) if m]
    assert len(mels) >= 40
    return mels


def test_split_file_is_disjoint_and_follows_the_chorale_split():
    data = json.loads(M.SPLIT_PATH.read_text())
    parts = [set(data[p]) for p in ("train", "valid", "test")]
    assert all(len(p) > 100 for p in parts)
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    chorales = M.chorale_ids()
    if chorales:
        for part, ids in chorales.items():
            bach = {f"bach/{c}" for c in ids}
            assert not bach & (set().union(*parts) - set(data[part]))


def test_sequences_follow_meter_and_key(small_corpus):
    for mel in small_corpus[:20]:
        seq = T.melody_sequence(mel)
        if seq is None:
            continue
        num, den = mel["meter"]
        steps = C.bar_steps(num, den)
        assert len(seq["tokens"]) == len(seq["pos"])
        assert all(p % C.MAX_POS < steps for p in seq["pos"])
        assert seq["tokens"][0] >= C.N_SPECIAL  # a melody starts with its first note
        # key-normalised: no key signature (C major or A minor)
        key = T.melody_key(mel)
        pcs = [C.token_pitch(t) % 12 for t in seq["tokens"] if t >= C.N_SPECIAL]
        shifted = [(p + C.key_shift(key)) % 12 for p, _, _ in mel["notes"]]
        assert sorted(set(pcs)) == sorted(set(shifted))


def test_short_training_run_lowers_the_loss(tmp_path, small_corpus):
    data = {"train": small_corpus[:40], "valid": small_corpus[40:], "test": []}
    cfg = T.TrainConfig(epochs=2, batch=8, seq_len=64, lr=1e-2, max_train_steps=25,
                        model={"hidden": 48, "layers": 1, "token_dim": 16})
    torch.manual_seed(0)
    fresh = C.ContinuerModel(C.ContinuerConfig(hidden=48, layers=1, token_dim=16))
    before = T.nll_per_token(fresh, T.sequences(data["valid"]))
    summary = T.train(cfg, tmp_path / "run", data=data, out=lambda msg: None)
    after = summary["best_valid_nll"]
    assert before > math.log(C.VOCAB) - 0.5  # an untrained model knows nothing
    assert after < before - 1.0, (before, after)
    assert (tmp_path / "run" / "last.pt").exists() and (tmp_path / "run" / "best.pt").exists()
    # the exported weights load in the app
    dest = T.export(tmp_path / "run", tmp_path / "models")
    loaded = C.load_continuer(dest, device="cpu")
    assert loaded.model.config.hidden == 48
    card = json.loads((tmp_path / "models" / "continuer.json").read_text())
    assert card["training"]["history"][-1]["epoch"] == 2
    # (resume: tests/test_training_loop.py)


def test_pack_epoch_rows_hold_every_token(small_corpus):
    seqs = T.sequences(small_corpus)
    packed = T.pack_epoch(seqs, 32, random.Random(0))
    total = sum(len(s["tokens"]) for s in seqs)
    assert packed["tgt"].numel() == total - total % 32
    assert (packed["prev"] == C.BOS).sum() <= len(seqs)


def test_app_and_training_agree_on_metric_positions(small_corpus):
    """The positions the app computes from a score are those the model was trained on."""
    checked = 0
    for mel in small_corpus:
        seq = T.melody_sequence(mel)
        if seq is None or mel["phase"] % C.STEP:
            continue
        score = TE.melody_score(mel)
        first = score.notes[0].start
        ticks = [first + i * C.STEP for i in range(len(seq["pos"]))]
        assert C.metric_positions(score, first, ticks) == seq["pos"], mel["id"]
        checked += 1
    assert checked >= 10
