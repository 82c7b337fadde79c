"""Markers on the ruler (issues 13 and 15): shown, added, renamed, moved and deleted from
the ruler, one undo step each; kept by Edit > Piece's bar edits and by saving (project
and MIDI) and reopening. pytest-qt, offscreen."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from composer_app.music import Note, Score, TimeSignature, Track, load_score  # noqa: E402
from composer_app.ui import piece_edits as pe  # noqa: E402
from composer_app.ui.document import ScoreMeta  # noqa: E402
from composer_app.ui.roll_ruler import MARKER_H, MARKER_Y  # noqa: E402

BAR = 1920
LANE_Y = MARKER_Y + MARKER_H // 2


@pytest.fixture
def window(make_window):
    w = make_window(size=(1200, 800))
    w.roll.zoom(0.5)
    w.roll.horizontalScrollBar().setValue(0)
    return w


def song(marks=((0, "A"), (2 * BAR, "B"))) -> Score:
    s = Score(notes=[Note(60 + i % 5, i * 480, 480) for i in range(24)],
              tracks=[Track("Melody", 0)], time_signatures=[TimeSignature(0, 4, 4)])
    s.set_markers(marks)
    return s


def names(doc) -> list[tuple[int, str]]:
    return [(m.tick, m.text) for m in doc.base.markers]


def namer(*answers):
    it = iter(answers)
    asked = []

    def ask(parent, title, name):
        asked.append((title, name))
        return next(it)
    ask.asked = asked
    return ask


def action(menu, text):
    return next(a for a in menu.actions() if a.text().startswith(text))


def marker_point(ruler, name) -> QPoint:
    rect = next(r for r, m in ruler.marker_rects() if m.text == name)
    return rect.center().toPoint()


def test_markers_are_drawn_on_their_lane_at_their_bars(window):
    window.doc.load(song())
    ruler, roll = window.roll.ruler, window.roll
    rects = ruler.marker_rects()
    assert [m.text for _, m in rects] == ["A", "B"]
    assert rects[1][0].left() == pytest.approx(roll.x_of(2 * BAR))
    assert ruler.marker_under(roll.x_of(2 * BAR) + 3, LANE_Y).text == "B"
    assert ruler.marker_under(roll.x_of(2 * BAR) + 3, 3) is None  # the marks' lane
    # painted: the lane's pixels at B's flag are the marker colour
    img = ruler.grab().toImage()
    x = int(rects[1][0].left() + 2)
    assert img.pixelColor(x, LANE_Y).name() == "#6a3d9a"
    # the lane is there while the piece has markers: without, the roll keeps its rows
    from composer_app.ui.piano_roll import MARKER_LANE_H, RULER_H

    assert ruler.height() == RULER_H + MARKER_LANE_H
    rows = roll.viewport().height()
    window.doc.load(song(marks=()))
    assert ruler.height() == RULER_H and roll.viewport().height() == rows + MARKER_LANE_H


def test_add_rename_move_delete_markers_each_one_undo_step(window):
    doc, roll, ruler = window.doc, window.roll, window.roll.ruler
    doc.load(song(marks=()))
    # right-click in bar 3 > Add marker: at bar 3's line, the first free letter offered
    ruler.ask_name = namer("Verse")
    action(ruler.context_menu(roll.x_of(2 * BAR + 700), LANE_Y), "Add marker at bar 3").trigger()
    assert ruler.ask_name.asked == [("Marker at bar 3", "A")]
    assert names(doc) == [(2 * BAR, "Verse")]
    # double-click renames
    ruler.ask_name = namer("Chorus")
    QTest.mouseDClick(ruler, Qt.LeftButton, Qt.NoModifier, marker_point(ruler, "Verse"))
    assert names(doc) == [(2 * BAR, "Chorus")]
    # a drag moves it to the nearest bar line
    start = marker_point(ruler, "Chorus")
    QTest.mousePress(ruler, Qt.LeftButton, Qt.NoModifier, start)
    for t in (2 * BAR + 900, 4 * BAR - 300):
        QTest.mouseMove(ruler, QPoint(int(roll.x_of(t)), start.y()))
    QTest.mouseRelease(ruler, Qt.LeftButton, Qt.NoModifier,
                       QPoint(int(roll.x_of(4 * BAR - 300)), start.y()))
    assert names(doc) == [(4 * BAR, "Chorus")]
    assert roll.playhead == 0 and roll.loop is None  # the drag was the marker's
    # right-click on it > Delete
    p = marker_point(ruler, "Chorus")
    action(ruler.context_menu(p.x(), p.y()), "Delete marker").trigger()
    assert names(doc) == []
    assert doc.undo_stack.count() == 4
    undone = []
    for _ in range(4):
        doc.undo_stack.undo()
        undone.append(names(doc))
    assert undone == [[(4 * BAR, "Chorus")], [(2 * BAR, "Chorus")], [(2 * BAR, "Verse")], []]
    doc.undo_stack.redo()
    assert names(doc) == [(2 * BAR, "Verse")]
    # cancelled or blank: nothing changes, a blank name is said
    ruler.ask_name = namer(None, "   ")
    action(ruler.context_menu(roll.x_of(100), LANE_Y), "Add marker at bar 1").trigger()
    messages = []
    roll.message.connect(messages.append)
    action(ruler.context_menu(roll.x_of(100), LANE_Y), "Add marker at bar 1").trigger()
    assert names(doc) == [(2 * BAR, "Verse")] and doc.undo_stack.index() == 1
    assert messages == ["a marker needs a name"]


def test_markers_survive_save_and_reopen_as_project_and_midi(window, tmp_path):
    doc, ruler, roll = window.doc, window.roll.ruler, window.roll
    doc.load(song())
    ruler.ask_name = namer("Bridge")
    action(ruler.context_menu(roll.x_of(4 * BAR + 10), LANE_Y), "Add marker").trigger()
    p = marker_point(ruler, "B")
    ruler.ask_name = namer("Chorus")
    action(ruler.context_menu(p.x(), p.y()), "Rename marker").trigger()
    want = [(0, "A"), (2 * BAR, "Chorus"), (4 * BAR, "Bridge")]
    assert names(doc) == want
    project = tmp_path / "s.composer.json"
    assert window.files.save_to(str(project))
    midi = tmp_path / "s.mid"
    assert window.files.export_midi(str(midi))
    for path in (project, midi):
        assert [(m.tick, m.text) for m in load_score(path).markers] == want
        doc.load(Score())
        assert window.open_path(str(path))
        assert names(doc) == want
        assert [m.text for _, m in ruler.marker_rects()] == ["A", "Chorus", "Bridge"]


def test_insert_and_delete_bars_move_the_markers_with_their_music(window):
    doc = window.doc
    doc.load(song(marks=((0, "A"), (2 * BAR, "B"), (4 * BAR, "C"))))
    from composer_app.ui import piece_commands

    piece_commands.insert_bars(doc, 0, 1)  # before bar 1: every section moves
    assert names(doc) == [(BAR, "A"), (3 * BAR, "B"), (5 * BAR, "C")]
    doc.undo_stack.undo()
    piece_commands.delete_bars(doc, 2, 2)  # bar 3, the first of B: B starts at bar 3 still
    assert names(doc) == [(0, "A"), (2 * BAR, "B"), (3 * BAR, "C")]
    doc.undo_stack.undo()
    piece_commands.delete_bars(doc, 2, 3)  # all of B: C takes its place, B goes
    assert names(doc) == [(0, "A"), (2 * BAR, "C")]
    doc.undo_stack.undo()
    assert names(doc) == [(0, "A"), (2 * BAR, "B"), (4 * BAR, "C")]


def test_marker_arithmetic_and_section_spans():
    meta = ScoreMeta(time_signatures=[TimeSignature(0, 4, 4)])
    a = pe.add_marker(meta, 0, " Intro\n")
    b = pe.add_marker(meta, 2 * BAR, "Verse")
    assert [m.text for m in meta.markers] == ["Intro", "Verse"]
    assert pe.section_span(meta, a, 7 * BAR + 5) == (0, 2 * BAR)
    assert pe.section_span(meta, b, 7 * BAR + 5) == (2 * BAR, 8 * BAR)
    assert pe.marker_target(meta, 3 * BAR - 100) == 3 * BAR
    with pytest.raises(ValueError, match="needs a name"):
        pe.rename_marker(meta, a, " ")
    pe.delete_marker(meta, a)
    assert [m.text for m in meta.markers] == ["Verse"]
