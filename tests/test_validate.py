"""One Score validation (music/validate.py) behind every reader: a damaged file is a clear
one-line error, never a Score that divides by zero or runs backwards later."""

from __future__ import annotations

import json

import pytest

from composer_app.cli import main
from composer_app.music import (
    FileFormatError,
    Note,
    Score,
    TempoChange,
    TimeSignature,
    Track,
    read_musicxml,
    read_project,
    write_project,
)
from composer_app.music.validate import score_problem, validate_score


def _project(tmp_path, change) -> str:
    path = tmp_path / "bad.composer.json"
    write_project(Score(notes=[Note(60, 0, 480), Note(64, 480, 480)]), path)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return str(path)


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(data):
        target = data
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return change


DAMAGE = {
    "tempo 0": (_set("tempos", 0, 1, 0), "tempo 0"),
    "negative tempo": (_set("tempos", 0, 1, -60), "tempo -60"),
    "tempo NaN": (_set("tempos", 0, 1, float("nan")), "tempo nan"),
    "tempo infinite": (_set("tempos", 0, 1, float("inf")), "tempo inf"),
    "tempo 1e6": (_set("tempos", 0, 1, 1e6), "tempo 1000000"),
    "tempo at a negative tick": (_set("tempos", [[0, 120], [-480, 90]]), "tick -480"),
    "meter 4/0": (_set("time_signatures", 0, 2, 0), "meter 4/0"),
    "meter 4/3": (_set("time_signatures", 0, 2, 3), "meter 4/3"),
    "meter 0/4": (_set("time_signatures", 0, 1, 0), "meter 0/4"),
    "meter -3/4": (_set("time_signatures", 0, 1, -3), "meter -3/4"),
    "meter 200/4": (_set("time_signatures", 0, 1, 200), "meter 200/4"),
    "key at a negative tick": (_set("key_signatures", [[-1, 0, "major"]]), "key change"),
    "note before the start": (_set("notes", 0, 1, -480), "bad note"),
    "note of no length": (_set("notes", 0, 2, 0), "bad note"),
    "note of negative length": (_set("notes", 0, 2, -480), "bad note"),
    "pitch 128": (_set("notes", 0, 0, 128), "bad note"),
    "note of a missing track": (_set("notes", 0, 4, 3), "no track 4"),
    "half a tick": (_set("notes", 0, 1, 0.5), "not a whole number"),
    "a tick 1e400": (_set("notes", 0, 1, float("inf")), "damaged project file"),
    "pitch as text": (_set("notes", 0, 0, "60"), "not a whole number"),
    "channel 16": (_set("tracks", 0, "channel", 16), "channel 16"),
    "program 128": (_set("tracks", 0, "program", 128), "program 128"),
    "resolution 0": (_set("ppq", 0), "resolution 0"),
    "a note past 2**31 ticks": (_set("notes", 0, 2, 2**31), "bad note"),
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_damaged_project_is_one_clear_error_also_in_info(tmp_path, capsys, name):
    change, needle = DAMAGE[name]
    path = _project(tmp_path, change)
    with pytest.raises(FileFormatError) as info:
        read_project(path)
    message = str(info.value)
    assert message.startswith(path) and "damaged project file" in message, message
    assert needle in message and "\n" not in message
    capsys.readouterr()
    assert main(["info", path]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "internal error" not in err[0]


def test_deeply_nested_project_is_a_clear_error(tmp_path):
    path = tmp_path / "deep.composer.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FileFormatError, match="not a valid project file"):
        read_project(path)


def test_sound_project_passes_and_velocity_is_still_clamped(tmp_path):
    path = _project(tmp_path, _set("notes", 0, 3, 0))  # velocity 0: clamped to 1, as before
    score = read_project(path)
    assert score.notes[0].velocity == 1 and score.length_bars == 1
    assert score_problem(score) is None


@pytest.mark.parametrize("score,needle", [
    (Score(tempos=[TempoChange(0, 0.0)]), "tempo 0.0"),
    (Score(time_signatures=[TimeSignature(0, 4, 0)]), "meter 4/0"),
    (Score(notes=[Note(60, 0, 480, velocity=0)]), "velocities"),
    (Score(notes=[Note(60, 0, 480, track=1)]), "no track 2"),
    (Score(tracks=[]), "no tracks"),
    (Score(tempos=[]), "no tempo"),
    (Score(tracks=[Track(channel=-1)]), "channel -1"),
])
def test_validate_score_names_the_first_problem(score, needle):
    with pytest.raises(FileFormatError, match=needle):
        validate_score(score, "x.mid")
    assert validate_score(Score(notes=[Note(60, 0, 480)]), "x.mid").notes


def _musicxml(tmp_path, *, tempo="60", beats="4", beat_type="4", parts=1) -> str:
    sound = f'<sound tempo="{tempo}"/>' if tempo is not None else ""
    part_list = "".join(f'<score-part id="P{i}"><part-name>V{i}</part-name></score-part>'
                        for i in range(parts))
    body = "".join(f"""
  <part id="P{i}"><measure number="1">
    <attributes><divisions>1</divisions><key><fifths>0</fifths></key>
      <time><beats>{beats}</beats><beat-type>{beat_type}</beat-type></time>
      <clef><sign>G</sign><line>2</line></clef></attributes>
    {sound if i == 0 else ""}
    <note><pitch><step>C</step><octave>4</octave></pitch><duration>4</duration>
      <type>whole</type></note>
  </measure></part>""" for i in range(parts))
    path = tmp_path / "t.musicxml"
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1"><part-list>{part_list}</part-list>{body}
</score-partwise>""")
    return str(path)


def test_musicxml_negative_tempo_and_uncountable_meter_are_ignored_as_in_midi(tmp_path):
    score = read_musicxml(_musicxml(tmp_path, tempo="-60", beat_type="3"))
    assert [t.bpm for t in score.tempos] == [120.0]
    assert [str(t) for t in score.time_signatures] == ["4/4"]
    assert score.duration_seconds > 0


def test_musicxml_absurd_tempo_is_clamped_as_in_midi(tmp_path):
    score = read_musicxml(_musicxml(tmp_path, tempo="50000"))
    assert [t.bpm for t in score.tempos] == [1000.0]


def test_musicxml_velocity_0_is_clamped_to_1():
    from music21 import note, stream

    from composer_app.music.musicxml import score_from_music21

    part = stream.Part()
    silent = note.Note(60)
    silent.volume.velocity = 0
    part.append(silent)
    m21 = stream.Score()
    m21.insert(0, part)
    assert [n.velocity for n in score_from_music21(m21).notes] == [1]
