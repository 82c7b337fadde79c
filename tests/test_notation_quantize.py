"""MusicXML export of unquantized music: quantized for the notation only (issue 13)."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from composer_app.cli import main
from composer_app.music import Note, Score, TempoChange, Track, read_musicxml, write_midi
from composer_app.music.musicxml import write_musicxml
from composer_app.music.notation import is_notatable, notation_copy, quantize_tick


def performance(seed=3, count=120) -> Score:
    """A played-in piece: onsets and lengths a few ticks off the beat, as a keyboard gives
    (one line per hand: notes overlapping in one track are another matter, issue 13)."""
    rng = random.Random(seed)
    notes = []
    for i in range(count):
        start = i * 480 + rng.randint(-37, 37) + 40
        notes.append(Note(rng.randint(55, 80), max(start, 0), 200 + rng.randint(-90, 300),
                          rng.randint(40, 110), 0))
        if i % 4 == 0:  # a left hand with the odd 1-tick note
            notes.append(Note(rng.randint(36, 50), max(start + 3, 0), rng.choice([1, 7, 1213]),
                              64, 1))
    return Score(notes=notes, tracks=[Track("Right", 0, 0), Track("Left", 1, 0)],
                 tempos=[TempoChange(0, 100.0), TempoChange(1013, 96.5)])


def test_quantize_tick_prefers_straight_and_takes_closer_triplets():
    steps = (120, 160)  # sixteenths and eighth triplets at 480 ppq
    assert quantize_tick(61, steps) == 120 and quantize_tick(59, steps) == 0
    assert quantize_tick(165, steps) == 160  # a triplet eighth played a little late
    assert quantize_tick(240, steps) == 240
    assert quantize_tick(5, (120,)) == 0


def test_notated_music_is_left_alone():
    score = Score(notes=[Note(60, 0, 480), Note(62, 480, 160), Note(64, 640, 160),
                         Note(65, 960, 96), Note(67, 1056, 30)])
    assert is_notatable(score)
    same, line = notation_copy(score)
    assert same is score and line is None


def test_performance_exports_quantized_and_the_piece_is_unchanged(tmp_path):
    from music21 import converter

    score = performance()
    before = score.copy()
    assert not is_notatable(score)
    out = tmp_path / "etude.musicxml"
    notes = write_musicxml(score, out)
    assert score == before  # never changes the piece
    assert len(notes) == 1 and "quantized to 1/16 (triplets allowed)" in notes[0]
    assert "etude.musicxml" in notes[0] and "the piece is unchanged" in notes[0]
    # music21 opens it with every note on the sixteenth or eighth-triplet grid ...
    parsed = converter.parse(str(out))
    offsets = [Fraction(n.offset) for n in parsed.stripTies().flatten().notes]
    assert offsets and all((o * 4).denominator == 1 or (o * 3).denominator == 1 for o in offsets)
    # ... and our reader gets back the quantized copy's notes exactly.
    quantized, _ = notation_copy(score)
    key = lambda s: sorted((n.pitch, n.start, n.duration, n.track) for n in s.notes)  # noqa: E731
    assert key(read_musicxml(out)) == key(quantized)


def test_cli_export_says_so_and_takes_a_grid(tmp_path, capsys):
    src = tmp_path / "played.mid"
    write_midi(performance(count=40), src)
    out = tmp_path / "played.musicxml"
    assert main(["export", str(src), "-o", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("note: played.musicxml: quantized to 1/16")
    assert main(["export", str(src), "-o", str(out), "--grid", "8", "--straight"]) == 0
    err = capsys.readouterr().err
    assert "quantized to 1/8 for the notation only" in err
    assert all(n.start % 240 == 0 and n.duration % 240 == 0 for n in read_musicxml(out).notes)


@pytest.mark.parametrize("grid", [3, 64])
def test_unknown_grid_is_refused(grid):
    with pytest.raises(ValueError):
        notation_copy(performance(count=4), grid=grid)
