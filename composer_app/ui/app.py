"""Start the desktop app: ``run_app(path_or_None) -> exit code``."""

from __future__ import annotations

import json
import logging
import os
import sys
import time

log = logging.getLogger(__name__)


def display_problem() -> str | None:
    """Why Qt could not open a window here, or None.

    On Linux, Qt with neither a display nor ``QT_QPA_PLATFORM`` aborts the whole process,
    so we check first and say what to do."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    needs = {"xcb": ("DISPLAY",), "wayland": ("WAYLAND_DISPLAY",),
             "": ("DISPLAY", "WAYLAND_DISPLAY")}.get(platform, ())
    if not needs or any(os.environ.get(var) for var in needs):
        return None  # a display, or a platform that needs none (offscreen, vnc, …)
    return ("no display found (DISPLAY and WAYLAND_DISPLAY are unset). Run it inside a "
            "desktop session, or headless with `xvfb-run composer-app` or "
            "QT_QPA_PLATFORM=offscreen")


WARM_UP_DELAY_MS = 1500


def run_app(path: str | None = None, argv: list[str] | None = None) -> int:
    problem = display_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    app.setOrganizationName("composer-app")
    app.setApplicationName("composer-app")
    app.setApplicationDisplayName("Composer")
    window = MainWindow()
    if os.environ.get("COMPOSER_APP_EXIT_AFTER_SHOW"):
        # Used by the startup benchmark: report once the piano roll has painted, then quit.
        from PySide6.QtCore import QEvent, QObject

        class FirstPaint(QObject):
            def eventFilter(self, obj, event):  # noqa: N802
                if event.type() == QEvent.Paint:
                    obj.removeEventFilter(self)
                    QTimer.singleShot(0, report)
                return False

        def report():
            print(json.dumps({"shown_at": time.time(),
                              "torch_imported": "torch" in sys.modules}), flush=True)
            app.quit()
        painted = FirstPaint(app)
        window.roll.viewport().installEventFilter(painted)
        window.show()
        return app.exec()
    window.show()
    _report_unhandled_errors(window)

    def start():
        if path:
            window.open_path(path, ask=False)
        window.offer_recovery()  # replaces the opened file only if the user says so
    QTimer.singleShot(0, start)
    # Models load on the worker thread once the window is up, so the first Continue or
    # Reharmonize neither waits for them nor stalls the GUI on `import torch`.
    QTimer.singleShot(WARM_UP_DELAY_MS, window.generation.warm_up)
    code = app.exec()
    from .workers import wait_for_workers

    wait_for_workers()  # a model call that outlived the window ends before Python does
    return code


def _report_unhandled_errors(window) -> None:
    """A bug in a slot must not pass silently: log it and say so in the status bar."""
    previous = sys.excepthook

    def hook(etype, value, tb):
        log.error("unhandled error", exc_info=(etype, value, tb))
        try:
            window.statusBar().showMessage(
                f"Internal error: {etype.__name__}: {value} (your work is kept; see the log)",
                10000)
        except Exception:  # the window may be gone
            pass
        previous(etype, value, tb)

    sys.excepthook = hook
