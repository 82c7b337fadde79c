"""Model inference off the GUI thread.

The one place the UI reaches ``ml/``: a :class:`ModelWorker` (a ``QObject`` moved to a
``QThread``) owns the session's :class:`~composer_app.ml.runtime.Runtime` (device,
threads, the loaded models, the GPU→CPU fallback), which imports torch and the models
lazily on the worker's first job or warm-up, and reports progress, results and failures
through signals. The
:class:`GenerationController` lives in the GUI thread, owns the thread, refuses a
second request while one runs and cancels between sampling sweeps.
"""

from __future__ import annotations

import functools
import itertools
import logging
import sys
import threading
import traceback
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QThread, Signal, Slot

from composer_app.ml import STYLES  # noqa: F401  (the panel's Style choices)
from composer_app.ml.runtime import Runtime, is_out_of_memory
from composer_app.music import Score, UserError

log = logging.getLogger(__name__)

_job_ids = itertools.count(1)


@dataclass
class GenerationJob:
    """One request: ``kind`` is "continue" or "harmonize"; ``params`` go to the ml call.

    ``span`` is the (start, end) tick range the result replaces or fills; the window
    uses it to audition and accept.
    """

    kind: str
    score: Score
    params: dict = field(default_factory=dict)
    span: tuple[int, int] = (0, 0)
    id: int = field(default_factory=lambda: next(_job_ids))
    threads: int = 0  # torch intra-op threads; 0 = the runtime's default (all cores but one)
    context: dict = field(default_factory=dict)  # what the window needs to use the result
    info: dict = field(default_factory=dict)  # filled by the worker: device used, times


def run_job(job: GenerationJob, progress, cancel, runtime: Runtime | None = None) -> list[Score]:
    """Run ``job`` with the real models on ``runtime`` (called on the worker thread).

    The job's device and thread preferences are applied to the runtime first; records
    in ``job.info`` the device it ran on ("cpu", "cuda", ...) and any note for the user
    (no GPU found, or the GPU ran out of memory and the CPU was used).
    """
    runtime = runtime or Runtime()
    params = dict(job.params)
    runtime.configure(device=params.pop("device", "auto"), threads=job.threads)
    try:
        return runtime.run(job.kind, job.score, progress=progress, cancel=cancel, **params)
    finally:
        job.info["device"] = runtime.resolved_device_type
        if runtime.note:
            job.info["device_note"] = runtime.note


def _is_cancel(exc: BaseException) -> bool:
    ml = sys.modules.get("composer_app.ml")  # loaded on this thread by the runtime
    return ml is not None and isinstance(exc, ml.GenerationCancelled)


class ModelWorker(QObject):
    """Runs jobs on its own thread. Signals carry the job so stale results can be told apart."""

    progress = Signal(int, int)  # job id, percent
    finished = Signal(object, object)  # job, list[Score]
    failed = Signal(object, str)  # job, message for the user
    cancelled = Signal(object)  # job
    warmed = Signal(str)  # device type the preloaded models run on

    def __init__(self, runner=None) -> None:
        super().__init__()
        self.runtime = Runtime()  # device, threads and the loaded models, for the session
        self._runner = runner or functools.partial(run_job, runtime=self.runtime)
        self._real = runner is None
        self._cancel = threading.Event()

    def request_cancel(self) -> None:  # called from the GUI thread
        self._cancel.set()

    @Slot(str)
    def warm_up(self, device: str) -> None:
        if self._real:  # only the real models are worth loading early
            self.runtime.configure(device=device)
            loaded_on = self.runtime.warm_up()
            if loaded_on:
                self.warmed.emit(loaded_on)

    def clear_cancel(self) -> None:  # called from the GUI thread before a job is queued
        self._cancel.clear()

    @Slot(object)
    def run(self, job: GenerationJob) -> None:
        # The flag is cleared when the job is submitted, not here: a Cancel pressed
        # before the thread picks the job up must still count.
        if self._cancel.is_set():
            self.cancelled.emit(job)
            return

        def progress(percent: int) -> None:
            self.progress.emit(job.id, int(percent))

        def cancel() -> bool:
            return self._cancel.is_set()

        try:
            results = self._runner(job, progress, cancel)
        except Exception as exc:  # everything is reported, nothing escapes the thread
            if self._cancel.is_set() or _is_cancel(exc):
                self.cancelled.emit(job)
            else:
                self.failed.emit(job, _message(exc))
                if not isinstance(exc, UserError):
                    log.error("generation failed:\n%s", traceback.format_exc())
            return
        if self._cancel.is_set():
            self.cancelled.emit(job)
        elif not results:
            self.failed.emit(job, "the model returned nothing")
        else:
            self.finished.emit(job, list(results))


