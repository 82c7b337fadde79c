"""Files in the app: open/save/export round trips, clip drag, corrupt input, recovery."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from composer_app.music import (  # noqa: E402
    KeySignature,
    Note,
    Score,
    TempoChange,
    TimeSignature,
    Track,
    parse_key,
    read_midi,
    read_project,
    write_midi,
)


@pytest.fixture
def window(make_window):
    return make_window()


def chorale_like() -> Score:
    notes = []
    for voice, base in enumerate((72, 64, 57, 48)):
        for i in range(16):
            notes.append(Note(base + (i * 5 + voice) % 7, i * 480, 480 if i % 4 else 240,
                              60 + voice * 10, voice))
    return Score(notes=notes,
                 tracks=[Track(n, c, p) for n, c, p in (("Soprano", 0, 52), ("Alto", 1, 52),
                                                        ("Tenor", 2, 52), ("Bass", 3, 32))],
                 tempos=[TempoChange(0, 84.0)], time_signatures=[TimeSignature(0, 3, 4)],
                 key_signatures=[KeySignature(0, parse_key("G"))], title="test piece")


def test_open_save_open_keeps_every_note(window, tmp_path):
    src = tmp_path / "piece.mid"
    write_midi(chorale_like(), src)
    assert window.open_path(str(src))
    opened = window.doc.score()
    assert len(opened.notes) == 64
    assert window.windowTitle().startswith("piece.mid")
    window.doc.notes[next(iter(window.doc.notes))] = window.doc.notes[
        next(iter(window.doc.notes))].moved(locked=True)  # a flag only projects keep
    window.doc._index = None
    before = window.doc.score()
    project = tmp_path / "piece.composer.json"
    assert window.save_to(str(project))
    assert not window.isWindowModified()
    assert window.open_path(str(project))
    after = window.doc.score()
    assert after.notes == before.notes
    assert after.tracks == before.tracks
    assert after.time_signatures == before.time_signatures
    assert after.key == before.key and after.tempo_at(0) == pytest.approx(84.0, abs=1e-3)
    assert str(project.resolve()) in window.settings.recent_files()


def test_export_midi_reads_back_identically(window, tmp_path):
    window.doc.load(chorale_like())
    out = tmp_path / "export.mid"
    assert window.export_midi(str(out))
    back = read_midi(out)
    assert back.notes == window.doc.score().notes
    assert [t.name for t in back.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert back.tempo_at(0) == pytest.approx(84.0, abs=1e-3) and str(back.time_signature_at(0)) == "3/4"


def test_clip_drag_gives_a_real_midi_file_url(window):
    from composer_app.ui.clip_drag import clip_mime

    window.doc.load(chorale_like())
    roll = window.roll
    roll.set_active_track(1)
    roll.select_all()
    score, name = window.clip_source()
    mime = clip_mime(score, name)
    urls = mime.urls()
    assert len(urls) == 1 and urls[0].isLocalFile()
    path = urls[0].toLocalFile()
    assert path.endswith(".mid")
    clip = read_midi(path)
    assert len(clip.notes) == 16 and {n.track for n in clip.notes} == {0}
    assert clip.notes[0].start == 0
    roll.set_selection(set())
    whole, _ = window.clip_source()
    assert len(whole.notes) == 64


def test_corrupt_file_keeps_the_current_piece(window, tmp_path):
    window.doc.load(chorale_like())
    window.roll.select_all()
    window.roll.transpose(1)  # unsaved work
    before = window.doc.score().notes
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02garbage")
    assert not window.open_path(str(bad), ask=False)
    assert window.warnings and "broken.mid" in window.warnings[0]
    assert window.doc.score().notes == before
    assert window.isWindowModified()
    garbage_xml = tmp_path / "broken.musicxml"
    garbage_xml.write_text("<score-partwise><part>")
    assert not window.open_path(str(garbage_xml), ask=False)
    assert window.doc.score().notes == before


def test_unsaved_changes_ask_before_closing(window):
    window.doc.load(chorale_like())
    window.roll.select_all()
    window.roll.delete_selection()
    asked = []
    window.files.ask_save = lambda: asked.append(1) or QMessageBox.Cancel
    assert not window.close()
    assert asked and len(window.doc.notes) == 48  # still open, still edited
    window.files.ask_save = lambda: QMessageBox.Discard
    assert window.close()


def test_recovery_after_a_crash_restores_the_autosave(qtbot, tmp_path, monkeypatch, make_window):
    crashed = make_window()
    crashed.doc.load(chorale_like(), str(tmp_path / "song.mid"))
    crashed.roll.select_all()
    crashed.roll.transpose(2)
    assert crashed.autosaver.save_now()
    expected = crashed.doc.score().notes
    saved = read_project(crashed.autosaver.project_path)
    assert saved.notes == expected
    # Simulate a crash: the autosave names a process that no longer runs.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    meta = json.loads(crashed.autosaver.meta_path.read_text())
    meta["pid"] = dead.pid
    crashed.autosaver.meta_path.write_text(json.dumps(meta))
    crashed.autosaver.timer.stop()
    crashed.autosaver.project_path = tmp_path / "elsewhere.composer.json"  # keep its file
    crashed.autosaver.meta_path = tmp_path / "elsewhere.json"

    fresh = make_window()
    offered = []
    assert fresh.offer_recovery(ask=lambda item: offered.append(item) or True)
    assert offered and "song.mid" in offered[0].describe()
    assert fresh.doc.score().notes == expected
    assert fresh.isWindowModified()  # restored work still needs saving
    assert fresh.doc.path == str(tmp_path / "song.mid")
    # Declined or restored autosaves are not offered again.
    fresh.autosaver.remove()
    assert not make_window().offer_recovery(ask=lambda item: True)


def test_clean_close_leaves_no_autosave(window):
    window.doc.load(chorale_like())
    window.roll.select_all()
    window.roll.transpose(1)
    assert window.autosaver.save_now()
    assert window.autosaver.project_path.exists()
    window.close()
    assert not window.autosaver.project_path.exists()


def test_no_display_is_a_clear_error(monkeypatch, capsys):
    from composer_app.ui import app

    monkeypatch.setattr(app.sys, "platform", "linux")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert app.run_app(None) == 1
    err = capsys.readouterr().err
    assert "xvfb-run" in err and "QT_QPA_PLATFORM=offscreen" in err
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")  # asks for X11, but there is none
    assert app.run_app(None) == 1
    assert "no display found" in capsys.readouterr().err
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # needs no display
    assert app.display_problem() is None


def test_export_wav_runs_off_the_gui_thread(window, tmp_path, qtbot):
    pytest.importorskip("fluidsynth")
    from composer_app.audio.soundfont import find_soundfont

    if find_soundfont() is None:
        pytest.skip("no soundfont installed")
    window.doc.load(chorale_like())
    out = tmp_path / "piece.wav"
    messages = []
    window.files.wavDone.connect(messages.append)
    window.export_wav(str(out))
    qtbot.waitUntil(lambda: bool(messages), timeout=20000)
    assert "Exported audio" in messages[0], messages
    assert out.read_bytes()[:4] == b"RIFF"


def test_preferences_round_trip(window):
    from composer_app.ui.preferences import PreferencesDialog

    dlg = PreferencesDialog(window.settings, window)
    dlg.output.setCurrentIndex(2)  # no sound
    dlg.snap.setCurrentText("1/8T")
    dlg.autosave.setValue(30)
    dlg.device.setCurrentIndex(1)
    dlg.threads.setValue(2)
    dlg.save()
    s = window.settings
    assert (s.get("audio/output"), s.get("editor/snap"), s.get("autosave/interval_s"),
            s.get("compute/device"), s.get("compute/threads")) == ("none", "1/8T", 30, "cpu", 2)
    window.set_snap(s.get("editor/snap"))
    assert window.roll.snap == 160


def test_user_shortcut_overrides_come_from_qsettings(qtbot, tmp_path, monkeypatch, make_window):
    q = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    q.setValue("shortcuts/edit_quantize", "Ctrl+Alt+Q")
    q.setValue("shortcuts/tool_erase", "")
    q.sync()
    w = make_window()
    actions = w.named_actions()
    assert actions["edit_quantize"].shortcut().toString() == "Ctrl+Alt+Q"
    assert actions["tool_erase"].shortcut().isEmpty()
    assert actions["play"].shortcut().toString() == "Space"


def test_dragging_the_handle_offers_a_midi_file(window, monkeypatch):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    window.doc.load(chorale_like())
    handle = window.clip_handle
    dragged = []
    monkeypatch.setattr(handle, "start_drag", dragged.append)
    QTest.mousePress(handle, Qt.LeftButton, Qt.NoModifier, QPoint(5, 5))
    QTest.mouseMove(handle, QPoint(60, 5))
    assert len(dragged) == 1
    path = dragged[0].urls()[0].toLocalFile()
    assert read_midi(path).notes == window.doc.score().notes


def test_command_line_opens_the_window(tmp_path):
    import os

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", COMPOSER_APP_EXIT_AFTER_SHOW="1",
               COMPOSER_APP_DATA=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "composer_app"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["torch_imported"] is False


def test_missing_soundfont_is_a_status_message_and_editing_goes_on(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPOSER_APP_DATA", str(tmp_path / "data"))
    from composer_app.ui.main_window import MainWindow
    from composer_app.ui.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    settings.set("audio/output", "fluidsynth")
    settings.set("audio/soundfont", str(tmp_path / "missing.sf2"))
    w = MainWindow(settings)
    w.files.ask_save = lambda: QMessageBox.Discard
    qtbot.addWidget(w)
    w.roll.previewPitch.emit(60, 0)  # the first preview opens the synth off the GUI thread
    qtbot.waitUntil(lambda: w.audio.output is not None, timeout=10000)
    message = w.statusBar().currentMessage()
    assert "missing.sf2" in message or "soundfont" in message.lower(), message
    w.play_pause()  # plays silently, never raises
    w.stop()
    w.roll.select_all()
    from composer_app.ui import commands as cmd

    cmd.insert_notes(w.doc, [Note(60, 0, 480)])
    assert len(w.doc.notes) == 1
    w.audio.close()


def test_recovery_clears_half_written_autosaves_of_dead_sessions(tmp_path):
    from composer_app.ui.autosave import find_recoverable

    folder = tmp_path / "autosave"
    folder.mkdir()
    dead = folder / ".session-999999999.composer.json.x1y2.tmp"  # no such pid
    dead.write_text("{half")
    import os

    mine = folder / f".session-{os.getpid()}.composer.json.abcd.tmp"  # a write in progress
    mine.write_text("{")
    assert find_recoverable(folder) == []
    assert not dead.exists()
    assert mine.exists()


def test_preferences_changed_while_audio_opens_are_not_lost(qtbot, tmp_path):
    """Space starts opening FluidSynth; the user switches the output off meanwhile. The
    open under way used the old settings, so the link must open again with the new."""
    import threading

    from composer_app.audio.backends import SilentOutput
    from composer_app.ui.audio_link import AudioLink
    from composer_app.ui.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    settings.set("audio/output", "fluidsynth")
    link = AudioLink(settings)
    gate, seen = threading.Event(), []

    def slow_open(choice, port, soundfont, driver):
        seen.append(choice)
        if len(seen) == 1:
            gate.wait(5)  # loading a soundfont takes a while
        link._opened.emit(SilentOutput(), None, f"opened {choice}")

    link._open = slow_open
    messages = []
    link.message.connect(messages.append)
    link.ensure_open()
    settings.set("audio/output", "none")
    link.reopen()  # Preferences > OK while the first open is still running
    gate.set()
    qtbot.waitUntil(lambda: len(seen) == 2 and link.output is not None, timeout=5000)
    assert seen == ["fluidsynth", "none"]
    assert messages[-1] == "opened none"


def test_the_window_fits_the_screen_it_opens_on(qtbot, tmp_path, monkeypatch, make_window):
    """The default size (1400x860) and a size saved on a bigger screen both shrink to the
    available area, frame included (the offscreen screen here is 800x800)."""
    from PySide6.QtCore import QRect

    w = make_window()
    w.show()
    qtbot.waitExposed(w)
    avail = w.screen().availableGeometry()
    assert avail.width() < 1400 or avail.height() < 860, "the test needs a small screen"
    qtbot.waitUntil(lambda: avail.contains(w.frameGeometry()), timeout=2000)
    w.setGeometry(QRect(500, 300, 2400, 1500))  # as if saved on a big monitor
    w.close()
    again = make_window()
    again.show()
    qtbot.waitExposed(again)
    qtbot.waitUntil(lambda: avail.contains(again.frameGeometry()), timeout=2000)
    assert again.statusBar().isVisible()
    assert again.rect().contains(again.statusBar().geometry())


def test_panels_hide_from_the_view_menu_and_the_layout_comes_back(qtbot, tmp_path, monkeypatch, make_window):
    w = make_window()
    w.show()
    qtbot.waitExposed(w)
    toggles = {a.text(): a for a in w.view_menu.actions()}
    for name in ("Voices", "Generation", "Harmony checker", "Score", "Main", "Transport",
                 "Show &Lane Under the Notes"):
        assert name in toggles, sorted(toggles)
    width = w.roll.viewport().width()
    toggles["Voices"].trigger()
    toggles["Generation"].trigger()
    toggles["Harmony checker"].trigger()  # the right-hand dock's other tab
    toggles["Show &Lane Under the Notes"].trigger()
    assert not w.tracks_dock.isVisible() and not w.generation.dock.isVisible()
    assert not w.score.checker_dock.isVisible()
    assert not w.roll.velocity_lane.isVisible()
    assert w.roll.keyboard.height() == w.roll.viewport().height()  # the keys fill the gap
    qtbot.waitUntil(lambda: w.roll.viewport().width() > width + 300, timeout=2000)
    w.close()
    again = make_window()
    again.show()
    qtbot.waitExposed(again)
    assert not again.tracks_dock.isVisible() and not again.generation.dock.isVisible()
    assert not again.score.checker_dock.isVisible() and again.score.dock.isVisible()
    assert not again.roll.velocity_lane.isVisible() and not again.act_velocity_lane.isChecked()
    assert again.main_toolbar.isVisible()


def test_file_dialogs_start_in_the_folder_last_used(qtbot, tmp_path, monkeypatch, make_window):
    """A new piece exported to a folder: the next dialogs (export, open, and in the next
    session) start there, not in the home folder."""
    from PySide6.QtWidgets import QFileDialog

    folder = tmp_path / "songs"
    folder.mkdir()
    starts = []
    answers = [str(folder / "tune.mid"), "", "", ""]

    def open_dialog(parent, title, start, filters):
        starts.append(start)
        return "", ""

    def save_dialog(parent, title, start, filters):
        starts.append(str(Path(start).parent))
        return answers.pop(0), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(open_dialog))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_dialog))
    window = make_window()
    window.doc.load(chorale_like())
    assert window.export_midi()
    assert (folder / "tune.mid").is_file()
    window.export_musicxml()
    window.file_open()
    window.close()
    again = make_window()
    again.file_open()
    assert starts[1:] == [str(folder.resolve())] * 3, starts


def test_silent_play_says_so_every_time_and_preferences_show_it(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPOSER_APP_DATA", str(tmp_path / "data"))
    from composer_app.ui.main_window import MainWindow
    from composer_app.ui.preferences import PreferencesDialog
    from composer_app.ui.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    settings.set("audio/output", "none")
    w = MainWindow(settings)
    w.files.ask_save = lambda: QMessageBox.Discard
    qtbot.addWidget(w)
    w.doc.load(Score(notes=[Note(60, 0, 480)]))
    bar = w.statusBar()
    for _ in range(3):  # the first Play opens the output; every one says it is silent
        bar.clearMessage()
        w.play_pause()
        qtbot.waitUntil(lambda: "No sound" in bar.currentMessage(), timeout=10000)
        assert "Preferences" in bar.currentMessage()
        w.stop()
    shown = []

    def look(dialog):
        shown.append(dialog.audio_state.text())
        return 0

    monkeypatch.setattr(PreferencesDialog, "exec", look)
    w.preferences()
    assert shown and shown[0].startswith("no sound"), shown
    w.audio.close()


def test_what_a_format_cannot_hold_and_a_damaged_file_reach_the_user(window, tmp_path):
    """Issue 13: the line a save, an export or a read says is shown in the app too."""
    from composer_app.music.score import SUSTAIN, ChannelEvent

    score = chorale_like()
    score.channel_events = [ChannelEvent(0, 0, "control", SUSTAIN, 127),
                            ChannelEvent(960, 0, "control", SUSTAIN, 0)]
    window.doc.load(score)
    assert window.export_musicxml(str(tmp_path / "x.musicxml"))
    message = window.statusBar().currentMessage()
    assert message.startswith("Exported ") and "not written 2 sustain pedal events" in message
    good = tmp_path / "good.mid"
    write_midi(score, good)
    data = good.read_bytes()
    damaged = tmp_path / "damaged.mid"
    damaged.write_bytes(data[: len(data) - 40])
    assert window.open_path(str(damaged), ask=False)
    assert window.warnings and "damaged file, opened with repairs" in window.warnings[-1]
    assert "cut short" in window.statusBar().currentMessage()


X11_FIRST_START = r"""
import sys
from PySide6.QtCore import QSettings
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from composer_app.ui.main_window import MainWindow
from composer_app.ui.settings import Settings

