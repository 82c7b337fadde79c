"""The model runtime: one owner of device, threads and loaded models (issue 14)."""

from __future__ import annotations

import shutil
import sys

import pytest

from composer_app.music import Key, KeySignature, Note, Score, Track, UserError
from composer_app.paths import models_dir

torch = pytest.importorskip("torch")

from composer_app.ml import harmonize  # noqa: E402
from composer_app.ml.runtime import Runtime  # noqa: E402


def tune() -> Score:
    pitches = [67, 67, 69, 71, 72, 71, 69, 67, 69, 71, 72, 74, 72, 71, 69, 67]
    return Score(notes=[Note(p, i * 480, 480) for i, p in enumerate(pitches)],
                 tracks=[Track("Soprano")], key_signatures=[KeySignature(0, Key(7, "major"))])


def test_a_runtime_loads_each_model_once_and_again_when_the_file_changes(tmp_path):
    path = tmp_path / "harmonizer.pt"
    shutil.copy(models_dir() / "harmonizer.pt", path)
    runtime = Runtime("cpu")
    first = runtime.harmonizer(path)
    assert runtime.harmonizer(path) is first
    assert runtime.loaded() == ["harmonizer"]
    # a retrained file (new mtime and size) is loaded again, and replaces the old model
    data = torch.load(path, weights_only=True)
    data["extra"] = {"note": "retrained" * 10}
    torch.save(data, path)
    assert runtime.harmonizer(path) is not first
    assert runtime.loaded() == ["harmonizer"]


def test_runtimes_share_nothing():
    a, b = Runtime("cpu"), Runtime("cpu")
    assert a.harmonizer() is not b.harmonizer()
    assert b.loaded() == ["harmonizer"] and Runtime("cpu").loaded() == []
    # no module keeps a model of its own
    for name in ("composer_app.ml.harmonizer.checkpoint", "composer_app.ml.continuer"):
        module = sys.modules[name]
        assert not any(isinstance(v, dict) and any(isinstance(m, torch.nn.Module)
                                                   for m in v.values())
                       for v in vars(module).values())


def test_harmonize_with_a_runtime_is_the_same_music_as_without():
    runtime = Runtime("cpu", threads=1)
    with_rt = harmonize(tune(), seed=5, runtime=runtime)[0]
    without = harmonize(tune(), seed=5, device="cpu")[0]
    assert [(n.pitch, n.start, n.duration, n.track) for n in with_rt.notes] == \
        [(n.pitch, n.start, n.duration, n.track) for n in without.notes]
    assert torch.get_num_threads() == 1


def test_an_unknown_device_is_a_user_error_and_a_missing_gpu_a_note():
    with pytest.raises(UserError, match="unknown device"):
        _ = Runtime("tpu").device_type
    notes = []
    runtime = Runtime("cuda" if not torch.cuda.is_available() else "mps", notify=notes.append)
    if runtime.device_type != "cpu":
        pytest.skip("this machine has the GPU asked for")
    assert notes and "CPU" in notes[0] and runtime.note == notes[0]


def test_a_missing_model_names_the_file(tmp_path):
    with pytest.raises(UserError, match="missing.pt"):
        Runtime("cpu").continuer(tmp_path / "missing.pt")
    with pytest.raises(UserError, match="gone.pt"):
        Runtime("cpu").harmonizer(tmp_path / "gone.pt")


def test_run_refuses_an_unknown_kind():
    with pytest.raises(UserError, match="unknown generation kind"):
        Runtime("cpu").run("transcribe", tune())
