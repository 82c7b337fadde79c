"""Opening a file reads it off the GUI thread, with a progress dialog and Cancel, and
keeps the open piece until the new one is read (issue 13, item 4).

The reader is the real one, slowed: its progress reports wait on a gate the test
opens, so the read is caught in the middle whatever the machine's speed.
"""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QPushButton  # noqa: E402

from composer_app.music import Note, Score, Track, write_midi, write_musicxml  # noqa: E402
from composer_app.ui import file_controller  # noqa: E402


@pytest.fixture
def window(make_window):
    return make_window(size=(1200, 800))


def _pieces(tmp_path):
    old = tmp_path / "old.mid"
    write_midi(Score(notes=[Note(60, 0, 480, 90, 0)], tracks=[Track("Piano")]), old)
    new = tmp_path / "new.musicxml"
    write_musicxml(Score(notes=[Note(62 + i, i * 480, 480, 80, 0) for i in range(8)],
                         tracks=[Track("Flute")]), new)
    return old, new


class SlowReader:
    """The real ``load_score``, whose progress reports (after the first) wait on
    :attr:`gate`; records the thread each reading runs on."""

    def __init__(self, monkeypatch):
        self.gate = threading.Event()
        self.threads: list[threading.Thread] = []
        real = file_controller.load_score

        def slow(path, tune=None, notes=None, progress=None, unfold=True):
            self.threads.append(threading.current_thread())
            reports = []

            def slowed(fraction, what):
                reports.append((fraction, what))
                progress(fraction, what)
                if len(reports) > 1:
                    self.gate.wait(30)

            return real(path, tune=tune, notes=notes, progress=slowed, unfold=unfold)

        monkeypatch.setattr(file_controller, "load_score", slow)


def _notes(window):
    return sorted((n.pitch, n.start) for n in window.doc.score().notes)


def test_open_reads_off_the_gui_thread_and_the_old_piece_stays_until_it_is_read(
        window, tmp_path, monkeypatch, qtbot):
    old, new = _pieces(tmp_path)
    reader = SlowReader(monkeypatch)
    reader.gate.set()
    assert window.open_path(str(old), ask=False)  # a MIDI goes the same way
    assert reader.threads[-1] is not threading.main_thread()
    reader.gate.clear()

    ticks = []
    timer = QTimer(window)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    seen = {}

    def during():
        reading = window.files.reading
        seen["reading"] = reading is not None
        seen["old piece"] = _notes(window)
        qtbot.waitUntil(lambda: reading.dialog.isVisible(), timeout=5000)
        seen["progress"] = (reading.dialog.maximum(), reading.dialog.value())
        seen["label"] = reading.dialog.labelText()
        seen["ticks"] = len(ticks)  # the GUI thread went on with its events
        reader.gate.set()

    QTimer.singleShot(50, during)
    assert window.open_path(str(new), ask=False)
    timer.stop()
    assert seen["reading"]
    assert seen["old piece"] == [(60, 0)]
    assert seen["ticks"] > 0
    assert seen["progress"][0] == 1000 and seen["progress"][1] > 0
    assert "new.musicxml" in seen["label"]
    assert reader.threads[-1] is not threading.main_thread()
    assert _notes(window) == [(62 + i, i * 480) for i in range(8)]
    assert window.files.reading is None
    assert not window.warnings


def test_cancel_keeps_the_old_piece_and_stops_the_reader(window, tmp_path, monkeypatch,
                                                         qtbot):
    old, new = _pieces(tmp_path)
    reader = SlowReader(monkeypatch)
    reader.gate.set()
    assert window.open_path(str(old), ask=False)
    reader.gate.clear()
    caught = {}

    def cancel():
        reading = caught["reading"] = window.files.reading
        qtbot.waitUntil(lambda: reading.dialog.isVisible(), timeout=5000)
        reading.dialog.findChild(QPushButton).click()  # Cancel

    QTimer.singleShot(50, cancel)
    assert not window.open_path(str(new), ask=False)
    assert _notes(window) == [(60, 0)]
    assert window.windowTitle().startswith("old.mid")
    assert "cancelled" in window.statusBar().currentMessage()
    reading = caught["reading"]
    reader.gate.set()  # the reader goes on to its next report and stops there
    qtbot.waitUntil(reading.done.is_set, timeout=10_000)
    assert reading.score is None and reading.error is None
    qtbot.wait(50)  # its end, queued to the GUI thread, changes nothing
    assert _notes(window) == [(60, 0)]
    assert not window.warnings
    # And the next Open works.
    assert window.open_path(str(new), ask=False)
    assert len(window.doc.score().notes) == 8


def test_a_failed_read_keeps_the_old_piece(window, tmp_path, monkeypatch):
    old, _ = _pieces(tmp_path)
    reader = SlowReader(monkeypatch)
    reader.gate.set()
    assert window.open_path(str(old), ask=False)
    bad = tmp_path / "bad.musicxml"
    bad.write_text("<score-partwise><part id='P1'><measure><note>")
    assert not window.open_path(str(bad), ask=False)
    assert reader.threads[-1] is not threading.main_thread()
    assert _notes(window) == [(60, 0)]
    assert len(window.warnings) == 1 and "bad.musicxml" in window.warnings[0]
