"""Pointer input on the piano roll: tools, and one object per gesture owning its state.

A :class:`Tool` turns a press into a gesture (or an immediate edit). The roll hands the
gesture each move (:meth:`Gesture.update`, which returns False when the gesture can no
longer go on, e.g. an undo removed its notes) and the release (:meth:`Gesture.finish`,
which pushes one undo step). While a gesture runs, the painter asks it what to show:
notes displaced (:attr:`Gesture.moving`, :meth:`Gesture.shown`), notes hidden
(:attr:`Gesture.hidden`), notes not yet in the piece (:attr:`Gesture.preview`) and an
overlay (:meth:`Gesture.paint_overlay`). The arithmetic is in :mod:`.roll_edits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from composer_app.music import Note

from . import commands as cmd
from . import roll_edits as edits

if TYPE_CHECKING:
    from .piano_roll import PianoRoll

CLICK_SLOP = 4  # px (Manhattan) a draw press may wander and still be a click
RUBBER_PEN = QColor(40, 110, 220)
RUBBER_FILL = QColor(40, 110, 220, 40)


@dataclass
class RollEvent:
    """A pointer event in musical terms."""

    tick: float
    pitch: int
    snapped: int  # ``tick`` rounded to the grid (or ``tick`` itself when snap is bypassed)
    cell: int  # the grid cell start containing ``tick``
    note_id: int | None
    on_right_edge: bool
    modifiers: Qt.KeyboardModifier
    button: Qt.MouseButton
    pos: QPointF

    @property
    def free(self) -> bool:
        """Alt or Shift held: the grid is bypassed."""
        return bool(self.modifiers & (Qt.AltModifier | Qt.ShiftModifier))


# -- gestures ----------------------------------------------------------------------------


class Gesture:
    """One drag on the note canvas, from press to release (one undo step at most)."""

    moving: frozenset[int] | set[int] = frozenset()  # ids drawn displaced by shown()
    hidden: frozenset[int] | set[int] = frozenset()  # ids not drawn
    preview: tuple[Note, ...] = ()  # notes drawn that are not in the piece yet

    def __init__(self, roll: PianoRoll, press: RollEvent):
        self.roll = roll
        self.press = press

    def update(self, ev: RollEvent) -> bool:
        """Follow the pointer; False: the gesture cannot go on (the roll cancels it)."""
        return True

    def finish(self) -> None:
        """The button was released (after a last :meth:`update`): commit."""

    def shown(self, note: Note) -> Note:
        """How a note in :attr:`moving` is drawn now."""
        return note

    @property
    def offsets(self) -> tuple[int, int, int]:
        """(dt, dp, dlen) the moving notes are shown with (for the signs over them)."""
        return 0, 0, 0

    def paint_overlay(self, p: QPainter) -> None:
        """Drawn over the notes."""


class _NotesGesture(Gesture):
    """Move or resize the selection, anchored on the note pressed."""

    def __init__(self, roll: PianoRoll, press: RollEvent):
        super().__init__(roll, press)
        self.moving = set(roll.selection)

    def update(self, ev: RollEvent) -> bool:
        notes = self.roll.doc.notes
        self.moving &= set(notes)  # an undo during the drag may have removed some
        if self.press.note_id not in notes or not self.moving:
            return False
        self.follow(ev, notes[self.press.note_id], [notes[i] for i in self.moving])
        return True

    def follow(self, ev: RollEvent, anchor: Note, notes: list[Note]) -> None: ...

    def _snapped(self, raw: float, ev: RollEvent) -> int:
        return int(round(raw)) if ev.free else self.roll.snap_round(raw)


class MoveGesture(_NotesGesture):
    """Drag the selection in time and pitch (the grid applies to the pressed note)."""

    def __init__(self, roll: PianoRoll, press: RollEvent):
        super().__init__(roll, press)
        self.dt = self.dp = 0
        self._heard_dp = 0  # the offset last previewed

    def follow(self, ev: RollEvent, anchor: Note, notes: list[Note]) -> None:
        new_start = self._snapped(anchor.start + ev.tick - self.press.tick, ev)
        self.dt, self.dp = edits.move_offsets(notes, anchor, new_start,
                                              ev.pitch - self.press.pitch)
        if self.dp != self._heard_dp:
            self.roll.previewPitch.emit(anchor.pitch + self.dp, anchor.track)
            self._heard_dp = self.dp

    def finish(self) -> None:
        if self.dt or self.dp:
            doc = self.roll.doc
            changed = edits.moved_notes({i: doc.notes[i] for i in self.moving}, self.dt, self.dp)
            cmd.change_notes(doc, changed, "Move notes" if len(self.moving) > 1 else "Move note")

    def shown(self, note: Note) -> Note:
        return note.moved(start=note.start + self.dt, pitch=note.pitch + self.dp)

    @property
    def offsets(self) -> tuple[int, int, int]:
        return self.dt, self.dp, 0


class ResizeGesture(_NotesGesture):
    """Drag the right edge: the selection's lengths change together."""

    def __init__(self, roll: PianoRoll, press: RollEvent):
        super().__init__(roll, press)
        self.dlen = 0
        self.min_len = edits.FREE_MIN_LEN  # no note is made shorter than this

    def follow(self, ev: RollEvent, anchor: Note, notes: list[Note]) -> None:
        new_end = self._snapped(anchor.end + ev.tick - self.press.tick, ev)
        self.min_len = edits.FREE_MIN_LEN if ev.free else self.roll.snap_len
        self.dlen = edits.resize_offset(notes, anchor, new_end, self.min_len)

    def finish(self) -> None:
        if not self.dlen:
            return
        doc = self.roll.doc
        changed = edits.resized_notes({i: doc.notes[i] for i in self.moving}, self.dlen,
                                      self.min_len)
        if changed:
            cmd.change_notes(doc, changed, "Resize notes" if len(changed) > 1 else "Resize note")
        if self.press.note_id in doc.notes:
            self.roll.last_length = doc.notes[self.press.note_id].duration

    def shown(self, note: Note) -> Note:
        return edits.resized(note, self.dlen, self.min_len)

    @property
    def offsets(self) -> tuple[int, int, int]:
        return 0, 0, self.dlen


