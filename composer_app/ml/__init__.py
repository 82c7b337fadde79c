"""Models: grid encoding, harmonizer, continuer, sampling, device choice.

Torch is imported only here (lazily) and in ``training/``. The public calls are
re-exported lazily so ``import composer_app.ml`` stays cheap.
"""

from __future__ import annotations

from composer_app.music import UserError

__all__ = ["harmonize", "harmonize_melody", "continue_melody", "GenerationCancelled",
           "STYLES", "DEFAULT_STYLE"]

# The styles Continue can be asked for (issue 15), the continuer's style input by index:
# Folk = the ABC tunes it was trained on (Essen, O'Neill's, Ryan's), Chorale = the Bach
# sopranos. Here (no torch) so the CLI's and the panel's choices need no model loaded.
STYLES = ("folk", "chorale")
DEFAULT_STYLE = "folk"


class GenerationCancelled(UserError):
    """Raised by the generation calls when their ``cancel()`` callback returned True.

    Checked between sampling sweeps (harmonizer) or steps (continuer); nothing of the
    caller's score has been changed.
    """

    def __init__(self, message: str = "generation cancelled") -> None:
        super().__init__(message)

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
