"""Extreme but well-formed files: what is accepted, clamped or refused (README "Limits")."""

from __future__ import annotations

import json

import mido
import pytest

from composer_app.music import (
    FileFormatError,
    Note,
    Score,
    load_score,
    read_midi,
    read_project,
    write_midi,
    write_project,
)


def _save(mid: mido.MidiFile, path):
    mid.save(path)
    return path


def test_100k_notes_are_accepted(tmp_path):
    notes = [Note(36 + i % 60, i * 60, 120, 80, 0) for i in range(100_000)]
    path = tmp_path / "huge.mid"
    write_midi(Score(notes=notes), path)
    score = read_midi(path)
    assert len(score.notes) == 100_000


def test_ten_hour_piece_is_accepted(tmp_path):
    # 120 bpm: 10 h = 72,000 beats
    score = Score(notes=[Note(60, 0, 480), Note(62, 72_000 * 480, 480)])
    path = tmp_path / "long.mid"
    write_midi(score, path)
    back = read_midi(path)
    assert back.duration_seconds == pytest.approx(36_000.5)
    assert back.length_bars == 18_001


def test_absurd_tempos_are_clamped_and_said_the_slowest_midi_tempo_is_kept(tmp_path):
    mid = mido.MidiFile(type=1)
    track = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=1, time=0),  # 60,000,000 bpm
        mido.Message("note_on", note=60, velocity=90, time=0),
        mido.Message("note_off", note=60, time=480),
        mido.MetaMessage("set_tempo", tempo=0xFFFFFF, time=0),  # 3.576 bpm: MIDI's slowest
    ])
    mid.tracks.append(track)
    notes: list[str] = []
    score = read_midi(_save(mid, tmp_path / "tempo.mid"), notes)
    assert [t.us_per_quarter for t in score.tempos] == [60_000, 0xFFFFFF]
    assert notes == ["tempo.mid: tempo 6e+07 bpm set to 1000 bpm (tempos are 3.576-1000 bpm)"]


def test_zero_length_notes_are_dropped_and_uncountable_meters_ignored(tmp_path):
    mid = mido.MidiFile(type=1)
    track = mido.MidiTrack([
        mido.MetaMessage("time_signature", numerator=5, denominator=4, time=0),
        mido.MetaMessage("time_signature", numerator=3, denominator=128, time=0),
        mido.Message("note_on", note=60, velocity=90, time=0),
        mido.Message("note_off", note=60, time=0),  # zero length
        mido.Message("note_on", note=62, velocity=90, time=0),
        mido.Message("note_off", note=62, time=480),
    ])
    mid.tracks.append(track)
    score = read_midi(_save(mid, tmp_path / "zero.mid"))
    assert [(n.pitch, n.duration) for n in score.notes] == [(62, 480)]
    assert [str(t) for t in score.time_signatures] == ["5/4"]


def test_out_of_range_pitch_in_project_is_refused(tmp_path):
    path = tmp_path / "p.composer.json"
    write_project(Score(notes=[Note(60, 0, 480)]), path)
    data = json.loads(path.read_text())
    data["notes"][0][0] = 130
    path.write_text(json.dumps(data))
    with pytest.raises(FileFormatError, match="bad note"):
        read_project(path)


def test_notes_beyond_127_are_clamped_on_write(tmp_path):
    path = tmp_path / "clamp.mid"
    write_midi(Score(notes=[Note(140, 0, 480)]), path)
    assert [n.pitch for n in load_score(path).notes] == [127]
