"""Whole-piece and conductor-mark arithmetic (ui/piece_edits.py), exactly."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from composer_app.music import KeySignature, Note, TempoChange, TimeSignature  # noqa: E402
from composer_app.music.theory import Key, parse_key  # noqa: E402
from composer_app.ui import piece_edits as pe  # noqa: E402
from composer_app.ui.document import ScoreMeta  # noqa: E402

BAR = 1920


def meta(**kw) -> ScoreMeta:
    out = ScoreMeta(tempos=[TempoChange(0, 100.0)], time_signatures=[TimeSignature(0, 4, 4)],
                    key_signatures=[KeySignature(0, parse_key("C"))])
    for k, v in kw.items():
        setattr(out, k, v)
    return out


def test_transpose_moves_notes_and_keys_spelled_with_fewer_accidentals():
    notes = {1: Note(60, 0, 480), 2: Note(67, 480, 480, track=1)}
    m = meta(key_signatures=[KeySignature(0, parse_key("C")), KeySignature(BAR, parse_key("Am"))])
    out, new = pe.transpose_piece(notes, m, 1)
    assert out == {1: Note(61, 0, 480), 2: Note(68, 480, 480, track=1)}
    assert [(k.tick, k.key.name) for k in new.key_signatures] == [(0, "Db"), (BAR, "Bbm")]
    _, new = pe.transpose_piece(notes, m, -3)
    assert [k.key.name for k in new.key_signatures] == ["A", "F#m"]
    _, new = pe.transpose_piece(notes, m, 6)
    assert [k.key.name for k in new.key_signatures] == ["F#", "Ebm"]
    assert new.tempos == m.tempos and new.time_signatures == m.time_signatures
    with pytest.raises(ValueError, match="MIDI range"):
        pe.transpose_piece({1: Note(120, 0, 480)}, m, 12)


def test_insert_time_moves_later_notes_splits_held_ones_and_moves_changes():
    notes = {1: Note(60, 0, 480), 2: Note(62, 1440, 960), 3: Note(64, BAR, 480),
             4: Note(65, 2 * BAR, 480, track=2)}
    m = meta(tempos=[TempoChange(0, 100.0), TempoChange(BAR, 80.0)],
             time_signatures=[TimeSignature(0, 4, 4), TimeSignature(2 * BAR, 3, 4)],
             key_signatures=[KeySignature(0, parse_key("C")), KeySignature(BAR, parse_key("G"))])
    changed, added, new = pe.insert_time(notes, m, BAR, 2 * BAR)
    assert changed == {2: Note(62, 1440, 480), 3: Note(64, 3 * BAR, 480),
                       4: Note(65, 4 * BAR, 480, track=2)}
    assert added == [Note(62, 3 * BAR, 480)]
    assert new.tempos == [TempoChange(0, 100.0), TempoChange(3 * BAR, 80.0)]
    assert new.time_signatures == [TimeSignature(0, 4, 4), TimeSignature(4 * BAR, 3, 4)]
    assert new.key_signatures == [KeySignature(0, parse_key("C")),
                                  KeySignature(3 * BAR, parse_key("G"))]
    # at bar 1: bar 1's marks stay where they are
    changed, added, new = pe.insert_time(notes, m, 0, BAR)
    assert changed[1] == Note(60, BAR, 480) and not added
    assert new.tempos == [TempoChange(0, 100.0), TempoChange(2 * BAR, 80.0)]


def test_delete_time_removes_inside_shortens_spanning_and_keeps_what_is_in_force():
    notes = {1: Note(60, 0, 480), 2: Note(62, 1440, 960), 3: Note(64, BAR, 480),
             4: Note(65, 2 * BAR + 240, 480, track=1), 5: Note(67, 2 * BAR - 480, 960),
             6: Note(69, 1000, 3 * BAR)}
    m = meta(tempos=[TempoChange(0, 100.0), TempoChange(BAR + 480, 80.0),
                     TempoChange(3 * BAR, 90.0)],
             key_signatures=[KeySignature(0, parse_key("C")), KeySignature(BAR, parse_key("G"))])
    changed, deleted, new = pe.delete_time(notes, m, BAR, 2 * BAR)
    assert deleted == {3}
    assert changed == {
        2: Note(62, 1440, 480),  # shortened to the cut
        4: Note(65, BAR + 240, 480, track=1),  # moved a bar earlier
        5: Note(67, BAR, 480),  # began in the cut: starts where it was, keeps the rest
        6: Note(69, 1000, 2 * BAR),  # spans the cut: one bar shorter
    }
    # the tempo set inside the cut is in force at its end: it moves to the cut
    assert new.tempos == [TempoChange(0, 100.0), TempoChange(BAR, 80.0),
                          TempoChange(2 * BAR, 90.0)]
    assert new.key_signatures == [KeySignature(0, parse_key("C")),
                                  KeySignature(BAR, parse_key("G"))]
    # a change already in force before the cut is not repeated; one just after wins
    m2 = meta(tempos=[TempoChange(0, 100.0), TempoChange(BAR, 100.0), TempoChange(2 * BAR, 70.0)])
    _, _, new = pe.delete_time({}, m2, BAR, 2 * BAR)
    assert new.tempos == [TempoChange(0, 100.0), TempoChange(BAR, 70.0)]
    m3 = meta(tempos=[TempoChange(0, 100.0), TempoChange(BAR, 100.0)])
    _, _, new = pe.delete_time({}, m3, BAR, 2 * BAR)
    assert new.tempos == [TempoChange(0, 100.0)]
    # deleting bar 1: what was in force at bar 2 becomes bar 1's
    m4 = meta(time_signatures=[TimeSignature(0, 4, 4), TimeSignature(BAR, 3, 4)])
    changed, deleted, new = pe.delete_time(notes, m4, 0, BAR)
    assert 1 in deleted and changed[3] == Note(64, 0, 480)
    assert new.time_signatures == [TimeSignature(0, 3, 4)]


def test_marks_add_change_move_delete_and_bar_lines():
    m = meta(time_signatures=[TimeSignature(0, 4, 4), TimeSignature(2 * BAR, 3, 4)])
    pe.set_mark(m, pe.TEMPO, 960, 90)
    pe.set_mark(m, pe.TEMPO, 960, 72.5)
    assert m.tempos == [TempoChange(0, 100.0), TempoChange(960, 72.5)]
    assert pe.label(m.tempos[1]) == "♩=72.5" and pe.label(m.tempos[0]) == "♩=100"
    pe.set_mark(m, pe.KEY, 3 * BAR, Key(7, "minor"))
    assert pe.label(m.key_signatures[1]) == "Gm"
    pe.move_mark(m, pe.TEMPO, 960, 1200)
    assert m.tempos == [TempoChange(0, 100.0), TempoChange(1200, 72.5)]
    pe.move_mark(m, pe.TEMPO, 0, 480)  # bar 1's does not move
    assert m.tempos[0] == TempoChange(0, 100.0)
    with pytest.raises(ValueError):
        pe.delete_mark(m, pe.TEMPO, 0)
    pe.delete_mark(m, pe.TEMPO, 1200)
    assert m.tempos == [TempoChange(0, 100.0)]
    # bar lines: bars 1-2 of 4/4, then 3/4 (1440 ticks)
    assert pe.bar_line_at(m, 2 * BAR + 1500) == 2 * BAR + 1440
    assert pe.nearest_bar_line(m, 2 * BAR + 1000) == 2 * BAR + 1440
    # a dragged meter lands on bar lines of the bars without it; a key on today's bars
    assert pe.move_target(m, pe.METER, 2 * BAR, 3 * BAR + 100, int) == 3 * BAR
    assert pe.move_target(m, pe.KEY, 3 * BAR, 2 * BAR + 1000, int) == 2 * BAR + 1440
    assert pe.move_target(m, pe.KEY, 3 * BAR, 100, int) == BAR  # never onto bar 1
    assert pe.move_target(m, pe.TEMPO, 960, 1000.4, lambda t: 120 * round(t / 120)) == 960
