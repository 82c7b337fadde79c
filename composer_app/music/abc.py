"""ABC notation through music21 (imported lazily): single tunes and multi-tune books.

A book holds tunes that each start at an ``X:`` line; :func:`abc_tunes` lists them
(number and title, read from the headers without music21) for a "choose the tune" list,
and :func:`read_abc` reads one (``tune`` = its ``X:`` number; the first when None). Key
(``K:``), meter (``M:``), unit length (``L:``) and pickups are taken as written; repeats
(``|: :|``, first and second endings) are unfolded. The Score goes through
``validate_score`` like every reader's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import FileFormatError, UserError
from .score import Score
from .validate import ReadNotes, validate_score

__all__ = ["AbcTune", "abc_tunes", "read_abc"]

_HEADER = re.compile(r"^([A-Za-z]):\s*(.*?)\s*$")
_METER = re.compile(r"^(C\|?|none|\d+(\+\d+)*/\d+)$", re.IGNORECASE)
_LENGTH = re.compile(r"^1/(1|2|4|8|16|32|64)$")


@dataclass(frozen=True)
class AbcTune:
    """One tune of a book: its ``X:`` number, its title (``T:``) and its text."""

    number: int
    title: str
    text: str


def _read_text(path: Path) -> str:
    if not path.exists():
        raise UserError(f"{path}: no such file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def split_tunes(text: str) -> list[AbcTune]:
    """The tunes of an ABC text (a file-level header before the first ``X:`` is kept in
    front of each tune, as ABC 2.1 says)."""
    chunks = re.split(r"(?m)^(?=X:)", text)
    file_header = chunks[0] if chunks and not chunks[0].startswith("X:") else ""
    tunes = []
    for chunk in chunks:
        m = re.match(r"X:\s*(\d+)", chunk)
        if not m:
            continue
        title = ""
        for line in chunk.splitlines():
            h = _HEADER.match(line)
            if h and h.group(1) == "T":
                title = h.group(2)
                break
        head = "\n".join(line for line in file_header.splitlines()
                         if _HEADER.match(line) and not line.startswith(("X:", "T:")))
        body = chunk if not head else chunk.replace("\n", "\n" + head + "\n", 1)
        tunes.append(AbcTune(int(m.group(1)), title, body))
    return tunes


def abc_tunes(path: str | os.PathLike) -> list[AbcTune]:
    """The tunes of an ABC file, in order (for a "choose the tune" list)."""
    path = Path(path)
    tunes = split_tunes(_read_text(path))
    if not tunes:
        raise FileFormatError(f"{path}: no tunes in this ABC file (a tune starts with an "
                              "X: line)")
    return tunes


def _check_headers(path: Path, tune: AbcTune) -> None:
    """Refuse what music21 would misread silently: a meter, unit length or key that is
    not ABC, or a tune without its K: line."""
    where = f"{path}: tune X:{tune.number}"
    seen_key = False
    for line in tune.text.splitlines():
        h = _HEADER.match(line)
        if not h or seen_key:
            continue
        field, value = h.group(1), h.group(2).split("%")[0].strip()
        if field == "M" and not _METER.match(value):
            raise FileFormatError(f"{where}: meter 'M:{value}' is not ABC (e.g. M:6/8 or M:C)")
        if field == "L" and not _LENGTH.match(value):
            raise FileFormatError(f"{where}: unit length 'L:{value}' is not ABC (e.g. L:1/8)")
        if field == "K":
            if not value or not re.match(r"^(none|[A-Ga-g]|HP|Hp)", value):
                raise FileFormatError(f"{where}: key 'K:{value}' is not ABC (e.g. K:G or K:Ador)")
            seen_key = True
    if not seen_key:
        raise FileFormatError(f"{where}: no K: line (an ABC tune's header ends with its key)")


def read_abc(path: str | os.PathLike, tune: int | None = None,
             notes: list[str] | None = None) -> Score:
    """Read tune ``tune`` (its ``X:`` number; the first when None) of an ABC file; what
    the user should know (a tempo clamped) is appended to ``notes``."""
    path = Path(path)
    tunes = abc_tunes(path)
    if tune is None:
        chosen = tunes[0]
    else:
        chosen = next((t for t in tunes if t.number == tune), None)
        if chosen is None:
            numbers = [t.number for t in tunes]
            listed = (", ".join(map(str, numbers)) if len(numbers) <= 12
                      else f"{numbers[0]} to {numbers[-1]}")
            raise UserError(f"{path}: no tune X:{tune} (the file holds {listed})")
    _check_headers(path, chosen)
    import warnings

    from music21 import converter

    from .errors import error_text
    from .musicxml import score_from_music21

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = converter.parse(chosen.text, format="abc", forceSource=True)
            if hasattr(parsed, "scores") and not hasattr(parsed, "parts"):
                parsed = parsed.scores[0]
            parsed = _unfold(parsed)
    except FileFormatError:
        raise
    except Exception as exc:  # music21 raises many unrelated types for bad input
        raise FileFormatError(f"{path}: tune X:{chosen.number} is not readable ABC "
                              f"({error_text(exc)})") from None
    said = ReadNotes()
    score = score_from_music21(parsed, said)
    if not score.notes:
        raise FileFormatError(f"{path}: tune X:{chosen.number} has no notes")
    score.title = chosen.title or score.title or path.name.split(".")[0]
    validate_score(score, f"{path} (tune X:{chosen.number})")
    if notes is not None:
        notes.extend(said.lines(path.name))
    return score


def _unfold(parsed):
    """Repeats written out (music21's expandRepeats, part by part)."""
    from music21 import stream

    parts = list(parsed.parts) if hasattr(parsed, "parts") and len(parsed.parts) else [parsed]
    out = stream.Score()
    if getattr(parsed, "metadata", None) is not None:
        out.insert(0, parsed.metadata)
    for part in parts:
        if part.getElementsByClass(stream.Measure):
            part = part.expandRepeats()
        out.insert(0, part)
    return out
