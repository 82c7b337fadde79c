"""One checkpoint schema for every model (issue 14): writing it, reading it, checking it.

A checkpoint is one ``torch.save``d dict, read with ``weights_only=True``:

- ``format`` (``composer_app.harmonizer`` / ``composer_app.continuer``) and
  ``format_version`` (:data:`FORMAT_VERSION`);
- ``config``: the network's config, enough to rebuild it;
- ``vocabulary``: the tokens the network was trained on (the grid's version and step,
  the special tokens, the pitch range, and the model's own fields), checked on load
  against this app's;
- ``sampling``: the sampling parameters the model was tuned with (descriptive: the
  code's defaults when it was written);
- ``training``: the training config, the epoch and its validation loss;
- ``versions``: torch, music21 and composer_app it was trained with;
- ``state_dict``: the weights.

Each model gives its parts in a :class:`Kind`. Files of the first layout (the shipped
``models/*.pt``, format version 1: the harmonizer's ``vocabulary`` + ``extra``, the
continuer's ``version`` + ``vocab`` + ``train_config``) are read as such: the kind's
``legacy`` upgrades them in memory, weights untouched. Every way a file can be wrong is
a :class:`~composer_app.music.UserError` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from composer_app.music import UserError
from composer_app.music.atomic import atomic_write

from . import grid

FORMAT_VERSION = 2
LEGACY_VERSION = 1
SECTIONS = ("config", "vocabulary", "sampling", "training", "versions", "state_dict")


@dataclass(frozen=True)
class Kind:
    """What one model contributes to the schema."""

    format: str  # e.g. "composer_app.harmonizer"
    label: str  # in messages: "harmonizer", "melody-continuer"
    train_command: str  # e.g. "composer-app train harmonizer"
    vocabulary: Callable[[], dict]  # this app's vocabulary for the model
    sampling: Callable[[], dict]  # the sampling parameters the code uses now
    legacy: Callable[[dict, Path], dict]  # a version-1 dict -> the sections above


def grid_vocabulary(*, size: int, rest: int, hold: int, first_pitch: int, pitch_lo: int,
                    pitch_hi: int, **own) -> dict:
    """The vocabulary fields every grid model has, then the model's own."""
    return {"grid": grid.GRID_VERSION, "step_ticks": grid.STEP_TICKS, "size": size,
            "rest": rest, "hold": hold, "first_pitch": first_pitch, "pitch_lo": pitch_lo,
            "pitch_hi": pitch_hi, **own}


def versions() -> dict:
    """torch, music21 and composer_app as installed now (music21 by its metadata: ml/
    never imports it)."""
    from importlib import metadata

    from composer_app import __version__

    try:
        music21 = metadata.version("music21")
    except metadata.PackageNotFoundError:
        music21 = None
    return {"torch": str(torch.__version__), "music21": music21, "composer_app": str(__version__)}


def build(kind: Kind, config: dict, state_dict: dict, training: dict | None = None) -> dict:
    """A checkpoint dict of the current version (weights copied to the CPU)."""
    return {
        "format": kind.format,
        "format_version": FORMAT_VERSION,
        "config": dict(config),
        "vocabulary": kind.vocabulary(),
        "sampling": kind.sampling(),
        "training": dict(training or {}),
        "versions": versions(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()},
    }


def save(data: dict, path: str | os.PathLike) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: torch.save(data, fh))


def read(path: str | os.PathLike, kind: Kind) -> dict:
    """The checkpoint at ``path``, read and checked (see :func:`check`)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: {kind.label} weights not found "
                        f"(run `{kind.train_command}` or reinstall)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, not a torch file, pickled code...
        first = (str(exc).strip().splitlines() or [""])[0][:120]
        raise UserError(f"{path}: not a readable {kind.label} checkpoint "
                        f"({type(exc).__name__}{': ' + first if first else ''})") from None
    return check(data, path, kind)


def check(data, path: str | os.PathLike, kind: Kind) -> dict:
    """``data`` in the current layout (a version-1 file upgraded), or a UserError naming
    ``path``. ``format_version`` stays what the file holds; the vocabulary must be this
    app's."""
    path = Path(path)
    if not isinstance(data, dict) or data.get("format") != kind.format:
        raise UserError(f"{path}: not a {kind.label} checkpoint")
    version = data.get("format_version", data.get("version"))
    if version == LEGACY_VERSION:
        if "versions" not in data:  # (a version-1 dict not yet upgraded)
            data = {"format": kind.format, "format_version": LEGACY_VERSION,
                    **kind.legacy(data, path)}
    elif version != FORMAT_VERSION:
        raise UserError(f"{path}: {kind.label} checkpoint format version {version!r}; this "
                        f"app reads versions {LEGACY_VERSION}-{FORMAT_VERSION} "
                        "(retrain, or update the app)")
    missing = [s for s in SECTIONS if not isinstance(data.get(s), dict)]
    if missing:
        raise UserError(f"{path}: {kind.label} checkpoint lacks {', '.join(missing)}")
    if data["vocabulary"] != kind.vocabulary():
        raise UserError(f"{path}: the {kind.label} checkpoint's vocabulary does not match "
                        "this app's grid; retrain")
    return data


def legacy_sections(data: dict, config_key: str = "config") -> dict:
    """The sections a version-1 file cannot tell: nothing recorded of its versions."""
    return {"config": data.get(config_key), "state_dict": data.get("state_dict"),
            "versions": {"torch": None, "music21": None, "composer_app": None}}
