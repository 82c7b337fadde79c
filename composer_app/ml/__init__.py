"""Models: grid encoding, harmonizer, continuer, sampling, device choice.

Torch is imported only here (lazily) and in ``training/``. The public calls are
re-exported lazily so ``import composer_app.ml`` stays cheap.
"""

from __future__ import annotations

__all__ = ["harmonize", "harmonize_melody", "continue_melody"]

_EXPORTS = {
    "harmonize": "composer_app.ml.harmonizer",
    "harmonize_melody": "composer_app.ml.harmonizer",
    "continue_melody": "composer_app.ml.continuer",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
