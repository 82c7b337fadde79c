"""Harmonizer checkpoints: one self-describing file (config, vocabulary, weights).

A checkpoint is read with ``weights_only=True`` and checked before use; every way it
can be wrong becomes a :class:`UserError` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch

from composer_app.music import UserError
from composer_app.music.atomic import atomic_write

from .. import grid
from ..device import choose_device
from .network import Harmonizer, HarmonizerConfig

FORMAT = "composer_app.harmonizer"
FORMAT_VERSION = 1


def default_model_path() -> Path:
    from composer_app.paths import models_dir

    return models_dir() / "harmonizer.pt"


def save_checkpoint(model: Harmonizer, path: str | os.PathLike, extra: dict | None = None) -> None:
    """State dict + config + vocabulary + format version; readable with weights_only."""
    path = Path(path)
    data = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": asdict(model.config),
        "vocabulary": grid.vocabulary(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "extra": extra or {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: torch.save(data, fh))


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint dict, checked. Raises :class:`UserError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no harmonizer weights there "
                        "(run `composer-app train harmonizer` or reinstall)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of many kinds: all mean "not readable"
        raise UserError(f"{path}: not a readable harmonizer checkpoint ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{path}: not a harmonizer checkpoint")
    if data.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{path}: harmonizer checkpoint format version "
                        f"{data.get('format_version')!r}, this app reads version {FORMAT_VERSION}")
    if data.get("vocabulary") != grid.vocabulary():
        raise UserError(f"{path}: the checkpoint's vocabulary does not match this app's grid")
    return data


def model_from_checkpoint(data: dict, path: str | os.PathLike) -> Harmonizer:
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
