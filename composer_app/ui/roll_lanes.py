"""The sustain-pedal and pitch-bend lanes under the roll, and the selector beside them.

One lane shows at a time under the notes (the roll's ``lane``: velocity, pedal or
bend), for the voice being edited. Each lane paints the voice's events from the
document's channel events and turns the pointer into ticks and values for a gesture
(:mod:`.lane_gestures`), which pushes one undo step on release.

- Pedal: spans where controller 64 is 64 or more (down). Drag on empty lane draws a
  span (snapped; Alt/Shift bypasses the grid), a click selects one (Delete or a
  right-click removes it), dragging an edge moves it.
- Bend: a step curve around the centre line (-8192..8191). Drag draws a curve,
  Shift-drag selects a range (Delete or a right-click clears it back to the centre),
  a right-drag clears what it passes, a double-click puts the bend back to the centre
  from there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QToolButton, QVBoxLayout, QWidget

from . import commands as cmd
from . import lane_edits as le
from .lane_gestures import (
    BendDrawGesture,
    BendRangeGesture,
    LaneGesture,
    PedalDrawGesture,
    PedalEdgeGesture,
)
from .roll_paint import track_color

if TYPE_CHECKING:
    from .piano_roll import PianoRoll

LANES = (("velocity", "Velocity", "Vel"), ("pedal", "Sustain Pedal", "Pedal"),
         ("bend", "Pitch Bend", "Bend"))
EDGE_PX = 5  # how near a span's edge a press grabs the edge
CLICK_SLOP = 4
LANE_BG = QColor("#ecece8")


class EventLane(QWidget):
    """A lane of the active voice's channel events (the pedal or the bend)."""

    label = ""

    def __init__(self, roll: PianoRoll):
        super().__init__(roll)
        self.roll = roll
        self.gesture: LaneGesture | None = None
        self._press_x = 0.0
        self.dragged = False
        self._cache: tuple | None = None  # (key, value) of what the lane reads
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.ClickFocus)

    @property
    def events(self):
        return self.roll.doc.base.channel_events

    @property
    def track(self) -> int:
        return self.roll.active_track

    def cached(self, read):
        """``read(events, track)``, read again only when the events changed (a flood
        of a million controllers is not scanned on every repaint and pointer move)."""
        doc = self.roll.doc
        key = (doc.events_revision, id(doc.base.channel_events), self.track, read)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, read(self.events, self.track))
        return self._cache[1]

    def snapped(self, x: float, modifiers) -> int:
        tick = max(0.0, self.roll.tick_at(x))
        if modifiers & (Qt.AltModifier | Qt.ShiftModifier):
            return int(round(tick))
        return self.roll.snap_round(tick)

    def has_selection(self) -> bool:
        return False

    def delete_selected(self) -> None: ...

    def clear_selection(self) -> None: ...

    def _frame(self, p: QPainter) -> None:
        p.fillRect(self.rect(), LANE_BG)
        p.setPen(QColor("#a0a0a0"))
        p.drawLine(0, 0, self.width(), 0)

    def _caption(self, p: QPainter) -> None:
        p.setPen(QColor("#808080"))
        p.drawText(4, 12, f"{self.label} · {self.roll.track_name(self.track)}")

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        if self.gesture is None:
            self.setCursor(self.hover_cursor(e.position().x()))
            return
        if abs(e.position().x() - self._press_x) < CLICK_SLOP and not self.dragged:
            return
        self.dragged = True
        self.follow(e)
        self.update()

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        g, self.gesture = self.gesture, None
        if g is not None and self.dragged:
            self.follow(e, g)
            g.finish()
        elif g is not None:
            self.clicked(e)
        self.update()

    def hover_cursor(self, x: float):
        return Qt.CrossCursor

    def follow(self, e, g=None) -> None: ...

    def clicked(self, e) -> None: ...


