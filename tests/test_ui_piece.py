"""Tempo, meter and key changes on the ruler, and Edit > Piece (transpose, insert and
delete bars), in the real window (pytest-qt, offscreen); playback, the bar grid and
export following the changes."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from composer_app.audio.backends import RecordingOutput  # noqa: E402
from composer_app.audio.events import ON, build_events  # noqa: E402
from composer_app.audio.transport import Transport  # noqa: E402
from composer_app.music import (  # noqa: E402
    KeySignature,
    Note,
    Score,
    TempoChange,
    TimeSignature,
    Track,
    load_score,
    parse_key,
)
from composer_app.ui import piece_edits as pe  # noqa: E402
from composer_app.ui.roll_paint import grid_lines  # noqa: E402
from composer_app.ui.roll_ruler import MARK_H, MarkDialog  # noqa: E402

BAR = 1920


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPOSER_APP_DATA", str(tmp_path / "data"))
    from composer_app.ui.main_window import MainWindow
    from composer_app.ui.settings import Settings

    w = MainWindow(Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)))
    w.audio.ensure_open = lambda: None  # no synth in unit tests
    w.files.ask_save = lambda: QMessageBox.Discard
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    w.roll.horizontalScrollBar().setValue(0)
    w.roll.zoom(0.5)  # a few bars in view
    w.roll.horizontalScrollBar().setValue(0)
    return w


def piece(notes=(), **meta) -> Score:
    s = Score(notes=list(notes), tracks=[Track("S", 0), Track("A", 1)],
              tempos=[TempoChange(0, 100.0)], time_signatures=[TimeSignature(0, 4, 4)],
              key_signatures=[KeySignature(0, parse_key("C"))])
    for k, v in meta.items():
        setattr(s, k, v)
    return s


def asker(*answers):
    """The ruler's ``ask``, answering in turn, recording what it was asked."""
    asked = []
    it = iter(answers)

    def ask(parent, kind, value, bar):
        asked.append((kind, value, bar))
        return next(it)
    ask.asked = asked
    return ask


def menu_action(menu, text):
    return next(a for a in menu.actions() if a.text().startswith(text))


def mark_point(ruler, kind, tick) -> QPoint:
    rect = next(r for r, k, t, _ in ruler.mark_rects() if (k, t) == (kind, tick))
    return rect.center().toPoint()


def test_add_change_edit_delete_marks_from_the_ruler_each_one_undo_step(window):
    roll, ruler, doc = window.roll, window.roll.ruler, window.doc
    doc.load(piece([Note(60, 0, 480)]))
    x = roll.x_of(2 * BAR + 500)
    ruler.ask = asker(72.0, (3, 4), parse_key("G"))
    menu_action(ruler.context_menu(x, 20), "Add tempo change here").trigger()
    # tempo at the snapped tick; meter and key at the bar line of bar 3
    assert doc.base.tempos == [TempoChange(0, 100.0), TempoChange(2 * BAR + 480, 72.0)]
    menu = ruler.context_menu(x, 20)
    menu_action(menu, "Add meter change at bar 3").trigger()
    menu_action(ruler.context_menu(x, 20), "Add key change at bar 3").trigger()
    assert doc.base.time_signatures == [TimeSignature(0, 4, 4), TimeSignature(2 * BAR, 3, 4)]
    assert doc.base.key_signatures == [KeySignature(0, parse_key("C")),
                                       KeySignature(2 * BAR, parse_key("G"))]
    assert ruler.ask.asked == [("tempo", 100.0, 3), ("meter", (4, 4), 3),
                               ("key", parse_key("C"), 3)]
    assert doc.undo_stack.count() == 3
    # the marks are drawn: meter, key, tempo labels side by side
    assert [(k, t, text) for _, k, t, text in ruler.mark_rects()] == [
        ("meter", 2 * BAR, "3/4"), ("key", 2 * BAR, "G"), ("tempo", 2 * BAR + 480, "♩=72")]
    # double-click the key mark: its editor; the change is one step
    ruler.ask = asker(parse_key("Em"))
    QTest.mouseDClick(ruler, Qt.LeftButton, Qt.NoModifier, mark_point(ruler, "key", 2 * BAR))
    assert ruler.ask.asked == [("key", parse_key("G"), 3)]
    assert doc.base.key_signatures[1] == KeySignature(2 * BAR, parse_key("Em"))
    assert doc.undo_stack.count() == 4
    # right-click on the tempo mark: delete it
    p = mark_point(ruler, "tempo", 2 * BAR + 480)
    menu_action(ruler.context_menu(p.x(), p.y()), "Delete tempo change").trigger()
    assert doc.base.tempos == [TempoChange(0, 100.0)]
    for _ in range(5):
        doc.undo_stack.undo()
    assert doc.base.tempos == [TempoChange(0, 100.0)]
    assert doc.base.time_signatures == [TimeSignature(0, 4, 4)]
    assert doc.base.key_signatures == [KeySignature(0, parse_key("C"))]
    # cancelled: nothing changes; bar 1 offers no meter/key change (the toolbar's)
    ruler.ask = asker(None)
    menu_action(ruler.context_menu(x, 20), "Add tempo change here").trigger()
    assert doc.undo_stack.index() == 0
    assert not menu_action(ruler.context_menu(roll.x_of(300), 20), "Add meter").isEnabled()


