"""The one training loop (training/loop.py) for both models: 2 epochs, stop, resume for
a 3rd; the resumed run is the uninterrupted one, and `train` writes the model card."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from composer_app.ml import continuer as C  # noqa: E402
from composer_app.ml.harmonizer import HarmonizerConfig, read_checkpoint  # noqa: E402
from composer_app.music import UserError  # noqa: E402
from composer_app.training import continuer as T  # noqa: E402
from composer_app.training import harmonizer as H  # noqa: E402
from composer_app.training import loop  # noqa: E402
from composer_app.training import melodies as M  # noqa: E402


def _quiet(msg):
    pass


@pytest.fixture(scope="module")
def harmonizer_run():
    from composer_app.training.chorales import parse_chorale

    chorales = [parse_chorale(n) for n in ("bwv2.6", "bwv3.6")]
    small = HarmonizerConfig(token_dim=4, meta_dim=4, hidden=8, layers=1, dropout=0.1)

    def run(run_dir, epochs, resume=False, stop_after=None):
        cfg = H.TrainConfig(epochs=epochs, batches_per_epoch=3, batch_size=4, window=16)
        return H.train(run_dir, cfg, small, resume=resume, chorales=chorales,
                       valid=chorales[:1], show=False, stop_after=stop_after)

    return run


@pytest.fixture(scope="module")
def continuer_run():
    tunes = M.corpus_tunes(("oneills",))[:30]
    mels = [m for m in (M._parse_tune(t) for t in tunes) if m]
    data = {"train": mels[:20], "valid": mels[20:], "test": []}

    def run(run_dir, epochs, resume=False, stop_after=None):
        cfg = T.TrainConfig(epochs=epochs, batch=4, seq_len=32, max_train_steps=3,
                            model={"hidden": 8, "layers": 1, "token_dim": 4, "dropout": 0.1})
        return T.train(cfg, run_dir, resume=resume, data=data, out=_quiet,
                       stop_after=stop_after)

    return run


def _weights(path):
    return torch.load(path, weights_only=True)["checkpoint"]["state_dict"]


@pytest.mark.parametrize("model", ["harmonizer", "continuer"])
def test_resume_continues_where_the_run_stopped(tmp_path, model, request):
    run = request.getfixturevalue(f"{model}_run")
    metric = "valid_loss" if model == "harmonizer" else "valid_nll"
    # a 2-epoch run, then --resume --epochs 3: the history goes on from epoch 2
    two = run(tmp_path / "two", 2)
    more = run(tmp_path / "two", 3, resume=True)
    assert [h["epoch"] for h in more["history"]] == [1, 2, 3]
    assert more["history"][:2] == two["history"]
    with pytest.raises(UserError, match="nothing to resume"):
        run(tmp_path / "nothing", 3, resume=True)
    # a 3-epoch run stopped after epoch 2 and resumed is the run that was not stopped
    straight = run(tmp_path / "straight", 3)
    run(tmp_path / "stopped", 3, stop_after=2)
    resumed = run(tmp_path / "stopped", 3, resume=True)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    for a, b in zip(straight["history"], resumed["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-6)
        assert a[metric] == pytest.approx(b[metric], abs=1e-6)
    ws, wr = _weights(tmp_path / "straight" / "last.pt"), _weights(tmp_path / "stopped" / "last.pt")
    assert all(torch.allclose(ws[k], wr[k], atol=1e-6) for k in ws)
    history = json.loads((tmp_path / "stopped" / "history.json").read_text())
    assert [h["epoch"] for h in history["history"]] == [1, 2, 3]
    assert history["train_config"]["epochs"] == 3 and history["best_epoch"] in (1, 2, 3)


def test_train_writes_both_model_cards_beside_the_weights(tmp_path, harmonizer_run,
                                                          continuer_run):
    summary = harmonizer_run(tmp_path / "h", 2)
    weights = tmp_path / "h" / "harmonizer.pt"
    assert summary["weights"] == str(weights)
    card = json.loads(weights.with_suffix(".json").read_text())
    shipped = json.loads((M.paths.models_dir() / "harmonizer.json").read_text())
    assert set(shipped) <= set(card)  # every field of the shipped card
    assert set(shipped["training"]) <= set(card["training"])
    assert card["format_version"] == 2 and card["training"]["epochs"] == 2
    assert card["architecture"]["config"] == read_checkpoint(weights)["config"]
    assert card["data"]["chorales"] == {"train": 2, "valid": 1}
    assert card["training"]["where"].startswith("cpu")
    assert card["training"]["versions"]["torch"] == str(torch.__version__)

    summary = continuer_run(tmp_path / "c", 2)
    weights = tmp_path / "c" / "continuer.pt"
    assert summary["weights"] == str(weights)
    card = json.loads(weights.with_suffix(".json").read_text())
    assert {"model", "file", "format", "data", "split", "training", "reproduce"} <= set(card)
    assert card["format"] == "composer_app.continuer v2"
    assert {"history", "best_valid_nll", "wall_seconds", "parameters", "train_melodies",
            "valid_melodies"} <= set(card["training"])
    assert [set(h) >= {"epoch", "train_loss", "valid_nll", "seconds"}
            for h in card["training"]["history"]] == [True, True]
    assert card["checkpoint"]["sampling"]["rest_logit_bias"] == C.REST_LOGIT_BIAS
    assert C.load_continuer(weights, device="cpu").model.config.hidden == 8


def test_the_cosine_runs_from_lr_to_lr_min():
    cfg = T.TrainConfig(lr=1e-2, lr_min=1e-3)
    assert loop.lr_at(cfg, 0) == pytest.approx(1e-2) and loop.lr_at(cfg, 1) == pytest.approx(1e-3)
    assert loop.lr_at(cfg, 2) == pytest.approx(1e-3)


def test_cli_train_and_resume_both_models(tmp_path, monkeypatch, capsys):
    """`composer-app train MODEL --out RUN [--resume]`, on tiny data and configs."""
    from functools import partial

    from composer_app.cli import main
    from composer_app.training.chorales import parse_chorale

    chorales = [parse_chorale("bwv2.6")]
    monkeypatch.setattr(H, "build_chorales", lambda progress=None: chorales)
    monkeypatch.setattr(H, "split_chorales", lambda c: {"train": c, "valid": c, "test": []})
    monkeypatch.setattr(H, "TrainConfig", partial(H.TrainConfig, batches_per_epoch=2,
                                                  batch_size=2, window=16))
    tunes = M.corpus_tunes(("oneills",))[:12]
    mels = [m for m in (M._parse_tune(t) for t in tunes) if m]
    monkeypatch.setattr(T, "load_data", lambda cfg, quiet=False: {
        "train": mels[:8], "valid": mels[8:], "test": []})
    monkeypatch.setattr(T, "TrainConfig", partial(T.TrainConfig, batch=2, seq_len=16,
                                                  max_train_steps=2,
                                                  model={"hidden": 8, "layers": 1}))
    for model, extra in (("harmonizer", ["--hidden", "8"]), ("continuer", [])):
        run = tmp_path / model
        assert main(["train", model, "--out", str(run), "--epochs", "1", *extra]) == 0
        assert main(["train", model, "--out", str(run), "--epochs", "2", "--resume"]) == 0
        history = json.loads((run / "history.json").read_text())
        assert [h["epoch"] for h in history["history"]] == [1, 2]
        assert (run / f"{model}.pt").is_file() and (run / f"{model}.json").is_file()
        assert f"{model}.pt" in capsys.readouterr().out
    assert main(["train", "continuer", "--out", str(tmp_path / "none"), "--resume"]) == 1
    assert "nothing to resume" in capsys.readouterr().err
