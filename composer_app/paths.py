"""Where the app finds its shipped files (models, resources) and keeps user files.

Shipped files resolve from the package location (or the PyInstaller bundle), never from
the working directory. ``models/`` and ``resources/`` at the repository root are the
source of truth; a wheel carries them inside the package (``composer_app/models``,
``composer_app/resources``, see pyproject.toml), so both places are looked in.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "composer-app"

_PACKAGE = Path(__file__).resolve().parent


def shipped_dir(name: str, package: Path = _PACKAGE) -> Path:
    """The folder ``name`` of shipped files: in the PyInstaller bundle, inside the
    installed package (a wheel), else at the root of the checkout the package sits in
    (a clone or an editable install)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / name
    inside = package / name
    return inside if inside.is_dir() else package.parent / name


def models_dir() -> Path:
    """Folder of the shipped weights; ``COMPOSER_APP_MODELS`` overrides it."""
    override = os.environ.get("COMPOSER_APP_MODELS")
    return Path(override) if override else shipped_dir("models")


def resources_dir() -> Path:
    return shipped_dir("resources")


def cache_dir() -> Path:
    """User cache folder (parsed training data); ``COMPOSER_APP_CACHE`` overrides it."""
    override = os.environ.get("COMPOSER_APP_CACHE")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME))


def data_dir() -> Path:
    """User data folder (autosaves, training runs); ``COMPOSER_APP_DATA`` overrides it."""
    override = os.environ.get("COMPOSER_APP_DATA")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME))
