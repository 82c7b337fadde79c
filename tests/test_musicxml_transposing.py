"""Transposing instruments are read and written at sounding pitch (issue 13)."""

from __future__ import annotations

from composer_app.music import Note, Score, Track, read_musicxml, write_musicxml

CLARINET_IN_B_FLAT = """<?xml version="1.0"?><score-partwise version="3.1"><part-list>
<score-part id="P1"><part-name>Clarinet in Bb</part-name>
<score-instrument id="P1-I1"><instrument-name>Clarinet in Bb</instrument-name></score-instrument>
<midi-instrument id="P1-I1"><midi-program>72</midi-program></midi-instrument></score-part>
</part-list><part id="P1"><measure number="1"><attributes><divisions>1</divisions>
<key><fifths>2</fifths></key><time><beats>4</beats><beat-type>4</beat-type></time>
<clef><sign>G</sign><line>2</line></clef>
<transpose><diatonic>-1</diatonic><chromatic>-2</chromatic></transpose></attributes>
<note><pitch><step>D</step><octave>5</octave></pitch><duration>2</duration><type>half</type></note>
<note><pitch><step>E</step><octave>5</octave></pitch><duration>2</duration><type>half</type></note>
</measure></part></score-partwise>"""


def test_b_flat_clarinet_reads_a_tone_below_the_written_note(tmp_path):
    path = tmp_path / "clarinet.musicxml"
    path.write_text(CLARINET_IN_B_FLAT)
    score = read_musicxml(path)
    # Written D5 and E5 sound C5 and D5.
    assert [(n.pitch, n.start) for n in score.notes] == [(72, 0), (74, 960)]
    assert score.tracks[0].program == 71


def test_clarinet_track_is_written_transposed_and_reads_back(tmp_path):
    from music21 import converter

    score = Score(notes=[Note(60 + i, i * 480, 480) for i in range(8)],
                  tracks=[Track("Clarinet", 0, 71)])
    out = tmp_path / "cl.musicxml"
    write_musicxml(score, out)
    parsed = converter.parse(str(out))
    assert [p.nameWithOctave for p in parsed.parts[0].flatten().pitches][:2] == ["D4", "E-4"]
    assert [n.pitch.midi for n in parsed.toSoundingPitch().parts[0].flatten().notes] == list(
        range(60, 68))
    assert [(n.pitch, n.start) for n in read_musicxml(out).notes] == [
        (n.pitch, n.start) for n in score.notes]
