"""Continue and Reharmonize in the editor: actions, the worker, ghost variations, accept.

One :class:`Generation` per main window. It builds a request from the selection
(:mod:`.proposals`), runs it on the model worker thread (:mod:`.workers`, created on
first use so torch is imported only then, and only on that thread); the results are
shown as ghost notes over the roll and accepted one at a time by its base class
:class:`~.variations.Variations`.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QProgressBar, QToolButton

from composer_app.music import Score, UserError

from . import proposals
from .generation_panel import GenerationPanel
from .variations import Variations
from .workers import GenerationController, GenerationJob

log = logging.getLogger(__name__)

VERBS = {"harmonize": "Reharmonizing", "continue": "Continuing",
         "song": "Writing the song", "section": "Regenerating the section"}
FAILED = {"harmonize": "Reharmonize failed", "continue": "Continue failed",
          "section": "Regenerate section failed"}


class Generation(Variations, QObject):
    """The generation feature of a :class:`MainWindow`."""

    resultsShown = Signal(int)  # variations on show (0: none)
    jobEnded = Signal(str)  # "finished", "failed" or "cancelled"

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.runner = None  # None: the real models; tests may set a runner before first use
        self._controller: GenerationController | None = None
        self._results: list[Score] = []
        self._job: GenerationJob | None = None  # the job whose results are on show
        self._index = 0
        self._models_used: set[str] = set()
        self._t_submit = 0.0
        self.last_result_s: float | None = None  # request to ghosts shown (bench)
        # Jobs whose outcome goes to someone else (the Song form dialog), by job id
        self._handlers: dict[int, object] = {}
        self._running_id: int | None = None
        self._make_actions()

    # -- construction ------------------------------------------------------------------

    def _make_actions(self) -> None:
        w = self.w

        def act(name, text, slot, keys, tip, button=None):
            a = QAction(text, w)
            if button:  # the panel's button shows this; the menu says it in words
                a.setIconText(button)
            a.setShortcuts([QKeySequence(k) for k in keys])
            shown = " / ".join(QKeySequence(k).toString(QKeySequence.NativeText) for k in keys)
            a.setToolTip(f"{tip} ({shown})" if keys else tip)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            w.addAction(a)
            setattr(w, f"act_{name}", a)  # picked up by named_actions (shortcut overrides)
            return a

        self.actions = {
            "continue": act("continue", "&Continue", self.continue_, ["Ctrl+Shift+C"],
                            "Continue the selection (or the notes before the playhead)"),
            "reharmonize": act("reharmonize", "&Reharmonize (Bach)", self.reharmonize,
                               ["Ctrl+Shift+H"],
                               "Write alto, tenor and bass under the selected melody, "
                               "keeping locked notes"),
            "previous": act("variation_previous", "&Previous Variation", lambda: self.step(-1),
                            ["Alt+Left"], "Previous variation", button="◀"),
            "next": act("variation_next", "&Next Variation", lambda: self.step(1), ["Alt+Right"],
                        "Next variation", button="▶"),
            "audition": act("variation_audition", "&Listen to Variation", self.audition, ["Alt+P"],
                            "Play the piece with this variation from the start of its span",
                            button="♪ Listen"),
            "accept": act("variation_accept", "Accept", self.accept, ["Ctrl+Return", "Ctrl+Enter"],
                          "Accept this variation (one undo step)"),
            "discard": act("variation_discard", "Discard all", self.discard, ["Ctrl+Backspace"],
                           "Discard all variations"),
            "cancel": act("generation_cancel", "Cancel", self.cancel, [],
                          "Stop the running generation; the piece stays as it is"),
            "song_form": act("song_form", "&Song Form…", self.song_form, ["Ctrl+Shift+F"],
                             "Write a whole song in a form (ABCBDB, AABA…) from your sketch"),
            "regenerate_section": act("regenerate_section", "Regenerate S&ection",
                                      self.regenerate_here, ["Ctrl+Shift+R"],
                                      "Write the section under the playhead (between its "
                                      "markers) anew, as variations"),
        }
        self._update_actions()

    def install(self) -> None:
        """Menu, toolbar buttons, the dock and the status-bar progress (after the
        window has made its own menus and toolbars)."""
        w = self.w
        a = self.actions
        menu = w.menuBar().addMenu("&Generate")
        w.menuBar().insertMenu(w.help_menu.menuAction(), menu)
        menu.addActions([a["continue"], a["reharmonize"]])
        menu.addSeparator()
        menu.addActions([a["song_form"], a["regenerate_section"]])
        menu.addSeparator()
        menu.addActions([a["previous"], a["next"], a["audition"], a["accept"], a["discard"]])
        menu.addSeparator()
        menu.addAction(a["cancel"])
        self.menu = menu
        w.main_toolbar.addSeparator()
        w.main_toolbar.addActions([a["continue"], a["reharmonize"]])

        self.panel = GenerationPanel(a, self.clip_source)
        self.panel.set_device(w.settings.get("compute/device"))
        self.panel.deviceChanged.connect(lambda v: w.settings.set("compute/device", v))
        self.panel.set_style(w.settings.get("generation/style"))
        self.panel.styleChanged.connect(lambda v: w.settings.set("generation/style", v))
        self.panel.drag.message.connect(lambda m: w.statusBar().showMessage(m, 4000))
        self.dock = w.add_panel(self.panel, "Generation")
        w.resizeDocks([self.dock], [330], Qt.Horizontal)

        bar = w.statusBar()
        self.busy_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setMaximumHeight(16)
        self.progress.setTextVisible(True)
        self.cancel_button = QToolButton()
        self.cancel_button.setDefaultAction(a["cancel"])
        for widget in (self.busy_label, self.progress, self.cancel_button):
            bar.addPermanentWidget(widget)
            widget.hide()

        self._key_timer = QTimer(self)
        self._key_timer.setSingleShot(True)
        self._key_timer.setInterval(150)
        self._key_timer.timeout.connect(self._update_detected_key)
        w.roll.selectionChanged.connect(self._key_timer.start)
        w.doc.notesChanged.connect(self._key_timer.start)
        w.doc.metaChanged.connect(self._key_timer.start)
        w.doc.loaded.connect(self._piece_replaced)
        w.roll.ruler.regenerate = self.regenerate_section
        w.destroyed.connect(lambda *_: self.shutdown())
        self._update_detected_key()

    @property
    def controller(self) -> GenerationController:
        if self._controller is None:  # the thread starts on first use
            c = GenerationController(self, runner=self.runner)
            c.started.connect(self._started)
            c.progress.connect(self._progress)
            c.finished.connect(self._finished)
            c.failed.connect(self._failed)
            c.cancelled.connect(self._cancelled)
            c.warmed.connect(lambda dev: self.panel.set_device_in_use(f"in use: {dev.upper()}"))
            self._controller = c
        return self._controller

    def warm_up(self) -> None:
        """Load the models in the background (the app calls this once after start-up)."""
        self.controller.warm_up(self.w.settings.get("compute/device") or "auto")

    @property
    def busy(self) -> bool:
        return self._controller is not None and self._controller.busy

    def shutdown(self) -> None:
        """Stop the worker thread (window closing); a later request starts a new one."""
        controller, self._controller = self._controller, None
        if controller is not None:
            try:
                controller.shutdown()
            except RuntimeError:  # its Qt objects already went with the window
                pass

    # -- requests ------------------------------------------------------------------------

    def _common(self) -> dict:
        p = self.panel
        return dict(variations=p.variations.value(), seed=p.seed_for_request(),
                    device=self.w.settings.get("compute/device") or "auto",
                    key=p.key_override())

    def reharmonize(self) -> bool:
        if self._refuse_if_busy():
            return False
        try:
            req = proposals.reharmonize_request(self.w.doc, self.w.roll.selection,
                                                **self._common())
        except UserError as exc:
            self.w.warn("Reharmonize", str(exc))
            return False
        return self._submit(req)

    def continue_(self) -> bool:
        if self._refuse_if_busy():
            return False
        p = self.panel
        try:
            req = proposals.continue_request(
                self.w.doc, self.w.roll.selection, self.w.roll.playhead, bars=p.bars.value(),
                temperature=p.temperature.value(), top_p=p.top_p.value(),
                style=p.continue_style(), **self._common())
        except UserError as exc:
            self.w.warn("Continue", str(exc))
            return False
        return self._submit(req)

    def song_form(self) -> None:
        """Generate > Song Form…: the dialog (it runs the job through :meth:`submit_job`)."""
        from .song_dialog import SongDialog

        old = getattr(self, "song_dialog", None)
        if old is not None and old.isVisible():  # already open (it may be running)
            old.raise_()
            return
        if old is not None:
            old.deleteLater()
        dialog = SongDialog(self.w, self)
        self.song_dialog = dialog
        dialog.open()

    def regenerate_here(self) -> bool:
        """Generate > Regenerate Section: the section under the playhead."""
        marker = proposals.section_at(self.w.doc, self.w.roll.playhead)
        if marker is None:
            self.w.warn("Regenerate section", "No section here: this piece has no marker at "
                         "or before the playhead. Generate > Song Form… writes sections as "
                         "markers; right-click the ruler > Add marker makes one.")
            return False
        return self.regenerate_section(marker)

    def regenerate_section(self, marker) -> bool:
        """The section ``marker`` starts, written anew: variations to step through and
        accept (one undo step), as Continue's."""
        if self._refuse_if_busy():
            return False
        p = self.panel
        try:
            req = proposals.section_request(self.w.doc, marker, variations=p.variations.value(),
                                            seed=p.seed_for_request(),
                                            device=self.w.settings.get("compute/device")
                                            or "auto", style=p.style.currentData())
        except UserError as exc:
            self.w.warn("Regenerate section", str(exc))
            return False
        return self._submit(req)

    def submit_job(self, req: proposals.Request, handler) -> bool:
        """Run ``req`` on the model worker with its outcome going to ``handler`` (its
        ``job_finished(job, results)``, ``job_failed(job, message)``,
        ``job_cancelled(job)`` and ``job_progress(percent)``) instead of the variations;
        False while another job runs."""
        if self.busy:
            return False
        self.discard(quiet=True)
        job = self._job_for(req)
        self._handlers[job.id] = handler
        self._t_submit = time.perf_counter()
        if not self.controller.submit(job):
            self._handlers.pop(job.id, None)
            return False
        return True

    def _job_for(self, req: proposals.Request) -> GenerationJob:
        return GenerationJob(req.kind, req.score, req.params, req.span,
                             threads=int(self.w.settings.get("compute/threads") or 0),
                             # The notes dict itself (not its id, which a new dict could
                             # reuse): another object means another piece was opened.
                             context=dict(req.context, notes_of=self.w.doc.notes))

    def _refuse_if_busy(self) -> bool:
        if self.busy:
            self.w.statusBar().showMessage(
                "A generation is already running: wait for it, or press Cancel first", 6000)
            return True
        return False

    def _submit(self, req: proposals.Request) -> bool:
        self.discard(quiet=True)
        job = self._job_for(req)
        self._t_submit = time.perf_counter()
        return self.controller.submit(job)

    def cancel(self) -> None:
        if self.busy:
            self.controller.cancel()
            self.busy_label.setText("Cancelling…")

    # -- worker signals --------------------------------------------------------------

    def _started(self, job: GenerationJob) -> None:
        self._running_id = job.id
        first = job.kind not in self._models_used
        self.busy_label.setText(f"{VERBS.get(job.kind, 'Generating')}"
                                f"{' (loading the model)' if first else ''}…")
        self.progress.setRange(0, 0)  # busy until the first sweep reports
        for widget in (self.busy_label, self.progress, self.cancel_button):
            widget.show()
        self._update_actions()

    def _progress(self, percent: int) -> None:
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 100)
        self.progress.setValue(max(0, min(100, percent)))
        handler = self._handlers.get(self._running_id)
        if handler is not None:
            handler.job_progress(percent)

    def _idle(self, outcome: str) -> None:
        for widget in (self.busy_label, self.progress, self.cancel_button):
            widget.hide()
        self._update_actions()
        self.jobEnded.emit(outcome)

    def _finished(self, job: GenerationJob, results: list[Score]) -> None:
        self._models_used.add(job.kind)
        handler = self._handlers.pop(job.id, None)
        if handler is not None:
            handler.job_finished(job, results)
            self._idle("finished")
            return
        device = job.info.get("device", "")
        if device:
            self.panel.set_device_in_use(f"in use: {device.upper()}")
        if job.info.get("device_note"):
            self.w.statusBar().showMessage(job.info["device_note"], 6000)
        if job.context.get("notes_of") is not self.w.doc.notes:
            self._idle("finished")
            self.w.statusBar().showMessage("Another piece was opened meanwhile; the "
                                           "generated variations were dropped", 6000)
            return
        self._job, self._results, self._index = job, list(results), 0
        self._show()
        self.last_result_s = time.perf_counter() - self._t_submit
        self._idle("finished")
        self.w.autosaver.save_now()
        n = len(results)
        note = job.info.get("device_note")  # e.g. "no CUDA GPU found; using the CPU"
        self.w.statusBar().showMessage(
            (f"{note[0].upper()}{note[1:]}. " if note else "")
            + f"{n} variation{'s' if n > 1 else ''} in {self.last_result_s:.1f} s — "
            "Alt+←/→ to step, Alt+P to listen, Ctrl+Enter to accept, Ctrl+Backspace to "
            "discard", 10000)

    def _failed(self, job: GenerationJob, message: str) -> None:
        handler = self._handlers.pop(job.id, None)
        if handler is not None:
            handler.job_failed(job, message)
            self._idle("failed")
            return
        self._idle("failed")
        title = FAILED.get(job.kind, "Generation failed")
        self.w.warn(title, f"{message}\n\nThe piece is unchanged.")

    def _cancelled(self, job: GenerationJob) -> None:
        handler = self._handlers.pop(job.id, None)
        if handler is not None:
            handler.job_cancelled(job)
            self._idle("cancelled")
            return
        self._idle("cancelled")
        self.w.statusBar().showMessage("Cancelled; the piece is unchanged", 5000)

    # -- small things ----------------------------------------------------------------

    def _update_actions(self) -> None:
        has = bool(self._results)
        for name in ("previous", "next", "audition", "accept", "discard"):
            self.actions[name].setEnabled(has)
        self.actions["previous"].setEnabled(len(self._results) > 1)
        self.actions["next"].setEnabled(len(self._results) > 1)
        self.actions["cancel"].setEnabled(self.busy)

    def _update_detected_key(self) -> None:
        try:
            key = proposals.detected_key(self.w.doc, self.w.roll.selection)
        except Exception:  # a key guess must never break editing
            log.exception("key detection failed")
            return
        self.panel.set_detected_key(key.long_name if self.w.doc.notes else "")