app = QApplication([])
w = MainWindow(Settings(QSettings(sys.argv[1], QSettings.IniFormat)))
w.audio.ensure_open = lambda: None
w.show()
QTest.qWaitForWindowExposed(w, 5000)
for _ in range(20):
    QTest.qWait(50)
print("window", w.width(), "roll", w.roll.viewport().width(),
      "tabbed", bool(w.tabifiedDockWidgets(w.tracks_dock)))
"""


@pytest.mark.parametrize("screen", ["1600x1000", "1920x1080"])
def test_a_first_start_gives_the_roll_most_of_the_width(tmp_path, screen):
    """On a 1600 or 1920 px screen the window opened at 1400 px with Voices and Generation
    side by side: the roll had about 600 px, three bars. It opens in proportion to the
    screen, and where the window is too narrow for both panels they share a tab."""
    from .conftest import run_under_xvfb

    out = run_under_xvfb(X11_FIRST_START, [str(tmp_path / "s.ini")], tmp_path / "data", screen)
    assert out.returncode == 0, out.stdout + out.stderr
    words = out.stdout.split()
    window, roll = int(words[words.index("window") + 1]), int(words[words.index("roll") + 1])
    assert window <= int(screen.split("x")[0])
    assert roll >= 0.6 * window, out.stdout


def test_a_chorale_opens_with_its_soprano_in_view_on_a_small_screen(make_window, tmp_path):
    """Opening four voices that span more rows than the roll shows centred the range and
    cut the soprano (the voice being edited) off at the top."""
    from composer_app.music import Note, Score, Track
    from composer_app.music.project import write_project

    voices = [(72, 79), (62, 69), (55, 62), (43, 50)]  # soprano ... bass, 3 octaves
    notes = [Note(lo + (i * 3) % (hi - lo + 1), i * 480, 480, 80, t)
             for t, (lo, hi) in enumerate(voices) for i in range(16)]
    path = tmp_path / "chorale.composer.json"
    write_project(Score(notes=notes, tracks=[Track(n, c) for c, n in
                                             enumerate(["Soprano", "Alto", "Tenor", "Bass"])]),
                  path)
    w = make_window(size=(1280, 720))
    roll = w.roll
    assert (79 - 43 + 1) * roll.key_h > roll.viewport().height()  # does not fit
    w.open_path(str(path))
    height = roll.viewport().height()
    for n in w.doc.notes.values():
        if n.track == roll.active_track == 0:
            assert 0 <= roll.y_of(n.pitch) and roll.y_of(n.pitch) + roll.key_h <= height, n
