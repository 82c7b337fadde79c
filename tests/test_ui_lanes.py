"""The sustain-pedal and pitch-bend lanes under the roll (issue 13 item 1): chosen from
the selector or the View menu (kept in the settings), drawn and edited with the mouse,
one undo step each, other controllers and voices untouched; a DAW's MIDI file with a
phrase moved and the lanes edited keeps its pedalling. pytest-qt, offscreen."""

from __future__ import annotations

import mido
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from composer_app.music import Note, Score, Track  # noqa: E402
from composer_app.music.score import SUSTAIN, ChannelEvent  # noqa: E402
from composer_app.ui import lane_edits as le  # noqa: E402

BAR = 1920


@pytest.fixture
def window(make_window):
    w = make_window(size=(1200, 800))
    w.roll.horizontalScrollBar().setValue(0)
    return w


def load(w, events=(), tracks=2):
    score = Score(notes=[Note(60 + i, i * 480, 480, 80, i % tracks) for i in range(8)],
                  tracks=[Track(f"V{k}", k) for k in range(tracks)],
                  channel_events=[ChannelEvent(*e) for e in events])
    w.doc.load(score)
    w.roll.horizontalScrollBar().setValue(0)


def pedal(events, track=0):
    return [(e.tick, e.value) for e in events
            if e.track == track and e.kind == "control" and e.number == SUSTAIN]


def drag(widget, points, button=Qt.LeftButton, mods=Qt.NoModifier):
    QTest.mousePress(widget, button, mods, points[0])
    for p in points[1:]:
        QTest.mouseMove(widget, p)
    QTest.mouseRelease(widget, button, mods, points[-1])


def x(roll, tick) -> int:
    return int(round(roll.x_of(tick)))


def test_the_selector_and_view_menu_choose_the_lane_and_it_is_kept(window, make_window):
    roll = window.roll
    assert roll.lane == "velocity" and roll.velocity_lane.isVisible()
    QTest.mouseClick(roll.lane_selector.buttons["pedal"], Qt.LeftButton)
    assert roll.lane == "pedal" and roll.pedal_lane.isVisible()
    assert not roll.velocity_lane.isVisible() and window.act_lane_pedal.isChecked()
    window.act_lane_bend.trigger()
    assert roll.lane == "bend" and roll.bend_lane.isVisible()
    assert roll.lane_selector.buttons["bend"].isChecked()
    assert roll.bend_lane.geometry() == roll.velocity_lane.geometry()
    window.act_velocity_lane.trigger()  # hide the lane: the notes get its height
    assert not roll.bend_lane.isVisible() and not roll.lane_selector.isVisible()
    window.act_lane_pedal.trigger()  # choosing a lane shows it again
    assert roll.pedal_lane.isVisible() and window.act_velocity_lane.isChecked()
    window.close()
    again = make_window(size=(1200, 800))
    assert again.roll.lane == "pedal" and again.act_lane_pedal.isChecked()
    assert again.roll.pedal_lane.isVisible()


def test_a_pedal_span_drawn_writes_cc64_at_the_snapped_ticks_and_undo_restores(window):
    others = [(0, 0, "control", 7, 100), (0, 1, "control", SUSTAIN, 127),
              (300, 0, "aftertouch", 0, 40), (900, 1, "control", SUSTAIN, 0)]
    load(window, others)
    roll = window.roll
    window.act_lane_pedal.trigger()
    lane = roll.pedal_lane
    before = list(window.doc.base.channel_events)
    y = lane.height() // 2
    # from 2 ticks past beat 2 to 3 ticks short of beat 4: snapped to 480 and 1440
    drag(lane, [QPoint(x(roll, 482), y), QPoint(x(roll, 900), y), QPoint(x(roll, 1437), y)])
    events = window.doc.base.channel_events
    assert pedal(events) == [(480, 127), (1440, 0)]
    assert pedal(events, 1) == [(0, 127), (900, 0)]  # the other voice's pedal as it was
    assert [e for e in events if e.number != SUSTAIN or e.kind != "control"] == \
        [e for e in before if e.number != SUSTAIN or e.kind != "control"]
    assert window.doc.undo_stack.count() == 1
    assert window.doc.undo_stack.undoText() == "Draw pedal"
    window.doc.undo_stack.undo()
    assert window.doc.base.channel_events == before
    window.doc.undo_stack.redo()
    assert pedal(window.doc.base.channel_events) == [(480, 127), (1440, 0)]


