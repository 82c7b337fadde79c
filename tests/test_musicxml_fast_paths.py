"""The MusicXML reader's and writer's own versions of music21's slow steps give what
music21's give, on real files (issue 13, item 4: Beethoven's op. 132 took minutes to
open and to export).

Reading: each file of music21's corpus is parsed once; for each part, what the reader
joins (:func:`_tied_notes`) is compared with what music21's own ``stripTies`` gives for
the same part: the same notes, at the same offsets, with the same joined lengths.

Writing: the voices the writer makes of overlapping notes (:func:`~composer_app.music.m21_fast.insert_voiced`) give
the same MusicXML, byte for byte, as music21 notating the part unvoiced (its
``makeVoices``).
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import pytest

from composer_app.music import Note, Score, Track, musicxml
from composer_app.music.m21_fast import tied_notes as _tied_notes

# Ties across bar lines in chords and single notes, several voices on a staff, grace
# notes, tied chords whose members differ, percussion, a pickup.
CORPUS = [
    "bach/bwv66.6",
    "beethoven/opus18no1/movement1",
    "schumann_robert/opus41no1/movement2",
    "joplin/maple_leaf_rag",
    "schoenberg/opus19/movement2",
    "demos/drum_sample.xml",
    "handel/rinaldo/lascia_chio_pianga",
    "mozart/k155/movement2",
]


def _parsed(work: str):
    from music21 import converter, corpus

    paths = corpus.getWork(work)
    paths = paths if isinstance(paths, list) else [paths]
    path = next(p for p in paths if str(p).endswith((".mxl", ".xml", ".musicxml")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return converter.parse(str(path), forceSource=True)


def _described(items):
    def pitches(el):
        return tuple(str(p) for p in el.pitches)

    return [(Fraction(offset).limit_denominator(10_000), pitches(el),
             Fraction(length).limit_denominator(10_000)) for el, offset, length in items]


@pytest.mark.parametrize("work", CORPUS)
def test_joined_ties_are_music21s(work):
    stream = _parsed(work)
    joined_any = False
    for part in stream.parts:
        ours = _tied_notes(part)
        theirs = part.stripTies(inPlace=False).flatten().notes
        expected = _described((el, el.offset, el.quarterLength) for el in theirs)
        assert _described(ours) == expected, (work, part.partName)
        joined_any |= len(ours) < len(part.flatten().notes)
    if work != "demos/drum_sample.xml":
        assert joined_any, f"{work} has no tie: pick a file that tests something"


def _without_stamps(data: bytes) -> bytes:
    import re

    # The date, and the ids music21 draws at random for each writing.
    data = re.sub(rb"<encoding-date>[^<]*</encoding-date>", b"", data)
    return re.sub(rb'id="[^"]*"', b"", data)


def _overlapping() -> Score:
    """A held bass under moving notes, a third layer on top, and a note that starts as
    another ends (no overlap): three voices in one part."""
    notes = [Note(48, 0, 1920, 80, 0), Note(48, 1920, 960, 80, 0)]
    notes += [Note(60 + i % 5, i * 240, 240, 80, 0) for i in range(12)]
    notes += [Note(72, 480, 1440, 80, 0), Note(74, 1920, 480, 80, 0)]
    return Score(notes=notes, tracks=[Track("Piano")])


# A staff's written voices are read as voices of the app (tracks) now, so corpus files
# rarely overlap within a track; a performance MIDI or a drawn part does.
@pytest.mark.parametrize("work", [None])
def test_voices_made_for_export_are_music21s(work, monkeypatch):
    if work is None:
        score = _overlapping()
    else:
        from music21 import corpus

        score = musicxml.read_musicxml(corpus.getWork(work))
    assert any(p.hasVoices() for p in musicxml.score_to_music21(score).parts)
    ours = musicxml._musicxml_bytes(score)

    def unvoiced(part, placed, stream):  # as the writer did: music21 makes the voices
        for offset, el in placed:
            part.insert(offset, el)

    monkeypatch.setattr(musicxml, "insert_voiced", unvoiced)
    assert not any(p.hasVoices() for p in musicxml.score_to_music21(score).parts)
    assert _without_stamps(ours) == _without_stamps(musicxml._musicxml_bytes(score))


def test_the_writers_spanner_lookups_give_music21s_musicxml(tmp_path):
    """The exporter's spanners found through an index (``musicxml_bytes``) write what
    music21's own ``write`` does, byte for byte: two voices on a staff, slurs over notes,
    chords and notes tied over bar lines."""
    from pathlib import Path

    from composer_app.music.m21_fast import musicxml_bytes
    from composer_app.music.score import TextEvent

    notes = [Note(60 + i % 7, i * 360, 360, 80, 0) for i in range(40)]
    notes += [Note(48 + i % 5, i * 960, 960, 70, 1) for i in range(15)]
    notes += [Note(52, 14_400, 1440, 70, 1), Note(55, 14_400, 1440, 70, 1)]
    slurs = [TextEvent(t, "slur", mark, 0) for i in range(0, 36, 4)
             for t, mark in ((i * 360, "("), ((i + 3) * 360, ")"))]
    slurs += [TextEvent(0, "slur", "(", 1), TextEvent(14_400, "slur", ")", 1)]
    score = Score(notes=notes, tracks=[Track("Flute", 0, 73), Track("Flute voice 2", 1, 73)],
                  text_events=sorted(slurs, key=lambda t: t.tick))
    ours = musicxml_bytes(musicxml.score_to_music21(score))
    written = musicxml.score_to_music21(score).write(
        "musicxml", fp=str(tmp_path / "m21.musicxml"), makeNotation=True)
    assert ours.count(b"<slur ") == 2 * 10 and ours.count(b"<part id") == 1
    assert _without_stamps(ours) == _without_stamps(Path(written).read_bytes())