class PedalLane(EventLane):
    label = "sustain pedal"

    def __init__(self, roll: PianoRoll):
        super().__init__(roll)
        self.selected: int | None = None  # the selected span's start tick
        self.setToolTip("Sustain pedal: drag to draw a pedal-down span, click one and press "
                        "Delete (or right-click it) to remove it, drag its edges to move them")

    def spans(self) -> list[le.PedalSpan]:
        return self.cached(le.pedal_spans)[0]

    def selected_span(self) -> le.PedalSpan | None:
        return next((s for s in self.spans() if s.start == self.selected), None)

    def has_selection(self) -> bool:
        return self.selected_span() is not None

    def clear_selection(self) -> None:
        if self.selected is not None:
            self.selected = None
            self.update()

    def delete_selected(self) -> None:
        span = self.selected_span()
        if span is not None:
            cmd.edit_events(self.roll.doc, "Delete pedal", le.delete_pedal_span(self.events,
                                                                                 span))
            self.selected = None
            self.update()

    def _band(self) -> tuple[float, float]:
        return 18.0, self.height() - 8.0

    def span_x(self, span: le.PedalSpan) -> tuple[float, float]:
        x0 = self.roll.x_of(span.start)
        x1 = self.width() + 10.0 if span.end is None else self.roll.x_of(span.end)
        return x0, x1

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        self._frame(p)
        top, bottom = self._band()
        color = track_color(self.track)
        p.setPen(QColor("#c8c8c0"))
        p.drawLine(0, int(bottom), self.width(), int(bottom))
        g = self.gesture
        moving = g.original.start if isinstance(g, PedalEdgeGesture) and self.dragged else None
        shown: list[tuple[float, float, bool]] = []
        for s in self.spans():
            if s.start == moving:
                continue
            x0, x1 = self.span_x(s)
            if x1 >= 0 and x0 <= self.width():
                shown.append((x0, x1, s.start == self.selected))
        if isinstance(g, (PedalDrawGesture, PedalEdgeGesture)) and self.dragged:
            a, b = g.span
            x1 = self.width() + 10.0 if b is None else self.roll.x_of(b)
            shown.append((self.roll.x_of(a), x1, True))
        for x0, x1, sel in shown:
            fill = QColor(color)
            fill.setAlpha(170 if sel else 110)
            rect = QRectF(x0, top, max(2.0, x1 - x0), bottom - top)
            p.fillRect(rect, fill)
            p.setPen(QPen(color.darker(170 if sel else 130), 2 if sel else 1))
            p.drawLine(QPointF(x0, top), QPointF(x0, bottom))  # down
            p.drawLine(QPointF(x0, top), QPointF(x1, top))
            p.drawLine(QPointF(x1, top), QPointF(x1, bottom))  # up
        self._caption(p)
        p.end()

    def hit(self, x: float) -> tuple[le.PedalSpan | None, str]:
        """The span under ``x`` and which part: "start", "end" (an edge) or "body"."""
        for s in self.spans():
            x0, x1 = self.span_x(s)
            if abs(x - x0) <= EDGE_PX:
                return s, "start"
            if s.end is not None and abs(x - x1) <= EDGE_PX:
                return s, "end"
            if x0 <= x <= x1:
                return s, "body"
        return None, ""

    def hover_cursor(self, x: float):
        span, part = self.hit(x)
        return Qt.SizeHorCursor if part in ("start", "end") else (
            Qt.PointingHandCursor if span else Qt.CrossCursor)

    def mousePressEvent(self, e) -> None:  # noqa: N802
        roll = self.roll
        x = e.position().x()
        self._press_x, self.dragged = x, False
        roll.lane_pressed(self)
        span, part = self.hit(x)
        if e.button() == Qt.RightButton:
            if span is not None:
                self.selected = span.start
                self.delete_selected()
            return
        if e.button() != Qt.LeftButton:
            return
        if part in ("start", "end"):
            self.selected = span.start
            self.gesture = PedalEdgeGesture(roll, span, part)
        elif span is not None:
            self.selected = span.start
        else:
            self.gesture = PedalDrawGesture(roll, self.snapped(x, e.modifiers()))
        self.update()

    def follow(self, e, g=None) -> None:
        g = g or self.gesture
        if g is not None:
            g.update(self.snapped(e.position().x(), e.modifiers()))

    def clicked(self, e) -> None:
        self.clear_selection()  # a click on empty lane


