"""The piano keyboard at the roll's left: rows as keys, a press previews the pitch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QWidget

from .roll_paint import BLACK_KEYS

if TYPE_CHECKING:
    from .piano_roll import PianoRoll

PRESSED = QColor("#8fb8e8")


class Keyboard(QWidget):
    def __init__(self, roll: PianoRoll):
        super().__init__(roll)
        self.roll = roll
        self.setCursor(Qt.PointingHandCursor)
        self.pressed: int | None = None  # the pitch held down

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
                           PRESSED if pitch == self.pressed else QColor("#2b2b2b"))
            else:
                if pitch == self.pressed:
                    p.fillRect(QRectF(0, y, w, kh), PRESSED)
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
        self.pressed = self.roll.pitch_at(e.position().y())
        self.roll.previewPitch.emit(self.pressed, self.roll.active_track)
        self.update()

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        if self.pressed is None:
            return
        pitch = self.roll.pitch_at(e.position().y())
        if pitch != self.pressed:
            self.pressed = pitch
            self.roll.previewPitch.emit(pitch, self.roll.active_track)
            self.update()

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        self.pressed = None
        self.update()

    def wheelEvent(self, e) -> None:  # noqa: N802
        self.roll.wheelEvent(e)
