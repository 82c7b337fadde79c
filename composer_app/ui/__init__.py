"""The desktop app (PySide6). Nothing outside ``ui/`` imports Qt."""

from __future__ import annotations

import sys


def _pin_none_refcount() -> None:
    """Work around a PySide6 6.12 binding bug on Python < 3.12 (pyproject pins < 6.12;
    this guards installs that bypass the pin).

    Every Qt method that returns ``None`` (``QPainter.fillRect``, ``QWidget.update``,
    ``QColor.setAlpha``, …) drops one reference to ``None`` that it never took: the
    wheels assume PEP 683's immortal ``None`` (3.12+). On 3.11 a few thousand such calls
    drive ``None``'s count to zero and the interpreter aborts with "none_dealloc:
    deallocating None". Measured here: -1 per call, a crash within seconds of painting.
    Giving ``None`` a huge count makes it effectively immortal, as 3.12 does.
    """
    if sys.version_info >= (3, 12):
        return
    import PySide6

    if tuple(int(x) for x in PySide6.__version__.split(".")[:2]) < (6, 12):
        return
    import ctypes

    count = ctypes.c_ssize_t.from_address(id(None))
    if count.value < 1 << 40:
        count.value += 1 << 60


_pin_none_refcount()
