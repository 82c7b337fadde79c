"""What is not a note survives: controllers, bends, aftertouch, programs, markers, lyrics,
text (issue 13: "keep what we don't edit")."""

from __future__ import annotations

import io
import json
import time
import tracemalloc

import mido
import pytest

from composer_app.music import FileFormatError, Note, Score, Track, read_midi, write_midi
from composer_app.music.midifile import midi_bytes, score_from_midifile, text_to_midi
from composer_app.music.musicxml import write_musicxml
from composer_app.music.project import (
    FORMAT_VERSION,
    project_bytes,
    read_project,
    score_from_dict,
    score_to_dict,
    write_project,
)
from composer_app.music.score import CONDUCTOR, SUSTAIN, ChannelEvent, TextEvent
from composer_app.music.validate import validate_score


def _track(*msgs):
    """A MidiTrack from (absolute tick, message) pairs; text in UTF-8, as DAWs write it."""
    track, now = mido.MidiTrack(), 0
    for tick, msg in msgs:
        if msg.is_meta and hasattr(msg, "text"):
            msg = msg.copy(text=text_to_midi(msg.text))
        track.append(msg.copy(time=tick - now))
        now = tick
    return track


def daw_file() -> mido.MidiFile:
    """What a DAW writes: a conductor with markers and text, a pedalled piano with bends,
    aftertouch, lyrics and a change of sound, a set-up track of controllers only, strings."""
    M, m = mido.MetaMessage, mido.Message
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(_track(
        (0, M("track_name", name="Song")), (0, M("set_tempo", tempo=500000)),
        (0, M("copyright", text="(c) 2026")), (0, M("marker", text="Intro")),
        (0, M("text", text="rubato")), (1920, M("marker", text="Verse 1")),
        (3840, M("cue_marker", text="door")), (3840, M("marker", text="Ende — Schluss")),
    ))
    piano = [(0, M("track_name", name="Piano")), (0, m("program_change", program=0)),
             (0, m("control_change", control=7, value=100)),
             (0, m("control_change", control=10, value=40))]
    for bar in range(4):
        t = bar * 960
        piano += [(t, m("control_change", control=SUSTAIN, value=127)),
                  (t, M("lyrics", text=["La", "la", "лю", "歌"][bar])),
                  (t, m("note_on", note=60 + bar, velocity=90)),
                  (t + 120, m("control_change", control=1, value=bar * 30)),
                  (t + 200, m("pitchwheel", pitch=-8192 + bar * 4000)),
                  (t + 240, m("aftertouch", value=50 + bar)),
                  (t + 300, m("polytouch", note=60 + bar, value=33)),
                  (t + 480, m("note_off", note=60 + bar, velocity=0)),
                  (t + 600, m("control_change", control=11, value=90 - bar)),
                  (t + 900, m("control_change", control=SUSTAIN, value=0))]
    piano += [(1920, m("program_change", program=4)), (3840, m("pitchwheel", pitch=8191))]
    mid.tracks.append(_track(*sorted(piano, key=lambda e: e[0])))
    mid.tracks.append(_track(  # set-up: volume of channel 2 (strings) and of unused 6
        (0, M("track_name", name="Setup")),
        (0, m("control_change", channel=1, control=7, value=77)),
        (0, m("control_change", channel=5, control=7, value=11)),
    ))
    mid.tracks.append(_track(
        (0, M("track_name", name="Strings")), (0, m("program_change", channel=1, program=48)),
        (0, m("note_on", channel=1, note=48, velocity=70)),
        (1920, m("note_off", channel=1, note=48, velocity=0)),
        (1920, m("control_change", channel=1, control=SUSTAIN, value=64)),
    ))
    return mid


def events_of(mid: mido.MidiFile) -> list[tuple]:
    """Every non-note message with its absolute tick and channel, per channel/kind order."""
    out = []
    for track in mid.tracks:
        now = 0
        for msg in track:
            now += msg.time
            if msg.type in ("note_on", "note_off", "track_name", "end_of_track",
                            "time_signature", "set_tempo", "program_change"):
                continue
            fields = msg.dict()
            fields.pop("time")
            out.append((now, tuple(sorted(fields.items()))))
    return sorted(out)


