"""Compute device choice and thread cap for inference and training."""

from __future__ import annotations

import logging
import time

from composer_app.music import UserError

log = logging.getLogger(__name__)

_threads_set = False


def cap_threads(threads: int) -> int:
    """Set torch's intra-op threads to ``threads`` (at least 1); inter-op to 1 once.

    The count is the caller's: a :class:`~composer_app.ml.runtime.Runtime` (the app, the
    CLI) or a training configuration.
    """
    global _threads_set
    import torch

    threads = max(1, int(threads))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    if not _threads_set:
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass  # already set once in this process
        _threads_set = True
    return threads


def choose_device(requested: str = "auto", notify=None):
    """Resolve "auto" | "cpu" | "cuda" | "mps" to a ``torch.device``.

    "auto" tries cuda, then mps, then cpu. Asking for a device that is not there falls
    back to the CPU and says so through ``notify`` (or the log).
    """
    import torch

    say = notify or log.warning
    requested = (requested or "auto").lower()
    if requested not in ("auto", "cpu", "cuda", "gpu", "mps"):
        raise UserError(f"unknown device {requested!r} (use auto, cpu, cuda or mps)")
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if requested == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if requested in ("cuda", "gpu"):
        if cuda:
            return torch.device("cuda")
        say("no CUDA GPU found; using the CPU")
        return torch.device("cpu")
    if requested == "mps":
        if mps:
            return torch.device("mps")
        say("Apple GPU (MPS) not available; using the CPU")
        return torch.device("cpu")
    return torch.device("cpu")


def describe_device(requested: str = "auto") -> str:
    """One line for ``composer-app devices``: the torch device the models would use.

    Never raises: no torch, or a broken GPU driver, is reported in the line.
    """
    try:
        import torch
    except ImportError:
        return "torch not installed"
    try:
        device = choose_device(requested, notify=lambda _msg: None)
    except Exception as exc:  # a broken CUDA install must not break the report
        return f"cpu (device probe failed: {exc})"
    return f"{device} (torch {torch.__version__})"


def matmul_gflops(size: int = 256, seconds: float = 0.3) -> float:
    """Single-thread float32 matmul rate of this CPU (GFLOP/s), at the model's scale."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        for _ in range(3):
            a @ b
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            a @ b
            n += 1
        return 2 * size**3 * n / (time.perf_counter() - t0) / 1e9
    finally:
        torch.set_num_threads(threads)
