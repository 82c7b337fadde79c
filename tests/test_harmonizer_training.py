"""Harmonizer training and checkpoints (the style measures: tests/test_style.py)."""

from __future__ import annotations

import math

import pytest
import torch

from composer_app.ml import grid
from composer_app.ml.harmonizer import (
    FORMAT_VERSION,
    Harmonizer,
    HarmonizerConfig,
    load_model,
    read_checkpoint,
    save_checkpoint,
)
from composer_app.music import UserError
from composer_app.training.chorales import load_split, parse_chorale
from composer_app.training.harmonizer import (
    TrainConfig,
    allowed_transpositions,
    train,
)


def test_split_is_by_bwv_and_disjoint():
    from composer_app.training.chorales import bwv_number

    split = load_split()
    sizes = {k: len(v) for k, v in split.items()}
    assert sizes["train"] > 6 * sizes["test"] and sizes["test"] > 20 and sizes["valid"] > 20
    bwvs = {k: {bwv_number(n) for n in v} for k, v in split.items()}
    assert not bwvs["train"] & bwvs["test"] and not bwvs["train"] & bwvs["valid"]
    assert not bwvs["valid"] & bwvs["test"]


def test_a_few_training_steps_on_three_chorales_lower_the_loss(tmp_path):
    chorales = [parse_chorale(n) for n in ("bwv2.6", "bwv3.6", "bwv4.8")]
    assert all(not isinstance(c, str) for c in chorales)
    cfg = TrainConfig(epochs=4, batches_per_epoch=12, batch_size=8, window=32, lr=3e-3)
    small = HarmonizerConfig(token_dim=8, meta_dim=8, hidden=32, layers=1, dropout=0.0)
    result = train(tmp_path, cfg, small, chorales=chorales, valid=chorales, show=False)
    losses = [h["valid_loss"] for h in result["history"]]
    assert losses[-1] < losses[0] < math.log(grid.VOCAB_SIZE)
    # the checkpoint is loadable as is (resume: tests/test_training_loop.py)
    assert read_checkpoint(tmp_path / "best.pt")["format_version"] == FORMAT_VERSION


def test_transpositions_keep_voices_in_range():
    c = parse_chorale("bwv2.6")
    shifts = allowed_transpositions(c)
    assert 0 in shifts and len(shifts) > 3


def _tiny_checkpoint(path):
    save_checkpoint(Harmonizer(HarmonizerConfig(token_dim=4, meta_dim=4, hidden=8, layers=1)), path)


def test_checkpoint_loads_with_weights_only_and_wrong_version_fails_clearly(tmp_path):
    path = tmp_path / "h.pt"
    _tiny_checkpoint(path)
    data = torch.load(path, weights_only=True)
    assert {"format", "format_version", "config", "vocabulary", "state_dict"} <= set(data)
    load_model(path, "cpu")
    data["format_version"] = FORMAT_VERSION + 1
    bad = tmp_path / "future.pt"
    torch.save(data, bad)
    with pytest.raises(UserError, match=r"future\.pt.*format version"):
        load_model(bad, "cpu")


def test_corrupt_missing_or_mismatched_checkpoint_names_the_file(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(UserError, match="corrupt.pt"):
        load_model(corrupt, "cpu")
    with pytest.raises(UserError, match="missing.pt"):
        load_model(tmp_path / "missing.pt", "cpu")
    path = tmp_path / "mismatch.pt"
    _tiny_checkpoint(path)
    data = torch.load(path, weights_only=True)
    data["config"]["hidden"] = 16
    torch.save(data, path)
    with pytest.raises(UserError, match="mismatch.pt.*do not fit"):
        load_model(path, "cpu")
