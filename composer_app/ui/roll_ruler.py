"""The ruler over the roll: bar numbers; a click moves the playhead, a drag sets the loop
(right click clears it)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QWidget

from .roll_paint import PLAYHEAD, grid_lines

if TYPE_CHECKING:
    from .piano_roll import PianoRoll

MIN_BAR_GAP = 34  # px between numbered bars


class Ruler(QWidget):
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
        bar_px = score.time_signature_at(0).bar_ticks * roll.px_per_tick
        every = max(1, math.ceil(MIN_BAR_GAP / max(bar_px, 1e-6)))
        for tick, level in grid_lines(roll, t0, t1):
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
        p.setBrush(PLAYHEAD)
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
