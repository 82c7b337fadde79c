"""Harmonizer checkpoints: the harmonizer's parts of the one schema (:mod:`..checkpoint`).

A checkpoint is read with ``weights_only=True`` and checked before use; every way it
can be wrong becomes a :class:`UserError` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from composer_app.music import UserError

from .. import checkpoint as schema
from .. import grid
from ..device import choose_device
from .network import Harmonizer, HarmonizerConfig

FORMAT = "composer_app.harmonizer"
FORMAT_VERSION = schema.FORMAT_VERSION


def vocabulary() -> dict:
    return schema.grid_vocabulary(size=grid.VOCAB_SIZE, rest=grid.REST, hold=grid.HOLD,
                                  first_pitch=grid.FIRST_PITCH, pitch_lo=grid.PITCH_LO,
                                  pitch_hi=grid.PITCH_HI, mask=grid.MASK, pos_max=grid.POS_MAX)


def sampling() -> dict:
    """The sampler's defaults: its ``Schedule``, rules included."""
    from .sampler import Schedule

    return Schedule().as_dict()


def _legacy(data: dict, path: Path) -> dict:
    """Format version 1 (the shipped file): ``vocabulary`` was ``grid.vocabulary()``
    and ``extra`` held the epoch and validation loss."""
    if data.get("vocabulary") != grid.vocabulary():
        raise UserError(f"{path}: the harmonizer checkpoint's vocabulary does not match "
                        "this app's grid; retrain")
    extra = data.get("extra") if isinstance(data.get("extra"), dict) else {}
    training = {k: extra[k] for k in ("epoch", "valid_loss") if k in extra}
    return {**schema.legacy_sections(data), "vocabulary": vocabulary(), "sampling": sampling(),
            "training": training}


KIND = schema.Kind(FORMAT, "harmonizer", "composer-app train harmonizer", vocabulary,
                   sampling, _legacy)


def default_model_path() -> Path:
    from composer_app.paths import models_dir

    return models_dir() / "harmonizer.pt"


def checkpoint_dict(model: Harmonizer, training: dict | None = None) -> dict:
    """The checkpoint of ``model`` (see :mod:`composer_app.ml.checkpoint`)."""
    return schema.build(KIND, asdict(model.config), model.state_dict(), training)


def save_checkpoint(model: Harmonizer, path: str | os.PathLike,
                    training: dict | None = None) -> None:
    schema.save(checkpoint_dict(model, training), path)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint dict, checked. Raises :class:`UserError` naming the file."""
    return schema.read(path, KIND)


def model_from_checkpoint(data: dict, path: str | os.PathLike) -> Harmonizer:
    data = schema.check(data, path, KIND)
    try:
        model = Harmonizer(HarmonizerConfig.from_dict(data["config"]))
        model.load_state_dict(data["state_dict"])
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: harmonizer weights do not fit the model ({first})") from None
    model.eval()
    return model


def load_model(path: str | os.PathLike | None = None, device: str = "auto",
               notify: Callable[[str], None] | None = None) -> Harmonizer:
    """The model at ``path`` (default: the shipped one), read, checked and moved to ``device``.

    Not cached: a :class:`~composer_app.ml.runtime.Runtime` keeps what it loaded.
    """
    path = Path(path) if path is not None else default_model_path()
    dev = choose_device(device, notify)
    return model_from_checkpoint(read_checkpoint(path), path).to(dev)
