"""The harmonizer with the shipped weights: grid, sampling contract, CLI."""

from __future__ import annotations

import logging

import mido
import numpy as np
import pytest

from composer_app.cli import main as cli_main
from composer_app.ml import grid
from composer_app.ml.harmonizer import GenerationCancelled, default_model_path, harmonize
from composer_app.music import (
    SATB_RANGES,
    VOICE_NAMES,
    Key,
    KeySignature,
    Note,
    Score,
    TimeSignature,
    Track,
    UserError,
    read_midi,
    write_midi,
)

pytestmark = pytest.mark.skipif(not default_model_path().is_file(),
                                reason="no shipped harmonizer weights")

# First phrase of a chorale-like tune in D minor with a raised leading tone (C#).
TUNE = [(62, 480), (65, 480), (64, 480), (62, 480), (61, 480), (62, 480), (64, 960),
        (65, 480), (67, 480), (69, 480), (67, 480), (65, 480), (64, 480), (62, 960)]


def melody_score(tune=TUNE, lead: int = 0, meter=(4, 4)) -> Score:
    notes, t = [], lead
    for pitch, dur in tune:
        notes.append(Note(pitch, t, dur, 90, 0))
        t += dur
    return Score(notes=notes, tracks=[Track("Melody")],
                 time_signatures=[TimeSignature(0, *meter)], title="tune")


def notes_of(score: Score, track: int) -> list[tuple]:
    return [(n.pitch, n.start, n.duration, n.velocity) for n in score.track_notes(track)]


def test_grid_round_trip_of_a_real_chorale(tmp_path):
    from composer_app.training.chorales import parse_chorale

    chorale = parse_chorale("bwv2.6")
    assert not isinstance(chorale, str)
    score = grid.grid_to_score(chorale.tokens, chorale.numerator, chorale.denominator)
    assert np.array_equal(grid.score_to_grid(score, chorale.steps), chorale.tokens)
    write_midi(score, tmp_path / "c.mid")  # and through a MIDI file
    again = grid.score_to_grid(read_midi(tmp_path / "c.mid"), chorale.steps)
    assert np.array_equal(again, chorale.tokens)


def test_output_voices_and_soprano_note_for_note():
    melody = melody_score()
    [out] = harmonize(melody, seed=3)
    assert [t.name for t in out.tracks] == list(VOICE_NAMES)
    assert [t.channel for t in out.tracks] == [0, 1, 2, 3]
    assert all(t.program in (52, 19) for t in out.tracks)
    assert notes_of(out, 0) == notes_of(melody, 0)
    for v in (1, 2, 3):
        notes = out.track_notes(v)
        assert notes, f"{VOICE_NAMES[v]} is empty"
        lo, hi = SATB_RANGES[VOICE_NAMES[v]]
        assert all(lo <= n.pitch <= hi for n in notes)
        # one voice: no overlapping notes
        assert all(a.end <= b.start for a, b in zip(notes, notes[1:], strict=False))
        assert max(n.end for n in notes) <= melody.end_tick


def test_locked_notes_are_kept_exactly():
    melody = melody_score()
    [first] = harmonize(melody, seed=1)
    locked = [first.track_notes(1)[2].moved(locked=True), first.track_notes(3)[0].moved(locked=True),
              first.track_notes(3)[4].moved(locked=True)]
    score = melody.copy()
    for name in VOICE_NAMES[1:]:
        score.add_track(name, len(score.tracks))
    score.notes += [n.moved(track=n.track) for n in locked]  # tracks 1..3 = Alto..Bass here
    outs = harmonize(score, melody_track=0, seed=99, variations=3)
    for out in outs:
        assert notes_of(out, 0) == notes_of(melody, 0)
        for n in locked:
            assert n in out.track_notes(n.track), n


