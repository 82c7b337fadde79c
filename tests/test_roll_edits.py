"""The piano roll's edit arithmetic (ui/roll_edits.py), without Qt."""

from composer_app.music import Note, Score, TimeSignature
from composer_app.ui import roll_edits as e

FOUR_FOUR = Score()
# A 3/4 bar first, then 4/4 from tick 1440: the grid restarts at every bar line.
MIXED = Score(time_signatures=[TimeSignature(0, 3, 4), TimeSignature(1440, 4, 4)])


def test_snap_round_and_floor_follow_the_bar_lines():
    assert e.snap_round(FOUR_FOUR, 170, 120) == 120
    assert e.snap_round(FOUR_FOUR, 181, 120) == 240
    assert e.snap_floor(FOUR_FOUR, 239, 120) == 120
    assert e.snap_round(FOUR_FOUR, -30, 120) == 0  # never before the start
    # a half-note grid in 3/4: lines at 0, 960, then the next bar at 1440 (not 1920)
    assert e.snap_floor(MIXED, 1500, 960) == 1440
    assert e.snap_round(MIXED, 1300, 960) == 960
    assert e.snap_round(MIXED, 1800, 960) == 1440 and e.snap_round(MIXED, 2000, 960) == 2400
    # triplets
    assert e.snap_round(FOUR_FOUR, 100, 80) == 80 and e.snap_floor(FOUR_FOUR, 159, 80) == 80


def test_no_grid_rounds_to_whole_ticks():
    assert e.snap_round(FOUR_FOUR, 170.6, 0) == 171
    assert e.snap_floor(FOUR_FOUR, 170.6, 0) == 170
    assert e.snap_length(0) == e.DEFAULT_SNAP_LEN and e.snap_length(160) == 160


def test_resized_never_below_the_minimum_nor_lengthened_by_a_shortening():
    n = Note(60, 0, 480)
    assert e.resized(n, 240, 120).duration == 720
    assert e.resized(n, -400, 120).duration == 120
    assert e.resized(Note(60, 0, 60), -400, 120).duration == 60  # already shorter: stays
    assert e.resized(Note(60, 0, 60), -10, 120).duration == 60


def test_resize_offset_lets_every_note_shrink_on_its_own():
    notes = [Note(60, 0, 960), Note(62, 960, 120), Note(64, 1440, 60)]
    anchor = notes[0]
    # the anchor's end to 480: 480 shorter, though the others are at or below 120
    assert e.resize_offset(notes, anchor, 480, 120) == -480
    # stops once the longest is at the minimum
    assert e.resize_offset(notes, anchor, 0, 120) == -840
    changed = e.resized_notes(dict(enumerate(notes)), -840, 120)
    assert {i: n.duration for i, n in changed.items()} == {0: 120}  # the rest unchanged


def test_move_offsets_keep_the_notes_in_range():
    notes = [Note(60, 240, 120), Note(126, 480, 120)]
    assert e.move_offsets(notes, notes[0], 480, 1) == (240, 1)
    assert e.move_offsets(notes, notes[0], 0, 5) == (-240, 1)  # pitch 127 at most
    assert e.move_offsets(notes, notes[1], 0, -200) == (-240, -60)  # start 0, pitch 0
    moved = e.moved_notes({7: notes[0]}, 120, -2)
    assert moved == {7: Note(58, 360, 120)}


def test_draw_end_and_length():
    assert e.draw_end(250, FOUR_FOUR, 120, 120, free=False) == 360
    assert e.draw_end(250.2, FOUR_FOUR, 120, 120, free=True) == 251
    assert e.draw_end(250, FOUR_FOUR, 0, 240, free=False) == 490  # grid off: the step
    assert e.drawn_length(240, 250, 120) == 120
    assert e.drawn_length(240, 960, 120) == 720


def test_transposed_refuses_to_leave_the_midi_range():
    notes = {1: Note(60, 0, 120), 2: Note(120, 0, 120)}
    assert {i: n.pitch for i, n in e.transposed(notes, 7).items()} == {1: 67, 2: 127}
    assert e.transposed(notes, 8) is None
    assert e.transposed({1: Note(3, 0, 120)}, -4) is None


def test_shift_offset_stops_at_the_start():
    notes = [Note(60, 120, 120), Note(62, 480, 120)]
    assert e.shift_offset(notes, -480) == -120
    assert e.shift_offset(notes, 240) == 240


def test_quantize_snaps_both_ends_and_keeps_a_step():
    notes = {1: Note(60, 130, 20), 2: Note(62, 355, 250)}
    q = e.quantized(notes, FOUR_FOUR, 120, 120)
    assert (q[1].start, q[1].duration) == (120, 120)  # too short: one step
    assert (q[2].start, q[2].duration) == (360, 240)
    free = e.quantized(notes, FOUR_FOUR, 0, 120)  # grid off: whole ticks, the step kept
    assert (free[1].start, free[1].duration) == (130, 120)


def test_duplicate_lands_after_the_span_rounded_up():
    notes = [Note(60, 0, 480, locked=True), Note(62, 480, 120)]
    copies = e.duplicated(notes, 120)
    assert [n.start for n in copies] == [600, 1080] and not any(n.locked for n in copies)
    assert [n.start for n in e.duplicated([Note(60, 10, 100)], 480)] == [490]


def test_paste_onto_the_active_voice_or_each_its_own():
    one = [Note(60, 960, 120, track=0), Note(62, 1080, 120, track=0, locked=True)]
    out = e.pasted(one, 240, active_track=2, track_count=3)
    assert [(n.start, n.track, n.locked) for n in out] == [(240, 2, False), (360, 2, False)]
    two = [Note(60, 0, 120, track=0), Note(48, 0, 120, track=3)]
    out = e.pasted(two, 0, active_track=1, track_count=2)
    assert [n.track for n in out] == [0, 1]  # voice 3 does not exist here: the active one


def test_velocity_change_lane_and_toggles():
    notes = {1: Note(60, 0, 120, velocity=120), 2: Note(62, 0, 120, velocity=5)}
    assert [n.velocity for n in e.with_velocity_change(notes, 10).values()] == [127, 15]
    assert [n.velocity for n in e.with_velocity_change(notes, -10).values()] == [110, 1]
    assert e.velocity_at(4, 70) == 127 and e.velocity_at(66, 70) == 1
    assert e.velocity_at(35, 70) == 64
    changed, lock = e.lock_toggled({1: Note(60, 0, 120, locked=True), 2: Note(62, 0, 120)})
    assert lock and all(n.locked for n in changed.values())
    changed, lock = e.lock_toggled(changed)
    assert not lock and not any(n.locked for n in changed.values())
    changed, mark = e.fermata_toggled({1: Note(60, 0, 120, fermata=True)})
    assert not mark and not changed[1].fermata