def test_click_a_span_and_delete_it_drag_its_edge_to_move_it(window):
    load(window, [(480, 0, "control", SUSTAIN, 127), (960, 0, "control", SUSTAIN, 0),
                  (1920, 0, "control", SUSTAIN, 100), (2400, 0, "control", SUSTAIN, 0)])
    roll = window.roll
    window.act_lane_pedal.trigger()
    lane = roll.pedal_lane
    y = lane.height() // 2
    drag(lane, [QPoint(x(roll, 960), y), QPoint(x(roll, 1300), y),
                QPoint(x(roll, 1440), y)])  # the first span's release, to beat 4
    assert pedal(window.doc.base.channel_events) == [(480, 127), (1440, 0), (1920, 100),
                                                     (2400, 0)]
    QTest.mouseClick(lane, Qt.LeftButton, Qt.NoModifier, QPoint(x(roll, 2100), y))
    assert lane.selected == 1920
    roll.setFocus()
    QTest.keyClick(roll, Qt.Key_Delete)
    assert pedal(window.doc.base.channel_events) == [(480, 127), (1440, 0)]
    assert len(window.doc.notes) == 8  # Delete took the span, not notes
    QTest.mouseClick(lane, Qt.RightButton, Qt.NoModifier, QPoint(x(roll, 700), y))
    assert pedal(window.doc.base.channel_events) == []
    stack = window.doc.undo_stack
    assert [stack.text(i) for i in range(stack.count())] == ["Move pedal", "Delete pedal",
                                                             "Delete pedal"]
    while stack.canUndo():
        stack.undo()
    assert pedal(window.doc.base.channel_events) == [(480, 127), (960, 0), (1920, 100),
                                                     (2400, 0)]


def test_a_bend_drawn_is_in_range_in_time_order_and_undo_restores(window):
    load(window, [(0, 0, "control", 1, 30), (1000, 1, "pitchwheel", 0, 500)])
    roll = window.roll
    window.act_lane_bend.trigger()
    lane = roll.bend_lane
    before = list(window.doc.base.channel_events)
    h = lane.height()
    points = [QPoint(x(roll, 100 + k * 40), int(h * 0.5 - k * 2)) for k in range(20)]
    points.append(QPoint(x(roll, 900), 0))  # above the top: the largest bend
    drag(lane, points)
    events = window.doc.base.channel_events
    bends = [(e.tick, e.value) for e in events if e.kind == "pitchwheel" and e.track == 0]
    assert len(bends) > 5
    assert [t for t, _ in bends] == sorted(t for t, _ in bends)
    assert all(le.BEND_MIN <= v <= le.BEND_MAX for _, v in bends)
    assert bends[-1][1] == le.BEND_MAX and bends[0][0] >= 90
    assert [e for e in events if e.track == 1 or e.kind == "control"] == before
    assert window.doc.undo_stack.count() == 1
    window.doc.undo_stack.undo()
    assert window.doc.base.channel_events == before


