"""The piano roll: keyboard, ruler, note canvas and velocity lane around one scroll area.

Over 500 lines on purpose: :class:`PianoRoll` is the one scroll area whose view (zoom,
scroll, the tick/pitch transform) and shared state (selection, playhead, loop, ghost
notes, the lane shown) every gesture, painter, lane, ruler and keyboard reads; what can
live apart does, in the modules below.

This module is the widget: geometry and scrolling, the selection and the state others
set (playhead, loop, ghost notes), event dispatch, and the editing commands (one undo
step each, from :mod:`.roll_commands`). Tools and gestures get domain events (tick, pitch, snapped tick, the note
under the pointer), not raw mouse coordinates:

- :mod:`.roll_gestures`: the tools and one object per gesture (draw, move, resize,
  rubber band, erase, velocity), each owning its state;
- :mod:`.roll_commands`: the editing commands and their keys (a base class of the roll);
- :mod:`.roll_edits`: the edit arithmetic (snapping, drag offsets, quantize, transpose,
  paste, ...), pure functions of notes and numbers;
- :mod:`.roll_paint`: painting the canvas (and the voice colours); ``roll_marks.py``
  the fermata sign;
- :mod:`.roll_keyboard`, :mod:`.roll_ruler`, :mod:`.roll_velocity`: the side widgets;
  :mod:`.roll_lanes` the sustain-pedal and pitch-bend lanes (one lane shows at a time
  under the notes, chosen with the selector beside it: ``set_lane``), their gestures in
  :mod:`.lane_gestures` and their arithmetic in :mod:`.lane_edits`.

Hooks for generation: ``set_ghost_notes`` draws candidate notes as dashed outlines over
the roll, and the notes they would replace faded and struck through.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QAbstractScrollArea

from composer_app.music import Note, scale_pitch_classes

from . import commands as cmd
from . import roll_edits as edits
from . import roll_paint
from .document import Document
from .roll_chords import CHORD_H, ChordLane
from .roll_commands import EDIT_ACTIONS, RollCommands  # noqa: F401
from .roll_edits import SNAP_TICKS, SNAPS, resized  # noqa: F401  (the roll's names)
from .roll_gestures import TOOLS, DrawGesture, Gesture, RollEvent, Tool
from .roll_keyboard import Keyboard
from .roll_lanes import LANES, BendLane, LaneSelector, PedalLane
from .roll_paint import (  # noqa: F401  (the roll's names)
    BLACK_KEYS,
    REPLACED_STRIKE,
    VOICE_COLORS,
    track_color,
)
from .roll_ruler import Ruler
from .roll_velocity import VelocityLane

KEYBOARD_W = 60
RULER_H = 40  # the marks' lane (tempo, meter, key changes), then bar numbers
MARKER_LANE_H = 14  # the markers' lane under the marks, there while the piece has markers
VELOCITY_H = 70
DEFAULT_PX_PER_TICK = 48 / 480  # a quarter note is 48 px
DEFAULT_KEY_H = 14

class PianoRoll(RollCommands, QAbstractScrollArea):
    """Note editor over a :class:`Document`."""

    selectionChanged = Signal()
    previewPitch = Signal(int, int)  # pitch, track
    playheadMoved = Signal(int)  # the user moved it (ruler click)
    loopChanged = Signal(int, int)  # (0, 0) clears
    activeTrackChanged = Signal(int)
    laneChanged = Signal(str)  # the lane under the notes: "velocity", "pedal" or "bend"
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
        self.ruler_h = RULER_H  # + MARKER_LANE_H while the piece has markers
        self.selection: set[int] = set()
        self.playhead = 0
        self.loop: tuple[int, int] | None = None
        self.loop_on = False  # the Loop action's state (set by the transport)
        self.ghost_notes: list[Note] = []
        self.recording_notes: list[Note] = []  # the take being recorded (not in the piece yet)
        self.replaced_ids: set[int] = set()
        self.findings: list[tuple[int, int, list[int]]] = []  # the checker's (start, end, ids)
        self.current_finding = -1
        self.follow_playhead = True
        self._clipboard: list[Note] = []
        self.gesture: Gesture | None = None  # the drag on the canvas under way
        self.scale: frozenset[int] = frozenset()  # pitch classes of the key (lighter rows)
        self.scales: list[tuple[int, frozenset[int]]] = [(0, self.scale)]
        self.tools = {t.name: t(self) for t in TOOLS}
        self.tool: Tool = self.tools["draw"]

        self.setFocusPolicy(Qt.StrongFocus)
        self.viewport().setMouseTracking(True)
        self.viewport().setAttribute(Qt.WA_OpaquePaintEvent)
        self.keyboard = Keyboard(self)
        self.ruler = Ruler(self)
        self.velocity_lane = VelocityLane(self)
        self.pedal_lane = PedalLane(self)
        self.bend_lane = BendLane(self)
        self.lanes = {"velocity": self.velocity_lane, "pedal": self.pedal_lane,
                      "bend": self.bend_lane}
        self.lane = "velocity"
        self.lanes_on = True
        self.lane_selector = LaneSelector(self)
        self.lane_selector.chosen.connect(self.set_lane)
        self.lane_selector.show_lane(self.lane)
        for name, widget in self.lanes.items():
            widget.setVisible(name == self.lane)
        self.chord_lane = ChordLane(self)
        self._set_margins()
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.horizontalScrollBar().setSingleStep(24)
        self.verticalScrollBar().setSingleStep(self.key_h)
        doc.notesChanged.connect(self._notes_changed)
        doc.metaChanged.connect(self._meta_changed)
        doc.eventsChanged.connect(self._events_changed)
        doc.loaded.connect(self.clear_lane_selection)
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

    def show_pitches(self, pitches, keep=()) -> None:
        """Scroll so the pitch range is in view (centred on it when it does not fit; then
        the rows of ``keep``, e.g. the voice being edited, stay in view as far as they
        fit, the highest first)."""
        pitches = list(pitches)
        if not pitches:
            return
        lo, hi = min(pitches), max(pitches)
        height = self.viewport().height()
        if self.y_of(hi) >= 0 and self.y_of(lo) + self.key_h <= height:
            return  # already visible
        # the middle of the rows from hi's top to lo's bottom, in the middle of the view
        top, bottom = (127 - hi) * self.key_h, (128 - lo) * self.key_h
        value = (top + bottom - height) / 2
        keep = list(keep)
        if keep:
            k_top, k_bottom = (127 - max(keep)) * self.key_h, (128 - min(keep)) * self.key_h
            value = max(value, k_bottom - height)  # keep's lowest row not below the view
            value = min(value, k_top)  # nor its highest above it (this one wins)
        self.verticalScrollBar().setValue(int(value))

    def center_on_notes(self) -> None:
        if not self.doc.notes:
            self.center_on_pitch(67)
            return
        pitches = [n.pitch for n in self.doc.notes.values()]
        self.center_on_pitch((min(pitches) + max(pitches)) // 2)
        # more rows than the view shows: the voice being edited (a soprano) stays in sight
        self.show_pitches(pitches, keep=[n.pitch for n in self.doc.notes.values()
                                         if n.track == self.active_track])
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

    @property
    def grid(self) -> int:
        """The grid drags snap to: the snap value, 0 when snapping is off."""
        return self.snap if self.snap_enabled else 0

    def snap_round(self, tick: float) -> int:
        """Nearest grid line (the grid restarts at every bar line)."""
        return edits.snap_round(self.doc.base, tick, self.grid)

    def snap_floor(self, tick: float) -> int:
        return edits.snap_floor(self.doc.base, tick, self.grid)

    @property
    def snap_len(self) -> int:
        return edits.snap_length(self.snap)

    @property
    def draw_length(self) -> int:
        """What a click with the draw tool draws: the last length drawn or resized."""
        return self.last_length or self.snap_len

    # -- selection ----------------------------------------------------------------------

    def set_selection(self, ids) -> None:
        ids = {i for i in ids if i in self.doc.notes}
        if ids != self.selection:
            if ids:  # the notes were chosen last: Delete acts on them, not on a lane
                self.clear_lane_selection()
            self.selection = ids
            self.selectionChanged.emit()
        self._repaint_all()

    def selected_notes(self) -> dict[int, Note]:
        return {i: self.doc.notes[i] for i in self.selection if i in self.doc.notes}

    def set_active_track(self, track: int) -> None:
        if track != self.active_track:
            self.clear_lane_selection()
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
            self.ruler.update(QRect(x - 6, 0, 13, self.ruler_h))

    def set_loop(self, a: int, b: int) -> None:
        self.loop = (a, b) if b > a else None
        self._repaint_all()

    def set_loop_on(self, on: bool) -> None:
        """Whether the loop set is played (the Loop action): drawn blue, else grey."""
        if on != self.loop_on:
            self.loop_on = on
            self._repaint_all()

    def set_ghost_notes(self, notes, replaced=()) -> None:
        """Candidate notes drawn as dashed outlines (variations); the notes with ids in
        ``replaced`` (those accepting would remove) are drawn faded and struck through."""
        self.ghost_notes = list(notes or [])
        self.replaced_ids = set(replaced or ()) if self.ghost_notes or replaced else set()
        self._repaint_all()

    def set_recording_notes(self, notes) -> None:
        """The take being played in, drawn outlined in red until it lands in the piece."""
        notes = list(notes or [])
        if notes != self.recording_notes:
            self.recording_notes = notes
            self.viewport().update()

    def set_findings(self, findings, current: int = -1) -> None:
        """The harmony checker's findings to mark: (start, end, note ids) each."""
        self.findings = list(findings)
        self.current_finding = current
        self.viewport().update()

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
        self.scale = scale_pitch_classes(key, minor_variants=False) if key else frozenset()
        # (from tick, scale) per key in force: the rows follow key changes
        self.scales = [(0, self.scale)] + [
            (k.tick, scale_pitch_classes(k.key, minor_variants=False))
            for k in self.doc.base.key_signatures if k.tick > 0]
        if self.active_track >= len(self.doc.base.tracks):
            self.set_active_track(0)
        ruler_h = RULER_H + (MARKER_LANE_H if self.doc.base.markers else 0)
        if ruler_h != self.ruler_h:  # the markers' lane comes and goes with the markers
            self.ruler_h = ruler_h
            self._lanes_changed()
        self._update_scrollbars()
        self._repaint_all()

    def _events_changed(self) -> None:
        self.lanes[self.lane].update()

    def _scrolled(self) -> None:
        self.keyboard.update()
        self.ruler.update()
        self.lanes[self.lane].update()
        self.chord_lane.update()

    def _repaint_all(self) -> None:
        self.viewport().update()
        self.keyboard.update()
        self.ruler.update()
        self.lanes[self.lane].update()
        self.chord_lane.update()

    def _lane_heights(self) -> tuple[int, int]:
        return (CHORD_H if not self.chord_lane.isHidden() else 0,
                VELOCITY_H if self.lanes_on else 0)

    # -- the lane under the notes (velocity, sustain pedal, pitch bend) --------------

    def set_lane(self, name: str) -> None:
        """Show lane ``name`` ("velocity", "pedal", "bend"; anything else: velocity) under
        the notes, showing the lanes if they were hidden."""
        if name not in self.lanes:
            name = LANES[0][0]
        changed = name != self.lane or not self.lanes_on
        if name != self.lane:
            self.clear_lane_selection()
            self.lane = name
        self.lane_selector.show_lane(name)
        if not self.lanes_on:
            self.set_velocity_lane_visible(True)
        else:
            for n, widget in self.lanes.items():
                widget.setVisible(n == name)
            self._place_side_widgets()
        if changed:
            self.laneChanged.emit(name)

    def lane_pressed(self, lane) -> None:
        """A press in a lane: the other lanes' selections go (Delete acts on this one)."""
        for widget in self.lanes.values():
            if widget is not lane and hasattr(widget, "clear_selection"):
                widget.clear_selection()

    def clear_lane_selection(self) -> None:
        for widget in (getattr(self, "pedal_lane", None), getattr(self, "bend_lane", None)):
            if widget is not None:
                widget.clear_selection()

    def lane_selection(self):
        """The lane whose selection Delete removes now, or None."""
        lane = self.lanes[self.lane]
        return lane if self.lanes_on and getattr(lane, "has_selection", lambda: False)() \
            else None

    def _set_margins(self) -> None:
        self.setViewportMargins(KEYBOARD_W, self.ruler_h, 0, sum(self._lane_heights()))

    def set_velocity_lane_visible(self, on: bool) -> None:
        """Show or hide the lane under the notes (velocity, pedal or bend, with its
        selector); hidden, the notes get its height."""
        self.lanes_on = bool(on)
        for n, widget in self.lanes.items():
            widget.setVisible(self.lanes_on and n == self.lane)
        self.lane_selector.setVisible(self.lanes_on)
        if not self.lanes_on:
            self.clear_lane_selection()
        self._lanes_changed()

    def set_chord_lane_visible(self, on: bool) -> None:
        """Show or hide the chord labels lane (between the notes and the velocities)."""
        self.chord_lane.setVisible(on)
        self._lanes_changed()

    def _lanes_changed(self) -> None:
        self._set_margins()
        self._place_side_widgets()
        self._update_scrollbars()
        self._repaint_all()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._place_side_widgets()

    def _place_side_widgets(self) -> None:
        vp = self.viewport().geometry()
        self.keyboard.setGeometry(vp.left() - KEYBOARD_W, vp.top(), KEYBOARD_W, vp.height())
        self.ruler.setGeometry(vp.left(), vp.top() - self.ruler_h, vp.width(), self.ruler_h)
        chord_h, vel_h = self._lane_heights()
        self.chord_lane.setGeometry(vp.left(), vp.bottom() + 1, vp.width(), CHORD_H)
        for widget in self.lanes.values():
            widget.setGeometry(vp.left(), vp.bottom() + 1 + chord_h, vp.width(), VELOCITY_H)
        self.lane_selector.setGeometry(vp.left() - KEYBOARD_W, vp.bottom() + 1 + chord_h,
                                       KEYBOARD_W, VELOCITY_H)
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
            self.clear_lane_selection()
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
            if self.gesture is not None:
                self.follow_gesture(ev)
            else:
                self.viewport().setCursor(self.tool.hover(ev))
            return True
        if t == e.Type.MouseButtonRelease:
            if self.gesture is not None:
                self.finish_gesture(self._event(e))
            return True
        if t == e.Type.MouseButtonDblClick:
            ev = self._event(e)
            if self.tool.name == "select" and ev.note_id is None:
                self.begin_gesture(DrawGesture, ev)
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

    # -- gestures (one undo step each, pushed on release) ------------------------------

    def track_name(self, track: int) -> str:
        tracks = self.doc.base.tracks
        return (tracks[track].name if track < len(tracks) else "") or f"Voice {track + 1}"

    def begin_gesture(self, kind: type[Gesture], ev: RollEvent) -> None:
        self.gesture = kind(self, ev)
        self.viewport().update()

    def follow_gesture(self, ev: RollEvent) -> None:
        if self.gesture is None:
            return
        if not self.gesture.update(ev):
            self.cancel_drag()
            return
        self.viewport().update()
        self.velocity_lane.update()

    def finish_gesture(self, ev: RollEvent) -> None:
        self.follow_gesture(ev)
        g, self.gesture = self.gesture, None
        if g is None:
            return
        g.finish()
        self._repaint_all()

    def cancel_drag(self) -> None:
        self.gesture = None
        self._repaint_all()

    def keyPressEvent(self, e) -> None:  # noqa: N802
        if e.key() == Qt.Key_Escape:
            if self.gesture is not None:
                self.cancel_drag()
            else:
                self.clear_lane_selection()
                self.set_selection(set())
            return
        super().keyPressEvent(e)

    # -- painting (roll_paint.py) ------------------------------------------------------

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self.viewport())
        roll_paint.paint_canvas(p, event.rect(), self)
        p.end()
