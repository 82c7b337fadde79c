"""Faults in the app: a full or read-only disk on save keeps the work in memory."""

from __future__ import annotations

import errno

import pytest

pytest.importorskip("pytestqt")

from composer_app.music import (  # noqa: E402
    Note,
    Score,
    atomic,  # noqa: E402
    read_project,
    write_project,
)


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.mark.parametrize("err,needle", [(errno.ENOSPC, "disk is full"),
                                        (errno.EROFS, "read-only")])
def test_save_on_full_or_read_only_disk_keeps_the_work(window, tmp_path, monkeypatch, err, needle):
    path = tmp_path / "piece.composer.json"
    write_project(Score(notes=[Note(60, 0, 480)]), path)
    assert window.open_path(str(path), ask=False)
    from composer_app.ui import commands

    commands.insert_notes(window.doc, [Note(64, 480, 480), Note(67, 960, 480)], "draw")
    before = sorted(window.doc.notes.values(), key=lambda n: n.start)

    def failing_fsync(fd):
        raise OSError(err, "simulated")

    monkeypatch.setattr(atomic.os, "fsync", failing_fsync)
    assert window.save_to(str(path)) is False
    assert window.warnings and needle in window.warnings[-1]
    # The work is still in memory and still marked unsaved; the old file is intact.
    assert sorted(window.doc.notes.values(), key=lambda n: n.start) == before
    assert window.doc.modified
    assert [n.pitch for n in read_project(path).notes] == [60]

    monkeypatch.undo()  # the disk has space again: saving now works
    monkeypatch.setenv("COMPOSER_APP_DATA", str(tmp_path / "data"))
    assert window.save_to(str(path)) is True
    assert [n.pitch for n in read_project(path).notes] == [60, 64, 67]
    assert not window.doc.modified


def test_missing_model_file_leaves_editing_working(window, tmp_path, monkeypatch):
    """No model files at all: the editor still opens, edits, undoes and saves."""
    monkeypatch.setenv("COMPOSER_APP_MODELS", str(tmp_path / "no-models"))
    from composer_app.ui import commands

    commands.insert_notes(window.doc, [Note(60, 0, 480)], "draw")
    window.doc.undo_stack.undo()
    window.doc.undo_stack.redo()
    out = tmp_path / "still-works.composer.json"
    assert window.save_to(str(out))
    assert [n.pitch for n in read_project(out).notes] == [60]
