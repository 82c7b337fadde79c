"""Piano-roll gestures end to end (ui/roll_gestures.py): cancelling, an undo under a
drag, double-click drawing, Ctrl and Shift with the select tool."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from composer_app.music import Note, Score, Track  # noqa: E402


@pytest.fixture
def roll(make_window):
    w = make_window(size=(1200, 800))
    w.roll.horizontalScrollBar().setValue(0)
    w.roll.center_on_pitch(60)
    return w.roll


def pos(roll, tick: float, pitch: int) -> QPoint:
    return QPoint(int(roll.x_of(tick)) + 1, int(roll.y_of(pitch) + roll.key_h / 2))


def load(roll, notes):
    roll.doc.load(Score(notes=list(notes), tracks=[Track("V0", 0)]))


def notes(roll) -> list[Note]:
    return roll.doc.score().notes


def test_escape_cancels_a_move_and_the_release_changes_nothing(roll):
    load(roll, [Note(60, 480, 480)])
    roll.set_tool("select")
    vp = roll.viewport()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, pos(roll, 600, 60))
    QTest.mouseMove(vp, pos(roll, 1200, 64))
    roll.setFocus()
    QTest.keyClick(roll, Qt.Key_Escape)
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, pos(roll, 1200, 64))
    assert notes(roll) == [Note(60, 480, 480)]
    assert roll.doc.undo_stack.count() == 0
    assert roll.selection == set(roll.doc.notes)  # Escape during a drag keeps the selection


def test_an_undo_under_a_move_ends_it(roll):
    vp = roll.viewport()
    QTest.mouseClick(vp, Qt.LeftButton, Qt.NoModifier, pos(roll, 250, 60))  # draws a note
    assert len(notes(roll)) == 1
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, pos(roll, 250, 60))
    roll.doc.undo_stack.undo()  # the note goes while the button is down
    QTest.mouseMove(vp, pos(roll, 900, 62))
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, pos(roll, 900, 62))
    assert notes(roll) == [] and roll.doc.undo_stack.index() == 0


def test_double_click_with_the_select_tool_draws(roll):
    roll.set_tool("select")
    at = pos(roll, 250, 62)
    # As a window system sends it: press, release, double-click (the second press), release.
    QTest.mouseClick(roll.viewport(), Qt.LeftButton, Qt.NoModifier, at)
    QTest.mouseDClick(roll.viewport(), Qt.LeftButton, Qt.NoModifier, at)  # only the dbl-click
    QTest.mouseRelease(roll.viewport(), Qt.LeftButton, Qt.NoModifier, at)
    assert notes(roll) == [Note(62, 240, 120, roll.default_velocity, 0)]


def test_ctrl_click_toggles_and_shift_band_adds(roll):
    load(roll, [Note(60, 0, 240), Note(62, 480, 240), Note(64, 1920, 240)])
    roll.set_tool("select")
    vp = roll.viewport()
    QTest.mouseClick(vp, Qt.LeftButton, Qt.NoModifier, pos(roll, 100, 60))
    QTest.mouseClick(vp, Qt.LeftButton, Qt.ControlModifier, pos(roll, 600, 62))
    by_pitch = {n.pitch: i for i, n in roll.doc.notes.items()}
    assert roll.selection == {by_pitch[60], by_pitch[62]}
    QTest.mouseClick(vp, Qt.LeftButton, Qt.ControlModifier, pos(roll, 600, 62))
    assert roll.selection == {by_pitch[60]}
    assert notes(roll)[1] == Note(62, 480, 240)  # a toggle does not move the note
    start, end = pos(roll, 1800, 66), pos(roll, 2400, 63)
    QTest.mousePress(vp, Qt.LeftButton, Qt.ShiftModifier, start)
    QTest.mouseMove(vp, end)
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.ShiftModifier, end)
    assert roll.selection == {by_pitch[60], by_pitch[64]}
    assert roll.doc.undo_stack.count() == 0


def test_a_draw_press_that_wanders_a_little_is_a_click(roll):
    roll.last_length = 720
    vp = roll.viewport()
    start = pos(roll, 250, 60)
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(vp, start + QPoint(2, 0))
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, start + QPoint(2, 0))
    assert [n.duration for n in notes(roll)] == [720]
