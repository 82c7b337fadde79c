"""The score view, chord labels and harmony checker, kept in step with the piece.

One :class:`ScoreController` per window: it owns the :class:`~.analysis.Analysis`
(debounced, off the GUI thread), the Score dock (:class:`~.score_view.ScoreView`) and the
Harmony checker dock (:class:`~.checker_panel.CheckerPanel`), and hands each reading to
whoever shows it (the roll's chord lane and finding marks too); it sends the document (or the variation on
show) to be read again after every edit, and the playhead to the view; a click on an
engraved note selects it in the roll. File > Export Score as SVG / PDF are its.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import QFileDialog

from composer_app.music.atomic import atomic_write_bytes
from composer_app.music.errors import UserError

from .analysis import Analysis, Label, Result, document_source
from .checker_panel import CheckerPanel
from .score_view import ScoreView

EXPORT_WIDTH_PX = 1000  # Verovio's page for export: A4 proportions
EXPORT_HEIGHT_PX = 1414


class ScoreController(QObject):
    analysed = Signal(object)  # each Result, for the labels lane and the checker

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.analysis = Analysis(self)
        self.view = ScoreView()
        self.dock = window.add_panel(self.view, "Score", Qt.BottomDockWidgetArea)
        self.checker = CheckerPanel()
        self.checker_dock = window.add_panel(self.checker, "Harmony checker")
        gen = getattr(window.generation, "dock", None)
        if gen is not None:  # a tab beside Generation (restoreState may move it)
            window.tabifyDockWidget(gen, self.checker_dock)
            gen.raise_()
        self.checker.findingClicked.connect(self.go_to_finding)
        self.checker.suggestAsked.connect(self.suggest)
        self.analysis.finished.connect(self._finished)
        self.view.noteClicked.connect(self.select_note)
        self.view.widthChanged.connect(self._width_changed)
        self.dock.visibilityChanged.connect(self._visibility)
        window.doc.notesChanged.connect(self.refresh)
        window.doc.metaChanged.connect(self.refresh)
        window.generation.resultsShown.connect(lambda *_: self.refresh())
        window.transport.positionChanged.connect(self.view.set_playhead)
        window.act_chord_lane.toggled.connect(self.set_labels)
        self._visibility(True)

    def shutdown(self) -> None:
        self.analysis.shutdown()

    # -- reading ---------------------------------------------------------------------

    def source(self):
        gen = getattr(self.w, "generation", None)
        prop = gen.proposal() if gen is not None else None
        return document_source(self.w.doc, prop)

    def refresh(self, now: bool = False) -> None:
        self.analysis.request(self.source(), now)

    def _visibility(self, visible: bool) -> None:
        shown = visible and not self.dock.isHidden()
        width = self.view.engrave_width() if shown else 0
        self.analysis.dpr = self.view.devicePixelRatioF()
        if bool(width) != bool(self.analysis.width):
            self.analysis.width = width
            self.view.engraved_width = width
            self.refresh()

    def _width_changed(self) -> None:
        if self.analysis.width:
            self.analysis.width = self.view.engraved_width = self.view.engrave_width()
            self.analysis.again()

    def set_labels(self, on: bool) -> None:
        """Chord labels under the score's staves too (View > Chord Labels)."""
        if self.analysis.show_labels != on:
            self.analysis.show_labels = on
            self.analysis.again()

    def set_symbols(self, on: bool) -> None:
        if self.analysis.symbols != on:
            self.analysis.symbols = on
            self.analysis.again()

    def _finished(self, res: Result) -> None:
        self.w.roll.chord_lane.set_marks(res.labels, "" if res.four_part else (
            "chord labels read four-part writing (soprano, alto, tenor, bass)"))
        self.view.show_result(res)
        self.checker.show_result(res)
        ids = set(self.w.doc.notes)
        self.w.roll.set_findings([(i.start, i.end, [n for n in ns if n in ids])
                                  for i, ns in zip(res.issues, res.issue_notes, strict=True)])
        self.view.set_playhead(self.w.roll.playhead)
        self.analysed.emit(res)

    # -- going there -----------------------------------------------------------------------

    def go_to_finding(self, index: int) -> None:
        """Select the notes of checker finding ``index`` and scroll the roll (and the
        score) there."""
        res = self.analysis.last
        if res is None or not 0 <= index < len(res.issues):
            return
        issue = res.issues[index]
        self.w.roll.current_finding = index
        self.select_notes(res.issue_notes[index])
        self.w.roll.show_ticks(issue.start, issue.end)
        self.view.show_tick(issue.start)

    def suggest_span(self, index: int) -> tuple[int, int]:
        """The span Suggest reharmonizes for finding ``index``: from the beat before it
        (the motion into it) to the end of the beat it is heard in."""
        issue = self.analysis.last.issues[index]
        base = self.w.doc.base
        beat = base.time_signature_at(issue.start).beat_ticks
        bar0 = base.bar_start(base.bar_of(issue.start))
        k = (issue.start - bar0) // beat  # the beat it is heard in (0-based)
        return max(0, bar0 + (k - 1) * beat), max(issue.end, bar0 + (k + 1) * beat)

    def suggest(self, index: int) -> bool:
        """Checker > Suggest: the soprano's notes in the finding's span selected and
        reharmonized (Generation shows the result as variations; accepting one is one
        undo step)."""
        res = self.analysis.last
        if res is None or not res.four_part or not 0 <= index < len(res.issues) \
                or res.source.variation:
            return False
        from composer_app.music.harmony_check import four_voices

        start, end = self.suggest_span(index)
        soprano = four_voices(res.source.score)[0]
        ids = [i for i, n in self.w.doc.notes.items()
               if n.track == soprano and n.start < end and n.end > start]
        if not ids:
            return False
        self.w.roll.set_selection(ids)
        return self.w.generation.reharmonize()

    def select_note(self, nid: int) -> None:
        self.select_notes([nid])

    def select_notes(self, ids) -> None:
        notes = [self.w.doc.notes[i] for i in ids if i in self.w.doc.notes]
        if not notes:
            return
        roll = self.w.roll
        roll.set_selection({i for i in ids if i in self.w.doc.notes})
        roll.show_ticks(min(n.start for n in notes), max(n.end for n in notes))
        roll.show_pitches([n.pitch for n in notes])

    # -- export ------------------------------------------------------------------------------

    def _path(self, title: str, suffix: str, kind: str, path: str | None) -> str:
        files = self.w.files
        path = path or QFileDialog.getSaveFileName(self.w, title, files.suggest(suffix),
                                                   f"{kind} (*{suffix})")[0]
        if path:
            files.remember_dir(path)
        return path

    def _pages(self) -> list[str]:
        from composer_app.music.engrave import engrave  # on export only, not at start-up

        src = self.source()
        marks = self.analysis.last
        labels = []
        if marks is not None and self.analysis.show_labels:
            labels = [Label(m.tick, m.symbol if self.analysis.symbols else m.roman)
                      for m in marks.labels]
        return engrave(src.score, src.ids, width_px=EXPORT_WIDTH_PX, labels=labels,
                       page_height_px=EXPORT_HEIGHT_PX).svgs

    def export_svg(self, path: str | None = None) -> bool:
        """The score as SVG (Verovio's own; a second page and on as NAME-2.svg, ...)."""
        path = self._path("Export Score as SVG", ".svg", "SVG", path)
        if not path:
            return False
        try:
            pages = self._pages()
            for k, svg in enumerate(pages):
                p = Path(path) if k == 0 else Path(path).with_name(
                    f"{Path(path).stem}-{k + 1}{Path(path).suffix}")
                atomic_write_bytes(p, svg.encode())
        except (UserError, OSError) as exc:
            self.w.files.warn("Cannot export", str(exc))
            return False
        more = f" ({len(pages)} pages)" if len(pages) > 1 else ""
        self.w.statusBar().showMessage(f"Exported {path}{more}", 4000)
        return True

    def export_pdf(self, path: str | None = None) -> bool:
        """The score as PDF, one A4 page per Verovio page."""
        path = self._path("Export Score as PDF", ".pdf", "PDF", path)
        if not path:
            return False
        try:
            pages = self._pages()
            data = pdf_bytes(pages)
            atomic_write_bytes(path, data)
        except (UserError, OSError) as exc:
            self.w.files.warn("Cannot export", str(exc))
            return False
        self.w.statusBar().showMessage(f"Exported {path}", 4000)
        return True


def pdf_bytes(pages: list[str]) -> bytes:
    """SVG pages drawn into an A4 PDF (vector), each scaled to fit its page."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtSvg import QSvgRenderer

    from composer_app.music.engrave import qt_svg

    buf = QBuffer()
    buf.open(QIODevice.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setPageSize(QPageSize(QPageSize.A4))
    writer.setResolution(300)
    writer.setTitle("Score")
    painter = QPainter(writer)
    try:
        for k, svg in enumerate(pages):
            if k:
                writer.newPage()
            r = QSvgRenderer(QByteArray(qt_svg(svg).encode()))
            size = r.defaultSize()
            area = painter.viewport()
            scale = min(area.width() / max(size.width(), 1), area.height() / max(size.height(), 1))
            r.render(painter, QRectF(0, 0, size.width() * scale, size.height() * scale))
    finally:
        painter.end()
    buf.close()
    return bytes(buf.data())
