"""MusicXML through music21: what notation programs exchange."""

from __future__ import annotations

import pytest

from composer_app.music import (
    FileFormatError,
    KeySignature,
    Note,
    Score,
    TimeSignature,
    Track,
    load_score,
    parse_key,
    read_musicxml,
    write_musicxml,
)


def melody_and_bass() -> Score:
    notes = [
        Note(67, 0, 240, 80, 0), Note(69, 240, 240, 80, 0), Note(71, 480, 720, 80, 0),
        Note(72, 1200, 240, 80, 0), Note(74, 1440, 1440, 80, 0),
        Note(43, 0, 1440, 80, 1), Note(48, 1440, 960, 80, 1), Note(50, 2400, 480, 80, 1),
        # a chord in the bass staff
        Note(55, 2400, 480, 80, 1),
    ]
    return Score(notes=notes, tracks=[Track("Melody", 0, 0), Track("Bass", 1, 32)],
                 time_signatures=[TimeSignature(0, 3, 4)],
                 key_signatures=[KeySignature(0, parse_key("G"))])


def test_musicxml_round_trip_keeps_every_note(tmp_path):
    score = melody_and_bass()
    path = tmp_path / "piece.musicxml"
    write_musicxml(score, path)
    back = read_musicxml(path)
    got = sorted((n.pitch, n.start, n.duration, n.track) for n in back.notes)
    want = sorted((n.pitch, n.start, n.duration, n.track) for n in score.notes)
    assert got == want  # ties across bar lines are joined back into one note
    assert [t.name for t in back.tracks] == ["Melody", "Bass"]
    assert str(back.time_signatures[0]) == "3/4"
    assert back.key == parse_key("G")


def test_minor_key_and_flats_survive(tmp_path):
    score = Score(notes=[Note(65, 0, 480), Note(68, 480, 480), Note(72, 960, 960)],
                  key_signatures=[KeySignature(0, parse_key("Fm"))])
    path = tmp_path / "fm.xml"
    write_musicxml(score, path)
    back = load_score(path)
    assert back.key == parse_key("Fm")
    assert [n.pitch for n in back.notes] == [65, 68, 72]


def test_bundled_bach_chorale_reads(tmp_path):
    """A real four-part chorale from music21's corpus comes in with four voices."""
    from music21 import corpus

    path = corpus.getWork("bach/bwv66.6")
    score = read_musicxml(path)
    assert len(score.tracks) == 4
    assert len(score.notes) > 100
    assert all(score.track_notes(i) for i in range(4))


def test_garbage_musicxml_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.musicxml"
    path.write_text("<score-partwise><part id='P1'><measure>")
    with pytest.raises(FileFormatError, match="bad.musicxml"):
        read_musicxml(path)


def test_pickup_measure_is_kept_as_written(tmp_path):
    """bwv66.6 opens with a one-beat pickup: it ends a silent first bar, so measure 1's
    downbeat falls on a bar line (as the MIDI reader keeps a pickup)."""
    from music21 import corpus

    score = read_musicxml(corpus.getWork("bach/bwv66.6"))
    soprano = score.track_notes(0)
    assert soprano[0].start == 3 * 480  # beat 4 of an empty bar 1
    assert score.tick_to_bar_beat(soprano[0].start) == (1, 4, 0)
    downbeat = [n for n in soprano if n.start == 4 * 480]
    assert downbeat and score.tick_to_bar_beat(downbeat[0].start) == (2, 1, 0)
    assert all(n.duration in (240, 480, 720, 960, 1440, 1920) for n in soprano)
    path = tmp_path / "again.musicxml"
    write_musicxml(score, path)
    again = read_musicxml(path)
    assert [(n.pitch, n.start, n.duration) for n in again.notes] == \
        [(n.pitch, n.start, n.duration) for n in score.notes]


def test_chorale_voices_get_their_clefs_and_the_tenor_reads_an_octave_down(tmp_path):
    """A tenor in a plain treble clef reads an octave too high; treble-8vb is the
    convention (and the bass gets the bass clef whatever its range)."""
    import xml.etree.ElementTree as ET

    tracks = [Track("Soprano", 0), Track("Alto", 1), Track("Tenor", 2), Track("Bass", 3)]
    pitches = (72, 67, 60, 48)
    score = Score(notes=[Note(p, 0, 1920, 80, v) for v, p in enumerate(pitches)], tracks=tracks,
                  time_signatures=[TimeSignature(0, 4, 4)])
    path = tmp_path / "satb.musicxml"
    write_musicxml(score, path)
    root = ET.parse(path).getroot()
    clefs = []
    for part in root.iter("part"):
        c = next(part.iter("clef"))
        octave = c.find("clef-octave-change")
        clefs.append((c.findtext("sign"), c.findtext("line"),
                      int(octave.text) if octave is not None else 0))
    assert clefs == [("G", "2", 0), ("G", "2", 0), ("G", "2", -1), ("F", "4", 0)]
    back = read_musicxml(path)
    assert sorted(n.pitch for n in back.notes) == sorted(pitches)  # sounding pitch kept


def _bar_lines(score, upto: int) -> list[int]:
    lines, bar = [], 0
    while score.bar_start(bar) < upto:
        lines.append(score.bar_start(bar))
        bar += 1
    return lines


def test_a_pickup_after_a_meter_change_mid_piece_is_a_bar_of_its_own():
    # bwv304 turns to 3/4 with a one-beat pickup (its measure 9): every later bar line
    # of the file must be a bar line of the Score, not one beat early.
    corpus = pytest.importorskip("music21.corpus")
    from music21 import stream

    from composer_app.music import load_score

    score = load_score(str(corpus.getWork("bach/bwv304", fileExtensions=("mxl",))))
    measures = list(corpus.parse("bach/bwv304").parts[0].getElementsByClass(stream.Measure))
    pad = round(float(measures[0].paddingLeft) * 480)  # an opening pickup's silence
    written = [pad + round(float(m.offset) * 480) for m in measures]
    assert set(written) <= set(_bar_lines(score, score.end_tick))
    assert score.time_signature_at(pad + 32 * 480 + 480).numerator == 3


def test_a_bar_split_by_a_repeat_sign_stays_one_bar():
    # bwv277's 4/4 bar of beats 1-3 | repeat | beat 4 is one bar: no meter change
    corpus = pytest.importorskip("music21.corpus")
    from composer_app.music import load_score

    score = load_score(str(corpus.getWork("bach/bwv277", fileExtensions=("mxl",))))
    assert [(t.numerator, t.denominator) for t in score.time_signatures] == [(4, 4)]
