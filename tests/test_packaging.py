"""`pip install .` outside the checkout gives a composer-app that can harmonize and
continue: the wheel carries every module, the weights and model cards of models/, the
resources and the split files (models/ at the repository root stays the source of truth).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from composer_app import paths

ROOT = Path(__file__).resolve().parent.parent


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """A wheel built from a clean copy of the tracked sources (a build in the checkout
    would reuse build/lib, stale files included)."""
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("not a source checkout")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("composer_app", "models", "resources"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(out)]
    if importlib.util.find_spec("setuptools"):  # no download of the build backend
        cmd.insert(cmd.index("--no-deps"), "--no-build-isolation")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    (whl,) = out.glob("composer_app-*.whl")
    return zipfile.ZipFile(whl)


def test_wheel_holds_modules_models_resources_and_splits(wheel):
    names = set(wheel.namelist())
    package = ROOT / "composer_app"
    modules = {f"composer_app/{f}" for f in _files(package) if f.endswith(".py")}
    assert modules <= names, sorted(modules - names)
    models = {f"composer_app/models/{f}" for f in _files(ROOT / "models")}
    assert {"composer_app/models/harmonizer.pt", "composer_app/models/harmonizer.json",
            "composer_app/models/continuer.pt", "composer_app/models/continuer.json",
            "composer_app/models/phrase_ends.json"} <= models <= names
    resources = {f"composer_app/resources/{f}" for f in _files(ROOT / "resources")}
    assert resources and resources <= names, sorted(resources - names)
    splits = {f"composer_app/training/splits/{f}"
              for f in _files(package / "training" / "splits")}
    assert {"composer_app/training/splits/bach_chorales.json",
            "composer_app/training/splits/melodies.json"} <= splits <= names
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = wheel.read(meta).decode()
    assert "Provides-Extra: dev" in text and "ruff" in text
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "composer-app = composer_app.cli:main" in wheel.read(entry).decode()


def test_shipped_files_are_found_in_a_wheel_and_in_a_checkout(tmp_path):
    installed = tmp_path / "site-packages" / "composer_app"
    (installed / "models").mkdir(parents=True)
    assert paths.shipped_dir("models", installed) == installed / "models"
    checkout = tmp_path / "clone" / "composer_app"
    checkout.mkdir(parents=True)
    assert paths.shipped_dir("models", checkout) == tmp_path / "clone" / "models"
    assert (paths.models_dir() / "harmonizer.pt").is_file()  # this checkout's own
    assert (paths.resources_dir() / "icons").is_dir()
