"""Autosave and crash recovery.

While a piece is open, a timer writes it (atomically, as a project file) to
``data_dir()/autosave/session-<pid>.composer.json`` whenever it changed since the last
write; a small JSON file beside it names the original file. A clean exit deletes both.
At the next start, sessions whose process is gone are offered for recovery.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from composer_app.music import UserError, read_project, write_project
from composer_app.music.atomic import atomic_write_bytes
from composer_app.paths import data_dir

from .document import Document

log = logging.getLogger(__name__)


def autosave_dir() -> Path:
    return data_dir() / "autosave"


@dataclass
class Recoverable:
    project: Path
    meta: Path
    original: str | None
    saved_at: float

    def describe(self) -> str:
        name = Path(self.original).name if self.original else "an untitled piece"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        return f"{name} (autosaved {when})"

    def discard(self) -> None:
        for p in (self.project, self.meta):
            try:
                p.unlink()
            except OSError:
                pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours, or Windows semantics
        return True
    return True


def find_recoverable(folder: Path | None = None) -> list[Recoverable]:
    """Autosaves left behind by sessions that did not exit cleanly, newest first."""
    folder = folder or autosave_dir()
    _remove_stale_temp_files(folder)
    found = []
    for meta in folder.glob("session-*.json"):
        if meta.name.endswith(".composer.json"):
            continue
        try:
            info = json.loads(meta.read_text())
            pid = int(info.get("pid", -1))
        except (OSError, ValueError):
            continue
        project = meta.with_name(meta.stem + ".composer.json")
        if _alive(pid) or not project.exists():
            continue
        found.append(Recoverable(project, meta, info.get("original"),
                                 float(info.get("saved_at", project.stat().st_mtime))))
    return sorted(found, key=lambda r: -r.saved_at)


def _remove_stale_temp_files(folder: Path) -> None:
    """Delete half-written autosaves (".session-<pid>….tmp") of processes that are gone:
    a kill during an atomic write leaves its temp file, never a damaged autosave."""
    for tmp in folder.glob(".session-*.tmp"):
        try:
            pid = int(tmp.name.split("-", 1)[1].split(".", 1)[0])
        except (IndexError, ValueError):
            continue
        if not _alive(pid):
            try:
                tmp.unlink()
            except OSError:
                pass


class Autosaver(QObject):
    """Writes the document at an interval (and on demand) while it has unsaved work."""

    saved = Signal(str)
    failed = Signal(str)

    def __init__(self, doc: Document, interval_s: int = 60, folder: Path | None = None,
                 parent=None):
        super().__init__(parent)
        self.doc = doc
        self.folder = folder or autosave_dir()
        stem = f"session-{os.getpid()}"
        self.project_path = self.folder / f"{stem}.composer.json"
        self.meta_path = self.folder / f"{stem}.json"
        self._last_index = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.save_now)
        self.set_interval(interval_s)

    def set_interval(self, seconds: int) -> None:
        """Autosave every ``seconds``; 0 turns autosave off (timer and on-demand saves)."""
        self.enabled = bool(seconds and seconds > 0)
        if self.enabled:
            self.timer.start(int(seconds * 1000))
        else:
            self.timer.stop()

    def save_now(self, force: bool = False) -> bool:
        """Write the piece if it changed since the last autosave; True when written.

        With autosave off (interval 0) only ``force`` writes."""
        if not self.enabled and not force:
            return False
        state = (id(self.doc), self.doc.revision)
        if not force and (not self.doc.modified or state == self._last_index):
            if not self.doc.modified:
                self.remove()
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_project(self.doc.score(), self.project_path)
            info = {"pid": os.getpid(), "original": self.doc.path, "saved_at": time.time()}
            atomic_write_bytes(self.meta_path, json.dumps(info).encode())
        except (UserError, OSError) as exc:
            self.failed.emit(f"Autosave failed: {exc}")
            return False
        self._last_index = state
        self.saved.emit(str(self.project_path))
        return True

    def remove(self) -> None:
        """Forget the autosave (after a save or a clean exit)."""
        self._last_index = None
        for p in (self.project_path, self.meta_path):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove autosave %s: %s", p, exc)


def load_recoverable(item: Recoverable):
    """The autosaved score. Raises :class:`UserError` when it cannot be read."""
    return read_project(item.project)
