"""Fixtures shared by the window tests: a real MainWindow that never blocks.

Each window test file used to build its own; the rule lives here now. The window is
real (menus, roll, controllers); only what would block or need hardware is replaced:
the synth is never opened, every user-facing error is collected in ``w.warnings``
instead of a modal box, and "save changes?" answers Discard.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    """A factory: ``make_window(size=(w, h), record_play=False)`` -> a new MainWindow.

    All windows of one test share ``tmp_path/data`` (autosaves, recovery) and one
    settings file, as two runs of the app on one machine do. ``size`` shows the window
    at that size; ``record_play`` replaces playback by a list ``w.played`` of
    ``(score, start_tick)``.
    """
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from composer_app.ui.main_window import MainWindow
    from composer_app.ui.settings import Settings

    monkeypatch.setenv("COMPOSER_APP_DATA", str(tmp_path / "data"))

    def make(size: tuple[int, int] | None = None, record_play: bool = False):
        w = MainWindow(Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)))
        w.audio.ensure_open = lambda: None  # no synth in unit tests
        w.warnings = []
        w.warn = lambda title, text: w.warnings.append(text)
        w.files.ask_save = lambda: QMessageBox.Discard
        if record_play:
            w.played = []
            w.audio.play = lambda score, start_tick=0: w.played.append((score, start_tick))
        qtbot.addWidget(w)
        if size is not None:
            w.resize(*size)
            w.show()
            qtbot.waitExposed(w)
        return w

    return make


def run_under_xvfb(script: str, args: list[str], data_dir, screen: str = "1280x720"):
    """Run ``python -c script args`` under a real X server (Xvfb, on a display it picks),
    the app's data in ``data_dir``; the finished process. Skips when there is no Xvfb."""
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("Xvfb") is None:
        pytest.skip("no Xvfb: a real X server cannot be had here")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{screen}x24"],
                              pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        display = os.read(read, 16).decode().strip()
        env = dict(os.environ, DISPLAY=f":{display}", QT_QPA_PLATFORM="xcb",
                   COMPOSER_APP_DATA=str(data_dir))
        return subprocess.run([sys.executable, "-c", script, *args], env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        os.close(read)
        server.terminate()
        server.wait(10)