def test_same_seed_same_output_other_seed_differs():
    melody = melody_score()
    a = harmonize(melody, seed=7)[0]
    b = harmonize(melody, seed=7)[0]
    c = harmonize(melody, seed=8)[0]
    assert a.notes == b.notes
    assert a.notes != c.notes


def test_variations_are_one_batch_of_different_results():
    outs = harmonize(melody_score(), seed=5, variations=3)
    assert len(outs) == 3
    assert len({tuple(o.notes) for o in outs}) == 3


def test_span_regeneration_leaves_the_rest_untouched():
    melody = melody_score()
    [full] = harmonize(melody, seed=11)
    start, end = 1920, 3840  # bars 2 and 3
    [again] = harmonize(full, melody_track=0, start=start, end=end, seed=12)
    for v in (1, 2, 3):
        outside_before = [n for n in full.track_notes(v) if not start <= n.start < end]
        outside_after = [n for n in again.track_notes(v) if not start <= n.start < end]
        assert outside_after == outside_before
        inside = [n for n in again.track_notes(v) if start <= n.start < end]
        assert inside and all(n.end <= end for n in inside)
    assert notes_of(again, 0) == notes_of(full, 0)


def test_pickup_and_three_four_and_far_key():
    # F# minor in 3/4 with a one-beat pickup (leading silence), up a fifth from B minor
    tune = [(73, 480), (78, 480), (78, 480), (77, 480), (78, 960), (80, 480), (81, 480),
            (80, 480), (78, 480), (77, 960), (73, 480), (74, 480), (73, 480), (71, 480), (69, 480),
            (68, 480), (66, 1440)]
    melody = melody_score(tune, lead=960, meter=(3, 4))
    [out] = harmonize(melody, seed=2, key="F#m")
    assert notes_of(out, 0) == notes_of(melody, 0)
    assert all(n.start >= 960 for n in out.notes)


@pytest.mark.parametrize("octaves", [-2, -1, 1, 2])
def test_melody_out_of_soprano_range_keeps_melody_and_every_lower_voice_in_range(octaves):
    from composer_app.music import SATB_RANGES

    moved = melody_score([(p + 12 * octaves, d) for p, d in TUNE])
    [out] = harmonize(moved, seed=4)
    assert notes_of(out, 0) == notes_of(moved, 0)
    for v, name in ((1, "Alto"), (2, "Tenor"), (3, "Bass")):
        lo, hi = SATB_RANGES[name]
        assert out.track_notes(v)
        assert all(lo <= n.pitch <= hi for n in out.track_notes(v)), name
    if octaves == 2:  # a high tune takes alto and tenor up with it, as far as ranges allow
        assert min(n.pitch for n in out.track_notes(1)) >= 65  # the alto's top octave
        assert min(n.pitch for n in out.track_notes(2)) >= 60


def test_progress_and_cancel():
    seen = []
    harmonize(melody_score(), seed=1, progress=seen.append)
    assert seen[-1] == 100 and seen == sorted(seen)
    with pytest.raises(GenerationCancelled):
        harmonize(melody_score(), seed=1, cancel=lambda: True)
    assert issubclass(GenerationCancelled, UserError)


def test_bad_input_gives_clear_errors(caplog):
    with pytest.raises(UserError, match="no melody"):
        harmonize(Score())
    with pytest.raises(UserError, match="empty span"):
        harmonize(melody_score(), start=960, end=960)
    with pytest.raises(UserError, match="unknown key"):
        harmonize(melody_score(), key="H#q")
    with pytest.raises(UserError, match="spans"):
        harmonize(melody_score([(30, 480), (90, 480)]))
    two = melody_score()
    two.add_track("Other", 1)
    two.notes.append(Note(50, 0, 480, 80, 1))
    with pytest.raises(UserError, match="--track"):
        harmonize(two)
    chordal = melody_score()
    chordal.notes.append(Note(55, 0, 480, 80, 0))
    with caplog.at_level(logging.WARNING):
        [out] = harmonize(chordal, seed=1)
    assert "top line" in caplog.text
    assert notes_of(out, 0) == notes_of(melody_score(), 0)


