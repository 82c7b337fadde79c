"""Where the app finds its shipped files (models, resources) and keeps user files.

Shipped files resolve from the package location (or the PyInstaller bundle), never from
the working directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "composer-app"


def _root() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    """Folder of the shipped weights; ``COMPOSER_APP_MODELS`` overrides it."""
    override = os.environ.get("COMPOSER_APP_MODELS")
    return Path(override) if override else _root() / "models"


def resources_dir() -> Path:
    return _root() / "resources"


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