def test_drag_marks_meters_snap_to_bar_lines_tempos_to_the_grid(window):
    roll, ruler, doc = window.roll, window.roll.ruler, window.doc
    doc.load(piece(tempos=[TempoChange(0, 100.0), TempoChange(BAR, 60.0)],
                   time_signatures=[TimeSignature(0, 4, 4), TimeSignature(2 * BAR, 3, 4)]))
    start = mark_point(ruler, "meter", 2 * BAR)
    QTest.mousePress(ruler, Qt.LeftButton, Qt.NoModifier, start)
    for t in (2 * BAR + 300, 3 * BAR - 400, 3 * BAR + 200):
        QTest.mouseMove(ruler, QPoint(int(roll.x_of(t)), start.y()))
    QTest.mouseRelease(ruler, Qt.LeftButton, Qt.NoModifier,
                       QPoint(int(roll.x_of(3 * BAR + 200)), start.y()))
    assert doc.base.time_signatures == [TimeSignature(0, 4, 4), TimeSignature(3 * BAR, 3, 4)]
    assert doc.undo_stack.count() == 1 and roll.playhead == 0 and roll.loop is None
    start = mark_point(ruler, "tempo", BAR)
    QTest.mousePress(ruler, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(ruler, QPoint(int(roll.x_of(BAR + 500)), start.y()))
    QTest.mouseRelease(ruler, Qt.LeftButton, Qt.NoModifier,
                       QPoint(int(roll.x_of(BAR + 500)), start.y()))
    assert doc.base.tempos[1].tick == BAR + 480  # the 1/16 snap
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.base.time_signatures[1].tick == 2 * BAR and doc.base.tempos[1].tick == BAR
    # a click off the marks still moves the playhead
    QTest.mouseClick(ruler, Qt.LeftButton, Qt.NoModifier, QPoint(int(roll.x_of(960)), MARK_H + 5))
    assert roll.playhead == 960


def test_mark_dialog_edits_each_kind(qtbot):
    d = MarkDialog(None, pe.METER, (4, 4), 3)
    qtbot.addWidget(d)
    d.num.setValue(6)
    d.den.setCurrentText("8")
    assert d.value() == (6, 8)
    d = MarkDialog(None, pe.TEMPO, 90.0, 2)
    qtbot.addWidget(d)
    assert d.value() == 90.0 and "bar 2" in d.windowTitle()
    d = MarkDialog(None, pe.KEY, parse_key("Bbm"), 2)
    qtbot.addWidget(d)
    assert d.value() == parse_key("Bbm")


def test_bar_grid_and_ruler_follow_meter_changes(window):
    window.doc.load(piece(time_signatures=[TimeSignature(0, 4, 4), TimeSignature(2 * BAR, 3, 4),
                                           TimeSignature(2 * BAR + 3 * 1440, 6, 8)]))
    bars = [t for t, level in grid_lines(window.roll, 0, 10000) if level == 0]
    assert bars == [0, BAR, 2 * BAR, 2 * BAR + 1440, 2 * BAR + 2880, 2 * BAR + 4320,
                    2 * BAR + 4320 + 1440]
    beats = [t for t, level in grid_lines(window.roll, 2 * BAR, 2 * BAR + 1440) if level == 1]
    assert beats == [2 * BAR + 480, 2 * BAR + 960]
    window.roll.ruler.grab()  # paints with the marks


def test_playback_follows_a_tempo_change_by_the_scheduled_times(window):
    ruler, doc = window.roll.ruler, window.doc
    doc.load(piece([Note(60, i * 480, 480) for i in range(8)], tempos=[TempoChange(0, 600.0)]))
    ruler.ask = asker(300.0)
    ruler.add_mark(pe.TEMPO, 4 * 480)
    score = doc.score()
    ons = [round(e[0], 6) for e in build_events(score) if e[1] == ON]
    assert ons == [0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0]
    out, done = RecordingOutput(), threading.Event()
    t = Transport(out, on_finished=done.set)
    t.play(score)
    assert done.wait(5)
    t.close()
    times = [ts for ts, m in out.messages if m.type == "note_on" and m.velocity]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(abs(g - 0.1) < 0.04 for g in gaps[:4]) and all(abs(g - 0.2) < 0.04
                                                                  for g in gaps[4:])


@pytest.mark.parametrize("suffix", [".mid", ".musicxml"])
def test_export_carries_the_changes(window, tmp_path, suffix):
    pytest.importorskip("music21") if suffix == ".musicxml" else None
    doc = window.doc
    doc.load(piece([Note(60 + i, i * 480, 480) for i in range(24)]))
    ruler = window.roll.ruler
    ruler.ask = asker(72.0, (3, 4), parse_key("D"))
    ruler.add_mark(pe.TEMPO, 2 * BAR)
    ruler.add_mark(pe.METER, 2 * BAR)
    ruler.add_mark(pe.KEY, 2 * BAR + 1440)
    path = tmp_path / f"out{suffix}"
    assert (window.export_midi if suffix == ".mid" else window.export_musicxml)(str(path))
    back = load_score(path)
    assert [(t.tick, round(t.bpm, 3)) for t in back.tempos] == [(0, 100.0), (2 * BAR, 72.0)]
    assert back.time_signatures == [TimeSignature(0, 4, 4), TimeSignature(2 * BAR, 3, 4)]
    assert back.key_signatures == [KeySignature(0, parse_key("C")),
                                   KeySignature(2 * BAR + 1440, parse_key("D"))]
    assert [(n.pitch, n.start, n.duration) for n in back.notes] == [
        (n.pitch, n.start, n.duration) for n in doc.score().notes]


def test_transpose_piece_moves_every_voice_and_the_keys_one_step(window):
    doc = window.doc
    doc.load(piece([Note(60, 0, 480), Note(55, 0, 480, track=1)],
                   key_signatures=[KeySignature(0, parse_key("C")),
                                   KeySignature(BAR, parse_key("Am"))]))
    before = doc.score()
    window.piece.ask_int = lambda *a: 3
    window.act_piece_transpose.trigger()
    s = doc.score()
    assert [(n.pitch, n.track) for n in s.notes] == [(63, 0), (58, 1)]
    assert [k.key.name for k in s.key_signatures] == ["Eb", "Cm"]
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.score() == before
    doc.undo_stack.redo()
    assert doc.score().key_signatures == s.key_signatures


def test_insert_bars_at_the_playheads_bar_across_all_voices(window):
    doc, roll = window.doc, window.roll
    doc.load(piece([Note(60, 0, 480), Note(62, 1440, 960), Note(64, BAR, 480, track=1)],
                   tempos=[TempoChange(0, 100.0), TempoChange(BAR, 80.0)],
                   time_signatures=[TimeSignature(0, 4, 4), TimeSignature(2 * BAR, 3, 4)]))
    before = doc.score()
    roll.set_playhead(BAR + 700)  # bar 2
    window.piece.ask_int = lambda *a: 2
    window.act_piece_insert_bars.trigger()
    s = doc.score()
    assert [(n.pitch, n.start, n.duration, n.track) for n in s.notes] == [
        (60, 0, 480, 0), (62, 1440, 480, 0), (62, 3 * BAR, 480, 0), (64, 3 * BAR, 480, 1)]
    assert s.tempos == [TempoChange(0, 100.0), TempoChange(3 * BAR, 80.0)]
    assert s.time_signatures == [TimeSignature(0, 4, 4), TimeSignature(4 * BAR, 3, 4)]
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.score() == before


def test_delete_selected_bars_across_all_voices(window):
    doc, roll = window.doc, window.roll
    doc.load(piece([Note(60, 0, 480), Note(62, 1440, 960), Note(64, BAR, 480, track=1),
                    Note(65, BAR + 960, 480), Note(67, 3 * BAR, 480, track=1)],
                   key_signatures=[KeySignature(0, parse_key("C")),
                                   KeySignature(2 * BAR, parse_key("F"))]))
    before = doc.score()
    ids = [i for i, n in doc.notes.items() if n.pitch in (64, 65)]
    roll.set_selection(ids)  # in bar 2 only
    window.act_piece_delete_bars.trigger()
    s = doc.score()
    assert [(n.pitch, n.start, n.duration, n.track) for n in s.notes] == [
        (60, 0, 480, 0), (62, 1440, 480, 0), (67, 2 * BAR, 480, 1)]
    assert s.key_signatures == [KeySignature(0, parse_key("C")), KeySignature(BAR, parse_key("F"))]
    assert doc.undo_stack.count() == 1 and not roll.selection
    doc.undo_stack.undo()
    assert doc.score() == before


def test_piece_menu_lists_the_whole_piece_edits(window):
    edit = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    sub = next(a.menu() for a in edit.actions() if a.text() == "&Piece")
    assert [a.text() for a in sub.actions()] == ["&Transpose Piece…", "&Insert Bars…",
                                                 "&Delete Bars"]
    assert not window.action_registry.clashes()


def test_right_click_on_the_ruler_opens_its_menu_and_clear_loop_clears(window, qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    roll, ruler = window.roll, window.roll.ruler
    roll.set_loop(0, BAR)
    window.transport.loop_changed(0, BAR)
    seen = []

    def choose():
        popup = QApplication.activePopupWidget()
        seen.extend(a.text() for a in popup.actions() if a.text())
        next(a for a in popup.actions() if a.text() == "Clear loop").trigger()
        popup.close()

    QTimer.singleShot(200, choose)
    QTest.mouseClick(ruler, Qt.RightButton, Qt.NoModifier, QPoint(int(roll.x_of(BAR + 100)), 20))
    qtbot.waitUntil(lambda: bool(seen))
    assert seen == ["Add marker at bar 2…", "Add tempo change here…", "Add meter change at bar 2…",
                    "Add key change at bar 2…", "Clear loop"]
    assert roll.loop is None and not window.act_loop.isChecked()


def test_scale_rows_follow_a_key_change(window):
    roll = window.roll
    window.doc.load(piece(key_signatures=[KeySignature(0, parse_key("C")),
                                          KeySignature(2 * BAR, parse_key("G"))]))
    roll.center_on_pitch(65)
    image = roll.viewport().grab().toImage()

    def row(pitch, tick):
        return image.pixelColor(int(roll.x_of(tick)), int(roll.y_of(pitch) + roll.key_h / 2)).name()

    # F is in C major's scale (lighter), not in G major's; F# the other way round
    assert row(65, 1000) == "#fbfbf4" and row(65, 2 * BAR + 1000) == "#ecece7"
    assert row(66, 1000) == "#e0e0da" and row(66, 2 * BAR + 1000) == "#f0f0e6"


def test_inserted_and_deleted_bars_take_the_pedal_bends_and_lyrics_with_their_music(window):
    from composer_app.music.score import ChannelEvent, TextEvent

    doc = window.doc
    s = piece([Note(60, 0, 480), Note(62, BAR, 480), Note(64, 2 * BAR, 480)])
    s.channel_events = [ChannelEvent(0, 0, "control", 64, 127), ChannelEvent(400, 0, "control", 64, 0),
                        ChannelEvent(BAR, 0, "control", 64, 127),  # pressed in bar 2 ...
                        ChannelEvent(BAR + 100, 0, "pitchwheel", 0, 2000),
                        ChannelEvent(2 * BAR + 400, 0, "control", 64, 0)]  # ... up in bar 3
    s.text_events = [TextEvent(0, "lyrics", "la", 0), TextEvent(BAR, "lyrics", "li", 0),
                     TextEvent(2 * BAR, "lyrics", "lo", 0)]
    doc.load(s)
    before = doc.score()
    window.roll.set_playhead(BAR + 10)
    window.piece.ask_int = lambda *a: 1
    window.act_piece_insert_bars.trigger()  # one bar before bar 2
    got = doc.score()
    assert [(e.tick, e.kind, e.value) for e in got.channel_events] == [
        (0, "control", 127), (400, "control", 0), (2 * BAR, "control", 127),
        (2 * BAR + 100, "pitchwheel", 2000), (3 * BAR + 400, "control", 0)]
    assert [(e.tick, e.text) for e in got.text_events if e.kind == "lyrics"] == [
        (0, "la"), (2 * BAR, "li"), (3 * BAR, "lo")]
    doc.undo_stack.undo()
    assert doc.score() == before
    window.roll.set_selection([i for i, n in doc.notes.items() if n.pitch == 62])
    window.act_piece_delete_bars.trigger()  # bar 2 goes: the pedal it pressed stays down
    got = doc.score()
    assert [(e.tick, e.kind, e.value) for e in got.channel_events] == [
        (0, "control", 127), (400, "control", 0), (BAR, "control", 127),
        (BAR, "pitchwheel", 2000), (BAR + 400, "control", 0)]
    assert [(e.tick, e.text) for e in got.text_events if e.kind == "lyrics"] == [
        (0, "la"), (BAR, "lo")]
    doc.undo_stack.undo()
    assert doc.score() == before


def test_a_key_change_in_a_piece_without_a_key_leaves_the_bars_before_it_keyless(window):
    """A new piece has no key ("(none)": detected from the notes). A key change added at
    bar 3 is a key from bar 3 on: bar 1 stays "(none)", the bars before it keep their
    detected key, and the export does not write G from the start."""
    roll, ruler, doc = window.roll, window.roll.ruler, window.doc
    doc.load(piece([Note(p, i * 480, 480) for i, p in enumerate((60, 64, 67, 72))],
                   key_signatures=[]))
    assert window.key_combo.currentText() == "(none)"
    ruler.ask = asker(parse_key("G"))
    menu_action(ruler.context_menu(roll.x_of(2 * BAR + 500), 20), "Add key change at bar 3").trigger()
    assert doc.base.key_signatures == [KeySignature(2 * BAR, parse_key("G"))]
    assert window.key_combo.currentText() == "(none)"
    s = doc.score()
    assert s.key is None and s.key_at(BAR) is None and s.key_at(2 * BAR) == parse_key("G")
    # what generation uses before the change is the melody's key, not the later G
    assert s.key_in_force(0, s.notes) == parse_key("C")
