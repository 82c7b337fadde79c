"""Model inference off the GUI thread.

The one place the UI reaches ``ml/``: a :class:`ModelWorker` (a ``QObject`` moved to a
``QThread``) imports torch and the models lazily on its first job, keeps them loaded,
and reports progress, results and failures through signals. The
:class:`GenerationController` lives in the GUI thread, owns the thread, refuses a
second request while one runs and cancels between sampling sweeps.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import traceback
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QThread, Signal, Slot

from composer_app.music import Score, UserError

log = logging.getLogger(__name__)

_job_ids = itertools.count(1)
_ENV_THREADS = os.environ.get("COMPOSER_APP_THREADS")  # as the user started the app


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
    threads: int = 0  # torch intra-op threads; 0 = the ml default (all cores but one)
    context: dict = field(default_factory=dict)  # what the window needs to use the result
    info: dict = field(default_factory=dict)  # filled by the worker: device used, times


class JobCancelled(Exception):
    """Raised inside the worker when the user pressed Cancel."""


def run_job(job: GenerationJob, progress, cancel) -> list[Score]:
    """Run ``job`` with the real models (called on the worker thread).

    Records in ``job.info`` the device it ran on ("cpu", "cuda", ...) and whether it
    fell back to the CPU after running out of GPU memory.
    """
    # The ml calls cap their threads from this variable on every call; 0 ("automatic")
    # restores whatever the user's environment said.
    if job.threads > 0:
        os.environ["COMPOSER_APP_THREADS"] = str(job.threads)
    elif _ENV_THREADS is None:
        os.environ.pop("COMPOSER_APP_THREADS", None)
    else:
        os.environ["COMPOSER_APP_THREADS"] = _ENV_THREADS
    preload_torch_libraries()
    from composer_app import ml
    from composer_app.ml.device import choose_device

    params = dict(job.params)
    if job.kind == "harmonize":
        call = ml.harmonize
    elif job.kind == "continue":
        call = ml.continue_melody
    else:
        raise UserError(f"unknown generation kind {job.kind!r}")
    notes: list[str] = []
    job.info["device"] = choose_device(params.get("device", "auto"), notes.append).type
    if notes:
        job.info["device_note"] = notes[-1]
    try:
        return call(job.score, progress=progress, cancel=cancel, **params)
    except Exception as exc:
        if _is_out_of_memory(exc) and job.info["device"] != "cpu":
            log.warning("GPU out of memory; retrying on the CPU")
            _free_gpu_memory()
            params["device"] = "cpu"
            job.info.update(device="cpu", device_note="the GPU ran out of memory; used the CPU")
            return call(job.score, progress=progress, cancel=cancel, **params)
        raise


_preloaded = False


def preload_torch_libraries() -> None:
    """Load torch's shared libraries without holding the GIL, before ``import torch``.

    ``import torch`` on this worker thread would otherwise hold the GIL while the
    dynamic loader maps and initialises libtorch (measured: 150-260 ms in one piece),
    freezing the GUI thread. ``dlopen`` called through ctypes runs with the GIL
    released, and the import then finds the libraries already loaded (GUI stall during
    the first use measured at about 30 ms). Linux only; best effort, any failure just
    leaves the work to ``import torch``.
    """
    global _preloaded
    if _preloaded or "torch" in sys.modules or not sys.platform.startswith("linux"):
        return
    _preloaded = True
    try:
        import ctypes
        import importlib.util

        spec = importlib.util.find_spec("torch")
        if spec is None or not spec.origin:
            return
        lib = os.path.join(os.path.dirname(spec.origin), "lib")
        libc = ctypes.CDLL(None)
        dlopen = libc.dlopen
        dlopen.restype = ctypes.c_void_p
        dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
        # As torch does: its global deps with RTLD_GLOBAL, libtorch itself kept local.
        for name, scope in (("libtorch_global_deps.so", os.RTLD_GLOBAL),
                            ("libtorch.so", os.RTLD_LOCAL),
                            ("libtorch_python.so", os.RTLD_LOCAL)):
            path = os.path.join(lib, name)
            if os.path.exists(path) and not dlopen(path.encode(), os.RTLD_NOW | scope):
                log.debug("preloading %s failed; import torch will load it", path)
    except Exception:  # never worse than a plain import
        log.debug("torch library preload skipped", exc_info=True)


def _free_gpu_memory() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # best effort only
        pass


def warm_up_models(device: str = "auto") -> str:
    """Import torch and load both models (on the worker thread, while the user works).

    ``import torch`` holds the GIL for ~0.1 s however it is done; paying that once
    shortly after start-up keeps it out of the first Continue/Reharmonize. Returns the
    device type the models run on ("cpu", "cuda", …), or "" when they could not load: a
    missing or broken model is reported by the request that needs it.
    """
    preload_torch_libraries()
    try:
        from composer_app.ml import continuer, harmonizer
        from composer_app.ml.device import choose_device

        harmonizer.load_model(device=device)
        continuer.load_continuer(device=device)
        return choose_device(device, lambda _msg: None).type
    except Exception:  # noqa: BLE001 - reported when a request needs the model
        log.info("model warm-up skipped", exc_info=True)
        return ""


def _is_cancel(exc: BaseException) -> bool:
    import sys

    ml = sys.modules.get("composer_app.ml")  # loaded on this thread by run_job
    return ml is not None and isinstance(exc, ml.GenerationCancelled)


def _is_out_of_memory(exc: BaseException) -> bool:
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


class ModelWorker(QObject):
    """Runs jobs on its own thread. Signals carry the job so stale results can be told apart."""

    progress = Signal(int, int)  # job id, percent
    finished = Signal(object, object)  # job, list[Score]
    failed = Signal(object, str)  # job, message for the user
    cancelled = Signal(object)  # job
    warmed = Signal(str)  # device type the preloaded models run on

    def __init__(self, runner=run_job) -> None:
        super().__init__()
        self._runner = runner
        self._cancel = threading.Event()

    def request_cancel(self) -> None:  # called from the GUI thread
        self._cancel.set()

    @Slot(str)
    def warm_up(self, device: str) -> None:
        if self._runner is run_job:  # only the real models are worth loading early
            loaded_on = warm_up_models(device)
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
    if _is_out_of_memory(exc):
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

    def __init__(self, parent: QObject | None = None, runner=run_job) -> None:
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
