"""Drag a clip out of the app: a real ``.mid`` file in a temp folder, offered as a URL."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QApplication, QLabel

from composer_app.music import Score, UserError, write_midi

_TEMP: Path | None = None


def clip_folder() -> Path:
    global _TEMP
    if _TEMP is None or not _TEMP.exists():
        _TEMP = Path(tempfile.mkdtemp(prefix="composer-app-clips-"))
    return _TEMP


def write_clip(score: Score, name: str = "clip") -> Path:
    """Write ``score`` as a MIDI file in the clip folder; returns its path."""
    safe = re.sub(r"[^\w\- ]+", "_", name).strip() or "clip"
    path = clip_folder() / f"{safe}.mid"
    write_midi(score, path)
    return path


def clip_mime(score: Score, name: str = "clip") -> QMimeData:
    """Mime data carrying the clip as a file URL (what DAWs and file managers accept)."""
    path = write_clip(score, name)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    mime.setData("audio/midi", path.read_bytes())
    return mime


class ClipDragHandle(QLabel):
    """A grip in the toolbar: drag it onto a DAW or the desktop to get a ``.mid`` file.

    ``clip_source`` returns (score, name): the selection, or the whole piece."""

    message = Signal(str)

    def __init__(self, clip_source, parent=None):
        super().__init__("  ⠿ Drag MIDI  ", parent)
        self.clip_source = clip_source
        self.setToolTip("Drag onto a DAW or the desktop: the selection (or the whole piece) "
                        "as a .mid file")
        self.setCursor(Qt.OpenHandCursor)
        self.setStyleSheet("QLabel { border: 1px solid #9a9a94; border-radius: 4px;"
                           " background: #f0efe8; padding: 3px; }")
        self._press: QPoint | None = None

    def mousePressEvent(self, e) -> None:  # noqa: N802
        if e.button() == Qt.LeftButton:
            self._press = e.position().toPoint()

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        if self._press is None:
            return
        if (e.position().toPoint() - self._press).manhattanLength() < \
                QApplication.startDragDistance():
            return
        self._press = None
        score, name = self.clip_source()
        if not score.notes:
            self.message.emit("Nothing to drag: the piece is empty")
            return
        try:
            mime = clip_mime(score, name)
        except UserError as exc:
            self.message.emit(str(exc))
            return
        self.start_drag(mime)

    def start_drag(self, mime: QMimeData) -> None:
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.CopyAction)

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        self._press = None
