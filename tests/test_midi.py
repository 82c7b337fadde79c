"""MIDI files: what we read from other programs and what we write for DAWs."""

from __future__ import annotations

import io
import struct

import mido
import pytest

from composer_app.music import (
    FileFormatError,
    KeySignature,
    Note,
    Score,
    TempoChange,
    TimeSignature,
    Track,
    UserError,
    parse_key,
    read_midi,
    write_midi,
)


def note_tuples(score: Score) -> list[tuple]:
    return sorted((n.pitch, n.start, n.duration, n.velocity, n.track) for n in score.notes)


def four_voice_score() -> Score:
    tracks = [Track("Soprano", 0, 52), Track("Alto", 1, 52), Track("Tenor", 2, 52), Track("Bass", 3, 52)]
    notes = []
    chords = [(72, 67, 64, 48), (71, 67, 62, 55), (72, 64, 60, 45), (74, 65, 62, 50)]
    for i, chord in enumerate(chords):
        for voice, pitch in enumerate(chord):
            notes.append(Note(pitch, 480 + i * 480, 480 - (voice * 60), 60 + voice * 10 + i, voice))
    notes.append(Note(67, 0, 480, 70, 0))  # pickup in the soprano
    return Score(
        notes=notes,
        tracks=tracks,
        tempos=[TempoChange(0, 96.0), TempoChange(1440, 72.0)],
        time_signatures=[TimeSignature(0, 4, 4), TimeSignature(1920, 3, 4)],
        key_signatures=[KeySignature(0, parse_key("Bb"))],
        title="test chorale",
    )


def test_round_trip_keeps_every_note_and_conductor(tmp_path):
    score = four_voice_score()
    path = tmp_path / "out.mid"
    write_midi(score, path)
    back = read_midi(path)
    assert note_tuples(back) == note_tuples(score)
    assert [(t.name, t.channel, t.program) for t in back.tracks] == [
        (t.name, t.channel, t.program) for t in score.tracks
    ]
    assert [(t.tick, round(t.bpm, 3)) for t in back.tempos] == [(0, 96.0), (1440, 72.0)]
    assert [(t.tick, t.numerator, t.denominator) for t in back.time_signatures] == [(0, 4, 4), (1920, 3, 4)]
    assert back.key == parse_key("Bb")


def test_written_file_is_type_1_with_conductor_and_named_tracks(tmp_path):
    path = tmp_path / "out.mid"
    write_midi(four_voice_score(), path)
    mid = mido.MidiFile(path)
    assert mid.type == 1
    assert len(mid.tracks) == 5
    conductor_types = {m.type for m in mid.tracks[0]}
    assert {"set_tempo", "time_signature", "key_signature"} <= conductor_types
    assert not any(m.type == "note_on" for m in mid.tracks[0])
    for track, name, channel in zip(mid.tracks[1:], ["Soprano", "Alto", "Tenor", "Bass"], range(4)):
        assert track.name == name
        channels = {m.channel for m in track if not m.is_meta}
        assert channels == {channel}
        assert any(m.type == "program_change" and m.program == 52 for m in track)


def test_music21_reads_our_file_note_for_note(tmp_path):
    """A second, independent reader sees the same pitches, onsets and lengths."""
    from fractions import Fraction

    from music21 import converter

    score = four_voice_score()
    path = tmp_path / "out.mid"
    write_midi(score, path)
    m21 = converter.parse(str(path), quantizePost=False)
    seen = []
    for part in m21.parts:
        for el in part.flatten().notes:
            for p in el.pitches:
                seen.append((p.midi, int(Fraction(el.offset) * 480), int(Fraction(el.quarterLength) * 480)))
    expected = [(n.pitch, n.start, n.duration) for n in score.notes]
    assert sorted(seen) == sorted(expected)


def _raw_track(events: bytes) -> bytes:
    return b"MTrk" + struct.pack(">I", len(events)) + events


def test_type0_running_status_velocity0_and_channels(tmp_path):
    """A hand-made type 0 file: running status, note_on vel 0 as note off, two channels."""
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96)  # type 0, 96 ticks per beat
    ev = b""
    ev += b"\x00\xff\x51\x03\x07\xa1\x20"  # tempo 500000
    ev += b"\x00\x90\x3c\x64"  # ch0 note on C4 vel 100
    ev += b"\x00\x40\x50"  # running status: E4 on, vel 80
    ev += b"\x60\x3c\x00"  # 96 ticks later, C4 vel 0 (= off), running status
    ev += b"\x00\x40\x00"  # E4 off
    ev += b"\x00\x91\x30\x46"  # ch1 C3 on
    ev += b"\x81\x40\x81\x30\x00"  # 192 ticks later note off ch1
    ev += b"\x00\xff\x2f\x00"
    path = tmp_path / "type0.mid"
    path.write_bytes(header + _raw_track(ev))
    score = read_midi(path)
    assert len(score.tracks) == 2
    assert sorted(t.channel for t in score.tracks) == [0, 1]
    # 96 ticks per beat rescaled to 480.
    ch0 = score.tracks.index(next(t for t in score.tracks if t.channel == 0))
    ch1 = 1 - ch0
    assert note_tuples(score) == sorted([
        (60, 0, 480, 100, ch0),
        (64, 0, 480, 80, ch0),
        (48, 480, 960, 70, ch1),
    ])


