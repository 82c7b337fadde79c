"""The piano roll: keyboard, ruler, note canvas and velocity lane around one scroll area.

Drawn straight from the :class:`Document` (no item per note): every paint walks only
the notes that overlap the exposed rectangle, found in the document's time-sorted
index, and fills them in a few batched ``drawRects`` calls. Tools get domain events
(tick, pitch, snapped tick, the note under the pointer), not raw mouse coordinates.

Hooks for generation (part 2): ``set_ghost_notes`` draws candidate notes as dashed
outlines over the roll, and the notes they would replace faded and struck through; notes with ``locked=True`` are drawn hatched with a dark edge.
Notes with ``fermata=True`` get a fermata sign above them (``roll_marks.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QFont,
    QKeySequence,
    QPainter,
    QPen,
)
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

from composer_app.music import Note, scale_pitch_classes

from . import commands as cmd
from . import roll_marks
from .document import Document

KEYBOARD_W = 60
RULER_H = 26
VELOCITY_H = 70
DEFAULT_PX_PER_TICK = 48 / 480  # a quarter note is 48 px
DEFAULT_KEY_H = 14

VOICE_COLORS = ["#e0614a", "#3f8fd8", "#4cae5b", "#c28a2c", "#9a62c9", "#2fb3b0",
                "#d2559a", "#7f8c3a"]

# name -> ticks (PPQ 480); "T" is a triplet.
SNAPS = [("1/1", 1920), ("1/2", 960), ("1/4", 480), ("1/8", 240), ("1/16", 120),
         ("1/32", 60), ("1/4T", 320), ("1/8T", 160), ("1/16T", 80)]
SNAP_TICKS = dict(SNAPS)
BLACK_KEYS = {1, 3, 6, 8, 10}
REPLACED_STRIKE = QColor(170, 20, 20)  # the line through a note a variation replaces


def track_color(track: int) -> QColor:
    return QColor(VOICE_COLORS[track % len(VOICE_COLORS)])


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


@dataclass
class Drag:
    kind: str  # "move", "resize", "draw", "rubber", "erase"
    press: RollEvent
    ids: set[int] = field(default_factory=set)
    dt: int = 0
    dp: int = 0
    dlen: int = 0
    new_note: Note | None = None
    rect: QRectF | None = None
    base_selection: set[int] = field(default_factory=set)
    min_len: int = 10  # resize: no note is made shorter than this
    dragged: bool = False  # draw: the pointer left the click position


def resized(note: Note, dlen: int, min_len: int) -> Note:
    """``note`` lengthened by ``dlen`` ticks (shortened when negative), never below
    ``min_len``, and never lengthened by a shortening (a note already shorter stays)."""
    if dlen >= 0:
        return note.moved(duration=note.duration + dlen)
    return note.moved(duration=max(min(min_len, note.duration), note.duration + dlen))


# -- tools -------------------------------------------------------------------------------


class Tool:
    name = ""
    cursor = Qt.ArrowCursor

    def __init__(self, roll: PianoRoll):
        self.roll = roll

    def press(self, ev: RollEvent) -> None: ...
    def move(self, ev: RollEvent) -> None:
        self.roll._update_drag(ev)

    def release(self, ev: RollEvent) -> None:
        self.roll._finish_drag(ev)

    def hover(self, ev: RollEvent) -> Qt.CursorShape:
        if ev.note_id is not None:
            return Qt.SizeHorCursor if ev.on_right_edge else Qt.OpenHandCursor
        return self.cursor


class SelectTool(Tool):
    name = "select"

    def press(self, ev: RollEvent) -> None:
        roll = self.roll
        if ev.note_id is None:
            roll._begin_drag("rubber", ev)
            return
        roll._grab_note(ev)


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
            roll._grab_note(ev)
            return
        roll._begin_drag("draw", ev)


class EraseTool(Tool):
    name = "erase"
    cursor = Qt.ForbiddenCursor

    def press(self, ev: RollEvent) -> None:
        self.roll._begin_drag("erase", ev)

    def hover(self, ev: RollEvent) -> Qt.CursorShape:
        return Qt.PointingHandCursor if ev.note_id is not None else self.cursor


# -- the widget ------------------------------------------------------------------------


class PianoRoll(QAbstractScrollArea):
    """Note editor over a :class:`Document`."""

    selectionChanged = Signal()
    previewPitch = Signal(int, int)  # pitch, track
    playheadMoved = Signal(int)  # the user moved it (ruler click)
    loopChanged = Signal(int, int)  # (0, 0) clears
    activeTrackChanged = Signal(int)
    message = Signal(str)

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.px_per_tick = DEFAULT_PX_PER_TICK
        self.key_h = DEFAULT_KEY_H
        self.snap = 120
        self.snap_enabled = True
        self.default_velocity = 90
        # A click with the draw tool repeats the length last drawn or resized (as in Helio,
        # LMMS and DAWs); None: the snap length (also after the snap changes).
        self.last_length: int | None = None
        self.active_track = 0
        self.selection: set[int] = set()
        self.playhead = 0
        self.loop: tuple[int, int] | None = None
        self.ghost_notes: list[Note] = []
        self.replaced_ids: set[int] = set()
        self.follow_playhead = True
        self._clipboard: list[Note] = []
        self._drag: Drag | None = None
        self._scale: frozenset[int] = frozenset()
        self.tools = {t.name: t(self) for t in (SelectTool, DrawTool, EraseTool)}
        self.tool: Tool = self.tools["draw"]

        self.setFocusPolicy(Qt.StrongFocus)
        self.viewport().setMouseTracking(True)
        self.viewport().setAttribute(Qt.WA_OpaquePaintEvent)
        self.setViewportMargins(KEYBOARD_W, RULER_H, 0, VELOCITY_H)
        self.keyboard = _Keyboard(self)
        self.ruler = _Ruler(self)
        self.velocity_lane = _VelocityLane(self)
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.horizontalScrollBar().setSingleStep(24)
        self.verticalScrollBar().setSingleStep(self.key_h)
        doc.notesChanged.connect(self._notes_changed)
        doc.metaChanged.connect(self._meta_changed)
        self._make_actions()
        self._meta_changed()
        self._update_scrollbars()
        self.center_on_pitch(67)

    # -- geometry ------------------------------------------------------------------

    def x_of(self, tick: float) -> float:
        return tick * self.px_per_tick - self.horizontalScrollBar().value()

    def tick_at(self, x: float) -> float:
        return (x + self.horizontalScrollBar().value()) / self.px_per_tick

    def y_of(self, pitch: int) -> float:
        return (127 - pitch) * self.key_h - self.verticalScrollBar().value()

    def pitch_at(self, y: float) -> int:
        return max(0, min(127, 127 - int((y + self.verticalScrollBar().value()) // self.key_h)))

    def note_rect(self, n: Note) -> QRectF:
        return QRectF(self.x_of(n.start), self.y_of(n.pitch),
                      max(2.0, n.duration * self.px_per_tick), self.key_h)

    def visible_ticks(self) -> tuple[float, float]:
        return self.tick_at(0), self.tick_at(self.viewport().width())

    def content_ticks(self) -> int:
        bar = self.doc.base.time_signature_at(0).bar_ticks
        return max(self.doc.index.starts[-1] + self.doc.index.max_duration
                   if self.doc.notes else 0, self.playhead) + 16 * bar

    def _update_scrollbars(self) -> None:
        vw, vh = self.viewport().width(), self.viewport().height()
        h = self.horizontalScrollBar()
        h.setRange(0, max(0, int(self.content_ticks() * self.px_per_tick) - vw))
        h.setPageStep(max(1, vw))
        v = self.verticalScrollBar()
        v.setRange(0, max(0, 128 * self.key_h - vh))
        v.setPageStep(max(1, vh))
        v.setSingleStep(self.key_h)

    def center_on_pitch(self, pitch: int) -> None:
        self.verticalScrollBar().setValue(
            int((127 - pitch) * self.key_h - self.viewport().height() / 2))

    def show_pitches(self, pitches) -> None:
        """Scroll so the pitch range is in view (centred on it when it does not fit)."""
        pitches = list(pitches)
        if not pitches:
            return
        lo, hi = min(pitches), max(pitches)
        height = self.viewport().height()
        if self.y_of(hi) >= 0 and self.y_of(lo) + self.key_h <= height:
            return  # already visible
        self.center_on_pitch((lo + hi) // 2)

    def center_on_notes(self) -> None:
        if not self.doc.notes:
            self.center_on_pitch(67)
            return
        pitches = [n.pitch for n in self.doc.notes.values()]
        self.center_on_pitch((min(pitches) + max(pitches)) // 2)
        self.horizontalScrollBar().setValue(0)

    def set_zoom(self, px_per_tick: float | None = None, key_h: int | None = None,
                 anchor_x: float | None = None) -> None:
        if px_per_tick is not None:
            anchor_x = self.viewport().width() / 2 if anchor_x is None else anchor_x
            tick = self.tick_at(anchor_x)
            self.px_per_tick = max(0.005, min(2.0, px_per_tick))
            self._update_scrollbars()
            self.horizontalScrollBar().setValue(int(tick * self.px_per_tick - anchor_x))
        if key_h is not None:
            mid = self.pitch_at(self.viewport().height() / 2)
            self.key_h = max(5, min(40, key_h))
            self._update_scrollbars()
            self.center_on_pitch(mid)
        self._repaint_all()

    def zoom(self, factor_x: float = 1.0, factor_y: float = 1.0) -> None:
        self.set_zoom(self.px_per_tick * factor_x if factor_x != 1 else None,
                      round(self.key_h * factor_y) if factor_y != 1 else None)

    # -- snapping ---------------------------------------------------------------------

    def snap_round(self, tick: float) -> int:
        """Nearest grid line (the grid restarts at every bar line)."""
        if not self.snap_enabled or self.snap <= 0:
            return int(round(tick))
        tick = max(0.0, tick)
        bar_start = self.doc.base.bar_start(self.doc.base.bar_of(int(tick)))
        return bar_start + int(round((tick - bar_start) / self.snap)) * self.snap

    def snap_floor(self, tick: float) -> int:
        if not self.snap_enabled or self.snap <= 0:
            return int(tick)
        tick = max(0.0, tick)
        bar_start = self.doc.base.bar_start(self.doc.base.bar_of(int(tick)))
        return bar_start + int((tick - bar_start) // self.snap) * self.snap

    @property
    def snap_len(self) -> int:
        return self.snap if self.snap > 0 else 120

    @property
    def draw_length(self) -> int:
        """What a click with the draw tool draws: the last length drawn or resized."""
        return self.last_length or self.snap_len

    # -- selection ----------------------------------------------------------------------

    def set_selection(self, ids) -> None:
        ids = {i for i in ids if i in self.doc.notes}
        if ids != self.selection:
            self.selection = ids
            self.selectionChanged.emit()
        self._repaint_all()

    def selected_notes(self) -> dict[int, Note]:
        return {i: self.doc.notes[i] for i in self.selection if i in self.doc.notes}

    def set_active_track(self, track: int) -> None:
        if track != self.active_track:
            self.active_track = track
            self.activeTrackChanged.emit(track)
            self._repaint_all()

    def set_tool(self, name: str) -> None:
        self.tool = self.tools[name]
        self.viewport().setCursor(self.tool.cursor)

    # -- external state -------------------------------------------------------------

    def set_playhead(self, tick: int, follow: bool = False) -> None:
        old = self.playhead
        self.playhead = max(0, int(tick))
        if follow and self.follow_playhead:
            t0, t1 = self.visible_ticks()
            if not t0 <= self.playhead <= t0 + (t1 - t0) * 0.9:
                self.horizontalScrollBar().setValue(
                    int(self.playhead * self.px_per_tick - self.viewport().width() * 0.1))
        # Repaint only the two thin strips the playhead left and entered.
        for t in (old, self.playhead):
            x = int(self.x_of(t))
            self.viewport().update(QRect(x - 2, 0, 5, self.viewport().height()))
            self.ruler.update(QRect(x - 6, 0, 13, RULER_H))

    def set_loop(self, a: int, b: int) -> None:
        self.loop = (a, b) if b > a else None
        self._repaint_all()

    def set_ghost_notes(self, notes, replaced=()) -> None:
        """Candidate notes drawn as dashed outlines (variations); the notes with ids in
        ``replaced`` (those accepting would remove) are drawn faded and struck through."""
        self.ghost_notes = list(notes or [])
        self.replaced_ids = set(replaced or ()) if self.ghost_notes or replaced else set()
        self._repaint_all()

    def show_ticks(self, start: int, end: int) -> None:
        """Scroll so ``start``..``end`` is in view (from its start when it does not fit)."""
        t0, t1 = self.visible_ticks()
        if t0 <= start and end <= t1:
            return
        width = self.viewport().width()
        span_px = (end - start) * self.px_per_tick
        # Centred when it fits; else from its start, with a little of what leads into it.
        margin = (width - span_px) / 2 if span_px <= width * 0.8 else width * 0.1
        self.horizontalScrollBar().setValue(int(start * self.px_per_tick - margin))

    # -- model changes ----------------------------------------------------------------

    def _notes_changed(self) -> None:
        gone = {i for i in self.selection if i not in self.doc.notes}
        if gone:
            self.selection -= gone
            self.selectionChanged.emit()
        self._update_scrollbars()
        self._repaint_all()

    def _meta_changed(self) -> None:
        key = self.doc.base.key
        if key is None and self.doc.notes:
            key = self.doc.base.key_in_force(0, self.doc.notes.values())
        self._scale = scale_pitch_classes(key, minor_variants=False) if key else frozenset()
        if self.active_track >= len(self.doc.base.tracks):
            self.set_active_track(0)
        self._update_scrollbars()
        self._repaint_all()

    def _scrolled(self) -> None:
        self.keyboard.update()
        self.ruler.update()
        self.velocity_lane.update()

    def _repaint_all(self) -> None:
        self.viewport().update()
        self.keyboard.update()
        self.ruler.update()
        self.velocity_lane.update()

    def set_velocity_lane_visible(self, on: bool) -> None:
        """Show or hide the velocity lane (hidden, the notes get its height)."""
        self.velocity_lane.setVisible(on)
        self.setViewportMargins(KEYBOARD_W, RULER_H, 0, VELOCITY_H if on else 0)
        self._place_side_widgets()
        self._update_scrollbars()
        self._repaint_all()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._place_side_widgets()

    def _place_side_widgets(self) -> None:
        vp = self.viewport().geometry()
        self.keyboard.setGeometry(vp.left() - KEYBOARD_W, vp.top(), KEYBOARD_W, vp.height())
        self.ruler.setGeometry(vp.left(), vp.top() - RULER_H, vp.width(), RULER_H)
        self.velocity_lane.setGeometry(vp.left(), vp.bottom() + 1, vp.width(), VELOCITY_H)
        self._update_scrollbars()

    # -- hit testing and events -----------------------------------------------------

    def note_at(self, pos: QPointF) -> tuple[int | None, bool]:
        """(id of the note under ``pos``, whether ``pos`` is on its right edge).

        The active track's notes win over other voices'."""
        tick = self.tick_at(pos.x())
        pitch = self.pitch_at(pos.y())
        best: tuple[int, Note] | None = None
        for i, n in self.doc.index.overlapping(tick, tick):
            if n.pitch != pitch or not (n.start <= tick <= n.end):
                continue
            if best is None or (n.track == self.active_track) > (best[1].track == self.active_track):
                best = (i, n)
        if best is None:
            return None, False
        rect = self.note_rect(best[1])
        edge = min(6.0, rect.width() / 3)
        return best[0], pos.x() >= rect.right() - edge

    def _event(self, e, button=None) -> RollEvent:
        pos = e.position()
        tick = max(0.0, self.tick_at(pos.x()))
        bypass = bool(e.modifiers() & (Qt.AltModifier | Qt.ShiftModifier))
        snapped = int(round(tick)) if bypass else self.snap_round(tick)
        cell = int(tick) if bypass else self.snap_floor(tick)
        note_id, edge = self.note_at(pos)
        return RollEvent(tick, self.pitch_at(pos.y()), snapped, cell, note_id, edge,
                         e.modifiers(), button if button is not None else e.button(), pos)

    def viewportEvent(self, e) -> bool:  # noqa: N802
        t = e.type()
        if t == e.Type.MouseButtonPress:
            self.setFocus(Qt.MouseFocusReason)
            ev = self._event(e)
            if ev.button in (Qt.LeftButton, Qt.RightButton):
                if ev.button == Qt.RightButton and self.tool.name != "draw":
                    if ev.note_id is not None:
                        cmd.delete_notes(self.doc, [ev.note_id], "Erase note")
                    return True
                self.tool.press(ev)
            return True
        if t == e.Type.MouseMove:
            ev = self._event(e, Qt.NoButton)
            if self._drag is not None:
                self.tool.move(ev)
            else:
                self.viewport().setCursor(self.tool.hover(ev))
            return True
        if t == e.Type.MouseButtonRelease:
            if self._drag is not None:
                self.tool.release(self._event(e))
            return True
        if t == e.Type.MouseButtonDblClick:
            ev = self._event(e)
            if self.tool.name == "select" and ev.note_id is None:
                self._begin_drag("draw", ev)
            return True
        return super().viewportEvent(e)

    def wheelEvent(self, e) -> None:  # noqa: N802
        delta = e.angleDelta().y() or e.angleDelta().x()
        if not delta:
            return
        mods = e.modifiers()
        if mods & Qt.ControlModifier:
            factor = 1.15 ** (delta / 120)
            if mods & Qt.ShiftModifier:  # Ctrl+Shift+wheel: row height
                step = 1 if delta > 0 else -1
                self.set_zoom(key_h=self.key_h + step * max(1, round(abs(factor - 1) * self.key_h)))
            else:  # Ctrl+wheel: time, around the pointer
                self.set_zoom(self.px_per_tick * factor, anchor_x=e.position().x())
        elif mods & (Qt.ShiftModifier | Qt.AltModifier):
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - int(delta / 120 * 3 * bar.singleStep()))
        else:
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() - int(delta / 120 * 3 * bar.singleStep()))
        e.accept()

    # -- drags (one undo step each, pushed on release) --------------------------------

    def track_name(self, track: int) -> str:
        tracks = self.doc.base.tracks
        return (tracks[track].name if track < len(tracks) else "") or f"Voice {track + 1}"

    def _grab_note(self, ev: RollEvent) -> None:
        note = self.doc.notes[ev.note_id]
        switched = note.track != self.active_track
        if switched:
            # As in a DAW's multi-part editor, a click on another voice's (faded) note makes
            # that voice the one edited; said in the status bar, so it is never silent.
            self.set_active_track(note.track)
        toggle = bool(ev.modifiers & Qt.ControlModifier)
        if toggle:
            self.set_selection(self.selection ^ {ev.note_id})
        elif ev.note_id not in self.selection:
            self.set_selection({ev.note_id} | (self.selection if ev.modifiers & Qt.ShiftModifier
                                               else set()))
        if switched:  # after the selection's own message, so this one stays
            self.message.emit(f"Now editing {self.track_name(note.track)} (you clicked one of "
                              "its notes; pick a voice in Voices to switch back)")
        if toggle:
            return
        self._begin_drag("resize" if ev.on_right_edge else "move", ev)
        if not ev.on_right_edge:
            self.previewPitch.emit(note.pitch, note.track)

    def _begin_drag(self, kind: str, ev: RollEvent) -> None:
        d = Drag(kind, ev, ids=set(self.selection))
        if kind == "draw":
            start = ev.cell
            d.new_note = Note(ev.pitch, start, self.draw_length, self.default_velocity,
                              self.active_track)
            self.previewPitch.emit(ev.pitch, self.active_track)
        elif kind == "rubber":
            d.base_selection = set(self.selection) if ev.modifiers & (
                Qt.ControlModifier | Qt.ShiftModifier) else set()
            d.rect = QRectF(ev.pos, ev.pos)
            if not d.base_selection:
                self.set_selection(set())
        elif kind == "erase":
            d.ids = {ev.note_id} if ev.note_id is not None else set()
        self._drag = d
        self.viewport().update()

    def cancel_drag(self) -> None:
        self._drag = None
        self._repaint_all()

    def keyPressEvent(self, e) -> None:  # noqa: N802
        if e.key() == Qt.Key_Escape:
            if self._drag is not None:
                self.cancel_drag()
            else:
                self.set_selection(set())
            return
        super().keyPressEvent(e)

    def _update_drag(self, ev: RollEvent) -> None:
        d = self._drag
        if d is None:
            return
        if d.kind in ("move", "resize"):
            d.ids &= set(self.doc.notes)  # an undo during the drag may have removed some
            if d.press.note_id not in self.doc.notes or not d.ids:
                self.cancel_drag()
                return
        bypass = bool(ev.modifiers & (Qt.AltModifier | Qt.ShiftModifier))
        if d.kind == "move":
            anchor = self.doc.notes[d.press.note_id]
            raw = anchor.start + ev.tick - d.press.tick
            new_start = int(round(raw)) if bypass else self.snap_round(raw)
            notes = [self.doc.notes[i] for i in d.ids]
            d.dt = max(new_start - anchor.start, -min(n.start for n in notes))
            dp = ev.pitch - d.press.pitch
            lo, hi = min(n.pitch for n in notes), max(n.pitch for n in notes)
            d.dp = max(-lo, min(127 - hi, dp))
            if d.dp != getattr(d, "_last_dp", 0):
                self.previewPitch.emit(anchor.pitch + d.dp, anchor.track)
                d._last_dp = d.dp  # type: ignore[attr-defined]
        elif d.kind == "resize":
            anchor = self.doc.notes[d.press.note_id]
            raw = anchor.end + ev.tick - d.press.tick
            new_end = int(round(raw)) if bypass else self.snap_round(raw)
            d.min_len = 10 if bypass else self.snap_len
            notes = [self.doc.notes[i] for i in d.ids]
            # Each note shrinks down to the minimum on its own (see resized): one note
            # already that short no longer stops the others.
            d.dlen = max(new_end - anchor.end, d.min_len - max(n.duration for n in notes))
        elif d.kind == "draw":
            if not d.dragged and (ev.pos - d.press.pos).manhattanLength() < 4:
                pass  # a click: the remembered length stays
            else:
                d.dragged = True
                n = d.new_note
                end = (int(math.ceil(ev.tick)) if bypass
                       else self.snap_floor(ev.tick) + self.snap_len)
                d.new_note = n.moved(duration=max(self.snap_len if not bypass else 10,
                                                  end - n.start))
        elif d.kind == "rubber":
            d.rect = QRectF(d.press.pos, ev.pos).normalized()
            t0, t1 = self.tick_at(d.rect.left()), self.tick_at(d.rect.right())
            p_hi, p_lo = self.pitch_at(d.rect.top()), self.pitch_at(d.rect.bottom())
            hit = {i for i, n in self.doc.index.overlapping(t0, t1)
                   if n.track == self.active_track and p_lo <= n.pitch <= p_hi
                   and n.end > t0 and n.start < t1}
            self.set_selection(d.base_selection | hit)
        elif d.kind == "erase" and ev.note_id is not None:
            d.ids.add(ev.note_id)
        self.viewport().update()
        self.velocity_lane.update()

    def _finish_drag(self, ev: RollEvent) -> None:
        self._update_drag(ev)
        d, self._drag = self._drag, None
        if d is None:
            return
        doc = self.doc
        if d.kind == "move" and (d.dt or d.dp):
            changed = {i: doc.notes[i].moved(start=doc.notes[i].start + d.dt,
                                             pitch=doc.notes[i].pitch + d.dp) for i in d.ids}
            cmd.change_notes(doc, changed, "Move notes" if len(d.ids) > 1 else "Move note")
        elif d.kind == "resize" and d.dlen:
            changed = {i: resized(doc.notes[i], d.dlen, d.min_len) for i in d.ids}
            changed = {i: n for i, n in changed.items() if n != doc.notes[i]}
            if changed:
                cmd.change_notes(doc, changed,
                                 "Resize notes" if len(changed) > 1 else "Resize note")
            if d.press.note_id in doc.notes:
                self.last_length = doc.notes[d.press.note_id].duration
        elif d.kind == "draw":
            ids = cmd.insert_notes(doc, [d.new_note], "Draw note")
            self.last_length = d.new_note.duration
            self.set_selection(ids)
        elif d.kind == "erase" and d.ids:
            cmd.delete_notes(doc, d.ids, "Erase notes")
        self._repaint_all()

    # -- editing operations (each one undo step) ----------------------------------------

    def _make_actions(self) -> None:
        def act(name, text, shortcut, slot, *extra):
            a = QAction(text, self)
            keys = [QKeySequence(s) for s in ([shortcut] if isinstance(shortcut, (str, QKeySequence.StandardKey)) else shortcut)]
            a.setShortcuts(keys + [QKeySequence(s) for s in extra])
            a.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            a.triggered.connect(slot)
            self.addAction(a)
            self.edit_actions[name] = a
            return a

        self.edit_actions: dict[str, QAction] = {}
        act("select_all", "Select &All", "Ctrl+A", self.select_all)
        act("delete", "&Delete", ["Del", "Backspace"], self.delete_selection)
        act("copy", "&Copy", "Ctrl+C", self.copy)
        act("cut", "Cu&t", "Ctrl+X", self.cut)
        act("paste", "&Paste", "Ctrl+V", self.paste)
        act("duplicate", "D&uplicate", "Ctrl+D", self.duplicate)
        act("up", "Transpose Up a Semitone", "Up", lambda: self.transpose(1))
        act("down", "Transpose Down a Semitone", "Down", lambda: self.transpose(-1))
        act("octave_up", "Transpose Up an Octave", "Shift+Up", lambda: self.transpose(12))
        act("octave_down", "Transpose Down an Octave", "Shift+Down", lambda: self.transpose(-12))
        act("left", "Move Earlier", "Left", lambda: self.shift_time(-1))
        act("right", "Move Later", "Right", lambda: self.shift_time(1))
        act("quantize", "&Quantize", "Q", self.quantize)
        act("lock", "Lock/Unlock Notes", "Ctrl+L", self.toggle_lock)
        act("fermata", "&Fermata On/Off (Phrase End)", "F", self.toggle_fermata)
        act("vel_up", "Velocity +10", "Ctrl+Up", lambda: self.change_velocity(10))
        act("vel_down", "Velocity -10", "Ctrl+Down", lambda: self.change_velocity(-10))

    def select_all(self) -> None:
        self.set_selection(i for i, n in self.doc.notes.items() if n.track == self.active_track)

    def delete_selection(self) -> None:
        if self.selection:
            cmd.delete_notes(self.doc, self.selection)

    def copy(self) -> None:
        notes = sorted(self.selected_notes().values(), key=lambda n: n.start)
        if notes:
            self._clipboard = notes
            self.message.emit(f"Copied {len(notes)} note(s)")

    def cut(self) -> None:
        if self.selection:
            self.copy()
            cmd.delete_notes(self.doc, self.selection, "Cut")

    def paste(self) -> None:
        if not self._clipboard:
            self.message.emit("Nothing to paste")
            return
        first = min(n.start for n in self._clipboard)
        at = self.snap_round(self.playhead)
        # One voice pastes onto the active voice; several keep theirs where they exist
        # here (the clipboard may come from another piece, or from voices since undone).
        voices = {n.track for n in self._clipboard}
        existing = len(self.doc.base.tracks)

        def target(track: int) -> int:
            return self.active_track if len(voices) == 1 or track >= existing else track

        ids = cmd.insert_notes(self.doc, [n.moved(start=n.start - first + at, locked=False,
                                                  track=target(n.track))
                                          for n in self._clipboard], "Paste")
        self.set_selection(ids)

    def duplicate(self) -> None:
        notes = list(self.selected_notes().values())
        if not notes:
            return
        first, last = min(n.start for n in notes), max(n.end for n in notes)
        step = self.snap_len
        offset = -(-(last - first) // step) * step
        ids = cmd.insert_notes(self.doc, [n.moved(start=n.start + offset, locked=False)
                                          for n in notes], "Duplicate")
        self.set_selection(ids)

    def transpose(self, semitones: int) -> None:
        sel = self.selected_notes()
        if not sel:
            return
        if min(n.pitch for n in sel.values()) + semitones < 0 or \
                max(n.pitch for n in sel.values()) + semitones > 127:
            self.message.emit("Cannot transpose beyond the MIDI range")
            return
        cmd.change_notes(self.doc, {i: n.moved(pitch=n.pitch + semitones) for i, n in sel.items()},
                         "Transpose", cmd.MERGE_TRANSPOSE)
        anchor = max(sel.values(), key=lambda n: n.pitch)
        self.previewPitch.emit(anchor.pitch + semitones, anchor.track)

    def shift_time(self, steps: int) -> None:
        sel = self.selected_notes()
        if not sel:
            return
        dt = max(steps * self.snap_len, -min(n.start for n in sel.values()))
        if dt:
            cmd.change_notes(self.doc, {i: n.moved(start=n.start + dt) for i, n in sel.items()},
                             "Move notes", cmd.MERGE_SHIFT)

    def quantize(self) -> None:
        sel = self.selected_notes() or {i: n for i, n in self.doc.notes.items()
                                        if n.track == self.active_track}
        if not sel:
            return
        step = self.snap_len
        changed = {}
        for i, n in sel.items():
            start = self.snap_round(n.start)
            end = max(start + step, self.snap_round(n.end))
            changed[i] = n.moved(start=start, duration=end - start)
        cmd.change_notes(self.doc, changed, "Quantize")

    def toggle_lock(self) -> None:
        sel = self.selected_notes()
        if not sel:
            return
        lock = not all(n.locked for n in sel.values())
        cmd.change_notes(self.doc, {i: n.moved(locked=lock) for i, n in sel.items()},
                         "Lock notes" if lock else "Unlock notes")

    def toggle_fermata(self) -> None:
        """Mark the selected notes as phrase ends, or unmark them when all are marked.

        One undo step, like lock; the harmonizer makes its cadences at these notes."""
        sel = self.selected_notes()
        if not sel:
            self.message.emit("Fermata: select the note(s) that end a phrase first")
            return
        mark = not all(n.fermata for n in sel.values())
        cmd.change_notes(self.doc, {i: n.moved(fermata=mark) for i, n in sel.items()},
                         "Mark fermata" if mark else "Remove fermata")
        self.message.emit(f"Fermata {'marked on' if mark else 'removed from'} "
                          f"{len(sel)} note{'s' if len(sel) != 1 else ''}")

    def change_velocity(self, delta: int) -> None:
        sel = self.selected_notes()
        if sel:
            cmd.change_notes(self.doc, {i: n.moved(velocity=max(1, min(127, n.velocity + delta)))
                                        for i, n in sel.items()}, "Velocity", cmd.MERGE_VELOCITY)

    # -- painting ---------------------------------------------------------------------

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self.viewport())
        rect = event.rect()
        self._paint_rows(p, rect)
        self._paint_grid(p, rect)
        self._paint_notes(p, rect)
        d = self._drag
        if d is not None and d.kind == "rubber" and d.rect is not None:
            p.setPen(QPen(QColor(40, 110, 220), 1))
            p.setBrush(QColor(40, 110, 220, 40))
            p.drawRect(d.rect)
        x = self.x_of(self.playhead)
        if rect.left() - 2 <= x <= rect.right() + 2:
            p.setPen(QPen(QColor(220, 40, 40), 2))
            p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom() + 1))
        p.end()

    def _paint_rows(self, p: QPainter, rect: QRect) -> None:
        # Rows of the key's scale are lighter; black-key rows a shade darker than white.
        p.fillRect(rect, QColor("#ecece7"))
        top, bottom = self.pitch_at(rect.top()), self.pitch_at(rect.bottom())
        colors = {(False, False): QColor("#ecece7"), (False, True): QColor("#e0e0da"),
                  (True, False): QColor("#fbfbf4"), (True, True): QColor("#f0f0e6")}
        if not self._scale:  # no key: plain white/black rows
            colors[(False, False)] = colors[(True, False)]
            colors[(False, True)] = colors[(True, True)]
        x0, w = rect.left(), rect.width()
        scale = self._scale
        c_line, f_line = QColor("#b8b8b0"), QColor("#d4d4cc")
        for pitch in range(bottom, top + 1):
            y = self.y_of(pitch)
            pc = pitch % 12
            p.fillRect(QRectF(x0, y, w, self.key_h), colors[(pc in scale, pc in BLACK_KEYS)])
            if pc in (0, 5):  # the B|C and E|F boundaries
                p.fillRect(QRectF(x0, y + self.key_h - 1, w, 1), c_line if pc == 0 else f_line)

    def _grid_lines(self, t0: float, t1: float):
        """(tick, level) for visible grid lines: 0 bar, 1 beat, 2 snap subdivision."""
        score = self.doc.base
        bar = score.bar_of(max(0, int(t0)))
        sub = self.snap if self.snap > 0 and self.snap * self.px_per_tick >= 7 else 0
        while True:
            start = score.bar_start(bar)
            if start > t1:
                break
            sig = score.time_signature_at(start)
            end = start + sig.bar_ticks
            yield start, 0
            beat = sig.beat_ticks
            if beat * self.px_per_tick >= 5:
                for t in range(start + beat, end, beat):
                    if t0 <= t <= t1:
                        yield t, 1
            if sub:
                for t in range(start + sub, end, sub):
                    if t % beat and t0 <= t <= t1 and (t - start) % beat:
                        yield t, 2
            bar += 1

    def _paint_grid(self, p: QPainter, rect: QRect) -> None:
        t0, t1 = self.tick_at(rect.left() - 1), self.tick_at(rect.right() + 1)
        if self.loop:
            a, b = self.loop
            p.fillRect(QRectF(self.x_of(a), rect.top(), (b - a) * self.px_per_tick,
                              rect.height()), QColor(90, 160, 255, 28))
        colors = (QColor("#8c8c86"), QColor("#bdbdb6"), QColor("#dadad4"))
        lines: list[list[QRectF]] = [[], [], []]
        top, h = rect.top(), rect.height()
        for tick, level in self._grid_lines(t0, t1):
            lines[level].append(QRectF(int(self.x_of(tick)), top, 1, h))
        p.setPen(Qt.NoPen)
        for level in (2, 1, 0):
            if lines[level]:
                p.setBrush(colors[level])
                p.drawRects(lines[level])

    def _paint_notes(self, p: QPainter, rect: QRect) -> None:
        t0, t1 = self.tick_at(rect.left()), self.tick_at(rect.right() + 1)
        p_top, p_bottom = self.pitch_at(rect.top()), self.pitch_at(rect.bottom())
        d = self._drag
        moving = d.ids if d is not None and d.kind in ("move", "resize") else ()
        erasing = d.ids if d is not None and d.kind == "erase" else ()
        groups: dict[tuple[int, int], list[QRectF]] = {}
        locked: list[QRectF] = []
        replaced: list[QRectF] = []
        ppt, kh = self.px_per_tick, self.key_h
        xoff = self.horizontalScrollBar().value()
        yoff = self.verticalScrollBar().value()
        sel, active = self.selection, self.active_track
        for i, n in self.doc.index.overlapping(t0, t1):
            if moving and i in moving:
                continue
            if not (p_bottom <= n.pitch <= p_top) or i in erasing:
                continue
            r = QRectF(n.start * ppt - xoff, (127 - n.pitch) * kh - yoff,
                       max(2.0, n.duration * ppt), kh)
            state = 2 if i in sel else (1 if n.track == active else 0)
            groups.setdefault((n.track if state else -1 - n.track, state), []).append(r)
            if n.locked:
                locked.append(r)
            if i in self.replaced_ids:
                replaced.append(r)
        if moving:
            for i in moving:
                n = self.doc.notes.get(i)
                if n is None:
                    continue
                n = resized(n.moved(start=n.start + d.dt, pitch=n.pitch + d.dp), d.dlen,
                            d.min_len)
                groups.setdefault((n.track, 2), []).append(self.note_rect(n))
        if d is not None and d.kind == "draw" and d.new_note is not None:
            groups.setdefault((d.new_note.track, 2), []).append(self.note_rect(d.new_note))
        # Other voices first (faint), then the active voice, then the selection on top.
        for (key, state), rects in sorted(groups.items(), key=lambda kv: kv[0][1]):
            track = key if state else -1 - key
            base = track_color(track)
            if state == 0:
                fill = QColor(base)
                fill.setAlpha(90)
                p.setPen(QPen(base.darker(110), 1))
            elif state == 1:
                fill = base
                p.setPen(QPen(base.darker(160), 1))
            else:
                fill = base.darker(135)
                p.setPen(QPen(QColor("#10243c"), 2))
            p.setBrush(fill)
            p.drawRects([r.adjusted(0.5, 0.5, -0.5, -0.5) for r in rects])
        if locked:
            p.setPen(QPen(QColor("#202020"), 2))
            p.setBrush(QBrush(QColor(0, 0, 0, 110), Qt.BDiagPattern))
            p.drawRects(locked)
        if replaced:  # what accepting the variation shown would remove: faded ...
            p.setPen(Qt.NoPen)
            p.setBrush(QColor(255, 255, 255, 165))
            p.drawRects(replaced)
        if self.ghost_notes:
            for n in self.ghost_notes:
                if n.end < t0 or n.start > t1:
                    continue
                c = track_color(n.track)
                p.setPen(QPen(c.darker(250), 2, Qt.DashLine))
                c.setAlpha(200)
                p.setBrush(c)
                p.drawRect(self.note_rect(n).adjusted(0.5, 0.5, -0.5, -0.5))
        if replaced:  # ... and struck through, over any ghost lying on them
            p.setPen(QPen(REPLACED_STRIKE, 2))
            for r in replaced:
                mid = r.center().y()
                p.drawLine(QPointF(r.left(), mid), QPointF(r.right(), mid))
        drag = (d.dt, d.dp, d.dlen) if moving else (0, 0, 0)
        signs = roll_marks.fermata_notes(self, rect, moving, *drag, hidden=erasing)
        roll_marks.paint_fermatas(p, [self.note_rect(n) for n in signs], kh)


# -- side widgets --------------------------------------------------------------------


class _Keyboard(QWidget):
    def __init__(self, roll: PianoRoll):
        super().__init__(roll)
        self.roll = roll
        self.setCursor(Qt.PointingHandCursor)
        self._pressed: int | None = None

    def paintEvent(self, event) -> None:  # noqa: N802
        roll = self.roll
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        top, bottom = roll.pitch_at(0), roll.pitch_at(self.height())
        font = QFont(self.font())
        font.setPixelSize(max(7, min(11, roll.key_h - 3)))
        p.setFont(font)
        w = self.width()
        kh = roll.key_h
        line = QColor("#9a9a9a")
        for pitch in range(bottom, top + 1):
            y = roll.y_of(pitch)
            pc = pitch % 12
            if pc in BLACK_KEYS:
                # The white keys meet under the middle of a black key, as on a piano.
                p.fillRect(QRectF(0, y + kh / 2, w, 1), line)
                p.fillRect(QRectF(0, y, w * 0.62, kh),
                           QColor("#8fb8e8") if pitch == self._pressed else QColor("#2b2b2b"))
            else:
                if pitch == self._pressed:
                    p.fillRect(QRectF(0, y, w, kh), QColor("#8fb8e8"))
                if pc in (0, 5):  # B|C and E|F meet at the row edge
                    p.fillRect(QRectF(0, y + kh - 1, w, 1), line)
            if pc == 0 and kh >= 8:
                p.setPen(QColor("#505050"))
                p.drawText(QRectF(0, y, w - 4, kh), Qt.AlignRight | Qt.AlignVCenter,
                           f"C{pitch // 12 - 1}")
        p.setPen(QColor("#a0a0a0"))
        p.drawLine(w - 1, 0, w - 1, self.height())
        p.end()

    def mousePressEvent(self, e) -> None:  # noqa: N802
        self._pressed = self.roll.pitch_at(e.position().y())
        self.roll.previewPitch.emit(self._pressed, self.roll.active_track)
        self.update()

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        if self._pressed is None:
            return
        pitch = self.roll.pitch_at(e.position().y())
        if pitch != self._pressed:
            self._pressed = pitch
            self.roll.previewPitch.emit(pitch, self.roll.active_track)
            self.update()

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        self._pressed = None
        self.update()

    def wheelEvent(self, e) -> None:  # noqa: N802
        self.roll.wheelEvent(e)


class _Ruler(QWidget):
    """Bar numbers; click moves the playhead, drag sets the loop."""

    def __init__(self, roll: PianoRoll):
        super().__init__(roll)
        self.roll = roll
        self._press_tick: int | None = None
        self._dragging = False

    def paintEvent(self, event) -> None:  # noqa: N802
        roll = self.roll
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#e9e9e4"))
        h = self.height()
        if roll.loop:
            a, b = roll.loop
            p.fillRect(QRectF(roll.x_of(a), 0, (b - a) * roll.px_per_tick, h),
                       QColor(70, 140, 240, 110))
        t0, t1 = roll.tick_at(-1), roll.tick_at(self.width() + 1)
        font = QFont(self.font())
        font.setPixelSize(11)
        p.setFont(font)
        score = roll.doc.base
        min_gap = 34  # px between numbered bars
        bar_px = score.time_signature_at(0).bar_ticks * roll.px_per_tick
        every = max(1, math.ceil(min_gap / max(bar_px, 1e-6)))
        for tick, level in roll._grid_lines(t0, t1):
            x = int(roll.x_of(tick))
            if level == 0:
                bar = score.bar_of(tick)
                p.setPen(QColor("#555550"))
                p.drawLine(x, h // 3 if bar % every else 0, x, h)
                if bar % every == 0:
                    p.drawText(x + 3, 12, str(bar + 1))
            elif level == 1:
                p.setPen(QColor("#9a9a94"))
                p.drawLine(x, h - 7, x, h)
        x = roll.x_of(roll.playhead)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(220, 40, 40))
        p.drawPolygon([QPointF(x - 6, h - 9), QPointF(x + 6, h - 9), QPointF(x, h)])
        p.setPen(QColor("#a0a0a0"))
        p.drawLine(0, h - 1, self.width(), h - 1)
        p.end()

    def _tick(self, e) -> int:
        tick = self.roll.tick_at(e.position().x())
        if e.modifiers() & (Qt.AltModifier | Qt.ShiftModifier):
            return max(0, int(tick))
        return max(0, self.roll.snap_round(tick))

    def mousePressEvent(self, e) -> None:  # noqa: N802
        if e.button() == Qt.RightButton:
            self.roll.set_loop(0, 0)
            self.roll.loopChanged.emit(0, 0)
            return
        self._press_tick = self._tick(e)
        self._dragging = False

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        if self._press_tick is None:
            return
        tick = self._tick(e)
        if tick != self._press_tick:
            self._dragging = True
            a, b = sorted((self._press_tick, tick))
            self.roll.set_loop(a, b)

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        if self._press_tick is None:
            return
        if self._dragging and self.roll.loop:
            self.roll.loopChanged.emit(*self.roll.loop)
        else:
            self.roll.set_playhead(self._press_tick)
            self.roll.playheadMoved.emit(self._press_tick)
        self._press_tick = None
        self._dragging = False

    def wheelEvent(self, e) -> None:  # noqa: N802
        self.roll.wheelEvent(e)


class _VelocityLane(QWidget):
    """Velocity stems of the visible notes; drag across them to draw velocities."""

    def __init__(self, roll: PianoRoll):
        super().__init__(roll)
        self.roll = roll
        self._pending: dict[int, Note] = {}
        self._last_x: float | None = None
        self.setToolTip("Velocity: drag to set (selected notes only when some are selected)")

    def _velocity_at(self, y: float) -> int:
        return max(1, min(127, int(round((self.height() - 4 - y) / (self.height() - 8) * 127))))

    def paintEvent(self, event) -> None:  # noqa: N802
        roll = self.roll
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#ecece8"))
        p.setPen(QColor("#a0a0a0"))
        p.drawLine(0, 0, self.width(), 0)
        h = self.height() - 8
        t0, t1 = roll.tick_at(0), roll.tick_at(self.width())
        for i, n in roll.doc.index.overlapping(t0, t1):
            n = self._pending.get(i, n)
            if n.start < t0:
                continue
            x = roll.x_of(n.start)
            vh = n.velocity / 127 * h
            color = track_color(n.track)
            if n.track != roll.active_track:
                color.setAlpha(60)
            elif i in roll.selection:
                color = color.darker(140)
            p.fillRect(QRectF(x, 4 + h - vh, 3, vh), color)
            p.fillRect(QRectF(x - 1, 4 + h - vh, 5, 2), color)
        p.setPen(QColor("#808080"))
        p.drawText(4, 12, "velocity")
        p.end()

    def _apply(self, x0: float, x1: float, y: float) -> None:
        roll = self.roll
        lo, hi = sorted((x0, x1))
        t0, t1 = roll.tick_at(lo - 3), roll.tick_at(hi + 3)
        vel = self._velocity_at(y)
        only_sel = bool(roll.selection)
        for i, n in roll.doc.index.overlapping(t0, t1):
            if t0 <= n.start <= t1 and n.track == roll.active_track and (
                    not only_sel or i in roll.selection):
                self._pending[i] = n.moved(velocity=vel)
        self.update()

    def mousePressEvent(self, e) -> None:  # noqa: N802
        self._pending = {}
        self._last_x = e.position().x()
        self._apply(self._last_x, self._last_x, e.position().y())

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        if self._last_x is None:
            return
        x = e.position().x()
        self._apply(self._last_x, x, e.position().y())
        self._last_x = x

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        if self._pending:
            cmd.change_notes(self.roll.doc, self._pending, "Velocity")
        self._pending = {}
        self._last_x = None
        self.update()
