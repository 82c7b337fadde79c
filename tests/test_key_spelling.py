"""Key signatures keep their spelling: G♭ stays G♭ through every format (issue 13)."""

from __future__ import annotations

import json

import mido
import pytest

from composer_app.music import (
    FileFormatError,
    KeySignature,
    Note,
    Score,
    read_midi,
    read_musicxml,
    read_project,
    write_midi,
    write_musicxml,
    write_project,
)
from composer_app.music.theory import parse_key
from composer_app.music.validate import validate_score


def xml_in(fifths: int, mode: str) -> str:
    return f"""<?xml version="1.0"?><score-partwise version="3.1"><part-list>
<score-part id="P1"><part-name>M</part-name></score-part></part-list><part id="P1">
<measure number="1"><attributes><divisions>1</divisions><key><fifths>{fifths}</fifths>
<mode>{mode}</mode></key><time><beats>4</beats><beat-type>4</beat-type></time>
<clef><sign>G</sign><line>2</line></clef></attributes><note><pitch><step>G</step>
<alter>-1</alter><octave>4</octave></pitch><duration>4</duration><type>whole</type></note>
</measure></part></score-partwise>"""


@pytest.mark.parametrize("fifths,mode,name", [(-6, "major", "Gb"), (-7, "major", "Cb"),
                                              (7, "minor", "A#m"), (6, "major", "F#"),
                                              (-2, "major", "Bb")])
def test_musicxml_key_spelling_survives_every_format(tmp_path, fifths, mode, name):
    src = tmp_path / "in.musicxml"
    src.write_text(xml_in(fifths, mode))
    score = read_musicxml(src)
    assert score.key_signatures[0].name == name
    out = tmp_path / "out.musicxml"
    write_musicxml(score, out)
    assert f"<fifths>{fifths}</fifths>" in out.read_text()
    assert read_musicxml(out).key_signatures == score.key_signatures
    mid = tmp_path / "out.mid"
    write_midi(score, mid)
    keys = [m.key for m in mido.MidiFile(mid).tracks[0] if m.type == "key_signature"]
    assert keys == [name]
    assert read_midi(mid).key_signatures == score.key_signatures
    project = tmp_path / "out.composer.json"
    write_project(score, project)
    assert read_project(project).key_signatures == score.key_signatures


def test_usual_spellings_write_no_extra_column(tmp_path):
    score = Score(notes=[Note(60, 0, 480)], key_signatures=[KeySignature(0, parse_key("F#"))])
    path = tmp_path / "p.composer.json"
    write_project(score, path)
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["key_signatures"] == [[0, 6, "major"]]
    gflat = Score(notes=[Note(60, 0, 480)], key_signatures=[KeySignature(0, parse_key("Gb"), -6)])
    write_project(gflat, path)
    data = json.loads(path.read_text())
    assert data["version"] == 3 and data["key_signatures"] == [[0, 6, "major", -6]]


def test_a_signature_that_does_not_spell_the_key_is_refused():
    score = Score(notes=[Note(60, 0, 480)], key_signatures=[KeySignature(0, parse_key("Gb"), -5)])
    with pytest.raises(FileFormatError, match="is not F#"):
        validate_score(score, "x")


def _suite(name: str):
    from pathlib import Path

    import music21

    return Path(music21.__file__).parent / "musicxml" / "lilypondTestSuite" / name


def test_church_modes_are_read_as_the_key_of_their_signature(tmp_path):
    # LilyPond test 13b: two sharps in every mode, D major ... C-sharp locrian.
    said: list[str] = []
    score = read_musicxml(_suite("13b-KeySignatures-ChurchModes.xml"), said)
    assert [k.name for k in score.key_signatures] == \
        ["D", "Bm", "D", "Bm", "Bm", "D", "D", "Bm", "Bm"]
    assert any("church-mode keys read as the major or minor key" in line and "(7 times)"
               in line for line in said)
    write_musicxml(score, tmp_path / "out.musicxml")
    assert read_musicxml(tmp_path / "out.musicxml").key_signatures == score.key_signatures


@pytest.mark.parametrize("name,keys", [("13c-KeySignatures-NonTraditional.xml", ["F", "C"]),
                                       ("13d-KeySignatures-Microtones.xml", ["Eb"])])
def test_an_unusual_key_signature_is_read_as_the_nearest_usual_one(name, keys, tmp_path):
    said: list[str] = []
    score = read_musicxml(_suite(name), said)
    assert [k.name for k in score.key_signatures] == keys
    assert any("not a usual one" in line and "nearest usual one" in line for line in said)
    write_musicxml(score, tmp_path / "out.musicxml")
    back = read_musicxml(tmp_path / "out.musicxml")
    assert back.key_signatures == score.key_signatures
    assert sorted((n.pitch, n.start) for n in back.notes) == \
        sorted((n.pitch, n.start) for n in score.notes)
