"""Playing in from a MIDI keyboard, without Qt: takes, quantize on input, step entry, the
input port interface, and the transport's count-in, clock and metronome (issue 12)."""

from __future__ import annotations

import threading
import time

import mido

from composer_app.audio.backends import RecordingOutput
from composer_app.audio.errors import PortUnavailable
from composer_app.audio.events import (
    CLICK_ACCENT,
    CLICK_BEAT,
    COUNT,
    METRONOME_CHANNEL,
    count_in_events,
)
from composer_app.audio.midi_input import FakeInput, MidiInput, PortInput, open_input
from composer_app.audio.ports import list_input_ports
from composer_app.audio.transport import Transport
from composer_app.music import Note, Score, TempoChange, TimeSignature
from composer_app.ui.recording import StepCursor, Take, quantized_onsets


class ManualClock:
    """Time that moves only when the test moves it (shared by the port and transport)."""

    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_take_lands_notes_from_the_start_and_drops_what_the_count_in_ends():
    take = Take(track=2, start=1920)
    take.press(1000, 60, 90)                       # in the count-in ...
    take.release(1920, 60, counting_in=True)       # ... and released there: no note
    take.press(1900, 62, 80)                       # an early pickup, held past the start
    take.release(2400, 62)
    take.press(2400, 64, 127)
    notes = take.finish(2640)                      # still down when the recording stops
    assert [(n.pitch, n.start, n.duration, n.velocity, n.track) for n in notes] == [
        (62, 1920, 480, 80, 2), (64, 2400, 240, 127, 2)]


def test_a_key_held_across_the_loop_wrap_is_cut_and_goes_on_in_the_next_take():
    take = Take(0, 0, end=1920)
    take.press(1440, 67, 90)
    nxt = take.next_pass(0, 1)
    assert [(n.start, n.end) for n in take.finish()] == [(1440, 1920)]
    nxt.release(240, 67)
    assert [(n.start, n.end, nxt.passes) for n in nxt.finish()] == [(0, 240, 1)]


def test_quantize_on_input_snaps_onsets_and_keeps_the_lengths():
    score = Score(time_signatures=[TimeSignature(0, 3, 4)])
    notes = [Note(60, 259, 100), Note(62, 1500, 200)]  # 1500: bar 2 starts at 1440
    assert [(n.start, n.duration) for n in quantized_onsets(notes, score, 240)] == [
        (240, 100), (1440, 200)]
    assert quantized_onsets(notes, score, 0) == notes


def test_step_cursor_advances_per_key_and_stacks_held_keys_as_a_chord():
    cursor = StepCursor()
    assert cursor.press(60, 480, 240) == (480, 720)
    cursor.release(60)
    assert cursor.press(64, 720, 240) == (720, 960)
    assert cursor.press(67, 960, 240) == (720, 960)  # 64 still down: same chord
    cursor.release(64)
    cursor.release(67)
    assert cursor.press(65, 960, 240) == (960, 1200)


def test_fake_and_real_inputs_share_one_interface():
    clock = ManualClock(5.0)
    port = FakeInput(clock=clock)
    got = []
    port.set_callback(lambda msg, stamp: got.append((msg.type, msg.note, stamp)))
    port.note(60, 100)
    port.note(60, 0)                                # velocity 0 arrives as a note-off
    port.feed(mido.Message("note_on", note=62, velocity=0), stamp=7.5)
    port.feed(mido.Message("clock"))                # not a note: dropped
    thread = threading.Thread(target=port.note, args=(64, 90))  # from another thread
    thread.start()
    thread.join()
    assert got == [("note_on", 60, 5.0), ("note_off", 60, 5.0), ("note_off", 62, 7.5),
                   ("note_on", 64, 5.0)]
    port.close()
    port.note(65, 90)
    assert len(got) == 4
    assert issubclass(PortInput, MidiInput) and issubclass(FakeInput, MidiInput)


