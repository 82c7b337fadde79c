"""The project file: versioned JSON (``.composer.json``), written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .atomic import atomic_write_bytes
from .errors import FileFormatError, UserError
from .score import (
    ChannelEvent,
    KeySignature,
    Note,
    Score,
    SystemEvent,
    TempoChange,
    TextEvent,
    TimeSignature,
    Track,
)
from .theory import Key
from .validate import validate_score

FORMAT_NAME = "composer-app-project"
# The newest format this code reads and writes. Version 2 adds a seventh note column,
# the fermata. A file is written with the lowest version that holds what it contains:
# a piece without fermatas stays version 1, so older apps still open it, while a piece
# with fermatas is version 2, which an older app refuses ("written by a newer
# composer_app") instead of opening it and silently dropping the phrase ends, as it
# would with an extra column it does not know. Version 3 adds "channel_events" (rows
# tick, track, kind, number, value: controllers, bends, aftertouch, later program
# changes) and "text_events" (rows tick, track, kind, text; track -1 is the whole piece),
# written only when the piece has some: a piece without them is written as before; and a
# fourth key-signature column, the signature as written where it is not the key's usual
# one (G-flat major's six flats; version 3 too).
# Version 4 adds "system_events" (rows tick, track, the event's bytes in hex: system
# exclusive and meta events the app does not interpret), written only when present.
# Version 5 adds articulations, an eighth note column (a list of names from
# score.ARTICULATIONS) on the rows of notes that have some, slurs, text events of kind
# "slur", and a fifth text-event column, a lyric's verse where it is not 1: an older
# app would refuse the slurs as damage and drop the column and the verses.
FORMAT_VERSION = 5
PROJECT_SUFFIX = ".composer.json"

__all__ = ["FORMAT_VERSION", "PROJECT_SUFFIX", "score_to_dict", "score_from_dict",
           "write_project", "read_project", "project_bytes"]


def score_to_dict(score: Score) -> dict:
    has_fermatas = any(n.fermata for n in score.notes)
    has_events = bool(score.channel_events or score.text_events)
    spelled = any(k.fifths is not None for k in score.key_signatures)
    marked = any(n.articulations for n in score.notes) or any(
        t.kind == "slur" or t.verse != 1 for t in score.text_events)
    data = {
        "format": FORMAT_NAME,
        "version": (5 if marked else 4 if score.system_events else 3 if has_events or spelled
                    else 2 if has_fermatas else 1),
        "title": score.title,
        "ppq": score.ppq,
        "tracks": [
            {"name": t.name, "channel": t.channel, "program": t.program,
             "mute": t.mute, "solo": t.solo}
            for t in score.tracks
        ],
        "tempos": [[t.tick, t.bpm] for t in score.tempos],
        "time_signatures": [[t.tick, t.numerator, t.denominator] for t in score.time_signatures],
        # A fourth column, the written signature, only where it is not the usual one.
        "key_signatures": [[k.tick, k.key.tonic, k.key.mode]
                           + ([k.fifths] if k.fifths is not None else [])
                           for k in score.key_signatures],
        # Compact rows: pitch, start, duration, velocity, track, locked[, fermata[,
        # articulations]] (the seventh column only in files with fermatas or
        # articulations, the eighth only on a note with articulations: version 5).
        "notes": [
            _note_row(n, has_fermatas or marked)
            for n in sorted(score.notes, key=lambda n: (n.start, n.track, n.pitch))
        ],
    }
    if has_events:  # in their order: events at one tick are sent in it
        data["channel_events"] = [[e.tick, e.track, e.kind, e.number, e.value]
                                  for e in score.channel_events]
        data["text_events"] = [[t.tick, t.track, t.kind, t.text] + ([t.verse] if t.verse != 1 else [])
                               for t in score.text_events]
    if score.system_events:
        data["system_events"] = [[e.tick, e.track, e.data.hex()] for e in score.system_events]
    return data


def _note_row(n: Note, with_fermata: bool) -> list:
    row: list = [n.pitch, n.start, n.duration, n.velocity, n.track, int(n.locked)]
    if with_fermata:
        row.append(int(n.fermata))
        if n.articulations:
            row.append(list(n.articulations))
    return row


def score_from_dict(data: dict, where: str = "project") -> Score:
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise FileFormatError(f"{where}: not a composer_app project file")
    version = data.get("version")
    if not isinstance(version, int):
        raise FileFormatError(f"{where}: project file has no version number")
    if version > FORMAT_VERSION:
        raise FileFormatError(
            f"{where}: written by a newer composer_app (project format {version}; "
            f"this version reads up to {FORMAT_VERSION}). Update composer_app to open it."
        )
    try:
        tracks = [
            Track(name=str(t["name"]), channel=_int(t["channel"]), program=_int(t["program"]),
                  mute=bool(t.get("mute", False)), solo=bool(t.get("solo", False)))
            for t in data["tracks"]
        ] or [Track()]
        notes = []
        for row in data["notes"]:
            pitch, start, duration, velocity, track = (_int(x) for x in row[:5])
            locked = bool(row[5]) if len(row) > 5 else False
            fermata = bool(row[6]) if len(row) > 6 else False  # version 1 rows have none
            marks = tuple(_str(a) for a in row[7]) if len(row) > 7 else ()
            notes.append(Note(pitch, start, duration, min(max(velocity, 1), 127), track, locked,
                              fermata, marks))
        score = Score(
            notes=notes,
            tracks=tracks,
            tempos=[TempoChange(_int(t), float(b)) for t, b in data["tempos"]]
            or [TempoChange(0, 120.0)],
            time_signatures=[TimeSignature(_int(t), _int(n), _int(d))
                             for t, n, d in data["time_signatures"]] or [TimeSignature(0, 4, 4)],
            key_signatures=[_key_signature(row) for row in data["key_signatures"]],
            ppq=_int(data.get("ppq", 480)),
            title=str(data.get("title", "")),
            channel_events=[ChannelEvent(_int(t), _int(tr), _str(k), _int(n), _int(v))
                            for t, tr, k, n, v in data.get("channel_events", ())],
            text_events=[_text_event(row) for row in data.get("text_events", ())],
            system_events=[SystemEvent(_int(t), bytes.fromhex(_str(raw)), _int(tr))
                           for t, tr, raw in data.get("system_events", ())],
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise FileFormatError(f"{where}: damaged project file ({exc})") from None
    # The same limits every reader checks: no tempo 0, meter 4/0, pitch 130, negative time.
    validate_score(score, where, "damaged project file")
    score.sort()
    return score


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


def _int(value) -> int:
    """A whole number from JSON: 3 and 3.0 are 3; 3.5, "3", true and null are damage."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(f"{value!r} is not a whole number")
    return int(value)


def _key_signature(row) -> KeySignature:
    tick, pc, mode, *rest = row
    if len(rest) > 1:
        raise ValueError(f"{row!r} is not a key signature")
    return KeySignature(_int(tick), Key(_int(pc), str(mode)), _int(rest[0]) if rest else None)


def _text_event(row) -> TextEvent:
    tick, track, kind, text, *rest = row
    if len(rest) > 1:
        raise ValueError(f"{row!r:.80} is not a text event")
    return TextEvent(_int(tick), _str(kind), _str(text), _int(track),
                     _int(rest[0]) if rest else 1)


def _str(value) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    return value


def project_bytes(score: Score) -> bytes:
    return json.dumps(score_to_dict(score), separators=(",", ":")).encode("utf-8")


def write_project(score: Score, path: str | os.PathLike) -> None:
    """Save atomically: the old file survives any failure mid-write."""
    atomic_write_bytes(Path(path), project_bytes(score))


def read_project(path: str | os.PathLike) -> Score:
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: [[[[…
        raise FileFormatError(f"{path}: not a valid project file ({_first_line(exc)})") from None
    return score_from_dict(data, str(path))
