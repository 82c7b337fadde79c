"""Loading libfluidsynth through pyfluidsynth, and keeping native log noise quiet.

FluidSynth logs to stderr by default and ALSA's library prints its own complaints
("ALSA lib … cannot find card '0'") when no sound hardware exists. Both go to our
``logging`` at DEBUG instead, so the console stays clean.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
import threading

from .errors import AudioUnavailable

log = logging.getLogger("composer_app.audio.native")

_lock = threading.Lock()
_fluidsynth = None          # the pyfluidsynth module once loaded
_load_error: str | None = None
_keep_alive: list = []      # ctypes callbacks must outlive the C library's use of them

# FluidSynth log levels: 0 panic, 1 error, 2 warning, 3 info, 4 debug.
_FLUID_LEVELS = range(5)


def install_hint() -> str:
    """What to install to get libfluidsynth on this platform."""
    if sys.platform.startswith("linux"):
        return ("install FluidSynth: 'sudo apt install libfluidsynth3' (Debian/Ubuntu), "
                "'sudo dnf install fluidsynth-libs' (Fedora) or 'sudo pacman -S fluidsynth' (Arch)")
    if sys.platform == "darwin":
        return "install FluidSynth: 'brew install fluid-synth'"
    if sys.platform.startswith("win"):
        return ("install FluidSynth: download it from "
                "https://github.com/FluidSynth/fluidsynth/releases and put its bin folder on PATH")
    return "install the FluidSynth library (libfluidsynth)"


def silence_alsa() -> None:
    """Route alsa-lib's error printing to nowhere (Linux only; harmless elsewhere)."""
    if not sys.platform.startswith("linux") or any(k == "alsa" for k, _ in _keep_alive):
        return
    name = ctypes.util.find_library("asound") or "libasound.so.2"
    try:
        asound = ctypes.CDLL(name)
    except OSError:
        return
    # void handler(const char *file, int line, const char *func, int err, const char *fmt, ...)
    handler_t = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                 ctypes.c_int, ctypes.c_char_p)
    handler = handler_t(lambda *_args: None)
    try:
        asound.snd_lib_error_set_handler(handler)
    except AttributeError:
        return
    _keep_alive.append(("alsa", handler))


def _route_fluid_logs(module) -> None:
    fl = module._fl
    if not hasattr(fl, "fluid_set_log_function"):
        return
    log_fn_t = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)

    def _log(level, message, _data):
        try:
            log.debug("fluidsynth[%d]: %s", level, message.decode(errors="replace"))
        except Exception:  # never let an exception cross into C
            pass

    callback = log_fn_t(_log)
    fl.fluid_set_log_function.restype = ctypes.c_void_p
    fl.fluid_set_log_function.argtypes = [ctypes.c_int, log_fn_t, ctypes.c_void_p]
    for level in _FLUID_LEVELS:
        fl.fluid_set_log_function(level, callback, None)
    _keep_alive.append(("fluid", callback))


def load_fluidsynth():
    """Import pyfluidsynth (which loads libfluidsynth) once; raise AudioUnavailable if absent."""
    global _fluidsynth, _load_error
    with _lock:
        if _fluidsynth is not None:
            return _fluidsynth
        if _load_error is None:
            silence_alsa()
            try:
                import fluidsynth  # noqa: PLC0415  (heavy and optional: load on demand)
            except ImportError as exc:
                if "fluidsynth" in str(exc).lower() and "library" in str(exc).lower():
                    _load_error = f"the FluidSynth library was not found; {install_hint()}"
                else:
                    _load_error = ("the Python package pyfluidsynth is missing; "
                                   "install it with 'pip install pyfluidsynth'")
            except OSError as exc:  # library present but unloadable (wrong arch, …)
                _load_error = f"the FluidSynth library could not be loaded ({exc}); {install_hint()}"
            else:
                _route_fluid_logs(fluidsynth)
                _fluidsynth = fluidsynth
                return fluidsynth
        raise AudioUnavailable(_load_error)


def fluidsynth_version() -> str:
    fs = load_fluidsynth()
    major, minor, micro = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    fs._fl.fluid_version(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(micro))
    return f"{major.value}.{minor.value}.{micro.value}"


def library_path() -> str:
    fs = load_fluidsynth()
    return str(getattr(fs, "lib", "libfluidsynth"))


def compiled_audio_drivers(settings) -> list[str]:
    """Audio drivers this libfluidsynth build knows (not which ones can open)."""
    fl = load_fluidsynth()._fl
    concat = getattr(fl, "fluid_settings_option_concat", None)
    if concat is None:
        return []
    concat.restype = ctypes.c_void_p
    concat.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    ptr = concat(settings, b"audio.driver", b",")
    if not ptr:
        return []
    text = ctypes.cast(ptr, ctypes.c_char_p).value or b""
    free = getattr(fl, "fluid_free", None)
    if free is not None:
        free.argtypes = [ctypes.c_void_p]
        free(ptr)
    return [d for d in text.decode().split(",") if d]


def write_float(synth_ptr, out, start: int, frames: int) -> None:
    """Render ``frames`` stereo frames into rows ``start:start+frames`` of ``out``.

    ``out`` is a C-contiguous float32 numpy array of shape (n, 2); FluidSynth writes the
    left and right channels interleaved in place, without copies.
    """
    fl = load_fluidsynth()._fl
    fn = fl.fluid_synth_write_float
    if fn.argtypes is None:
        fn.restype = ctypes.c_int
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                       ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    base = out.ctypes.data + start * 8  # 2 channels × 4 bytes per frame
    fn(synth_ptr, frames, base, 0, 2, base, 1, 2)
