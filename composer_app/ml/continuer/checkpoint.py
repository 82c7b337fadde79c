"""The continuer's checkpoints in the one schema (ml/checkpoint.py), and loading."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from composer_app import paths
from composer_app.music import UserError

from .. import checkpoint as schema
from .network import ContinuerConfig, ContinuerModel
from .sampler import Continuer
from .tokens import (
    BOS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
    FORMAT,
    HOLD,
    MAX_PITCH,
    MAX_POS,
    METERS,
    MIN_PITCH,
    N_SPECIAL,
    PHRASE_BARS,
    REST,
    REST_LOGIT_BIAS,
    STEP,
    VOCAB,
)

log = logging.getLogger(__name__)

# -- checkpoints ---------------------------------------------------------------------------


def default_checkpoint() -> Path:
    return paths.models_dir() / "continuer.pt"


def vocabulary() -> dict:
    return schema.grid_vocabulary(size=VOCAB, rest=REST, hold=HOLD, first_pitch=N_SPECIAL,
                                  pitch_lo=MIN_PITCH, pitch_hi=MAX_PITCH, bos=BOS,
                                  max_pos=MAX_POS, phrase_bars=PHRASE_BARS,
                                  meters=list(METERS), normalise_key=True)


def sampling() -> dict:
    return {"temperature": DEFAULT_TEMPERATURE, "top_p": DEFAULT_TOP_P,
            "rest_logit_bias": REST_LOGIT_BIAS}


def _legacy(data: dict, path: Path) -> dict:
    """Format version 1 (the file shipped before issue 15's style input): ``version``,
    ``vocab`` (these fields checked) and ``train_config`` at the top; a model without a
    style input (``style_dim`` 0)."""
    vocab = data.get("vocab") if isinstance(data.get("vocab"), dict) else {}
    if (vocab.get("step_ticks"), vocab.get("min_pitch"), vocab.get("max_pitch"),
            vocab.get("max_pos"), vocab.get("phrase_bars"), vocab.get("meters")) != (
            STEP, MIN_PITCH, MAX_PITCH, MAX_POS, PHRASE_BARS, list(METERS)):
        raise UserError(f"{path}: the melody-continuer checkpoint's vocabulary does not "
                        "match this app's grid; retrain")
    training = {"config": data["train_config"]} if "train_config" in data else {}
    sections = schema.legacy_sections(data)
    if isinstance(sections["config"], dict):  # version 1 had no style input
        sections["config"] = {**sections["config"], "style_dim": 0}
    return {**sections, "vocabulary": vocabulary(), "sampling": sampling(),
            "training": training}


KIND = schema.Kind(FORMAT, "melody-continuer", "composer-app train continuer", vocabulary,
                   sampling, _legacy)


def checkpoint_dict(model: ContinuerModel, training: dict | None = None) -> dict:
    """What a checkpoint holds: enough to rebuild the model with nothing else."""
    return schema.build(KIND, asdict(model.config), model.state_dict(), training)


def model_from_checkpoint(data, path: Path) -> ContinuerModel:
    """Rebuild the model from a loaded checkpoint dict; UserError naming ``path``."""
    data = schema.check(data, path, KIND)
    try:
        # A config without ``style_dim`` predates the style input: a model without one.
        config = ContinuerConfig(**{"style_dim": 0, **data["config"]})
        model = ContinuerModel(config)
        model.load_state_dict(data["state_dict"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise UserError(f"{path}: continuer checkpoint does not fit the model ({exc})") from None
    return model


def read_checkpoint(path: Path) -> dict:
    """The checkpoint dict, checked. Raises :class:`UserError` naming the file."""
    return schema.read(path, KIND)



def load_continuer(path: str | Path | None = None, device: str = "auto",
                   notify: Callable[[str], None] | None = None) -> Continuer:
    """The continuer at ``path`` (default: the shipped weights), read, checked, on ``device``.

    Not cached: a :class:`~composer_app.ml.runtime.Runtime` keeps what it loaded.
    """
    from ..device import choose_device

    path = Path(path) if path is not None else default_checkpoint()
    dev = choose_device(device, notify)
    data = read_checkpoint(path)
    return Continuer(model_from_checkpoint(data, path), dev)
