"""Percussion in MusicXML: read on the GM percussion channel, written back (issue 13)."""

from __future__ import annotations

import zipfile
from collections import Counter

import pytest

from composer_app.music import Note, Score, Track, read_musicxml, write_musicxml
from composer_app.music.gm import DRUM_CHANNEL


def key(score):
    return sorted((n.pitch, n.start, n.duration, n.velocity, n.track) for n in score.notes)


@pytest.fixture(scope="module")
def drum_sample():
    from music21 import corpus

    return corpus.getWork("demos/drum_sample.xml")


def test_music21_drum_sample_reads_as_gm_drums(drum_sample):
    score = read_musicxml(drum_sample)
    assert [(t.name, t.channel) for t in score.tracks] == [("Drums", DRUM_CHANNEL),
                                                          ("Cowbell", DRUM_CHANNEL)]
    # Each note's <instrument id> names its <midi-unpitched> sound (1-based in MusicXML).
    assert Counter(n.pitch for n in score.notes if n.track == 0) == {42: 15, 36: 8, 38: 4, 49: 1}
    assert Counter(n.pitch for n in score.notes if n.track == 1) == {56: 8}
    assert {(n.start, n.pitch) for n in score.notes if n.start == 0} == {(0, 36), (0, 49), (0, 56)}


def test_drum_sample_round_trips_through_our_musicxml(drum_sample, tmp_path):
    from music21 import converter, note

    score = read_musicxml(drum_sample)
    out = tmp_path / "drums.musicxml"
    write_musicxml(score, out)
    back = read_musicxml(out)
    assert key(back) == key(score)
    assert [t.channel for t in back.tracks] == [DRUM_CHANNEL, DRUM_CHANNEL]
    # Written as percussion notation: unpitched notes naming their sounds.
    parsed = converter.parse(str(out))
    assert any(isinstance(n, note.Unpitched) for n in parsed.parts[0].recurse().notes)
    text = out.read_text()
    assert "<midi-unpitched>43</midi-unpitched>" in text and "Closed Hi-Hat" in text
    assert "#D0D0" not in text.upper()  # the working mark is gone


def test_midi_drum_track_exports_and_imports_on_channel_10(tmp_path):
    drums = [Note(p, i * 240, 240, 90, 1) for i, p in enumerate([36, 42, 38, 46, 39, 81, 27])]
    drums.append(Note(42, 0, 240, 90, 1))  # hi-hat with the kick: a percussion chord
    score = Score(notes=[Note(60, 0, 960, 80, 0), Note(62, 960, 960, 80, 0)] + drums,
                  tracks=[Track("Piano", 0, 0), Track("Kit", DRUM_CHANNEL, 0)])
    out = tmp_path / "kit.musicxml"
    write_musicxml(score, out)
    back = read_musicxml(out)
    assert key(back) == key(score)
    assert [(t.name, t.channel) for t in back.tracks] == [("Piano", 0), ("Kit", DRUM_CHANNEL)]
    mxl = tmp_path / "kit.mxl"
    with zipfile.ZipFile(mxl, "w") as zf:
        zf.writestr("META-INF/container.xml",
                    '<container><rootfiles><rootfile full-path="kit.musicxml"/></rootfiles>'
                    "</container>")
        zf.writestr("kit.musicxml", out.read_bytes())
    assert key(read_musicxml(mxl)) == key(score)


def test_unpitched_without_a_named_sound_reads_its_staff_position(tmp_path):
    xml = """<?xml version="1.0"?><score-partwise version="3.1"><part-list>
    <score-part id="P1"><part-name>Perc</part-name></score-part></part-list>
    <part id="P1"><measure number="1"><attributes><divisions>1</divisions>
    <time><beats>4</beats><beat-type>4</beat-type></time><clef><sign>percussion</sign></clef>
    </attributes><note><unpitched><display-step>C</display-step><display-octave>5</display-octave>
    </unpitched><duration>4</duration><type>whole</type></note></measure></part></score-partwise>"""
    path = tmp_path / "perc.musicxml"
    path.write_text(xml)
    score = read_musicxml(path)
    assert [(n.pitch, n.start, n.duration) for n in score.notes] == [(72, 0, 1920)]
    assert score.tracks[0].channel == DRUM_CHANNEL