def read(mid: mido.MidiFile) -> Score:
    buf = io.BytesIO()
    mid.save(file=buf)
    return score_from_midifile(mido.MidiFile(file=io.BytesIO(buf.getvalue())))


def test_daw_file_keeps_every_event():
    score = read(daw_file())
    names = [t.name for t in score.tracks]
    assert names == ["Piano", "Strings", "Setup"]  # channel 6's volume: a voice of its own
    piano = score.track_events(0)
    assert [(e.tick, e.number, e.value) for e in piano if e.kind == "control"
            and e.number == SUSTAIN] == [(b * 960 + d, SUSTAIN, v) for b in range(4)
                                         for d, v in ((0, 127), (900, 0))]
    assert [e.value for e in piano if e.kind == "pitchwheel"] == [-8192, -4192, -192, 3808, 8191]
    assert {e.kind for e in piano} == {"control", "pitchwheel", "aftertouch", "polytouch",
                                       "program"}
    assert [(e.tick, e.number) for e in piano if e.kind == "program"] == [(1920, 4)]
    assert score.tracks[0].program == 0
    # The set-up track's volume for channel 2 joins the strings, which play channel 2.
    assert ChannelEvent(0, 1, "control", 7, 77) in score.channel_events
    assert score.tracks[2].channel == 5 and score.track_events(2) == [
        ChannelEvent(0, 2, "control", 7, 11)]
    assert [t.text for t in score.text_events if t.kind == "lyrics"] == ["La", "la", "лю", "歌"]
    assert {t.track for t in score.text_events if t.kind == "lyrics"} == {0}
    assert [(t.tick, t.text) for t in score.text_events if t.kind == "marker"] == [
        (0, "Intro"), (1920, "Verse 1"), (3840, "Ende — Schluss")]
    assert {t.track for t in score.text_events if t.kind != "lyrics"} == {CONDUCTOR}


def test_midi_round_trip_is_identical(tmp_path):
    original = daw_file()
    score = read(original)
    path = tmp_path / "back.mid"
    write_midi(score, path)
    back = read_midi(path)
    assert back == score  # notes, tracks, maps, every event, in order
    written = mido.MidiFile(path)
    # The file itself: every controller, bend, aftertouch and text message, at its tick.
    strip = {"channel": None}
    def norm(events):  # noqa: E306 - the set-up track's channel-2 volume moved to the strings
        return sorted((t, tuple((k, v) for k, v in f if k not in strip)) for t, f in events)
    assert norm(events_of(written)) == norm(events_of(original))
    # Written again, the same bytes.
    assert midi_bytes(back) == midi_bytes(score)


def test_project_keeps_events_and_plain_pieces_stay_format_1(tmp_path):
    score = read(daw_file())
    path = tmp_path / "song.composer.json"
    write_project(score, path)
    data = json.loads(path.read_text())
    assert data["version"] == 3 and FORMAT_VERSION == 5  # 4 only with system events, 5 with marks
    assert read_project(path) == score
    plain = Score(notes=[Note(60, 0, 480)], tracks=[Track("Melody", 0, 0)])
    d = score_to_dict(plain)
    assert d["version"] == 1 and "channel_events" not in d and "text_events" not in d
    assert project_bytes(plain) == project_bytes(score_from_dict(json.loads(project_bytes(plain))))


def test_newer_project_format_is_refused():
    data = score_to_dict(read(daw_file()))
    data["version"] = FORMAT_VERSION + 1
    with pytest.raises(FileFormatError, match="newer composer_app"):
        score_from_dict(data, "x.composer.json")


