"""The score view: the piece (or the variation on show) engraved by Verovio, live.

The engraving comes from :mod:`.analysis` (debounced, on its worker thread: the MEI,
Verovio's layout and the SVG parse), so typing and playback never wait for it. The page
shows in a QGraphicsView (each page drawn by the worker, shown as a pixmap); the bar under the playhead
is highlighted, a click on an engraved note selects it in the roll (``noteClicked``),
and File > Export writes the score as SVG or PDF.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from .analysis import Result

PAGE_GAP = 12.0


class _View(QGraphicsView):
    clicked = Signal(object)  # scene position

    def mousePressEvent(self, e) -> None:  # noqa: N802
        if e.button() == Qt.LeftButton:
            self.clicked.emit(self.mapToScene(e.position().toPoint()))
        super().mousePressEvent(e)


class ScoreView(QWidget):
    """The dock's widget: ``show_result`` what the analysis engraved."""

    noteClicked = Signal(int)  # our note id
    widthChanged = Signal()  # wide enough a change to engrave again

    def __init__(self, parent=None):
        super().__init__(parent)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #8a1c1c; padding: 2px 4px;")
        self.status.hide()
        self.scene = QGraphicsScene(self)
        self.scene.setBackgroundBrush(QColor("white"))
        self.view = _View(self.scene)
        self.view.setRenderHints(QPainter.Antialiasing | QPainter.SmoothPixmapTransform)
        self.view.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.view.clicked.connect(self._clicked)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.status)
        lay.addWidget(self.view)
        self.last: Result | None = None
        self._offsets: list[float] = []
        self._bar_item: QGraphicsRectItem | None = None
        self._playhead = -1

    # -- what the window calls ----------------------------------------------------------

    def set_playhead(self, tick: int) -> None:
        if tick != self._playhead:
            self._playhead = tick
            self._show_bar()

    def show_result(self, res: Result) -> None:
        """Show what the analysis engraved (or say why it could not)."""
        if not res.engraved:
            return
        if res.engraving is None:
            self._say(res.engrave_error or "nothing to engrave")
            return
        self.last = res
        lost = res.engraving.notes_lost
        what = "the variation on show" if res.source.variation else ""
        notes = ("Not shown exactly: " + "; ".join(lost)) if lost else ""
        self._say(" — ".join(t for t in (what.capitalize(), notes) if t))
        self.status.setStyleSheet("color: #8a1c1c; padding: 2px 4px;" if lost
                                  else "color: #555; padding: 2px 4px;")
        self._show_pages(res)

    def resizeEvent(self, e) -> None:  # noqa: N802
        super().resizeEvent(e)
        if abs(self.engrave_width() - self.engraved_width) > 40:
            self.widthChanged.emit()

    engraved_width = 0  # the width the analysis was last asked to engrave at

    def engrave_width(self) -> int:
        """The page width to engrave at (px): the view's."""
        return max(480, self.view.viewport().width() - 24)  # no horizontal scroll bar

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def _show_pages(self, result: Result) -> None:
        self.scene.clear()
        self._bar_item = None
        self._offsets = []
        y = 0.0
        width = 0.0
        for (w, h), img in zip(result.page_sizes, result.images, strict=True):
            item = QGraphicsPixmapItem(QPixmap.fromImage(img))
            item.setTransformationMode(Qt.SmoothTransformation)
            item.setPos(0, y)
            self.scene.addItem(item)
            self._offsets.append(y)
            y += h + PAGE_GAP
            width = max(width, w)
        self.scene.setSceneRect(QRectF(0, 0, width, max(y - PAGE_GAP, 1)))
        self._show_bar()

    def show_tick(self, tick: int) -> None:
        """Scroll the score to the bar holding ``tick``."""
        if self.last is None or not self._offsets:
            return
        for a, b, page, rect in self.last.bar_rects:
            if a <= tick < b:
                self.view.ensureVisible(rect.translated(0, self._offsets[page]), 10, 10)
                return

    def _show_bar(self) -> None:
        result = self.last
        if result is None or not self._offsets:
            return
        found = None
        for a, b, page, rect in result.bar_rects:
            if a <= self._playhead < b:
                found = rect.translated(0, self._offsets[page])
                break
        if found is None:
            if self._bar_item is not None:
                self._bar_item.hide()
            return
        if self._bar_item is None:
            self._bar_item = self.scene.addRect(QRectF(), QPen(Qt.NoPen),
                                                QBrush(QColor(255, 200, 0, 60)))
            self._bar_item.setZValue(1)  # over the page (opaque paper), translucent
        self._bar_item.setRect(found)
        self._bar_item.show()
        self.view.ensureVisible(found, 10, 10)

    # -- mapping back -----------------------------------------------------------------------

    def note_scene_rect(self, nid: int) -> QRectF | None:
        if self.last is None or nid not in self.last.note_rects:
            return None
        page, rect = self.last.note_rects[nid]
        return rect.translated(0, self._offsets[page])

    def note_at(self, pos) -> int | None:
        """Our id of the engraved note at scene position ``pos``: of the notes whose box
        (notehead and stem) holds it, the smallest."""
        if self.last is None:
            return None
        best, best_area = None, None
        for nid, (page, rect) in self.last.note_rects.items():
            r = rect.translated(0, self._offsets[page]).adjusted(-1.5, -1.5, 1.5, 1.5)
            if r.contains(pos) and (best_area is None or r.width() * r.height() < best_area):
                best, best_area = nid, r.width() * r.height()
        return best

    def _clicked(self, pos) -> None:
        nid = self.note_at(pos)
        if nid is not None and nid >= 0:
            self.noteClicked.emit(nid)

    # -- export ---------------------------------------------------------------------------------

    def pages(self) -> list[str]:
        """Verovio's SVG of each page as last engraved ([] when nothing is)."""
        return list(self.last.engraving.svgs) if self.last and self.last.engraving else []