def test_cli_harmonize_end_to_end(tmp_path, capsys):
    src = tmp_path / "tune.mid"
    write_midi(melody_score(), src)
    out = tmp_path / "out.mid"
    assert cli_main(["harmonize", str(src), "-o", str(out), "--seed", "1", "--device", "cpu"]) == 0
    mid = mido.MidiFile(out)
    assert mid.type == 1
    score = read_midi(out)
    named = [t.name for t in score.tracks if score.track_notes(score.tracks.index(t))]
    assert named == list(VOICE_NAMES)
    assert notes_of(score, 0)[:3] == [(62, 0, 480, 90), (65, 480, 480, 90), (64, 960, 480, 90)]

    assert cli_main(["harmonize", str(src), "-o", str(tmp_path / "v.mid"), "--variations", "2",
                     "--seed", "2"]) == 0
    assert (tmp_path / "v-1.mid").is_file() and (tmp_path / "v-2.mid").is_file()

    assert cli_main(["harmonize", str(src), "-o", str(out), "--key", "X#"]) == 1
    assert "error: unknown key" in capsys.readouterr().err
    assert cli_main(["harmonize", str(src), "-o", str(out), "--track", "5"]) == 1


# A 3/4 tune in E minor with a pickup; left to itself the sampler often ended it on C major.
E_MINOR_TUNE = [(71, 480), (76, 480), (78, 480), (79, 480), (78, 960), (76, 480), (75, 960),
                (76, 1440), (79, 480), (81, 480), (83, 960), (81, 480), (79, 480), (78, 480),
                (76, 1440)]


@pytest.mark.parametrize("tune,key,tonic_pc,lead,meter", [
    (E_MINOR_TUNE, "Em", 4, 960, (3, 4)),
    (TUNE, "Dm", 2, 0, (4, 4)),
])
def test_the_piece_ends_on_its_tonic_chord(tune, key, tonic_pc, lead, meter):
    """Bach ends every chorale on the tonic: bass on the tonic, upper voices in its triad."""
    from composer_app.music import parse_key

    k = parse_key(key)
    third = {(tonic_pc + 4) % 12} | ({(tonic_pc + 3) % 12} if k.mode == "minor" else set())
    triad = {tonic_pc, (tonic_pc + 7) % 12} | third
    for out in harmonize(melody_score(tune, lead, meter), key=key, variations=8, seed=5):
        end = out.end_tick
        final = {tr: [n for n in out.track_notes(tr) if n.end == end][-1].pitch
                 for tr in range(4)}
        assert final[3] % 12 == tonic_pc
        assert {final[1] % 12, final[2] % 12} <= triad


def test_final_chord_follows_a_key_change():
    """C major at the start, G major from bar 3: the piece ends on G, not on C."""
    from composer_app.music import KeySignature, parse_key

    tune = [(64, 480), (65, 480), (67, 960), (69, 480), (67, 480), (65, 480), (64, 480),
            (66, 480), (67, 480), (69, 480), (71, 480), (72, 960), (71, 480), (69, 480),
            (67, 480), (69, 480), (71, 480), (72, 480), (74, 960), (72, 480), (71, 480),
            (69, 480), (66, 480), (67, 1920)]
    score = melody_score(tune)
    score.key_signatures = [KeySignature(0, parse_key("C")), KeySignature(3840, parse_key("G"))]
    for out in harmonize(score, variations=4, seed=1):
        end = out.end_tick
        assert [n for n in out.track_notes(3) if n.end == end][-1].pitch % 12 == 7


