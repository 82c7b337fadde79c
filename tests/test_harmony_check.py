"""The harmony checker (issue 16): voice-leading findings and chord labels of four-part
writing in a Score, as the user and `composer-app check` see them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from composer_app.cli import main
from composer_app.music import Key, KeySignature, Note, Score, Track, UserError, load_score
from composer_app.music import voice_leading as vl
from composer_app.music.harmony_check import check_score, chord_labels, four_voices

C_MAJOR = Key(0, "major")


def satb(*chords, key=C_MAJOR, names=("Soprano", "Alto", "Tenor", "Bass")) -> Score:
    """Quarter-note chords (S, A, T, B) in 4/4."""
    notes = [Note(p, i * 480, 480, 80, v) for i, ch in enumerate(chords) for v, p in enumerate(ch)]
    return Score(notes=notes, tracks=[Track(n, i) for i, n in enumerate(names)],
                 key_signatures=[KeySignature(0, key)])


def found(score: Score) -> list[tuple[str, tuple[str, ...]]]:
    return [(i.kind, i.voices) for i in check_score(score)]


def test_good_voice_leading_has_no_findings_and_is_labelled():
    piece = satb((72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 65, 55), (72, 67, 64, 48))
    assert found(piece) == []
    assert [(m.roman, m.symbol) for m in chord_labels(piece)] == \
        [("I", "C"), ("IV", "F"), ("V7", "G7"), ("I", "C")]


@pytest.mark.parametrize("chords, expected", [
    # I -> ii in root position, everything moving up: fifths A-B and octaves S-B
    (((72, 67, 64, 48), (74, 69, 65, 50)),
     [(vl.PARALLEL_FIFTHS, ("Alto", "Bass")), (vl.PARALLEL_OCTAVES, ("Soprano", "Bass"))]),
    # soprano leaps up a sixth into the octave with a rising bass
    (((64, 60, 55, 43), (72, 64, 55, 48)), [(vl.HIDDEN_OCTAVES, ("Soprano", "Bass"))]),
    (((72, 60, 64, 48),), [(vl.CROSSING, ("Alto", "Tenor"))]),
    (((79, 60, 55, 48),), [(vl.SPACING, ("Soprano", "Alto"))]),
    (((72, 67, 64, 33),), [(vl.RANGE, ("Bass",))]),
    # V7 -> I with the seventh (F, alto) rising to G
    (((72, 67, 64, 48), (71, 65, 62, 55), (72, 67, 64, 48)),
     [(vl.UNRESOLVED_SEVENTH, ("Alto",))]),
    # V -> I with the leading tone (B, tenor) falling to G
    (((72, 67, 64, 48), (74, 67, 59, 55), (72, 67, 55, 52)),
     [(vl.HIDDEN_FIFTHS, ("Soprano", "Bass")), (vl.UNRESOLVED_LEADING_TONE, ("Tenor",))]),
])
def test_each_fault_is_found_once_and_nothing_else(chords, expected):
    assert sorted(found(satb(*chords))) == sorted(expected)


def test_a_doubled_leading_tone_in_the_dominant_is_found():
    kinds = [k for k, _ in found(satb((72, 67, 64, 48), (71, 62, 59, 55), (72, 64, 60, 48)))]
    assert kinds.count(vl.DOUBLED_LEADING_TONE) == 1
    assert (vl.DOUBLED_LEADING_TONE, ("Soprano", "Tenor")) in found(
        satb((72, 67, 64, 48), (71, 62, 59, 55), (72, 64, 60, 48)))


def test_findings_are_placed_in_bars_and_beats_on_the_voices_tracks():
    piece = satb((67, 64, 60, 48), (67, 64, 60, 48), (72, 67, 64, 48), (74, 69, 65, 50))
    issue = [i for i in check_score(piece) if i.kind == vl.PARALLEL_FIFTHS][0]
    assert (issue.bar, issue.beat, issue.start, issue.end) == (1, 4, 3 * 480, 4 * 480)
    assert issue.tracks == (1, 3) and "fifth" in issue.explanation


def test_labels_in_minor_and_secondary_dominants():
    a_minor = Key(9, "minor")
    piece = satb((69, 64, 60, 45), (68, 64, 59, 52), (69, 64, 60, 45), (72, 69, 65, 53),
                 key=a_minor)
    assert [m.roman for m in chord_labels(piece)] == ["i", "V", "i", "VI"]
    c = satb((72, 67, 64, 48), (72, 69, 66, 50), (71, 67, 62, 55), (72, 67, 64, 48))
    assert [m.roman for m in chord_labels(c)] == ["I", "V7/V", "V", "I"]
    inv = satb((72, 67, 64, 52), (71, 67, 62, 53), (72, 67, 64, 48))
    assert [m.roman for m in chord_labels(inv)] == ["I6", "V42", "I"]


def test_voices_found_by_pitch_when_not_named_and_a_melody_is_refused():
    piece = satb((72, 67, 64, 48), (74, 69, 65, 50), names=("d", "b", "c", "a"))
    assert four_voices(piece) == [0, 1, 2, 3]
    with pytest.raises(UserError, match="four-part"):
        check_score(Score(notes=[Note(60, 0, 480)], tracks=[Track("Melody")]))


@pytest.mark.parametrize("name", ["bwv66.6", "bwv26.6"])
def test_on_bachs_chorales_the_checker_counts_as_the_evaluation_does(name):
    """The evaluation counts on the grid of the training corpus; the checker on the Score
    the app reads: the same findings of every key-free kind."""
    corpus = pytest.importorskip("music21.corpus")
    from composer_app.ml import grid
    from composer_app.training import style

    score = load_score(str(corpus.getWork(f"bach/{name}")))
    _, chords = style.succession(grid.score_to_grid(score))
    by_eval = sorted(f.kind for f in vl.check_chords(chords))
    by_check = sorted(i.kind for i in check_score(score)
                      if i.kind not in (vl.DOUBLED_LEADING_TONE, vl.UNRESOLVED_LEADING_TONE,
                                        vl.UNRESOLVED_SEVENTH))
    assert by_check == by_eval and by_eval
    assert np.mean([m.roman != "?" for m in chord_labels(score)]) > 0.95


def test_check_command_prints_the_list_and_writes_json(tmp_path, capsys):
    from composer_app.music import write_midi

    path = tmp_path / "exercise.mid"
    write_midi(satb((72, 67, 64, 48), (74, 69, 65, 50)), path)
    out_json = tmp_path / "found.json"
    assert main(["check", str(path), "--labels", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "bar 1, beat 2: parallel fifths (Alto-Bass)" in out
    assert "2 findings" in out and "bar 1: I (C)  ii (Dm)" in out
    data = json.loads(out_json.read_text())
    assert {f["kind"] for f in data["findings"]} == {vl.PARALLEL_FIFTHS, vl.PARALLEL_OCTAVES}
    assert [m["roman"] for m in data["labels"]] == ["I", "ii"]
    melody = tmp_path / "melody.mid"
    write_midi(Score(notes=[Note(60, 0, 480)]), melody)
    assert main(["check", str(melody)]) == 1
    assert "four-part" in capsys.readouterr().err