def test_clear_a_range_back_to_centre_and_double_click_resets(window):
    load(window, [(0, 0, "pitchwheel", 0, 2000), (960, 0, "pitchwheel", 0, -1000)])
    roll = window.roll
    window.act_lane_bend.trigger()
    lane = roll.bend_lane
    y = lane.height() // 2
    drag(lane, [QPoint(x(roll, 480), y), QPoint(x(roll, 800), y), QPoint(x(roll, 1440), y)],
         mods=Qt.ShiftModifier)
    assert lane.selected == (480, 1440)
    roll.setFocus()
    QTest.keyClick(roll, Qt.Key_Delete)
    bends = [(e.tick, e.value) for e in window.doc.base.channel_events]
    assert bends == [(0, 2000), (480, 0), (1440, -1000)]
    QTest.mouseDClick(lane, Qt.LeftButton, Qt.NoModifier, QPoint(x(roll, 1920), y))
    bends = [(e.tick, e.value) for e in window.doc.base.channel_events]
    assert bends == [(0, 2000), (480, 0), (1440, -1000), (1920, 0)]
    assert window.doc.undo_stack.count() == 2


def _daw_file(path):
    """A piano with pedalling, a bend and other controllers, and strings, as a DAW
    writes them (type 1, one track per voice)."""
    m = mido.Message
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)]))
    piano = [(0, m("control_change", control=7, value=101)),
             (0, m("control_change", control=10, value=30))]
    for bar in range(4):
        t = bar * BAR
        piano += [(t + 10, m("control_change", control=SUSTAIN, value=127)),
                  (t + 1800, m("control_change", control=SUSTAIN, value=0)),
                  (t + 600, m("control_change", control=1, value=20 + bar)),
                  (t + 700, m("aftertouch", value=44))]
        for k in range(4):
            piano += [(t + k * 480, m("note_on", note=60 + k + bar, velocity=90)),
                      (t + k * 480 + 400, m("note_off", note=60 + k + bar, velocity=0))]
    piano += [(BAR * 3 + 240, m("pitchwheel", pitch=3000)),
              (BAR * 3 + 480, m("pitchwheel", pitch=0))]
    strings = [(0, m("program_change", channel=1, program=48)),
               (0, m("note_on", channel=1, note=48, velocity=70)),
               (BAR * 4, m("note_off", channel=1, note=48, velocity=0)),
               (BAR, m("control_change", channel=1, control=SUSTAIN, value=127)),
               (BAR * 2, m("control_change", channel=1, control=SUSTAIN, value=0))]
    for msgs in (piano, strings):
        track, now = mido.MidiTrack(), 0
        for tick, msg in sorted(msgs, key=lambda e: e[0]):
            track.append(msg.copy(time=tick - now))
            now = tick
        mid.tracks.append(track)
    mid.save(path)


def _read_events(path):
    out = []
    for i, track in enumerate(mido.MidiFile(path).tracks):
        now = 0
        for msg in track:
            now += msg.time
            if msg.type in ("control_change", "pitchwheel", "aftertouch"):
                value = msg.pitch if msg.type == "pitchwheel" else msg.value
                out.append((i, now, msg.type, getattr(msg, "control", None), value))
    return out