def test_fermatas_on_every_note_or_none_still_harmonize_with_the_melody_kept():
    every = melody_score()
    every.notes = [n.moved(fermata=True) for n in every.notes]
    [out] = harmonize(every, seed=3)
    assert notes_of(out, 0) == notes_of(every, 0)
    assert all(out.track_notes(v) for v in (1, 2, 3))
    plain = melody_score([(67, 480)] * 16)  # one pitch, no phrase end but the last
    [out] = harmonize(plain, seed=3)
    assert notes_of(out, 0) == notes_of(plain, 0)


def test_given_fermata_brings_an_authentic_cadence_there():
    """Fermatas on the C of bar 1 and the last C: V under the D before, I under the C."""
    tune = [(64, 480), (62, 480), (60, 960), (64, 480), (65, 480), (67, 960),
            (69, 480), (67, 480), (65, 480), (64, 480), (62, 960), (60, 960)]
    score = melody_score(tune)
    score.notes = [n.moved(fermata=i in (2, 11)) for i, n in enumerate(score.notes)]
    score.key_signatures = [KeySignature(0, Key(0, "major"))]
    hits = 0
    for out in harmonize(score, seed=1, variations=4):
        bass = {n.start: n.pitch % 12 for n in out.track_notes(3)}
        hits += bass.get(960) == 0 and bass.get(480) == 7  # V under D, I under C
    assert hits >= 3


def test_melody_beyond_every_range_is_a_clear_message():
    with pytest.raises(UserError, match="too extreme|spans"):
        harmonize(melody_score([(12, 480), (14, 480), (16, 960)]))


def test_evaluate_prints_the_style_profile_and_writes_json_and_card(tmp_path, capsys):
    import json

    out, card = tmp_path / "eval.json", tmp_path / "card.json"
    assert cli_main(["evaluate", "harmonizer", "--limit", "2", "--seeds", "1",
                     "--json", str(out), "--card", str(card)]) == 0
    printed = capsys.readouterr().out
    assert "classifier on 2-bar windows" in printed and "network alone" in printed
    result = json.loads(out.read_text())
    assert set(result["columns"]) == {"Bach", "model + rules", "network alone"}
    assert result["columns"]["model + rules"]["soprano_exact_pct"] == 100.0
    assert 0 < result["phrase_ends"]["precision"] <= 1
    written = json.loads(card.read_text())
    assert set(written["sampling"]["rules"]) >= {"cadence", "parallels", "rising_third"}
    assert all(r["what"] for r in written["sampling"]["rules"].values())


def test_evaluate_refuses_an_unreadable_history_before_any_work(tmp_path, capsys):
    assert cli_main(["evaluate", "harmonizer", "--history", str(tmp_path / "none.json"),
                     "--card", str(tmp_path / "c.json")]) == 1
    assert "none.json: cannot read the training history" in capsys.readouterr().err


def test_a_span_after_a_key_change_is_harmonized_in_the_key_in_force_there():
    """C major, then G from bar 3: bars 3-6 harmonized alone are harmonized in G (as
    the same tune written in G throughout), not in C."""
    from composer_app.music import KeySignature, parse_key

    tune = [(64, 480), (65, 480), (67, 960), (69, 480), (67, 480), (65, 480), (64, 480),
            (66, 480), (67, 480), (69, 480), (71, 480), (72, 960), (71, 480), (69, 480),
            (67, 480), (69, 480), (71, 480), (72, 480), (74, 960), (72, 480), (71, 480),
            (69, 480), (66, 480), (67, 1920)]
    changed = melody_score(tune)
    changed.key_signatures = [KeySignature(0, parse_key("C")), KeySignature(3840, parse_key("G"))]
    in_g, in_c = melody_score(tune), melody_score(tune)
    in_g.key_signatures = [KeySignature(0, parse_key("G"))]
    in_c.key_signatures = [KeySignature(0, parse_key("C"))]

    def run(score):
        return [out.notes for out in harmonize(score, start=3840, variations=2, seed=4)]

    assert run(changed) == run(in_g)
    assert run(changed) != run(in_c)
