"""The model runtime: one object that owns how and where the models run.

A :class:`Runtime` holds the compute device (as asked and as resolved), the torch
thread count, the models it has loaded, and the out-of-memory → CPU fallback. Whoever
runs models creates one and passes it in: the app's model worker owns one for the
session, each CLI command, evaluation and benchmark makes its own. Nothing is cached in
module globals and nothing travels through ``os.environ``.

Importing this module does not import torch (the GUI imports it); torch is loaded on
first use, on the thread that uses the runtime.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from composer_app.music import Score, UserError

log = logging.getLogger(__name__)

__all__ = ["Runtime", "default_threads", "preload_torch_libraries", "is_out_of_memory"]

KINDS = ("harmonize", "continue", "song", "section")


def default_threads() -> int:
    """Torch intra-op threads when the user chose none: all cores but one (at least 1).

    ``COMPOSER_APP_THREADS`` in the environment the program was started with overrides
    it (a user setting, read when a runtime is made; never written by the program).
    """
    env = os.environ.get("COMPOSER_APP_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, (os.cpu_count() or 2) - 1)


def is_out_of_memory(exc: BaseException) -> bool:
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


class Runtime:
    """Device, threads, loaded models and the GPU→CPU fallback, for one user of the models.

    ``device`` is "auto" | "cpu" | "cuda" | "mps"; ``threads`` 0 means
    :func:`default_threads`. A runtime is used from one thread at a time (the model
    worker's); loading is locked anyway so a warm-up and a request cannot load twice.
    """

    def __init__(self, device: str = "auto", threads: int = 0,
                 notify: Callable[[str], None] | None = None) -> None:
        self.requested = (device or "auto").lower()
        self.threads = int(threads) if threads and threads > 0 else default_threads()
        self.notify = notify or log.warning
        self._device = None  # torch.device, resolved on first use
        self._forced_cpu = False  # after a GPU ran out of memory
        self._models: dict[tuple, object] = {}
        self._lock = threading.Lock()
        self.note = ""  # the last thing worth telling the user about the device

    # -- configuration ------------------------------------------------------------------

    def configure(self, device: str | None = None, threads: int | None = None) -> None:
        """Change the device or thread count (the user's preferences); 0 threads = default.

        A new device drops the loaded models (they load again where asked) and clears an
        earlier out-of-memory fallback.
        """
        if device is not None and (device or "auto").lower() != self.requested:
            self.requested = (device or "auto").lower()
            self._device = None
            self._forced_cpu = False
            self.unload()
        if threads is not None:
            self.threads = int(threads) if threads > 0 else default_threads()

    @property
    def device(self):
        """The torch device models run on (resolving "auto" and absent GPUs once)."""
        if self._device is None:
            from .device import choose_device

            def say(message: str) -> None:
                self.note = message
                self.notify(message)

            self._device = choose_device("cpu" if self._forced_cpu else self.requested, say)
        return self._device

    @property
    def device_type(self) -> str:
        return self.device.type

    @property
    def resolved_device_type(self) -> str:
        """The device type if it has been resolved, else "" (never resolves, never raises)."""
        return self._device.type if self._device is not None else ""

    def apply_threads(self) -> int:
        """Set torch's intra-op thread count to this runtime's (CPU work only)."""
        from .device import cap_threads

        return cap_threads(self.threads)

    # -- models -------------------------------------------------------------------------

    def harmonizer(self, path: str | os.PathLike | None = None):
        """The harmonizer at ``path`` (default: the shipped weights) on this device."""
        from .harmonizer.checkpoint import default_model_path, load_model

        path = Path(path) if path is not None else default_model_path()
        return self._load("harmonizer", path, lambda: load_model(path, self.device.type))

    def continuer(self, path: str | os.PathLike | None = None):
        """The continuer at ``path`` (default: the shipped weights) on this device."""
        from .continuer import default_checkpoint, load_continuer

        path = Path(path) if path is not None else default_checkpoint()
        return self._load("continuer", path, lambda: load_continuer(path, self.device.type))

    def _load(self, kind: str, path: Path, load):
        try:
            st = path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None  # the loader says what is missing
        key = (kind, str(path.resolve()), stamp, str(self.device))
        with self._lock:
            model = self._models.get(key)
            if model is None:
                model = load()
                # One model of each kind is plenty: a retrained file replaces the old one.
                for k in [k for k in self._models if k[0] == kind]:
                    del self._models[k]
                self._models[key] = model
        return model

    def loaded(self) -> list[str]:
        """The kinds of model loaded now ("harmonizer", "continuer")."""
        with self._lock:
            return sorted({k[0] for k in self._models})

    def unload(self) -> None:
        with self._lock:
            self._models.clear()
        self._free_gpu_memory()

    def warm_up(self) -> str:
        """Import torch and load both shipped models now (the app does this after start-up).

        Returns the device type they run on, or "" when they could not load: a missing
        or broken model is reported by the request that needs it.
        """
        preload_torch_libraries()
        try:
            self.harmonizer()
            self.continuer()
            return self.device_type
        except Exception:  # noqa: BLE001 - reported when a request needs the model
            log.info("model warm-up skipped", exc_info=True)
            return ""

    # -- running ------------------------------------------------------------------------

    def run(self, kind: str, score: Score, progress=None, cancel=None, **params) -> list[Score]:
        """Run "harmonize", "continue", "song" or "section" on ``score``; a GPU out of
        memory retries on the CPU.

        ``params`` go to :func:`composer_app.ml.harmonize`,
        :func:`composer_app.ml.continue_melody`, :func:`composer_app.ml.song.song_form`
        (its one result as a list) or :func:`composer_app.ml.song.regenerate_section`.
        After a fallback the runtime stays on
        the CPU until :meth:`configure` is given another device; ``self.note`` says so.
        """
        if kind not in KINDS:
            raise UserError(f"unknown generation kind {kind!r}")
        preload_torch_libraries()
        params.pop("device", None)  # the runtime's device is the one in force
        call = self._call(kind)
        self.note = ""
        _ = self.device  # resolve now, so a "no GPU" note is not mistaken for a fallback
        try:
            return call(score, progress=progress, cancel=cancel, runtime=self, **params)
        except Exception as exc:
            if not is_out_of_memory(exc) or self.device.type == "cpu":
                raise
            log.warning("GPU out of memory; retrying on the CPU")
            self.fall_back_to_cpu()
            self.note = "the GPU ran out of memory; used the CPU"
            return call(score, progress=progress, cancel=cancel, runtime=self, **params)

    def fall_back_to_cpu(self) -> None:
        self._forced_cpu = True
        self._device = None
        self.unload()

    @staticmethod
    def _call(kind: str):
        if kind == "harmonize":
            from . import harmonizer

            return harmonizer.harmonize
        if kind in ("song", "section"):
            from . import song

            return song.song_list if kind == "song" else song.regenerate_section
        from . import continuer

        return continuer.continue_melody

    def _free_gpu_memory(self) -> None:
        torch = sys.modules.get("torch")
        if torch is None:
            return
        try:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # best effort only
            pass


_preloaded = False


def preload_torch_libraries() -> None:
    """Load torch's shared libraries without holding the GIL, before ``import torch``.

    ``import torch`` on the model worker's thread would otherwise hold the GIL while the
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
