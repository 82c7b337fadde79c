"""The velocity lane under the roll: a stem per visible note; dragging across the stems
sets their velocities (a :class:`~.roll_gestures.VelocityGesture`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

from .roll_gestures import VelocityGesture
from .roll_paint import track_color

if TYPE_CHECKING:
    from .piano_roll import PianoRoll


class VelocityLane(QWidget):
    """Velocity stems of the visible notes; drag across them to draw velocities."""

    def __init__(self, roll: PianoRoll):
        super().__init__(roll)
        self.roll = roll
        self.gesture: VelocityGesture | None = None
        self.setToolTip("Velocity: drag to set (selected notes only when some are selected)")

    def paintEvent(self, event) -> None:  # noqa: N802
        roll = self.roll
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#ecece8"))
        p.setPen(QColor("#a0a0a0"))
        p.drawLine(0, 0, self.width(), 0)
        h = self.height() - 8
        t0, t1 = roll.tick_at(0), roll.tick_at(self.width())
        g = self.gesture
        for i, n in roll.doc.index.overlapping(t0, t1):
            if g is not None:
                n = g.shown(i, n)
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

    def mousePressEvent(self, e) -> None:  # noqa: N802
        self.gesture = VelocityGesture(self.roll, self, e.position().x(), e.position().y())
        self.update()

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        if self.gesture is None:
            return
        self.gesture.update(e.position().x(), e.position().y())
        self.update()

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        g, self.gesture = self.gesture, None
        if g is not None:
            g.finish()
        self.update()
