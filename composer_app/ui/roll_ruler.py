"""The ruler over the roll: bar numbers; a click moves the playhead, a drag sets the loop.

Its top lane shows the tempo, meter and key changes after bar 1 as small labelled marks
(bar 1's are the toolbar's fields): drag a mark to move it (meters and keys land on bar
lines), double-click it to change it, right-click for Add tempo/meter/key change here,
Edit, Delete and Clear loop. The lane under it shows the markers (a song's sections, a
DAW's markers) as named flags: right-click > Add marker, Rename, Delete, Regenerate
section; double-click renames, a drag moves one to the nearest bar line. Each edit is one
undo step (``cmd.edit_meta``); the arithmetic is :mod:`.piece_edits`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QInputDialog,
    QLineEdit,
    QMenu,
    QSpinBox,
    QWidget,
)

from composer_app.music.score import TextEvent
from composer_app.music.theory import key_names, parse_key
from composer_app.music.validate import MAX_BPM, MIN_BPM

from . import commands as cmd
from . import piece_edits as pe
from .document import ScoreMeta
from .roll_paint import PLAYHEAD, grid_lines

if TYPE_CHECKING:
    from .piano_roll import PianoRoll

MIN_BAR_GAP = 34  # px between numbered bars
MARK_H = 14  # the marks' lane at the top
MARKER_Y = MARK_H + 1  # the markers' lane under it (while the piece has markers)
MARKER_H = 13
MARK_COLORS = {pe.TEMPO: QColor("#b0451e"), pe.METER: QColor("#2d6a9f"),
               pe.KEY: QColor("#4d7f2a")}
MARKER_COLOR = QColor("#6a3d9a")


class MarkDialog(QDialog):
    """The small editor of one tempo, meter or key change."""

    def __init__(self, parent, kind: str, value, bar: int):
        super().__init__(parent)
        self.kind = kind
        self.setWindowTitle(f"{pe.NAMES[kind].capitalize()} change at bar {bar}")
        form = QFormLayout(self)
        if kind == pe.TEMPO:
            self.bpm = QDoubleSpinBox()
            self.bpm.setDecimals(2)
            self.bpm.setRange(round(MIN_BPM, 2), MAX_BPM)  # what a Score holds
            self.bpm.setSuffix(" bpm")
            self.bpm.setValue(float(value))
            form.addRow("Tempo", self.bpm)
        elif kind == pe.METER:
            self.num = QSpinBox()
            self.num.setRange(1, 32)
            self.num.setValue(value[0])
            self.den = QComboBox()
            self.den.addItems(["2", "4", "8", "16"])
            self.den.setCurrentText(str(value[1]))
            form.addRow("Beats", self.num)
            form.addRow("Beat unit", self.den)
        else:
            self.key = QComboBox()
            self.key.addItems(key_names())
            self.key.setCurrentText(value.name)
            form.addRow("Key", self.key)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def value(self):
        if self.kind == pe.TEMPO:
            return self.bpm.value()
        if self.kind == pe.METER:
            return (self.num.value(), int(self.den.currentText()))
        return parse_key(self.key.currentText())


def ask_mark(parent, kind: str, value, bar: int):
    """The new value of a change (bpm, (num, den) or Key), or None when cancelled."""
    dialog = MarkDialog(parent, kind, value, bar)
    return dialog.value() if dialog.exec() == QDialog.Accepted else None


def ask_marker_name(parent, title: str, name: str) -> str | None:
    """A marker's name, or None when cancelled."""
    text, ok = QInputDialog.getText(parent, title, "Name:", QLineEdit.Normal, name)
    return text if ok else None


def next_marker_name(markers: list[TextEvent]) -> str:
    """The first capital letter no marker is named yet ("A", "B", …), else "Marker"."""
    used = {m.text for m in markers}
    return next((c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used), "Marker")


