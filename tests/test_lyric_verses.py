"""Lyric verses keep their numbers (issue 13): a verse 2 under a note without a verse 1
stays verse 2 through MusicXML and the project file, and MIDI says when it cannot."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("music21")

from composer_app.music import read_midi, read_musicxml, write_midi, write_musicxml  # noqa: E402
from composer_app.music.project import read_project, write_project  # noqa: E402


def _note(step: str, lyrics: dict[int, str]) -> str:
    words = "".join(f'<lyric number="{n}"><syllabic>single</syllabic><text>{t}</text></lyric>'
                    for n, t in sorted(lyrics.items()))
    return (f"<note><pitch><step>{step}</step><octave>4</octave></pitch><duration>1</duration>"
            f"<type>quarter</type>{words}</note>")


# Verses 1-3 under the first note, verse 2 alone under the second (the first verse
# holds a melisma there), verses 1 and 3 under the third, verse 1 under the last.
VERSES = [("C", {1: "one", 2: "two", 3: "three"}), ("D", {2: "on"}),
          ("E", {1: "la", 3: "lo"}), ("F", {1: "end"})]
HAND = ("""<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.1">
<part-list><score-part id="P1"><part-name>Voice</part-name></score-part></part-list>
<part id="P1"><measure number="1"><attributes><divisions>1</divisions>
<time><beats>4</beats><beat-type>4</beat-type></time></attributes>"""
        + "".join(_note(step, lyrics) for step, lyrics in VERSES)
        + "</measure></part></score-partwise>")
EXPECTED = [(i * 480, n, text) for i, (_s, lyrics) in enumerate(VERSES)
            for n, text in sorted(lyrics.items())]


@pytest.fixture
def hand(tmp_path):
    path = tmp_path / "verses.musicxml"
    path.write_text(HAND, encoding="utf-8")
    return path


def _verses(score):
    return [(t.tick, t.verse, t.text) for t in score.text_events if t.kind == "lyrics"]


def _written(path):
    from music21 import converter

    return [(int(n.offset * 480), ly.number, ly.rawText)
            for n in converter.parse(str(path)).parts[0].flatten().notes for ly in n.lyrics]


def test_verse_numbers_are_read_and_written_back(hand, tmp_path):
    score = read_musicxml(hand)
    assert _verses(score) == EXPECTED
    write_musicxml(score, tmp_path / "out.musicxml")
    assert _written(tmp_path / "out.musicxml") == EXPECTED  # not renumbered 1, 2, …
    assert _verses(read_musicxml(tmp_path / "out.musicxml")) == EXPECTED


def test_the_project_file_keeps_the_verses(hand, tmp_path):
    write_project(read_musicxml(hand), tmp_path / "v.composer.json")
    assert json.loads((tmp_path / "v.composer.json").read_text())["version"] == 5
    reopened = read_project(tmp_path / "v.composer.json")
    assert _verses(reopened) == EXPECTED
    write_musicxml(reopened, tmp_path / "out.musicxml")
    assert _written(tmp_path / "out.musicxml") == EXPECTED


def test_midi_keeps_verses_in_order_and_names_the_numbers_it_cannot(hand, tmp_path):
    score = read_musicxml(hand)
    said = write_midi(score, tmp_path / "v.mid")
    # "on" (verse 2 alone) and "lo" (verse 3 after verse 1) read back as verses 1 and 2.
    assert any("2 lyric verse numbers" in line for line in said)
    back = read_midi(tmp_path / "v.mid")
    assert [(t, v, x) for t, v, x in _verses(back)] == [
        (0, 1, "one"), (0, 2, "two"), (0, 3, "three"), (480, 1, "on"),
        (960, 1, "la"), (960, 2, "lo"), (1440, 1, "end")]
