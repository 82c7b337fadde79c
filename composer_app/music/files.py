"""Open and save a score by file extension."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .abc import read_abc
from .errors import UserError
from .midifile import read_midi, write_midi
from .musicxml import read_musicxml, write_musicxml
from .notation import DEFAULT_GRID
from .project import PROJECT_SUFFIX, read_project, write_project
from .score import Score

READ_SUFFIXES = (".mid", ".midi", ".musicxml", ".xml", ".mxl", ".abc", PROJECT_SUFFIX)
WRITE_SUFFIXES = (".mid", ".midi", ".musicxml", ".xml", PROJECT_SUFFIX)


def file_kind(path: str | os.PathLike) -> str:
    """"midi", "musicxml", "abc" or "project" from the name; "" when unknown."""
    name = Path(path).name.lower()
    if name.endswith(PROJECT_SUFFIX):
        return "project"
    suffix = Path(name).suffix
    if suffix in (".mid", ".midi"):
        return "midi"
    if suffix in (".musicxml", ".xml", ".mxl"):
        return "musicxml"
    if suffix == ".abc":
        return "abc"
    return ""


def load_score(path: str | os.PathLike, tune: int | None = None,
               notes: list[str] | None = None, unfold: bool = True,
               progress: Callable[[float, str], None] | None = None) -> Score:
    """Read any supported file. Raises :class:`UserError` with a one-line message.

    ``tune`` chooses a tune of an ABC book by its ``X:`` number (the first when None;
    :func:`composer_app.music.abc.abc_tunes` lists them); other files have no tunes.
    What the user should know besides (a damaged MIDI file's repairs, a tempo clamped,
    what was left out) is appended to ``notes``, one line each; the CLI prints them and
    the app shows them after Open. ``unfold``: a MusicXML file's repeats are played
    out (the default, said in one line), else kept written once with their barlines.

    ``progress(fraction, what)`` is told how far the reading is where a reader can say
    (MusicXML, part by part; the others are told only that they started); it may raise
    :class:`~composer_app.music.errors.Cancelled`, which passes through. The app runs
    this off its GUI thread with a progress dialog (``ui/file_controller.py``).
    """
    kind = file_kind(path)
    if progress is not None and kind != "musicxml":
        progress(0.0, "reading the file")
    if tune is not None and kind != "abc":
        raise UserError(f"{path}: only ABC files hold numbered tunes (--tune)")
    if kind == "abc":
        return read_abc(path, tune, notes)
    if kind == "midi":
        return read_midi(path, notes)
    if kind == "musicxml":
        return read_musicxml(path, notes, unfold=unfold, progress=progress)
    if kind == "project":
        return read_project(path)
    raise UserError(
        f"{path}: unknown file type (open .mid, .midi, .musicxml, .xml, .mxl, .abc or "
        f"{PROJECT_SUFFIX})"
    )


def save_score(score: Score, path: str | os.PathLike, *, grid: int = DEFAULT_GRID,
               triplets: bool = True) -> list[str]:
    """Write by extension, atomically. Raises :class:`UserError`. Returns what the user
    should be told, one line each (MusicXML: how the notation was quantized to ``grid``
    and what it does not hold; MIDI: what it clamped into its ranges)."""
    kind = file_kind(path)
    if kind == "midi":
        return write_midi(score, path)
    elif kind == "musicxml" and not str(path).lower().endswith(".mxl"):
        return write_musicxml(score, path, grid=grid, triplets=triplets)
    elif kind == "project":
        write_project(score, path)
        return []
    else:
        raise UserError(
            f"{path}: cannot write this file type (use .mid, .musicxml or {PROJECT_SUFFIX})"
        )