def _message(exc: BaseException) -> str:
    if isinstance(exc, UserError):
        return str(exc)
    if is_out_of_memory(exc):
        return "out of memory while generating; try fewer variations or a shorter span"
    return f"generation failed: {type(exc).__name__}: {exc}"


_STILL_RUNNING: list[tuple[QThread, QObject]] = []  # workers that outlived their window


def wait_for_workers(timeout_ms: int = 30000) -> bool:
    """At exit: wait for worker threads that outlived their window; True when all ended."""
    done = True
    while _STILL_RUNNING:
        thread, _worker = _STILL_RUNNING.pop()
        done = thread.wait(timeout_ms) and done
    return done


class GenerationController(QObject):
    """GUI-side owner of the worker thread. One job at a time."""

    started = Signal(object)  # job
    progress = Signal(int)  # percent of the running job
    finished = Signal(object, object)  # job, list[Score]
    failed = Signal(object, str)
    cancelled = Signal(object)
    warmed = Signal(str)  # models preloaded; the device type they run on
    _submit = Signal(object)
    _warm = Signal(str)

    def __init__(self, parent: QObject | None = None, runner=None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("composer-app model worker")
        self._worker = ModelWorker(runner)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._warm.connect(self._worker.warm_up)
        self._worker.warmed.connect(self.warmed)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._thread.start()
        self._running: GenerationJob | None = None

    @property
    def runtime(self) -> Runtime:
        """The worker's runtime; used from the worker thread only (read-only elsewhere)."""
        return self._worker.runtime

    @property
    def busy(self) -> bool:
        return self._running is not None

    def submit(self, job: GenerationJob) -> bool:
        """Start ``job``; returns False (and starts nothing) while another job runs."""
        if self._running is not None:
            return False
        self._running = job
        self._worker.clear_cancel()
        self.started.emit(job)
        self._submit.emit(job)
        return True

    def warm_up(self, device: str = "auto") -> None:
        """Load torch and the models on the worker thread; a job submitted meanwhile waits."""
        self._warm.emit(device or "auto")

    def cancel(self) -> None:
        if self._running is not None:
            self._worker.request_cancel()

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Cancel and stop the thread (on window close).

        Work that checks no cancel flag (torch's own import, a first GPU start) can
        outlast ``wait_ms``; the thread is then kept alive past its window rather than
        destroyed while running (Qt aborts the process for that), and
        :func:`wait_for_workers` lets it finish at exit.
        """
        self.cancel()
        self._thread.quit()
        if not self._thread.wait(wait_ms):
            log.warning("the model worker is still busy; it will finish in the background")
            _STILL_RUNNING.append((self._thread, self._worker))

    def _take(self, job) -> bool:
        if self._running is None or job.id != self._running.id:
            return False
        self._running = None
        return True

    def _on_progress(self, job_id: int, percent: int) -> None:
        if self._running is not None and job_id == self._running.id:
            self.progress.emit(percent)

    def _on_finished(self, job, results) -> None:
        if self._take(job):
            self.finished.emit(job, results)

    def _on_failed(self, job, message: str) -> None:
        if self._take(job):
            self.failed.emit(job, message)

    def _on_cancelled(self, job) -> None:
        if self._take(job):
            self.cancelled.emit(job)
