"""The chord lane under the roll: the chord label of every beat of four-part music
(roman numerals in the key, or chord symbols), from the analysis worker
(:mod:`.analysis`, :func:`~composer_app.music.harmony_check.chord_labels`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from .piano_roll import PianoRoll

CHORD_H = 20


class ChordLane(QWidget):
    """Labels at their beats; a label that would run into the one before is left out
    (zoom in to see it)."""

    def __init__(self, roll: PianoRoll):
        super().__init__(roll)
        self.roll = roll
        self.marks: list = []  # ChordMark
        self.symbols = False  # chord symbols instead of roman numerals
        self.note = ""  # said when there are no labels to show (not four-part)
        self.setToolTip("Chord labels (roman numerals in the key; View > Chord Symbols)")

    def set_marks(self, marks, note: str = "") -> None:
        self.marks = list(marks)
        self.note = note
        self.update()

    def text_of(self, mark) -> str:
        return mark.symbol if self.symbols else mark.roman

    def shown(self) -> list[tuple[float, str]]:
        """(x, text) of the labels drawn now."""
        roll = self.roll
        fm = self.fontMetrics()
        out, right = [], -1e9
        for m in self.marks:
            x = roll.x_of(m.tick)
            if x < -40 or x > self.width():
                continue
            text = self.text_of(m)
            if x + 2 < right:
                continue
            out.append((x, text))
            right = x + fm.horizontalAdvance(text) + 6
        return out

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#f4f3ee"))
        p.setPen(QColor("#a0a0a0"))
        p.drawLine(0, 0, self.width(), 0)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 0.5))
        p.setFont(font)
        shown = self.shown()
        p.setPen(QColor("#303030"))
        for x, text in shown:
            p.drawText(int(x) + 2, self.height() - 6, text)
        if not shown and self.note:
            p.setPen(QColor("#909090"))
            p.drawText(4, self.height() - 6, self.note)
        p.end()
