"""Finding a General MIDI SoundFont.

Search order: the user's setting → ``COMPOSER_APP_SOUNDFONT`` → the app's resources
(``resources/soundfonts/``) → standard system locations (Debian/Ubuntu, Fedora, Arch,
Homebrew, MacPorts, Windows).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from composer_app.paths import resources_dir

from .errors import SoundfontNotFound

__all__ = ["find_soundfont", "resolve_soundfont", "check_soundfont_file", "system_candidates",
           "SOUNDFONT_HELP", "ENV_VAR"]

log = logging.getLogger(__name__)

ENV_VAR = "COMPOSER_APP_SOUNDFONT"
SUFFIXES = (".sf2", ".sf3")

SOUNDFONT_HELP = (
    "no General MIDI SoundFont found. Install one "
    "(Debian/Ubuntu: 'sudo apt install fluid-soundfont-gm'; Fedora: "
    "'sudo dnf install fluid-soundfont-gm'; Arch: 'sudo pacman -S soundfont-fluid'; "
    "macOS: 'brew install fluid-synth' and put a .sf2 in ~/Library/Audio/Sounds/Banks; "
    "Windows: put a .sf2 in C:\\soundfonts), "
    f"or point {ENV_VAR} or the Audio settings at a .sf2/.sf3 file"
)

# Exact files first (the conventional GM defaults), then folders scanned for any .sf2/.sf3.
_UNIX_FILES = (
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/share/sounds/sf3/MuseScore_General.sf3",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM2-2.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "/opt/local/share/sounds/sf2/FluidR3_GM.sf2",
)
_UNIX_DIRS = (
    "/usr/share/sounds/sf2",
    "/usr/share/sounds/sf3",
    "/usr/share/soundfonts",
    "/usr/local/share/soundfonts",
    "/opt/homebrew/share/soundfonts",
    "/opt/homebrew/share/fluid-synth",
    "/usr/local/share/fluid-synth",
    "~/.local/share/soundfonts",
    "~/Library/Audio/Sounds/Banks",
)


_warned: set[tuple[str, str]] = set()


def _windows_candidates() -> list[Path]:
    roots = [Path("C:/soundfonts"), Path("C:/tools/fluidsynth/share/soundfonts")]
    for var in ("ProgramData", "APPDATA", "LOCALAPPDATA", "USERPROFILE"):
        base = os.environ.get(var)
        if base:
            roots += [Path(base) / "soundfonts", Path(base) / "SoundFonts"]
    return roots


def system_candidates() -> list[Path]:
    """Standard places for a GM soundfont on this platform, most likely first."""
    if sys.platform.startswith("win"):
        return _windows_candidates()
    return [Path(p) for p in _UNIX_FILES] + [Path(p).expanduser() for p in _UNIX_DIRS]


def _first_in(path: Path) -> Path | None:
    """``path`` itself if it is a soundfont file, else the first soundfont inside it."""
    try:
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            return path
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
            # Prefer a file named like a GM default.
            found.sort(key=lambda p: (not any(k in p.name.lower() for k in ("gm", "default")), p.name))
            return found[0] if found else None
    except OSError:
        return None
    return None


def find_soundfont(user_setting: str | os.PathLike | None = None) -> Path | None:
    """The soundfont to use, or None. Never raises.

    A user setting or environment variable that names a missing file is logged and
    skipped, so the search goes on to the shipped and system soundfonts.
    """
    for label, value in (("setting", user_setting), (ENV_VAR, os.environ.get(ENV_VAR))):
        if value:
            hit = _first_in(Path(value).expanduser())
            if hit:
                return hit
            if (label, str(value)) not in _warned:
                _warned.add((label, str(value)))
                log.warning("soundfont from %s not found: %s", label, value)
    for candidate in [resources_dir() / "soundfonts", resources_dir()] + system_candidates():
        hit = _first_in(candidate)
        if hit:
            return hit
    return None


def check_soundfont_file(path: Path) -> None:
    """Raise SoundfontNotFound unless ``path`` starts like a SoundFont (or DLS) file.

    Checked before FluidSynth sees the file: its loader prints native warnings for junk.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError as exc:
        raise SoundfontNotFound(f"cannot read soundfont {path}: {exc.strerror or exc}") from exc
    if head[:4] != b"RIFF" or head[8:12] not in (b"sfbk", b"DLS "):
        raise SoundfontNotFound(f"{path} is not a SoundFont (.sf2/.sf3) file")


def resolve_soundfont(path: str | os.PathLike | None = None) -> Path:
    """An explicit ``path`` must exist; without one, search. Raises SoundfontNotFound.

    The result is checked to look like a SoundFont file.
    """
    if path:
        found = Path(path).expanduser()
        if not found.is_file():
            raise SoundfontNotFound(f"soundfont not found: {found}")
    else:
        found = find_soundfont()
        if found is None:
            raise SoundfontNotFound(SOUNDFONT_HELP)
    check_soundfont_file(found)
    return found