def test_overlapping_same_pitch_notes_are_kept(tmp_path):
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack()
    track += [
        mido.Message("note_on", note=60, velocity=90, time=0),
        mido.Message("note_on", note=60, velocity=70, time=240),
        mido.Message("note_off", note=60, time=240),  # closes the first (FIFO)
        mido.Message("note_off", note=60, time=240),
    ]
    mid.tracks.append(track)
    path = tmp_path / "overlap.mid"
    mid.save(path)
    score = read_midi(path)
    assert note_tuples(score) == [(60, 0, 480, 90, 0), (60, 240, 480, 70, 0)]


def test_pickup_leading_silence_is_kept(tmp_path):
    score = Score(notes=[Note(67, 1440, 480), Note(72, 1920, 960)],
                  time_signatures=[TimeSignature(0, 4, 4)])
    path = tmp_path / "pickup.mid"
    write_midi(score, path)
    back = read_midi(path)
    assert [n.start for n in back.notes] == [1440, 1920]
    assert back.tick_to_bar_beat(1440) == (1, 4, 0)
    assert back.tick_to_bar_beat(1920) == (2, 1, 0)


def test_note_never_released_ends_with_its_track(tmp_path):
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack([mido.Message("note_on", note=62, velocity=80, time=0),
                            mido.MetaMessage("end_of_track", time=960)])
    mid.tracks.append(track)
    path = tmp_path / "hanging.mid"
    mid.save(path)
    assert note_tuples(read_midi(path)) == [(62, 0, 960, 80, 0)]


@pytest.mark.parametrize("payload", [
    b"",
    b"MThd\x00\x00\x00\x06\x00\x01",  # truncated header
    bytes(range(256)) * 4,  # random bytes
])
def test_corrupt_files_raise_clear_error(tmp_path, payload):
    path = tmp_path / "bad.mid"
    path.write_bytes(payload)
    with pytest.raises(FileFormatError) as info:
        read_midi(path)
    assert str(path) in str(info.value)


def test_truncated_real_file_opens_what_is_left_and_says_so(tmp_path):
    good = tmp_path / "good.mid"
    score = four_voice_score()
    write_midi(score, good)
    data = good.read_bytes()
    bad = tmp_path / "truncated.mid"
    bad.write_bytes(data[: len(data) // 2])
    notes: list[str] = []
    back = read_midi(bad, notes)
    assert 0 < len(back.notes) < len(score.notes)
    assert len(notes) == 1 and "damaged file, opened with repairs" in notes[0]
    assert "cut short" in notes[0] and "\n" not in notes[0]
    with pytest.raises(FileFormatError, match="no MIDI header"):
        bad.write_bytes(data[:10])
        read_midi(bad)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_midi(tmp_path / "nope.mid")


def test_failed_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "missing-folder" / "out.mid"
    with pytest.raises(UserError):
        write_midi(four_voice_score(), target)
    assert not target.exists()


def test_write_to_bytes_is_deterministic():
    from composer_app.music import midi_bytes

    data = midi_bytes(four_voice_score())
    assert data == midi_bytes(four_voice_score())
    assert mido.MidiFile(file=io.BytesIO(data)).type == 1


def test_note_off_before_its_note_on_at_the_same_tick_ends_that_note(tmp_path):
    """music21 writes a zero-length grace note as note-off then note-on at one tick;
    paired first-in first-out, that note-on stayed open and every later note of its
    pitch was held until the next one ended (hundreds of notes held for bars)."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack()
    track += [
        mido.Message("note_on", note=69, velocity=80, time=0),
        mido.Message("note_off", note=69, time=480),  # ends the first A
        mido.Message("note_off", note=69, time=0),  # the grace note's off, before its on
        mido.Message("note_on", note=69, velocity=80, time=0),  # the grace note
        mido.Message("note_on", note=72, velocity=80, time=0),  # the main note
        mido.Message("note_off", note=72, time=240),
        mido.Message("note_on", note=69, velocity=70, time=0),
        mido.Message("note_off", note=69, time=240),
        mido.Message("note_on", note=69, velocity=60, time=480),
        mido.Message("note_off", note=69, time=480),
    ]
    mid.tracks.append(track)
    path = tmp_path / "grace.mid"
    mid.save(path)
    assert note_tuples(read_midi(path)) == [(69, 0, 480, 80, 0), (69, 720, 240, 70, 0),
                                            (69, 1440, 480, 60, 0), (72, 480, 240, 80, 0)]