class DrawGesture(Gesture):
    """Press draws a note in the grid cell; dragging right sets its length; a click
    keeps the length last drawn or resized."""

    def __init__(self, roll: PianoRoll, press: RollEvent):
        super().__init__(roll, press)
        self.note = Note(press.pitch, press.cell, roll.draw_length, roll.default_velocity,
                         roll.active_track)
        self.dragged = False  # the pointer left the click position
        roll.previewPitch.emit(press.pitch, roll.active_track)

    @property
    def preview(self) -> tuple[Note, ...]:
        return (self.note,)

    def update(self, ev: RollEvent) -> bool:
        if not self.dragged and (ev.pos - self.press.pos).manhattanLength() < CLICK_SLOP:
            return True  # a click: the remembered length stays
        self.dragged = True
        roll = self.roll
        end = edits.draw_end(ev.tick, roll.doc.base, roll.grid, roll.snap_len, ev.free)
        min_len = edits.FREE_MIN_LEN if ev.free else roll.snap_len
        self.note = self.note.moved(duration=edits.drawn_length(self.note.start, end, min_len))
        return True

    def finish(self) -> None:
        roll = self.roll
        ids = cmd.insert_notes(roll.doc, [self.note], "Draw note")
        roll.last_length = self.note.duration
        roll.set_selection(ids)


class RubberBandGesture(Gesture):
    """Drag on empty space: the active voice's notes in the rectangle are selected
    (added to the selection with Ctrl or Shift)."""

    def __init__(self, roll: PianoRoll, press: RollEvent):
        super().__init__(roll, press)
        self.base = set(roll.selection) if press.modifiers & (
            Qt.ControlModifier | Qt.ShiftModifier) else set()
        self.rect = QRectF(press.pos, press.pos)
        if not self.base:
            roll.set_selection(set())

    def update(self, ev: RollEvent) -> bool:
        roll = self.roll
        self.rect = QRectF(self.press.pos, ev.pos).normalized()
        t0, t1 = roll.tick_at(self.rect.left()), roll.tick_at(self.rect.right())
        p_hi, p_lo = roll.pitch_at(self.rect.top()), roll.pitch_at(self.rect.bottom())
        hit = {i for i, n in roll.doc.index.overlapping(t0, t1)
               if n.track == roll.active_track and p_lo <= n.pitch <= p_hi
               and n.end > t0 and n.start < t1}
        roll.set_selection(self.base | hit)
        return True

    def paint_overlay(self, p: QPainter) -> None:
        p.setPen(QPen(RUBBER_PEN, 1))
        p.setBrush(RUBBER_FILL)
        p.drawRect(self.rect)