class Ruler(QWidget):
    """Bar numbers; click moves the playhead, drag sets the loop."""

    def __init__(self, roll: PianoRoll):
        super().__init__(roll)
        self.roll = roll
        self._press_tick: int | None = None
        self._dragging = False
        self._mark_drag: tuple[str, int] | None = None  # (kind, tick) being dragged
        self._mark_to: int | None = None  # where it would land
        self.ask = ask_mark  # (parent, kind, value, bar) -> value or None; tests replace it
        self.ask_name = ask_marker_name  # (parent, title, name) -> str or None; tests too
        self._marker_drag: TextEvent | None = None
        self._marker_to: int | None = None
        # Regenerate the section a marker starts: set by the window (Generation)
        self.regenerate: Callable[[TextEvent], None] | None = None

    # -- the marks ------------------------------------------------------------------------

    def meta(self) -> ScoreMeta:
        return ScoreMeta.of(self.roll.doc.base)

    def mark_rects(self) -> list[tuple[QRectF, str, int, str]]:
        """(rect, kind, tick, label) of each change after bar 1, meters then keys then
        tempos at one tick, side by side."""
        base = self.roll.doc.base
        fm = QFontMetrics(self._font())
        at: dict[int, list] = {}
        for kind in pe.KINDS:
            for m in getattr(base, pe.FIELD[kind]):
                if m.tick > 0:
                    at.setdefault(m.tick, []).append((kind, m))
        out = []
        right = -1e9  # a label never covers the one before: it moves right of it
        for tick, items in sorted(at.items()):
            x = max(self.roll.x_of(tick), right + 1)
            for kind, m in items:
                text = pe.label(m)
                w = fm.horizontalAdvance(text) + 6
                out.append((QRectF(x, 0, w, MARK_H), kind, tick, text))
                x += w + 1
                right = x - 1
        return out

    def mark_under(self, x: float, y: float) -> tuple[str, int] | None:
        if y > MARK_H:
            return None
        for rect, kind, tick, _ in reversed(self.mark_rects()):  # the one drawn on top
            if rect.left() - 2 <= x <= rect.right():
                return kind, tick
        return None

    def _font(self) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(10)
        return font

    def add_mark(self, kind: str, tick: int) -> None:
        """Ask for the value of a new change at ``tick`` (meters and keys: its bar line)
        and add it as one undo step."""
        meta = self.meta()
        if kind != pe.TEMPO:
            tick = pe.bar_line_at(meta, tick)
        base = self.roll.doc.base
        current = {pe.TEMPO: base.tempo_at(tick),
                   pe.METER: (base.time_signature_at(tick).numerator,
                              base.time_signature_at(tick).denominator),
                   pe.KEY: base.key_in_force(tick, self.roll.doc.notes.values())}[kind]
        value = self.ask(self, kind, current, base.bar_of(tick) + 1)
        if value is None:
            return
        if tick <= 0:
            self.roll.message.emit("Bar 1's tempo, meter and key are the toolbar's fields")
            return
        cmd.edit_meta(self.roll.doc, f"Add {pe.NAMES[kind]} change",
                      lambda m: pe.set_mark(m, kind, tick, value))

    def edit_mark(self, kind: str, tick: int) -> None:
        mark = pe.mark_at(self.meta(), kind, tick)
        if mark is None:
            return
        value = self.ask(self, kind, pe.value_of(mark), self.roll.doc.base.bar_of(tick) + 1)
        if value is not None:
            cmd.edit_meta(self.roll.doc, f"Change {pe.NAMES[kind]}",
                          lambda m: pe.set_mark(m, kind, tick, value))

    def delete_mark(self, kind: str, tick: int) -> None:
        if tick > 0:
            cmd.edit_meta(self.roll.doc, f"Delete {pe.NAMES[kind]} change",
                          lambda m: pe.delete_mark(m, kind, tick))

    def move_mark(self, kind: str, old: int, new: int) -> None:
        if new != old:
            cmd.edit_meta(self.roll.doc, f"Move {pe.NAMES[kind]} change",
                          lambda m: pe.move_mark(m, kind, old, new))

    # -- the markers -----------------------------------------------------------------------

    def marker_rects(self) -> list[tuple[QRectF, TextEvent]]:
        """(rect, marker) of each marker, in time order; a label never covers the one
        before it (it moves right of it)."""
        fm = QFontMetrics(self._font())
        out = []
        right = -1e9
        for m in self.roll.doc.base.markers:
            x = max(self.roll.x_of(m.tick), right + 1)
            w = min(fm.horizontalAdvance(m.text), 160) + 8
            out.append((QRectF(x, MARKER_Y, w, MARKER_H), m))
            right = x + w
        return out

    def marker_under(self, x: float, y: float) -> TextEvent | None:
        if not MARKER_Y <= y <= MARKER_Y + MARKER_H:
            return None
        for rect, m in reversed(self.marker_rects()):
            if rect.left() - 2 <= x <= rect.right():
                return m
        return None

    def add_marker(self, tick: int) -> None:
        """Ask for a name and add a marker at the bar line of ``tick`` (one undo step)."""
        tick = pe.bar_line_at(self.meta(), tick)
        bar = self.roll.doc.base.bar_of(tick) + 1
        name = self._marker_name(f"Marker at bar {bar}",
                                 next_marker_name(self.roll.doc.base.markers))
        if name is not None:
            cmd.edit_meta(self.roll.doc, "Add marker", lambda m: pe.add_marker(m, tick, name))

    def rename_marker(self, mark: TextEvent) -> None:
        name = self._marker_name("Rename marker", mark.text)
        if name is not None and name.strip() != mark.text:
            cmd.edit_meta(self.roll.doc, "Rename marker",
                          lambda m: pe.rename_marker(m, mark, name))

    def _marker_name(self, title: str, suggested: str) -> str | None:
        """The name the user gives, or None (cancelled, or refused with the reason said)."""
        name = self.ask_name(self, title, suggested)
        if name is None:
            return None
        try:
            pe.clean_marker_name(name)
        except ValueError as exc:
            self.roll.message.emit(str(exc))
            return None
        return name

    def delete_marker(self, mark: TextEvent) -> None:
        cmd.edit_meta(self.roll.doc, "Delete marker", lambda m: pe.delete_marker(m, mark))

    def move_marker(self, mark: TextEvent, tick: int) -> None:
        if tick != mark.tick:
            cmd.edit_meta(self.roll.doc, "Move marker", lambda m: pe.move_marker(m, mark, tick))

    def context_menu(self, x: float, y: float) -> QMenu:
        """The right-click menu at (x, y): add a change here; on a mark, edit or delete
        it; clear the loop."""
        menu = QMenu(self)
        tick = max(0, int(self.roll.tick_at(x)))
        snapped = max(0, self.roll.snap_round(tick))
        hit = self.mark_under(x, y)
        if hit is not None:
            name = pe.NAMES[hit[0]]
            menu.addAction(f"Edit {name} change…", lambda: self.edit_mark(*hit))
            menu.addAction(f"Delete {name} change", lambda: self.delete_mark(*hit))
            menu.addSeparator()
        marker = self.marker_under(x, y)
        if marker is not None:
            label = _short(marker.text)
            a = menu.addAction(f"Regenerate section “{label}”",
                               lambda: self.regenerate and self.regenerate(marker))
            a.setEnabled(self.regenerate is not None)
            menu.addAction(f"Rename marker “{label}”…", lambda: self.rename_marker(marker))
            menu.addAction(f"Delete marker “{label}”", lambda: self.delete_marker(marker))
            menu.addSeparator()
        bar_tick = pe.bar_line_at(self.meta(), tick)
        bar = self.roll.doc.base.bar_of(tick) + 1
        menu.addAction(f"Add marker at bar {bar}…", lambda: self.add_marker(bar_tick))
        a = menu.addAction("Add tempo change here…", lambda: self.add_mark(pe.TEMPO, snapped))
        a.setEnabled(snapped > 0)
        for kind in (pe.METER, pe.KEY):
            a = menu.addAction(f"Add {pe.NAMES[kind]} change at bar {bar}…",
                               lambda k=kind: self.add_mark(k, bar_tick))
            a.setEnabled(bar_tick > 0)
        menu.addSeparator()
        a = menu.addAction("Clear loop", self._clear_loop)
        a.setEnabled(self.roll.loop is not None)
        return menu

    def _clear_loop(self) -> None:
        self.roll.set_loop(0, 0)
        self.roll.loopChanged.emit(0, 0)

    def _paint_marks(self, p: QPainter) -> None:
        p.setFont(self._font())
        for rect, kind, tick, text in self.mark_rects():
            if self._mark_drag == (kind, tick) and self._mark_to is not None:
                rect = rect.translated(self.roll.x_of(self._mark_to) - self.roll.x_of(tick), 0)
            if rect.right() < 0 or rect.left() > self.width():
                continue
            color = MARK_COLORS[kind]
            p.setPen(Qt.NoPen)
            p.setBrush(color)
            p.drawRoundedRect(rect, 2, 2)
            p.setPen(QColor("white"))
            p.drawText(rect, Qt.AlignCenter, text)
            p.setPen(color)
            at = int(self.roll.x_of(self._mark_to if self._mark_drag == (kind, tick)
                                    and self._mark_to is not None else tick))
            p.drawLine(int(rect.left()), int(rect.bottom()), at, int(rect.bottom()) + 3)
            p.drawLine(at, int(rect.bottom()) + 3, at, self.height())

    def numbers_y(self) -> int:
        """Where the bar numbers' band starts: under the markers' lane when it is there."""
        return MARKER_Y + MARKER_H if self.roll.doc.base.markers else MARK_H

    def _paint_markers(self, p: QPainter) -> None:
        p.setFont(self._font())
        fm = QFontMetrics(self._font())
        h = self.height()
        for rect, m in self.marker_rects():
            at = m.tick
            if self._marker_drag == m and self._marker_to is not None:
                rect = rect.translated(self.roll.x_of(self._marker_to) - self.roll.x_of(m.tick), 0)
                at = self._marker_to
            if rect.right() < 0 or rect.left() > self.width():
                continue
            p.setPen(Qt.NoPen)
            p.setBrush(MARKER_COLOR)
            p.drawRoundedRect(rect, 2, 2)
            p.setPen(QColor("white"))
            text = fm.elidedText(m.text, Qt.ElideRight, int(rect.width()) - 6)
            p.drawText(rect.adjusted(4, 0, -2, 0), Qt.AlignVCenter | Qt.AlignLeft, text)
            x = int(self.roll.x_of(at))
            p.setPen(MARKER_COLOR)
            p.drawLine(x, int(rect.top()), x, h)

    def paintEvent(self, event) -> None:  # noqa: N802
        roll = self.roll
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#e9e9e4"))
        h = self.height()
        if roll.loop:
            a, b = roll.loop
            # blue while the loop is on, grey while it is set but off (L brings it back)
            p.fillRect(QRectF(roll.x_of(a), 0, (b - a) * roll.px_per_tick, h),
                       QColor(70, 140, 240, 110) if roll.loop_on else QColor(120, 120, 120, 60))
        t0, t1 = roll.tick_at(-1), roll.tick_at(self.width() + 1)
        font = QFont(self.font())
        font.setPixelSize(11)
        p.setFont(font)
        numbers_y = self.numbers_y()
        text_y = numbers_y + 12
        score = roll.doc.base
        bar_px = score.time_signature_at(0).bar_ticks * roll.px_per_tick
        every = max(1, math.ceil(MIN_BAR_GAP / max(bar_px, 1e-6)))
        for tick, level in grid_lines(roll, t0, t1):
            x = int(roll.x_of(tick))
            if level == 0:
                bar = score.bar_of(tick)
                p.setPen(QColor("#555550"))
                p.drawLine(x, numbers_y + (h - numbers_y) // 3 if bar % every else MARK_H,
                           x, h)
                if bar % every == 0:
                    p.drawText(x + 3, text_y, str(bar + 1))
            elif level == 1:
                p.setPen(QColor("#9a9a94"))
                p.drawLine(x, h - 7, x, h)
        self._paint_marks(p)
        self._paint_markers(p)
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
        x, y = e.position().x(), e.position().y()
        if e.button() == Qt.RightButton:
            menu = self.context_menu(x, y)
            menu.exec(e.globalPosition().toPoint())
            menu.deleteLater()
            return
        if e.button() != Qt.LeftButton:
            return
        hit = self.mark_under(x, y)
        if hit is not None:
            self._mark_drag, self._mark_to = hit, None
            return
        marker = self.marker_under(x, y)
        if marker is not None:
            self._marker_drag, self._marker_to = marker, None
            return
        self._press_tick = self._tick(e)
        self._dragging = False

    def mouseDoubleClickEvent(self, e) -> None:  # noqa: N802
        hit = self.mark_under(e.position().x(), e.position().y())
        marker = self.marker_under(e.position().x(), e.position().y())
        if hit is not None and e.button() == Qt.LeftButton:
            self._mark_drag = self._mark_to = None
            self.edit_mark(*hit)
        elif marker is not None and e.button() == Qt.LeftButton:
            self._marker_drag = self._marker_to = None
            self.rename_marker(marker)
        else:
            self.mousePressEvent(e)

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        if self._mark_drag is not None:
            kind, old = self._mark_drag
            tick = self.roll.tick_at(e.position().x())
            to = pe.move_target(self.meta(), kind, old, tick, self.roll.snap_round)
            if to != old or self._mark_to is not None:
                self._mark_to = to
                self.update()
            return
        if self._marker_drag is not None:
            to = pe.marker_target(self.meta(), self.roll.tick_at(e.position().x()))
            if to != self._marker_drag.tick or self._marker_to is not None:
                self._marker_to = to
                self.update()
            return
        if self._press_tick is None:
            return
        tick = self._tick(e)
        if tick != self._press_tick:
            self._dragging = True
            a, b = sorted((self._press_tick, tick))
            self.roll.set_loop(a, b)

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        if self._mark_drag is not None:
            (kind, old), to = self._mark_drag, self._mark_to
            self._mark_drag = self._mark_to = None
            if to is not None:
                self.move_mark(kind, old, to)
            self.update()
            return
        if self._marker_drag is not None:
            mark, to = self._marker_drag, self._marker_to
            self._marker_drag = self._marker_to = None
            if to is not None:
                self.move_marker(mark, to)
            self.update()
            return
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


def _short(text: str, most: int = 24) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