@pytest.mark.parametrize("event,needle", [
    (ChannelEvent(0, 0, "control", 128, 0), "number 128"),
    (ChannelEvent(0, 0, "control", 64, 128), "value 128"),
    (ChannelEvent(0, 0, "control", 64, -1), "value -1"),
    (ChannelEvent(0, 0, "pitchwheel", 0, 8192), "-8192 to 8191"),
    (ChannelEvent(-5, 0, "control", 1, 1), "tick 0 or later"),
    (ChannelEvent(0, 3, "control", 1, 1), "no track 4"),
    (ChannelEvent(0, 0, "sysex", 0, 0), "unknown channel event"),
    (TextEvent(-1, "marker", "x"), "tick 0 or later"),
    (TextEvent(0, "marker", "x", 7), "no track"),
    (TextEvent(0, "shout", "x"), "bad text event"),
])
def test_validation_covers_events(event, needle):
    score = Score(notes=[Note(60, 0, 480)])
    if isinstance(event, ChannelEvent):
        score.channel_events.append(event)
    else:
        score.text_events.append(event)
    with pytest.raises(FileFormatError, match=needle):
        validate_score(score, "f.mid")
    data = score_to_dict(score)
    with pytest.raises(FileFormatError, match="damaged project file"):
        score_from_dict(data, "p.composer.json")


def test_moving_notes_leaves_the_pedal_where_it_was(tmp_path):
    """Edit one phrase of a pedalled file, save, reopen: the pedalling is in place."""
    score = read(daw_file())
    edited = score.replace_notes(n.moved(start=n.start + 240, pitch=n.pitch + 2)
                                 if n.track == 0 and 960 <= n.start < 2880 else n
                                 for n in score.notes)
    path = tmp_path / "edited.mid"
    write_midi(edited, path)
    back = read_midi(path)
    assert back.channel_events == score.channel_events
    assert back.text_events == score.text_events
    assert [(n.pitch, n.start) for n in back.track_notes(0)] == [
        (60, 0), (63, 1200), (64, 2160), (63, 2880)]


def test_the_editor_document_keeps_events():
    pytest.importorskip("PySide6")
    from composer_app.ui.document import Document

    score = read(daw_file())
    doc = Document(score)
    assert doc.score() == score


def test_musicxml_names_what_it_drops(tmp_path):
    score = read(daw_file())
    notes = write_musicxml(score, tmp_path / "song.musicxml")
    assert len(notes) == 1
    line = notes[0]
    assert line.startswith("song.musicxml: MusicXML here does not hold everything: not written ")
    for part in ("9 sustain pedal", "5 pitch bend", "1 program change"):
        assert part in line
    assert "lyric" not in line  # each on the note it starts with, as <lyric>
    # the piece's markers are written, as rehearsal marks, and read back
    assert "1 marker" in line  # the one after the last note, which has no measure to sit in
    from composer_app.music import read_musicxml

    assert [(m.tick, m.text) for m in read_musicxml(tmp_path / "song.musicxml").markers] == \
        [(m.tick, m.text) for m in score.markers if m.tick < score.end_tick]  # none after the music
    assert [(t.tick, t.text) for t in read_musicxml(tmp_path / "song.musicxml").text_events
            if t.kind == "lyrics"] == [(0, "La"), (960, "la"), (1920, "лю"), (2880, "歌")]
    assert write_musicxml(Score(notes=[Note(60, 0, 480)]), tmp_path / "plain.musicxml") == []


def test_too_many_events_is_refused(monkeypatch):
    import composer_app.music.midifile as midifile

    monkeypatch.setattr(midifile, "MAX_EVENTS", 20)
    with pytest.raises(FileFormatError, match="controller, text or system events: too large"):
        read(daw_file())


def flood(count: int) -> bytes:
    """A note under ``count`` modulation-wheel messages (running status, 1 tick apart)."""
    body = bytearray(b"\x00\x90\x3c\x40")
    body += b"\x01\xb0\x01\x00"
    body += b"\x01\x01\x05" * (count - 1)
    body += b"\x00\x80\x3c\x00\x00\xff\x2f\x00"
    return (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0" + b"MTrk"
            + len(body).to_bytes(4, "big") + bytes(body))


def test_controller_flood_reads_in_time_and_memory(tmp_path):
    """20,000 controllers under tracemalloc (the 1M flood is timed in README: the same
    cost per event)."""
    count = 20_000
    path = tmp_path / "flood.mid"
    path.write_bytes(flood(count))
    tracemalloc.start()
    t0 = time.perf_counter()
    score = read_midi(path)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(score.channel_events) == count and len(score.notes) == 1
    assert seconds < 10  # about 1 s with tracemalloc; generous for a loaded machine
    assert peak < 700 * count  # bytes per event (about 450), mido's parse included