def test_a_daw_file_with_a_phrase_moved_and_the_lanes_edited_keeps_its_pedalling(
        window, tmp_path):
    src, dst = tmp_path / "piano.mid", tmp_path / "out.mid"
    _daw_file(src)
    assert window.open_path(str(src), ask=False)
    roll = window.roll
    original = _read_events(src)
    # one phrase (bar 2's notes of the piano) moved a beat later and up a tone
    piano = roll.active_track
    bar2 = {i for i, n in window.doc.notes.items() if n.track == piano and
            BAR <= n.start < 2 * BAR}
    assert len(bar2) == 4
    roll.set_selection(bar2)
    for _ in range(4):
        roll.shift_time(1)
    roll.transpose(2)
    assert all(window.doc.notes[i].start >= BAR + 480 for i in bar2)
    # the lanes edited: bar 4's pedal taken out and drawn again from beat 2 to beat 4,
    # a bend drawn in bar 1
    window.act_lane_pedal.trigger()
    roll.set_zoom(0.05)
    roll.horizontalScrollBar().setValue(0)
    lane = roll.pedal_lane
    y = lane.height() // 2
    QTest.mouseClick(lane, Qt.RightButton, Qt.NoModifier, QPoint(x(roll, 3 * BAR + 900), y))
    drag(lane, [QPoint(x(roll, 3 * BAR + 480), y), QPoint(x(roll, 3 * BAR + 960), y),
                QPoint(x(roll, 3 * BAR + 1440), y)])
    window.act_lane_bend.trigger()
    bend_lane = roll.bend_lane
    drag(bend_lane, [QPoint(x(roll, 120 + k * 60), bend_lane.height() // 2 - 2 * k)
                     for k in range(12)])
    assert window.export_midi(str(dst))
    saved = _read_events(dst)

    def only(events, track, kind, number=None, span=(0, 10**9)):
        return [(t, v) for i, t, k, c, v in events if i == track and k == kind and
                c == number and span[0] <= t < span[1]]
    # the piano's pedal where it was in bars 1-3 (under the moved phrase too), bar 4's
    # as drawn; the strings' as it was
    early = (0, 3 * BAR)
    assert only(saved, 1, "control_change", SUSTAIN, early) == \
        only(original, 1, "control_change", SUSTAIN, early)
    assert len(only(saved, 1, "control_change", SUSTAIN, early)) == 6
    assert only(saved, 1, "control_change", SUSTAIN, (3 * BAR, 10**9)) == \
        [(3 * BAR + 480, 127), (3 * BAR + 1440, 0)]
    assert only(saved, 2, "control_change", SUSTAIN) == [(BAR, 127), (2 * BAR, 0)]
    # the other controllers and the aftertouch untouched
    for number in (1, 7, 10):
        assert only(saved, 1, "control_change", number) == \
            only(original, 1, "control_change", number)
    assert only(saved, 1, "aftertouch") == only(original, 1, "aftertouch")
    # the bend drawn in bar 1 is there, bar 4's bend as it was
    bends = only(saved, 1, "pitchwheel")
    assert [b for b in bends if b[0] >= 3 * BAR] == [(3 * BAR + 240, 3000), (3 * BAR + 480, 0)]
    drawn = [b for b in bends if b[0] < BAR]
    assert len(drawn) >= 3 and all(v > 0 for _, v in drawn[1:])
    assert only(saved, 2, "pitchwheel") == []
    # the project file keeps the edited events exactly, and so does the MIDI file read back
    from composer_app.music import load_score

    project = tmp_path / "out.composer.json"
    assert window.save_to(str(project))
    assert load_score(project).channel_events == window.doc.base.channel_events
    assert load_score(dst).channel_events == window.doc.base.channel_events


def test_an_undo_during_an_edge_drag_or_another_piece_never_edits_the_wrong_events(window):
    span = [(480, 0, "control", SUSTAIN, 127), (960, 0, "control", SUSTAIN, 0)]
    load(window, span)
    roll = window.roll
    window.act_lane_pedal.trigger()
    lane = roll.pedal_lane
    y = lane.height() // 2
    drag(lane, [QPoint(x(roll, 1440), y), QPoint(x(roll, 1700), y), QPoint(x(roll, 1920), y)])
    assert pedal(window.doc.base.channel_events) == [(480, 127), (960, 0), (1440, 127),
                                                     (1920, 0)]
    # press on the new span's end edge, undo the span while dragging, release
    QTest.mousePress(lane, Qt.LeftButton, Qt.NoModifier, QPoint(x(roll, 1920), y))
    QTest.mouseMove(lane, QPoint(x(roll, 2100), y))
    window.doc.undo_stack.undo()
    QTest.mouseRelease(lane, Qt.LeftButton, Qt.NoModifier, QPoint(x(roll, 2400), y))
    assert pedal(window.doc.base.channel_events) == [(480, 127), (960, 0)]
    # a span selected, then another piece opened: Delete does not reach into it
    QTest.mouseClick(lane, Qt.LeftButton, Qt.NoModifier, QPoint(x(roll, 700), y))
    assert lane.selected == 480
    load(window, span)
    roll.setFocus()
    QTest.keyClick(roll, Qt.Key_Delete)
    assert pedal(window.doc.base.channel_events) == [(480, 127), (960, 0)]
