"""New, open, save, export, recent files and recovery, with their dialogs.

One :class:`FileController` per main window. Dialogs start in the folder last used in
any file dialog (see :meth:`FileController.dialog_dir`); every user-facing error goes
through the window's ``warn`` (the one place tests replace, Generation's too), the
question before dropping unsaved work through :meth:`FileController.ask_save`.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QMessageBox, QProgressDialog

from composer_app.music import (
    Cancelled,
    Score,
    UserError,
    load_score,
    save_score,
    write_midi,
    write_musicxml,
)
from composer_app.music.files import READ_SUFFIXES, file_kind
from composer_app.music.project import PROJECT_SUFFIX

from .autosave import Recoverable, find_recoverable, load_recoverable

log = logging.getLogger(__name__)

APP_TITLE = "Composer"
OPEN_FILTER = ("Scores (*.mid *.midi *.musicxml *.xml *.mxl *.abc *.composer.json);;"
               "MIDI (*.mid *.midi);;MusicXML (*.musicxml *.xml *.mxl);;ABC (*.abc);;"
               f"Projects (*{PROJECT_SUFFIX});;All files (*)")


class _Reading(QObject):
    """One file being read on a thread (:meth:`FileController._read`): its progress
    and its end reach the GUI thread as queued signals; Cancel sets ``cancelled``, which
    the reader sees at its next progress report (and stops; its result is dropped)."""

    progressed = Signal(int, str)  # per mille read, what is being done
    ended = Signal()

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.score: Score | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.cancelled = threading.Event()
        self.dialog: QProgressDialog | None = None

    @Slot(int, str)
    def show(self, per_mille: int, what: str) -> None:
        dialog = self.dialog
        if dialog is None or self.cancelled.is_set():
            return
        if per_mille > 0 and dialog.maximum() == 0:
            dialog.setRange(0, 1000)  # a reader that can say how far it is
        if dialog.maximum():
            dialog.setValue(per_mille)
        dialog.setLabelText(f"Reading {Path(self.path).name}\n{what}…")

    @Slot()
    def cancel(self) -> None:
        self.cancelled.set()


class FileController(QObject):
    wavDone = Signal(str)  # the WAV render's outcome, from its thread

    def __init__(self, window, doc, settings, autosaver, roll, transport):
        super().__init__(window)
        self.window = window  # dialogs' parent, its status bar and warn
        self.doc, self.settings, self.autosaver = doc, settings, autosaver
        self.roll, self.transport = roll, transport
        self.reading: _Reading | None = None  # the file being opened, while it is read
        self.wavDone.connect(lambda m: self._status(m, 8000))

    def _status(self, text: str, ms: int = 0) -> None:
        self.window.statusBar().showMessage(text, ms)

    def warn(self, title: str, text: str) -> None:
        self.window.warn(title, text)

    # -- unsaved work -----------------------------------------------------------------

    def ask_save(self) -> QMessageBox.StandardButton:
        return QMessageBox.question(
            self.window, APP_TITLE, f"Save changes to {self.doc.display_name}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current piece."""
        if not self.doc.modified:
            return True
        answer = self.ask_save()
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    # -- new, open --------------------------------------------------------------------

    def new(self) -> None:
        if self.maybe_save():
            self.transport.stop()
            self.doc.load(Score())
            self.autosaver.remove()
            self.fresh_view()

    def fresh_view(self) -> None:
        """A piece just replaced the old one (New, Open): nothing selected, no loop, the
        playhead (and its display) at the start, the view at the start of the notes."""
        roll = self.roll
        roll.set_selection(set())
        roll.set_loop(0, 0)
        self.transport.loop_changed(0, 0)
        roll.set_playhead(0)
        self.transport.update_position()
        roll.center_on_notes()
        roll.horizontalScrollBar().setValue(0)

    def open(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self.window, "Open", self.dialog_dir(open_=True),
                                              OPEN_FILTER)
        if path:
            self.remember_dir(path)
            self.open_path(path, ask=False)

    def choose_tune(self, path: str, tunes) -> int | None:
        """The X: number of the tune to open from an ABC book, or None (cancelled)."""
        from .tune_chooser import choose_tune

        return choose_tune(self.window, Path(path).name, tunes)

    def _tune_of(self, path: str) -> tuple[bool, int | None]:
        """(go on, tune) for ``path``: an ABC book of several tunes asks which one."""
        if file_kind(path) != "abc":
            return True, None
        from composer_app.music.abc import abc_tunes

        try:
            tunes = abc_tunes(path)
        except UserError as exc:
            self.warn("Cannot open file", str(exc))
            return False, None
        except Exception as exc:  # e.g. a folder named .abc: said, the piece stays
            log.exception("listing the tunes of %s failed", path)
            self.warn("Cannot open file", f"{path}: not readable ({type(exc).__name__}: {exc})")
            return False, None
        if len(tunes) == 1:
            return True, tunes[0].number
        tune = self.choose_tune(path, tunes)
        if tune is None:
            self._status("Open cancelled; the piece is unchanged", 4000)
            return False, None
        return True, tune

    def open_path(self, path: str, ask: bool = True) -> bool:
        """Open ``path``; on failure show why and keep the current piece. An ABC book of
        several tunes asks which tune (:meth:`choose_tune`)."""
        if ask and not self.maybe_save():
            return False
        go, tune = self._tune_of(path)
        if not go:
            return False
        if self.reading is not None:  # Open again while a file is being read
            self._status(f"Still reading {Path(self.reading.path).name}", 4000)
            return False
        said: list[str] = []
        QApplication.setOverrideCursor(Qt.BusyCursor)
        try:
            reading = self._read(path, tune, said,
                                 unfold=bool(self.settings.get("files/unfold_repeats")))
        finally:
            QApplication.restoreOverrideCursor()
        if reading.cancelled.is_set():
            self._status("Open cancelled; the piece is unchanged", 4000)
            return False
        exc = reading.error
        if isinstance(exc, UserError):
            self.warn("Cannot open file", str(exc))
            return False
        if exc is not None or reading.score is None:  # a reader bug: the piece stays
            log.error("reading %s failed", path, exc_info=exc)
            self.warn("Cannot open file", f"{path}: not readable ({type(exc).__name__}: {exc})")
            return False
        score = reading.score
        self.transport.stop()
        self.doc.load(score, str(Path(path).resolve()))
        self.autosaver.remove()
        self.settings.add_recent(str(Path(path).resolve()))
        self.fresh_view()
        what = f", tune X:{tune} {score.title}" if tune is not None else ""
        self._tell(f"Opened {path}{what} ({len(score.notes)} notes)", said, path)
        damage = [line for line in said if "damaged file" in line]
        if damage:  # what was read may not be what was written: say so where it is seen
            self.warn("Opened with repairs", damage[0])
        return True

    def _read(self, path: str, tune: int | None, said: list[str], unfold: bool = True
              ) -> _Reading:
        """Read ``path`` on a thread while the window goes on painting; a progress
        dialog with Cancel shows when it takes longer than a moment (a large MusicXML
        or MIDI). Returns the finished (or cancelled) :class:`_Reading`; the open piece
        is untouched until the caller loads its score. While it runs, :attr:`reading`
        is it (its ``dialog`` the progress dialog)."""
        reading = _Reading(path)
        dialog = QProgressDialog(f"Reading {Path(path).name}\n…", "Cancel", 0, 0, self.window)
        dialog.setWindowTitle("Open")
        # Wide enough for the lines to come, so that Cancel does not move as they change.
        dialog.setMinimumWidth(dialog.fontMetrics().horizontalAdvance(
            f"Reading {Path(path).name}  parsed 10,000 of 10,000 measures…") + 40)
        dialog.setWindowModality(Qt.WindowModal)
        dialog.setMinimumDuration(400)
        dialog.setAutoReset(False)
        dialog.setAutoClose(False)
        reading.dialog = dialog
        reading.progressed.connect(reading.show)
        loop = QEventLoop()
        reading.ended.connect(loop.quit)
        dialog.canceled.connect(reading.cancel)
        dialog.canceled.connect(loop.quit)

        def tell(fraction: float, what: str) -> None:  # on the reading thread
            if reading.cancelled.is_set():
                raise Cancelled()
            reading.progressed.emit(int(1000 * min(max(fraction, 0.0), 1.0)), what)

        def work() -> None:
            try:
                reading.score = load_score(path, tune=tune, notes=said, unfold=unfold,
                                           progress=tell)
            except Cancelled:
                pass
            except BaseException as exc:  # told to the user by open_path
                reading.error = exc
            finally:
                reading.done.set()
                reading.ended.emit()

        self.reading = reading
        try:
            threading.Thread(target=work, name="open-file", daemon=True).start()
            if not reading.done.is_set():
                loop.exec()
        finally:
            self.reading = None
            reading.dialog = None
            dialog.hide()  # not close(): a closed QProgressDialog says "canceled"
            dialog.deleteLater()
        return reading

    def _tell(self, done: str, notes: list[str], path: str) -> None:
        """``done`` in the status bar, with what the reader or writer said (one line
        each: a repair, a tempo clamped, what a format does not hold) kept there longer;
        the file's name, which starts each line, is said once."""
        for line in notes:
            log.info("%s", line)
        if notes:
            prefix = f"{Path(path).name}: "
            said = [line[len(prefix):] if line.startswith(prefix) else line for line in notes]
            self._status(f"{done}: " + " · ".join(said), 20000)
        else:
            self._status(done, 4000)

    def fill_recent(self, menu: QMenu) -> None:
        menu.clear()
        files = self.settings.recent_files()
        for path in files:
            a = menu.addAction(path)
            a.triggered.connect(lambda _=False, p=path: self.open_path(p))
        if files:
            menu.addSeparator()
            menu.addAction("Clear", self.settings.clear_recent)
        else:
            menu.addAction("(none)").setEnabled(False)

    # -- save -------------------------------------------------------------------------

    def save(self) -> bool:
        path = self.doc.path
        if path and path.endswith(PROJECT_SUFFIX):
            return self.save_to(path)
        return self.save_as()

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save As", self.suggest(PROJECT_SUFFIX),
                                              f"Projects (*{PROJECT_SUFFIX})")
        if not path:
            return False
        self.remember_dir(path)
        if not path.endswith(PROJECT_SUFFIX):
            path = str(Path(path).with_suffix("")) + PROJECT_SUFFIX
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        try:
            said = save_score(self.doc.score(), path)
        except UserError as exc:
            self.warn("Cannot save", str(exc))
            return False
        self.doc.set_path(str(Path(path).resolve()))
        self.doc.undo_stack.setClean()
        self.autosaver.remove()
        self.settings.add_recent(self.doc.path)
        self._tell(f"Saved {path}", said, path)
        return True

    # -- dialogs' folder and names ----------------------------------------------------

    def suggest(self, suffix: str) -> str:
        """A path for a Save or Export dialog: the piece's name with ``suffix``."""
        name = self.doc.display_name
        for s in dict.fromkeys((PROJECT_SUFFIX, *READ_SUFFIXES)):  # the project's first
            if name.lower().endswith(s):
                name = name[: -len(s)]
        return str(Path(self.dialog_dir()) / (name + suffix))

    def dialog_dir(self, open_: bool = False) -> str:
        """Where a file dialog starts: Open in the folder last used in any file dialog;
        Save and Export beside the open piece, else in that folder too. (The home folder
        only when none was ever used and no piece is open.)"""
        last = str(self.settings.q.value("files/last_dir") or "")
        if last and not Path(last).is_dir():
            last = ""
        if self.doc.path and not open_:
            return str(Path(self.doc.path).parent)
        if last:
            return last
        if self.doc.path:
            return str(Path(self.doc.path).parent)
        recent = self.settings.recent_files()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def remember_dir(self, path: str) -> None:
        self.settings.set("files/last_dir", str(Path(path).resolve().parent))

    # -- export -----------------------------------------------------------------------

    def _export_path(self, path: str | None, title: str, suffix: str, kind: str) -> str:
        path = path or QFileDialog.getSaveFileName(self.window, title, self.suggest(suffix),
                                                   f"{kind} (*{suffix})")[0]
        if path:
            self.remember_dir(path)
        return path

    def export_midi(self, path: str | None = None) -> bool:
        path = self._export_path(path, "Export MIDI", ".mid", "MIDI")
        return bool(path) and self._export(lambda: write_midi(self.doc.score(), path) or [],
                                           path)

    def export_musicxml(self, path: str | None = None) -> bool:
        path = self._export_path(path, "Export MusicXML", ".musicxml", "MusicXML")
        return bool(path) and self._export(lambda: write_musicxml(self.doc.score(), path), path)

    def _export(self, write, path: str) -> bool:
        """``write()`` returns what the user should know (MusicXML: what it quantized and
        what it does not hold), shown with the status."""
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            said = write()
        except UserError as exc:
            self.warn("Cannot export", str(exc))
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self._tell(f"Exported {path}", said, path)
        return True

    def export_wav(self, path: str | None = None) -> None:
        """Render on a thread; :attr:`wavDone` says how it went."""
        path = self._export_path(path, "Export Audio", ".wav", "WAV audio")
        if not path:
            return
        score = self.doc.score()
        soundfont = self.settings.get("audio/soundfont") or None
        self._status(f"Rendering {path}…")

        def work():
            try:
                from composer_app.audio.render import render_to_wav

                summary = render_to_wav(score, path, soundfont=soundfont)
                self.wavDone.emit(f"Exported audio: {summary}")
            except ImportError:
                self.wavDone.emit("Audio export is not available in this build")
            except Exception as exc:  # UserError (no FluidSynth/soundfont) or a bug
                self.wavDone.emit(f"Audio export failed: {exc}")

        threading.Thread(target=work, name="render-wav", daemon=True).start()

    def clip_source(self) -> tuple[Score, str]:
        """What the drag handle drags: the selection, else the whole piece."""
        name = Path(self.suggest("")).name or "clip"
        if self.roll.selection:
            score = self.doc.score_of(self.roll.selection)
            first = min(n.start for n in score.notes)
            # Start the clip at the bar line before the selection, as DAWs expect.
            shift = self.doc.base.bar_start(self.doc.base.bar_of(first))
            score.notes = [n.moved(start=n.start - shift) for n in score.notes]
            return score, f"{name} selection"
        return self.doc.score(), name

    # -- recovery ---------------------------------------------------------------------

    def offer_recovery(self, ask=None) -> bool:
        """Offer the newest autosave left by a crashed session; True when restored."""
        items = find_recoverable(self.autosaver.folder)
        if not items:
            return False
        item = items[0]
        ask = ask or self.ask_restore
        if not ask(item):
            for it in items:
                it.discard()
            return False
        return self.restore(item, items)

    def ask_restore(self, item: Recoverable) -> bool:
        answer = QMessageBox.question(
            self.window, "Recover unsaved work",
            f"{APP_TITLE} did not close properly. Restore {item.describe()}?",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
        return answer == QMessageBox.Yes

    def restore(self, item: Recoverable, all_items=()) -> bool:
        try:
            score = load_recoverable(item)
        except UserError as exc:
            self.warn("Cannot restore", str(exc))
            return False
        self.doc.load(score, item.original)
        # Restored work is unsaved work: mark it modified with one undoable step.
        self.doc.undo_stack.resetClean()
        for it in (all_items or [item]):
            it.discard()
        self.autosaver.save_now(force=True)
        self.roll.center_on_notes()
        self._status(f"Restored {item.describe()}", 6000)
        return True