class EraseGesture(Gesture):
    """Press and drag over notes: they go (one undo step on release)."""

    def __init__(self, roll: PianoRoll, press: RollEvent):
        super().__init__(roll, press)
        self.hidden = {press.note_id} if press.note_id is not None else set()

    def update(self, ev: RollEvent) -> bool:
        if ev.note_id is not None:
            self.hidden.add(ev.note_id)
        return True

    def finish(self) -> None:
        if self.hidden:
            cmd.delete_notes(self.roll.doc, self.hidden, "Erase notes")


class VelocityGesture:
    """Drag across the velocity lane: the stems passed take the pointer's velocity
    (only the selected notes when some are; the active voice's only). Shown at once,
    pushed as one undo step on release."""

    def __init__(self, roll: PianoRoll, lane, x: float, y: float):
        self.roll = roll
        self.lane = lane  # for its height
        self.pending: dict[int, Note] = {}
        self.last_x = x
        self._apply(x, x, y)

    def shown(self, note_id: int, note: Note) -> Note:
        return self.pending.get(note_id, note)

    def update(self, x: float, y: float) -> None:
        self._apply(self.last_x, x, y)
        self.last_x = x

    def _apply(self, x0: float, x1: float, y: float) -> None:
        roll = self.roll
        lo, hi = sorted((x0, x1))
        t0, t1 = roll.tick_at(lo - 3), roll.tick_at(hi + 3)
        vel = edits.velocity_at(y, self.lane.height())
        only_sel = bool(roll.selection)
        for i, n in roll.doc.index.overlapping(t0, t1):
            if t0 <= n.start <= t1 and n.track == roll.active_track and (
                    not only_sel or i in roll.selection):
                self.pending[i] = n.moved(velocity=vel)

    def finish(self) -> None:
        if self.pending:
            cmd.change_notes(self.roll.doc, self.pending, "Velocity")


# -- tools -------------------------------------------------------------------------------


class Tool:
    name = ""
    cursor = Qt.ArrowCursor

    def __init__(self, roll: PianoRoll):
        self.roll = roll

    def press(self, ev: RollEvent) -> None: ...

    def hover(self, ev: RollEvent) -> Qt.CursorShape:
        if ev.note_id is not None:
            return Qt.SizeHorCursor if ev.on_right_edge else Qt.OpenHandCursor
        return self.cursor

    def grab_note(self, ev: RollEvent) -> None:
        """A press on a note: select it (Ctrl toggles, Shift adds), then move it, or
        resize it when pressed on its right edge."""
        roll = self.roll
        note = roll.doc.notes[ev.note_id]
        switched = note.track != roll.active_track
        if switched:
            # As in a DAW's multi-part editor, a click on another voice's (faded) note makes
            # that voice the one edited; said in the status bar, so it is never silent.
            roll.set_active_track(note.track)
        toggle = bool(ev.modifiers & Qt.ControlModifier)
        if toggle:
            roll.set_selection(roll.selection ^ {ev.note_id})
        elif ev.note_id not in roll.selection:
            roll.set_selection({ev.note_id} | (roll.selection if ev.modifiers & Qt.ShiftModifier
                                               else set()))
        if switched:  # after the selection's own message, so this one stays
            roll.message.emit(f"Now editing {roll.track_name(note.track)} (you clicked one of "
                              "its notes; pick a voice in Voices to switch back)")
        if toggle:
            return
        roll.begin_gesture(ResizeGesture if ev.on_right_edge else MoveGesture, ev)
        if not ev.on_right_edge:
            roll.previewPitch.emit(note.pitch, note.track)


class SelectTool(Tool):
    name = "select"

    def press(self, ev: RollEvent) -> None:
        if ev.note_id is None:
            self.roll.begin_gesture(RubberBandGesture, ev)
            return
        self.grab_note(ev)


class DrawTool(Tool):
    name = "draw"
    cursor = Qt.CrossCursor

    def press(self, ev: RollEvent) -> None:
        roll = self.roll
        if ev.button == Qt.RightButton:
            if ev.note_id is not None:
                cmd.delete_notes(roll.doc, [ev.note_id], "Erase note")
            return
        if ev.note_id is not None:
            self.grab_note(ev)
            return
        roll.begin_gesture(DrawGesture, ev)


class EraseTool(Tool):
    name = "erase"
    cursor = Qt.ForbiddenCursor

    def press(self, ev: RollEvent) -> None:
        self.roll.begin_gesture(EraseGesture, ev)

    def hover(self, ev: RollEvent) -> Qt.CursorShape:
        return Qt.PointingHandCursor if ev.note_id is not None else self.cursor


TOOLS = (SelectTool, DrawTool, EraseTool)
