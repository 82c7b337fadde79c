"""The open piece: a :class:`Score` whose notes carry stable ids, plus its undo stack.

The editor never mutates notes in place. Every edit is an undo command (see
``commands.py``) that swaps immutable :class:`Note` values in and out by id, so a
selection (a set of ids) survives moves, resizes and undo.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from composer_app.music import Note, Score


@dataclass
class ScoreMeta:
    """Everything in a score the editor edits except its notes: tracks, the conductor
    maps and the markers (``Score.markers``: the text events of kind marker, the song's
    sections). Other text and channel events stay in the base score as they were read."""

    tracks: list = field(default_factory=list)
    tempos: list = field(default_factory=list)
    time_signatures: list = field(default_factory=list)
    key_signatures: list = field(default_factory=list)
    title: str = ""
    markers: list = field(default_factory=list)

    @classmethod
    def of(cls, score: Score) -> ScoreMeta:
        import copy

        return cls(copy.deepcopy(score.tracks), list(score.tempos),
                   list(score.time_signatures), list(score.key_signatures), score.title,
                   score.markers)


class NoteIndex:
    """Notes sorted by start, for finding the ones that overlap a tick range quickly."""

    def __init__(self, notes: dict[int, Note]):
        items = sorted(notes.items(), key=lambda kv: (kv[1].start, kv[1].pitch))
        self.ids = [i for i, _ in items]
        self.notes = [n for _, n in items]
        self.starts = [n.start for n in self.notes]
        self.max_duration = max((n.duration for n in self.notes), default=0)

    def overlapping(self, t0: float, t1: float):
        """(id, note) pairs whose span meets [t0, t1]."""
        lo = bisect.bisect_left(self.starts, t0 - self.max_duration)
        hi = bisect.bisect_right(self.starts, t1)
        for k in range(lo, hi):
            n = self.notes[k]
            if n.start + n.duration >= t0:
                yield self.ids[k], n


def _cover_tracks(score: Score) -> None:
    """Give every note a track to belong to, so what is saved can always be read back."""
    from composer_app.music import Track

    top = max((n.track for n in score.notes), default=-1)
    while len(score.tracks) <= top:
        score.tracks.append(Track(f"Voice {len(score.tracks) + 1}", len(score.tracks) % 16))


class Document(QObject):
    """The score being edited. ``notes`` maps id -> Note; the rest lives in ``base``."""

    notesChanged = Signal()
    metaChanged = Signal()
    eventsChanged = Signal()  # the base score's channel events (the pedal, bend lanes)
    pathChanged = Signal()
    loaded = Signal()  # a whole new piece replaced the old one (New/Open/Restore)

    def __init__(self, score: Score | None = None, path: str | None = None, parent=None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self._ids = itertools.count(1)
        self.notes: dict[int, Note] = {}
        self.base = Score()
        self.path: str | None = None
        self._index: NoteIndex | None = None
        # Counts every change, merged undo steps included (the undo stack's index does
        # not move when ↑ is pressed again): autosave compares against it.
        self.revision = 0
        self.events_revision = 0  # counts changes of the channel events only (the lanes)
        self.notesChanged.connect(self._bump_revision)
        self.metaChanged.connect(self._bump_revision)
        self.eventsChanged.connect(self._bump_revision)
        self.eventsChanged.connect(self._bump_events_revision)
        self.load(score or Score(), path)

    def _bump_revision(self) -> None:
        self.revision += 1

    def _bump_events_revision(self) -> None:
        self.events_revision += 1

    # -- whole-document changes (not undoable: New/Open/Restore) ---------------------

    def load(self, score: Score, path: str | None = None) -> None:
        score = score.copy()
        if not score.tracks:
            score.tracks = Score().tracks
        _cover_tracks(score)
        self.notes = {next(self._ids): n for n in score.notes}
        score.notes = []
        self.base = score
        self.path = path
        self._index = None
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.notesChanged.emit()
        self.metaChanged.emit()
        self.eventsChanged.emit()
        self.pathChanged.emit()
        self.loaded.emit()

    def set_path(self, path: str | None) -> None:
        self.path = path
        self.pathChanged.emit()

    @property
    def display_name(self) -> str:
        if self.path:
            return Path(self.path).name
        return self.base.title or "Untitled"

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    # -- reading -----------------------------------------------------------------------

    def score(self) -> Score:
        """A fresh :class:`Score` with the current notes (sorted)."""
        out = self.base.copy()
        out.notes = list(self.notes.values())
        _cover_tracks(out)
        out.sort()
        return out

    def score_of(self, ids) -> Score:
        """A score with only the notes ``ids`` (conductor maps and tracks kept)."""
        out = self.base.copy()
        out.notes = [self.notes[i] for i in ids if i in self.notes]
        out.sort()
        return out

    @property
    def index(self) -> NoteIndex:
        if self._index is None:
            self._index = NoteIndex(self.notes)
        return self._index

    def new_id(self) -> int:
        return next(self._ids)

    # -- used by commands only -----------------------------------------------------

    def _swap_notes(self, remove: dict[int, Note], add: dict[int, Note]) -> None:
        for i in remove:
            self.notes.pop(i, None)
        self.notes.update(add)
        self._index = None
        self.notesChanged.emit()

    def _edit_events(self, edit, undo: bool = False) -> None:
        """Apply (or revert) a :class:`~.lane_edits.EventEdit` to the channel events."""
        if undo:
            edit.revert(self.base.channel_events)
        else:
            edit.apply(self.base.channel_events)
        self.eventsChanged.emit()

    def _set_meta(self, meta: ScoreMeta) -> None:
        import copy

        self.base.tracks = copy.deepcopy(meta.tracks)
        self.base.tempos = list(meta.tempos)
        self.base.time_signatures = list(meta.time_signatures)
        self.base.key_signatures = list(meta.key_signatures)
        self.base.title = meta.title
        self.base.text_events = sorted(
            [e for e in self.base.text_events if e.kind != "marker"] + list(meta.markers),
            key=lambda e: e.tick)
        self.metaChanged.emit()
