"""MIDI meta text in any script: written as UTF-8 (as DAWs write it), read back."""

from __future__ import annotations

import io

import mido
import pytest

from composer_app.cli import main
from composer_app.music import Note, Score, Track, read_midi, read_project, write_midi
from composer_app.music.midifile import midi_bytes, text_from_midi, text_to_midi

NAMES = ["Мелодия", "旋律のテスト", "Ελληνικά ♭♯", "emoji 🎹", "Café", "plain"]


@pytest.mark.parametrize("name", NAMES)
def test_title_and_track_names_round_trip(tmp_path, name):
    score = Score(notes=[Note(60, 0, 480), Note(64, 0, 480, track=1)],
                  tracks=[Track(name, 0, 0), Track(name + " 2", 1, 40)], title=name)
    path = tmp_path / "out.mid"
    write_midi(score, path)
    back = read_midi(path)
    assert back.title == name
    assert [t.name for t in back.tracks] == [name, name + " 2"]


def test_meta_text_bytes_are_utf8():
    score = Score(notes=[Note(60, 0, 480)], tracks=[Track("Мелодия", 0, 0)], title="旋律")
    raw = midi_bytes(score)
    assert "旋律".encode() in raw and "Мелодия".encode() in raw


def test_latin1_files_still_read():
    """A file from an older program with Latin-1 (not UTF-8) bytes reads as Latin-1."""
    mid = mido.MidiFile(type=1)
    track = mido.MidiTrack([mido.MetaMessage("track_name", name="Chanson é à", time=0),
                            mido.Message("note_on", note=60, velocity=80, time=0),
                            mido.Message("note_off", note=60, velocity=0, time=480)])
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)  # mido writes Latin-1
    assert "é".encode("latin-1") in buf.getvalue()
    from composer_app.music.midifile import score_from_midifile
    score = score_from_midifile(mido.MidiFile(file=io.BytesIO(buf.getvalue())))
    assert score.title == "Chanson é à" and score.tracks[0].name == "Chanson é à"


def test_text_helpers():
    for name in NAMES:
        assert text_from_midi(text_to_midi(name)) == name
    assert text_to_midi("a\udcff") == "a?"  # a lone surrogate (an undecodable file name)


@pytest.mark.parametrize("stem", ["Мелодия", "旋律"])
def test_cli_export_of_unicode_file_name(tmp_path, stem):
    """The file name becomes the title: exporting it must not crash (issue 13)."""
    src = tmp_path / f"{stem}.mid"
    write_midi(Score(notes=[Note(60, 0, 480)]), src)
    project = tmp_path / f"{stem}.composer.json"
    out = tmp_path / f"{stem} copy.mid"
    assert main(["export", str(src), "-o", str(project)]) == 0
    assert read_project(project).title == stem
    assert main(["export", str(project), "-o", str(out)]) == 0
    assert read_midi(out).title == stem