def test_no_input_ports_is_an_empty_list_and_a_missing_port_a_clear_message(monkeypatch):
    def no_sequencer():
        raise SystemError("MidiInAlsa::initialize: error creating ALSA sequencer client")

    monkeypatch.setattr(mido, "get_input_names", no_sequencer)
    assert list_input_ports() == []
    try:
        open_input("Keystation 49")
    except PortUnavailable as exc:
        assert "'Keystation 49' not found (available: none)" in str(exc)
    else:
        raise AssertionError("a missing port must raise PortUnavailable")


def test_count_in_clicks_fall_on_the_beats_before_the_start():
    score = Score(tempos=[TempoChange(0, 120.0), TempoChange(1920, 60.0)],
                  time_signatures=[TimeSignature(0, 4, 4), TimeSignature(1920, 6, 8)])
    ons = [(t, pitch) for t, kind, ch, pitch, _v in count_in_events(score, 1920, 1)
           if kind == COUNT and ch == METRONOME_CHANNEL]
    beat = 240 * 60 / (60.0 * 480)  # an eighth at 60 bpm: the meter and tempo at bar 2
    assert [round(t, 6) for t, _ in ons] == [round(-(6 - k) * beat, 6) for k in range(6)]
    assert [p for _, p in ons] == [CLICK_ACCENT] + [CLICK_BEAT] * 5
    assert count_in_events(score, 0, 0) == []


def test_locate_places_a_stamp_by_the_tempo_map_and_the_count_in():
    clock = ManualClock(100.0)
    score = Score(tempos=[TempoChange(0, 120.0), TempoChange(1920, 60.0)])
    transport = Transport(RecordingOutput(), clock=clock)
    try:
        transport.play(score, 960, count_in_bars=1, hold_open=True)   # 2 s of count-in
        assert transport.locate(101.0) == (960, 0, True)
        assert transport.position_tick == 960                       # waits at the start
        assert transport.locate(102.5) == (1440, 0, False)          # 0.5 s at 120 bpm
        assert transport.locate(103.5) == (1920 + 240, 0, False)    # 1 s, then 0.5 at 60
        assert transport.is_playing                                 # past the end: held open
    finally:
        transport.close()


def test_metronome_and_count_in_clicks_are_sent_on_the_beats():
    """What the output receives: a bar of count-in (accent, then beats), then the
    metronome on the bars recorded, each click released before the next."""
    out = RecordingOutput()
    score = Score(tempos=[TempoChange(0, 600.0)])  # a beat every 0.1 s
    transport = Transport(out)
    transport.metronome = True
    try:
        transport.play(score, 0, count_in_bars=1, hold_open=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(
                [m for m in out.of_type("note_on") if m.channel == METRONOME_CHANNEL]) < 9:
            time.sleep(0.02)
        transport.stop()
    finally:
        transport.close()
    clicks = [(m.type, m.note) for _, m in out.messages
              if m.type in ("note_on", "note_off") and m.channel == METRONOME_CHANNEL]
    ons = [note for kind, note in clicks if kind == "note_on"]
    assert ons[:9] == [CLICK_ACCENT, CLICK_BEAT, CLICK_BEAT, CLICK_BEAT] * 2 + [CLICK_ACCENT]
    for i in range(8):  # each click's note-off comes before the next click
        assert clicks[2 * i] == ("note_on", ons[i]) and clicks[2 * i + 1] == (
            "note_off", ons[i])


def test_live_notes_sound_and_survive_an_edit_reaching_the_playback():
    clock = ManualClock()
    out = RecordingOutput()
    transport = Transport(out, clock=clock)
    try:
        transport.play(Score(notes=[Note(48, 0, 4800)]), 0, hold_open=True)
        transport.live_note(3, 72, 100, program=40)
        transport.set_score(Score(notes=[Note(50, 0, 4800)]))
        assert not [m for m in out.of_type("note_off") if m.note == 72]
        transport.live_note(3, 72, 0)
        offs = [m for m in out.of_type("note_off") if m.note == 72]
        assert len(offs) == 1 and offs[0].channel == 3
        assert [m.program for m in out.of_type("program_change") if m.channel == 3] == [40]
    finally:
        transport.close()
