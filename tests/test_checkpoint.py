"""One checkpoint schema for both models (ml/checkpoint.py): layout, checks, the shipped
files read as format version 1."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from composer_app.ml import checkpoint as schema  # noqa: E402
from composer_app.ml import continuer as C  # noqa: E402
from composer_app.ml.harmonizer import Harmonizer, HarmonizerConfig  # noqa: E402
from composer_app.ml.harmonizer import checkpoint as H  # noqa: E402
from composer_app.music import UserError  # noqa: E402
from composer_app.paths import models_dir  # noqa: E402


def _tiny():
    return {
        "harmonizer": (H, H.checkpoint_dict(Harmonizer(HarmonizerConfig(
            token_dim=4, meta_dim=4, hidden=8, layers=1)), {"epoch": 1})),
        "continuer": (C, C.checkpoint_dict(C.ContinuerModel(C.ContinuerConfig(
            hidden=8, layers=1, token_dim=4)), {"epoch": 1})),
    }


@pytest.mark.parametrize("name", ["harmonizer", "continuer"])
def test_both_models_write_the_same_sections(tmp_path, name):
    module, data = _tiny()[name]
    assert set(data) == {"format", "format_version", *schema.SECTIONS}
    assert data["format_version"] == schema.FORMAT_VERSION
    voc = data["vocabulary"]
    assert voc["grid"] == "g1" and voc["step_ticks"] == 120
    assert {"size", "rest", "hold", "first_pitch", "pitch_lo", "pitch_hi"} <= set(voc)
    assert set(data["versions"]) == {"torch", "music21", "composer_app"}
    assert data["versions"]["torch"] == str(torch.__version__)
    assert data["training"] == {"epoch": 1} and data["sampling"]
    path = tmp_path / f"{name}.pt"
    schema.save(data, path)
    back = module.read_checkpoint(path)  # weights_only, checked
    assert back["sampling"] == data["sampling"]


@pytest.mark.parametrize("name", ["harmonizer", "continuer"])
def test_each_wrong_section_is_a_user_error_naming_the_file(tmp_path, name):
    module, data = _tiny()[name]
    cases = {
        "novocab.pt": lambda d: d.pop("vocabulary"),
        "othergrid.pt": lambda d: d["vocabulary"].update(step_ticks=60),
        "nosampling.pt": lambda d: d.update(sampling=None),
        "future.pt": lambda d: d.update(format_version=99),
    }
    messages = {"novocab.pt": "lacks vocabulary", "othergrid.pt": "vocabulary does not match",
                "nosampling.pt": "lacks sampling", "future.pt": "format version 99"}
    for file, spoil in cases.items():
        bad = {**data, "vocabulary": dict(data["vocabulary"])}
        spoil(bad)
        torch.save(bad, tmp_path / file)
        with pytest.raises(UserError, match=rf"{file}.*{messages[file]}"):
            module.read_checkpoint(tmp_path / file)


@pytest.mark.parametrize("name,module", [("harmonizer", H)])
def test_shipped_files_are_version_1_and_read_as_the_current_layout(tmp_path, name, module):
    path = models_dir() / f"{name}.pt"
    if not path.is_file():
        pytest.skip("shipped weights missing")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    data = module.read_checkpoint(path)
    assert data["format_version"] == 1 and set(schema.SECTIONS) <= set(data)
    assert data["versions"] == {"torch": None, "music21": None, "composer_app": None}
    assert data["vocabulary"] == module.vocabulary() and data["sampling"] == module.sampling()
    assert data["state_dict"].keys() == raw["state_dict"].keys()
    assert all(data["state_dict"][k] is raw["state_dict"][k] or torch.equal(
        data["state_dict"][k], raw["state_dict"][k]) for k in raw["state_dict"])
    # rewritten in the current layout, the weights and config are the same
    model = module.model_from_checkpoint(data, path)
    out = tmp_path / f"{name}.pt"
    schema.save(module.checkpoint_dict(model, data["training"]), out)
    again = module.read_checkpoint(out)
    assert again["format_version"] == 2 and again["config"] == data["config"]
    assert all(torch.equal(again["state_dict"][k], raw["state_dict"][k])
               for k in raw["state_dict"])
    assert out.stat().st_size < 20 * 1024 * 1024


def test_the_shipped_continuer_is_version_2_with_a_style_input():
    # Retrained for issue 15's style input (fine-tuned from the version-1 weights).
    path = models_dir() / "continuer.pt"
    if not path.is_file():
        pytest.skip("shipped weights missing")
    data = C.read_checkpoint(path)
    assert data["format_version"] == 2 and data["config"]["style_dim"] > 0
    assert data["versions"]["torch"] and data["training"]["config"]["init_from"]
    model = C.model_from_checkpoint(data, path)
    assert model.style_emb.num_embeddings == 2
    assert path.stat().st_size < 20 * 1024 * 1024


def _version_1_continuer(path):
    """A continuer file in the layout shipped before the style input (version 1)."""
    from dataclasses import asdict

    model = C.ContinuerModel(C.ContinuerConfig(hidden=8, layers=1, token_dim=4, style_dim=0))
    config = asdict(model.config)
    del config["style_dim"]  # version 1 had no such field
    torch.save({"format": C.FORMAT, "version": 1, "config": config,
                "vocab": {"step_ticks": C.STEP, "rest": C.REST, "hold": C.HOLD, "bos": C.BOS,
                          "min_pitch": C.MIN_PITCH, "max_pitch": C.MAX_PITCH,
                          "max_pos": C.MAX_POS, "phrase_bars": C.PHRASE_BARS,
                          "meters": list(C.METERS), "normalise_key": True},
                "state_dict": model.state_dict(), "train_config": {"epochs": 1}}, path)
    return model


def test_a_version_1_continuer_still_loads_and_ignores_the_style(tmp_path):
    from composer_app.ml.runtime import Runtime
    from composer_app.music import Note, Score

    path = tmp_path / "old.pt"
    old = _version_1_continuer(path)
    data = C.read_checkpoint(path)
    assert data["format_version"] == 1 and data["config"]["style_dim"] == 0
    model = C.model_from_checkpoint(data, path)
    assert model.style_emb is None
    assert all(torch.equal(model.state_dict()[k], v) for k, v in old.state_dict().items())
    sketch = Score(notes=[Note(60 + i % 5, i * 480, 480) for i in range(8)])
    runtime = Runtime("cpu")
    outs = [C.continue_melody(sketch, 2, seed=4, checkpoint=path, runtime=runtime,
                              style=style)[0].notes for style in C.STYLES]
    assert outs[0] == outs[1]
    # a version-2 file written before the style input (its config has no style_dim)
    data2 = C.checkpoint_dict(model)
    del data2["config"]["style_dim"]
    schema.save(data2, tmp_path / "v2.pt")
    assert C.model_from_checkpoint(C.read_checkpoint(tmp_path / "v2.pt"), path).style_emb is None


def test_shipped_files_are_unchanged():
    """The shipped weights are read as they are; their model cards describe these bytes."""
    import json

    card = json.loads((models_dir() / "harmonizer.json").read_text())
    path = models_dir() / "harmonizer.pt"
    if not path.is_file():
        pytest.skip("shipped weights missing")
    assert card["size_bytes"] == path.stat().st_size and card["format_version"] == 1
    assert H.read_checkpoint(path)["format_version"] == card["format_version"]
