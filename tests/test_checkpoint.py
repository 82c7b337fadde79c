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


@pytest.mark.parametrize("name,module", [("harmonizer", H), ("continuer", C)])
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


def test_shipped_files_are_unchanged():
    """The shipped weights are read as they are; their model cards describe these bytes."""
    import json

    card = json.loads((models_dir() / "harmonizer.json").read_text())
    path = models_dir() / "harmonizer.pt"
    if not path.is_file():
        pytest.skip("shipped weights missing")
    assert card["size_bytes"] == path.stat().st_size and card["format_version"] == 1
    assert H.read_checkpoint(path)["format_version"] == card["format_version"]
