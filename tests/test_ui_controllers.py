"""The main window's file and transport controllers through their public methods."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


from composer_app.music import Note, Score  # noqa: E402


@pytest.fixture
def window(make_window):
    w = make_window(record_play=True)
    return w


def test_transport_plays_a_source_and_keeps_the_loop_action_in_step(window):
    t = window.transport
    other = Score(notes=[Note(72, 0, 480)])
    t.play(lambda: other, 960)
    assert window.played[-1] == (other, 960) and t.timer.isActive()
    assert t.play_source() is other  # what edits during playback rebuild from
    t.stop()
    assert not t.timer.isActive()
    t.loop_changed(0, 1920)
    assert window.act_loop.isChecked() and window.audio.loop == (0, 1920)
    t.loop_changed(0, 0)
    assert not window.act_loop.isChecked() and window.audio.loop is None
    window.roll.set_playhead(1920 + 480)
    t.update_position()
    assert window.position_display.text().strip() == "2.2.000"


def test_file_controller_names_and_folders(window, tmp_path):
    files = window.files
    path = tmp_path / "songs" / "tune.mid"
    path.parent.mkdir()
    window.doc.load(Score(notes=[Note(60, 0, 480)]), str(path))
    assert files.suggest(".musicxml") == str(path.parent / "tune.musicxml")
    files.remember_dir(str(tmp_path / "elsewhere.mid"))
    assert files.dialog_dir(open_=True) == str(tmp_path)  # Open: the folder last used
    assert files.dialog_dir() == str(path.parent)  # Save, Export: beside the piece
    assert files.save_to(str(tmp_path / "tune.composer.json"))
    assert not window.doc.modified and files.settings.recent_files()[0].endswith(
        "tune.composer.json")
