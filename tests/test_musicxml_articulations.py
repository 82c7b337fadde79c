"""Slurs and articulations (staccato, staccatissimo, accent, marcato, tenuto) are read
from MusicXML, kept on the notes and in the project file, written back, and named when
MIDI cannot hold them (issue 13)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("music21")

from composer_app.music import read_midi, read_musicxml, write_midi, write_musicxml  # noqa: E402
from composer_app.music.project import read_project, write_project  # noqa: E402

# A slur over a chord and a tied note into bar 2; a staccato, an accent on the chord,
# a strong accent, a tenuto and a staccatissimo.
HAND = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1">
  <part-list><score-part id="P1"><part-name>Oboe</part-name></score-part></part-list>
  <part id="P1">
    <measure number="1">
      <attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time></attributes>
      <note><pitch><step>C</step><octave>5</octave></pitch><duration>1</duration><type>quarter</type>
        <notations><articulations><staccato/></articulations><slur type="start" number="1"/></notations></note>
      <note><pitch><step>E</step><octave>5</octave></pitch><duration>1</duration><type>quarter</type>
        <notations><articulations><accent/></articulations></notations></note>
      <note><chord/><pitch><step>G</step><octave>5</octave></pitch><duration>1</duration><type>quarter</type></note>
      <note><pitch><step>D</step><octave>5</octave></pitch><duration>2</duration><type>half</type>
        <tie type="start"/><notations><tied type="start"/></notations></note>
    </measure>
    <measure number="2">
      <note><pitch><step>D</step><octave>5</octave></pitch><duration>1</duration><type>quarter</type>
        <tie type="stop"/><notations><tied type="stop"/><slur type="stop" number="1"/></notations></note>
      <note><pitch><step>F</step><octave>5</octave></pitch><duration>1</duration><type>quarter</type>
        <notations><articulations><strong-accent type="up"/></articulations></notations></note>
      <note><pitch><step>A</step><octave>5</octave></pitch><duration>1</duration><type>quarter</type>
        <notations><articulations><tenuto/></articulations></notations></note>
      <note><pitch><step>B</step><octave>5</octave></pitch><duration>1</duration><type>quarter</type>
        <notations><articulations><staccatissimo/></articulations></notations></note>
    </measure>
  </part>
</score-partwise>
"""

MARKS = [(72, 0, ("staccato",)), (76, 480, ("accent",)), (79, 480, ("accent",)),
         (74, 960, ()), (77, 2400, ("marcato",)), (81, 2880, ("tenuto",)),
         (83, 3360, ("staccatissimo",))]


@pytest.fixture
def hand(tmp_path):
    path = tmp_path / "hand.musicxml"
    path.write_text(HAND, encoding="utf-8")
    return path


def _marks(score):
    return [(n.pitch, n.start, n.articulations) for n in
            sorted(score.notes, key=lambda n: (n.start, n.pitch))]


def _slurs(score):
    return [(t.tick, t.text, t.track) for t in score.text_events if t.kind == "slur"]


def test_articulations_and_slurs_are_read_as_marks_not_playing(hand):
    score = read_musicxml(hand)
    assert _marks(score) == MARKS
    # Marks only: the staccato note plays as written, the tied D is one note of 3 beats.
    assert [(n.pitch, n.duration) for n in score.notes if n.pitch in (72, 74)] == \
        [(72, 480), (74, 1440)]
    # The slur runs from the C to the tied D (its continuation counts as the D).
    assert _slurs(score) == [(0, "(", 0), (960, ")", 0)]


def test_marks_survive_the_project_file_and_musicxml(hand, tmp_path):
    score = read_musicxml(hand)
    write_project(score, tmp_path / "p.composer.json")
    data = json.loads((tmp_path / "p.composer.json").read_text())
    assert data["version"] == 5  # an older app refuses instead of dropping them
    reopened = read_project(tmp_path / "p.composer.json")
    assert _marks(reopened) == MARKS and _slurs(reopened) == _slurs(score)

    notes = write_musicxml(reopened, tmp_path / "out.musicxml")
    assert not notes
    text = (tmp_path / "out.musicxml").read_text(encoding="utf-8")
    for tag in ("<staccato", "<accent", "<strong-accent", "<tenuto", "<staccatissimo"):
        assert tag in text, tag
    assert re.search(r'<slur [^>]*type="start"', text) and re.search(r'<slur [^>]*type="stop"', text)
    back = read_musicxml(tmp_path / "out.musicxml")
    assert _marks(back) == MARKS and _slurs(back) == _slurs(score)


def test_an_older_project_file_without_marks_keeps_its_version(tmp_path):
    from composer_app.music.score import Note, Score

    write_project(Score(notes=[Note(60, 0, 480, fermata=True)]), tmp_path / "f.composer.json")
    assert json.loads((tmp_path / "f.composer.json").read_text())["version"] == 2
    assert read_project(tmp_path / "f.composer.json").notes[0].articulations == ()


def test_a_project_with_an_unknown_articulation_is_refused(tmp_path):
    from composer_app.music import FileFormatError
    from composer_app.music.score import Note, Score

    write_project(Score(notes=[Note(60, 0, 480, articulations=("staccato",))]),
                  tmp_path / "a.composer.json")
    data = json.loads((tmp_path / "a.composer.json").read_text())
    data["notes"][0][7] = ["wobble"]
    (tmp_path / "a.composer.json").write_text(json.dumps(data))
    with pytest.raises(FileFormatError, match="articulations are staccato"):
        read_project(tmp_path / "a.composer.json")


def test_midi_keeps_slurs_and_names_the_articulations_it_cannot_hold(hand, tmp_path):
    score = read_musicxml(hand)
    said = write_midi(score, tmp_path / "out.mid")
    assert len(said) == 1
    assert "MIDI has no place for 1 staccato, 2 accent, 1 marcato, 1 tenuto, " \
        "1 staccatissimo marks: not written" in said[0]
    back = read_midi(tmp_path / "out.mid")
    assert _slurs(back) == _slurs(score)


def _suite(name: str) -> Path:
    import music21

    return Path(music21.__file__).parent / "musicxml" / "lilypondTestSuite" / name


def test_lilypond_notations_keep_the_five_marks_and_name_the_rest(tmp_path):
    said: list[str] = []
    score = read_musicxml(_suite("32a-Notations.xml"), said)
    marks = [n.articulations for n in sorted(score.notes, key=lambda n: n.start)
             if n.articulations]
    assert marks == [("accent",), ("marcato",), ("staccato",), ("tenuto",),
                     ("staccato", "tenuto"), ("staccatissimo",)]  # detached-legato: both
    # the others named in one phrase of the one line the file gives
    lines = [line for line in said if "articulations not kept: " in line]
    assert len(lines) == 1 and lines[0].count("articulations not kept") == 1
    assert "breath mark" in lines[0] and "doit" in lines[0]


def test_lilypond_slurs_on_notes_and_chords_round_trip(tmp_path):
    for name, slurs in (("33c-Spanners-Slurs.xml", 5), ("33g-Slur-ChordedNotes.xml", 2)):
        score = read_musicxml(_suite(name))
        assert len(_slurs(score)) == 2 * slurs, name
        write_musicxml(score, tmp_path / "out.musicxml")
        assert _slurs(read_musicxml(tmp_path / "out.musicxml")) == _slurs(score), name