class BendLane(EventLane):
    label = "pitch bend"

    def __init__(self, roll: PianoRoll):
        super().__init__(roll)
        self.selected: tuple[int, int] | None = None  # a tick range
        self.setToolTip("Pitch bend: drag to draw, Shift-drag to select a range (Delete or "
                        "right-click clears it to the centre), right-drag clears, "
                        "double-click returns to the centre there")

    def has_selection(self) -> bool:
        return self.selected is not None

    def clear_selection(self) -> None:
        if self.selected is not None:
            self.selected = None
            self.update()

    def clear_selected(self) -> None:
        if self.selected is None:
            return
        a, b = self.selected
        cmd.edit_events(self.roll.doc, "Clear pitch bend",
                        le.clear_bend(self.events, self.track, a, b))
        self.update()

    delete_selected = clear_selected

    # value <-> y: the centre line in the middle, +8191 near the top
    def _mid_half(self) -> tuple[float, float]:
        top, bottom = 16.0, self.height() - 4.0
        return (top + bottom) / 2, (bottom - top) / 2

    def y_of(self, value: float) -> float:
        mid, half = self._mid_half()
        return mid - value / 8192 * half

    def value_at(self, y: float) -> int:
        mid, half = self._mid_half()
        return le.clamp_bend((mid - y) / half * 8192)

    def paintEvent(self, event) -> None:  # noqa: N802
        roll = self.roll
        p = QPainter(self)
        self._frame(p)
        mid, half = self._mid_half()
        g = self.gesture
        if isinstance(g, BendRangeGesture) and self.dragged:
            sel = g.range
        else:
            sel = self.selected
        if sel is not None:
            x0, x1 = roll.x_of(sel[0]), roll.x_of(sel[1])
            p.fillRect(QRectF(x0, 1, max(1.0, x1 - x0), self.height() - 1),
                       QColor(40, 110, 220, 45))
        p.setPen(QPen(QColor("#9a9a94"), 1, Qt.DashLine))
        p.drawLine(QPointF(0, mid), QPointF(self.width(), mid))
        t0, t1 = roll.tick_at(0), roll.tick_at(self.width())
        value = 0
        steps: list[tuple[int, int]] = []
        for tick, v in self.cached(le.bend_points):
            if tick <= t0:
                value = v
            elif tick <= t1:
                steps.append((tick, v))
            else:
                break
        path = QPainterPath(QPointF(0, self.y_of(value)))
        for tick, v in steps:
            x = roll.x_of(tick)
            path.lineTo(x, self.y_of(value))
            path.lineTo(x, self.y_of(v))
            value = v
        path.lineTo(self.width(), self.y_of(value))
        color = track_color(self.track)
        fill = QPainterPath(path)
        fill.lineTo(self.width(), mid)
        fill.lineTo(0, mid)
        fill.closeSubpath()
        shade = QColor(color)
        shade.setAlpha(60)
        p.fillPath(fill, shade)
        p.setPen(QPen(color.darker(130), 1.5))
        p.drawPath(path)
        if isinstance(g, BendDrawGesture) and self.dragged:
            p.setPen(QPen(QColor(20, 20, 20), 1.5))
            pts = sorted(g.samples)
            for (ta, va), (tb, vb) in zip(pts, pts[1:], strict=False):
                p.drawLine(QPointF(roll.x_of(ta), self.y_of(va)),
                           QPointF(roll.x_of(tb), self.y_of(vb)))
        self._caption(p)
        p.setPen(QColor("#909090"))
        p.drawText(self.width() - 14, int(mid) - 3, "0")
        p.end()

    def mousePressEvent(self, e) -> None:  # noqa: N802
        roll = self.roll
        pos = e.position()
        self._press_x, self.dragged = pos.x(), False
        roll.lane_pressed(self)
        tick = max(0.0, roll.tick_at(pos.x()))
        if e.button() == Qt.RightButton:
            if self.selected is not None and self.selected[0] <= tick <= self.selected[1]:
                self.clear_selected()
                return
            self.gesture = BendRangeGesture(roll, self.snapped(pos.x(), Qt.NoModifier),
                                            clear=True)
            return
        if e.button() != Qt.LeftButton:
            return
        if e.modifiers() & Qt.ShiftModifier:
            self.gesture = BendRangeGesture(roll, self.snapped(pos.x(), Qt.NoModifier))
        else:
            self.gesture = BendDrawGesture(roll, tick, self.value_at(pos.y()))

    def follow(self, e, g=None) -> None:
        g = g or self.gesture
        pos = e.position()
        if isinstance(g, BendRangeGesture):
            g.update(self.snapped(pos.x(), Qt.NoModifier))
        elif g is not None:
            g.update(max(0.0, self.roll.tick_at(pos.x())), self.value_at(pos.y()))

    def clicked(self, e) -> None:
        if e.button() == Qt.LeftButton:
            self.clear_selection()

    def mouseDoubleClickEvent(self, e) -> None:  # noqa: N802
        if e.button() != Qt.LeftButton:
            return
        self.gesture = None
        tick = self.snapped(e.position().x(), e.modifiers())
        cmd.edit_events(self.roll.doc, "Reset pitch bend",
                        le.reset_bend(self.events, self.track, tick))
        self.update()


class LaneSelector(QWidget):
    """Three small buttons left of the lane (under the keyboard): which lane shows."""

    chosen = Signal(str)

    def __init__(self, roll: PianoRoll):
        super().__init__(roll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(1)
        self.buttons: dict[str, QToolButton] = {}
        for name, text, short in LANES:
            b = QToolButton(self)
            b.setText(short)
            b.setToolTip(f"Show the {text.lower()} lane (View menu)")
            b.setCheckable(True)
            b.setAutoRaise(True)
            b.setToolButtonStyle(Qt.ToolButtonTextOnly)
            b.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
            font = b.font()
            font.setPointSizeF(max(6.5, font.pointSizeF() * 0.85))
            b.setFont(font)
            b.clicked.connect(lambda _=False, n=name: self.chosen.emit(n))
            layout.addWidget(b)
            self.buttons[name] = b

    def show_lane(self, name: str) -> None:
        for n, b in self.buttons.items():
            b.setChecked(n == name)

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#dcdcd6"))
        p.end()
