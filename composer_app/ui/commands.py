"""Undo commands. Each holds immutable before/after values; nothing else edits a Document.

``EditNotes`` is the one note command: it removes some notes (by id) and adds or
replaces others. Insert, delete, move, resize, transpose, quantize, velocity, lock and
"accept a generated variation" are all an ``EditNotes``. A mouse drag pushes one when
the button is released, so a drag is one undo step; repeated key presses (↑/↓) merge.
"""

from __future__ import annotations

from contextlib import contextmanager

from PySide6.QtGui import QUndoCommand

from composer_app.music import Note

from .document import Document, ScoreMeta

MERGE_NONE = -1
MERGE_TRANSPOSE = 1001  # repeated ↑/↓ on the same notes merge into one step
MERGE_SHIFT = 1002  # repeated ←/→
MERGE_VELOCITY = 1003


class EditNotes(QUndoCommand):
    """Replace ``before`` (id -> old note, absent for an insert) with ``after``.

    ``after`` maps id -> new note; an id in ``before`` but not in ``after`` is deleted.
    """

    def __init__(self, doc: Document, text: str, before: dict[int, Note],
                 after: dict[int, Note], merge_id: int = MERGE_NONE):
        super().__init__(text)
        self.doc = doc
        self.before = dict(before)
        self.after = dict(after)
        self._merge_id = merge_id

    def redo(self) -> None:
        self.doc._swap_notes(self.before, self.after)

    def undo(self) -> None:
        self.doc._swap_notes(self.after, self.before)

    def id(self) -> int:  # noqa: A003 - Qt's name
        return self._merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, EditNotes) or other._merge_id != self._merge_id:
            return False
        if set(other.before) != set(self.after) or set(other.after) != set(self.after):
            return False  # only merge repeated edits of the very same notes
        self.after = dict(other.after)
        return True


class EditMeta(QUndoCommand):
    """Change tracks, tempo, meter, key or title (before/after snapshots)."""

    def __init__(self, doc: Document, text: str, before: ScoreMeta, after: ScoreMeta):
        super().__init__(text)
        self.doc = doc
        self.before = before
        self.after = after

    def redo(self) -> None:
        self.doc._set_meta(self.after)

    def undo(self) -> None:
        self.doc._set_meta(self.before)


class EditEvents(QUndoCommand):
    """An :class:`~.lane_edits.EventEdit` of the channel events (a pedal span drawn, a
    bend curve): the events out and in by index, so undo restores the list exactly."""

    def __init__(self, doc: Document, text: str, edit):
        super().__init__(text)
        self.doc = doc
        self.edit = edit

    def redo(self) -> None:
        self.doc._edit_events(self.edit)

    def undo(self) -> None:
        self.doc._edit_events(self.edit, undo=True)


class ReplaceEvents(QUndoCommand):
    """The piece's controllers, bends, text (lyrics, chord symbols; markers are meta) and
    system events replaced by other lists (bars inserted or deleted move them all)."""

    def __init__(self, doc: Document, text: str, after: tuple[list, list, list]):
        super().__init__(text)
        self.doc = doc
        base = doc.base
        self.before = (list(base.channel_events),
                       [e for e in base.text_events if e.kind != "marker"],
                       list(base.system_events))
        self.after = after

    def _put(self, lists: tuple[list, list, list]) -> None:
        base = self.doc.base
        channel, text, system = lists
        base.channel_events = list(channel)
        base.text_events = sorted([e for e in base.text_events if e.kind == "marker"]
                                  + list(text), key=lambda e: e.tick)
        base.system_events = list(system)
        self.doc.eventsChanged.emit()

    def redo(self) -> None:
        self._put(self.after)

    def undo(self) -> None:
        self._put(self.before)


# -- helpers that build and push commands ---------------------------------------------


class Callback(QUndoCommand):
    """A step that edits nothing itself: undoing it calls ``on_undo``, redoing it
    ``on_redo`` (not on the push). Inside :func:`one_step`, e.g. to bring back the
    variations an accept put away."""

    def __init__(self, text: str, on_undo, on_redo):
        super().__init__(text)
        self._on_undo, self._on_redo = on_undo, on_redo
        self._pushed = False

    def redo(self) -> None:
        if self._pushed:
            self._on_redo()
        self._pushed = True

    def undo(self) -> None:
        self._on_undo()


@contextmanager
def one_step(doc: Document, text: str):
    """Group several edits (e.g. add tracks, then their notes) into one undo step."""
    doc.undo_stack.beginMacro(text)
    try:
        yield
    finally:
        doc.undo_stack.endMacro()


def insert_notes(doc: Document, notes, text: str = "Insert notes") -> list[int]:
    """Add ``notes`` as one undo step; returns their new ids.

    This is the call for anything that adds music (paste, duplicate, accepting a
    generated variation)."""
    after = {doc.new_id(): n for n in notes}
    if after:
        doc.undo_stack.push(EditNotes(doc, text, {}, after))
    return list(after)


def replace_notes(doc: Document, remove_ids, add_notes, text: str) -> list[int]:
    """Delete ``remove_ids`` and add ``add_notes`` in one undo step (e.g. reharmonize)."""
    before = {i: doc.notes[i] for i in remove_ids if i in doc.notes}
    after = {doc.new_id(): n for n in add_notes}
    if before or after:
        doc.undo_stack.push(EditNotes(doc, text, before, after))
    return list(after)


def delete_notes(doc: Document, ids, text: str = "Delete notes") -> None:
    before = {i: doc.notes[i] for i in ids if i in doc.notes}
    if before:
        doc.undo_stack.push(EditNotes(doc, text, before, {}))


def change_notes(doc: Document, changed: dict[int, Note], text: str,
                 merge_id: int = MERGE_NONE) -> None:
    """Replace notes by id with new values (move, resize, transpose, velocity, lock)."""
    before = {i: doc.notes[i] for i in changed if i in doc.notes}
    after = {i: n for i, n in changed.items() if i in before and doc.notes[i] != n}
    before = {i: before[i] for i in after}
    if after:
        doc.undo_stack.push(EditNotes(doc, text, before, after, merge_id))


def edit_meta(doc: Document, text: str, change) -> None:
    """Apply ``change(meta)`` to a copy of the document's meta, as one undo step."""
    before = ScoreMeta.of(doc.base)
    after = ScoreMeta.of(doc.base)
    change(after)
    if after != before:
        doc.undo_stack.push(EditMeta(doc, text, before, after))


def edit_events(doc: Document, text: str, edit) -> bool:
    """Push an :class:`~.lane_edits.EventEdit` as one undo step (nothing when empty)."""
    if not edit:
        return False
    doc.undo_stack.push(EditEvents(doc, text, edit))
    return True
