"""The layer rules of docs/ARCHITECTURE.md, checked on the imports of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "composer_app"


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[:len(parts) - node.level + (path.name == "__init__.py")]
                out.add(".".join(base + ([node.module] if node.module else [])))
            else:
                out.add(node.module or "")
    return out


def _modules(folder: str):
    return sorted((PACKAGE / folder).rglob("*.py"))


FORBIDDEN = {  # package -> (top-level names it must not import, files allowed anyway)
    "music": ({"PySide6", "torch", "music21", "sklearn", "composer_app.ml",
               "composer_app.audio", "composer_app.ui", "composer_app.training"},
              {"musicxml.py": {"music21"}, "abc.py": {"music21"}, "notation_marks.py": {"music21"},
               "m21_fast.py": {"music21"}}),
    "ml": ({"PySide6", "music21", "sklearn", "composer_app.ui", "composer_app.audio",
            "composer_app.training"}, {}),
    "audio": ({"PySide6", "torch", "composer_app.ml", "composer_app.ui",
               "composer_app.training"}, {}),
    "training": ({"PySide6", "composer_app.ui", "composer_app.audio"}, {}),
    "ui": ({"composer_app.training", "sklearn", "music21"}, {}),
    # bench/ sits on top like cli.py; the model benches reach torch through ml/, the ui
    # benches run the app (Qt) in subprocesses
    "bench": ({"PySide6", "torch", "music21", "sklearn", "composer_app.training",
               "composer_app.ui"}, {}),
    "listening": ({"PySide6", "torch", "music21", "sklearn", "composer_app.ml",
                   "composer_app.training", "composer_app.ui"}, {}),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_it_may(package):
    forbidden, allowed = FORBIDDEN[package]
    bad = []
    for path in _modules(package):
        ok = allowed.get(path.name, set())
        for name in _imports(path):
            for f in forbidden - ok:
                if name == f or name.startswith(f + "."):
                    bad.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not bad, "\n".join(bad)


def test_torch_stays_in_ml_and_training_and_sklearn_in_training():
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        names = _imports(path)
        if any(n == "torch" or n.startswith("torch.") for n in names):
            assert rel.parts[0] in ("ml", "training"), rel
        if any(n == "sklearn" or n.startswith("sklearn.") for n in names):
            assert rel.parts[0] == "training", rel
