"""Transport against the recording output: order, channels, note-offs, loop, errors."""

from __future__ import annotations

import threading
import time

import pytest

from composer_app.audio import transport as transport_mod
from composer_app.audio.backends import (
    MidiPortOutput,
    Output,
    RecordingOutput,
    SilentOutput,
    open_output,
)
from composer_app.audio.errors import PortUnavailable
from composer_app.audio.events import build_events
from composer_app.audio.ports import list_output_ports
from composer_app.audio.transport import Transport
from composer_app.music import Note, Score, TempoChange, Track, UserError

FAST = [TempoChange(0, 600.0)]  # a quarter note lasts 0.1 s


def _score(notes, tracks=None, tempos=None) -> Score:
    return Score(notes=notes, tracks=tracks or [Track("A", 0, 0), Track("B", 3, 40)],
                 tempos=tempos or list(FAST))


def _play_to_end(score, output=None, **kw):
    out = output or RecordingOutput()
    done = threading.Event()
    t = Transport(out, on_finished=done.set)
    t.metronome = kw.pop("metronome", False)
    t.play(score, **kw)
    assert done.wait(5), "playback did not finish"
    t.close()
    return out, t


def _balanced(out: RecordingOutput) -> bool:
    sounding: dict = {}
    for _, m in out.messages:
        key = (m.channel, getattr(m, "note", None))
        if m.type == "note_on" and m.velocity:
            sounding[key] = sounding.get(key, 0) + 1
        elif m.type == "note_off":
            sounding.pop(key, None)
    return not sounding


def test_plays_events_in_order_with_channels_and_programs():
    notes = [Note(60, 0, 240, 100, 0), Note(64, 240, 240, 90, 1), Note(67, 480, 240, 80, 0)]
    out, t = _play_to_end(_score(notes))
    kinds = [(m.type, m.channel, getattr(m, "note", getattr(m, "program", None)))
             for _, m in out.messages]
    assert kinds == [
        ("program_change", 0, 0), ("program_change", 3, 40),
        ("note_on", 0, 60), ("note_off", 0, 60),
        ("note_on", 3, 64), ("note_off", 3, 64),
        ("note_on", 0, 67), ("note_off", 0, 67),
    ]
    times = [ts for ts, _ in out.messages]
    assert times == sorted(times)
    assert not t.is_playing


def test_stop_sends_note_off_for_every_sounding_note():
    chord = [Note(p, 0, 480 * 50, 90, i % 2) for i, p in enumerate((48, 60, 64, 67))]
    out = RecordingOutput()
    t = Transport(out)
    t.play(_score(chord))
    time.sleep(0.1)
    assert t.is_playing
    t.stop()
    assert not t.is_playing
    offs = {(m.channel, m.note) for m in out.of_type("note_off")}
    assert offs == {(0, 48), (3, 60), (0, 64), (3, 67)}
    assert _balanced(out)
    t.close()


def test_pause_keeps_position_and_resume_continues():
    notes = [Note(60 + i, i * 480, 480, 90) for i in range(30)]  # 3 s
    out = RecordingOutput()
    t = Transport(out)
    t.play(_score(notes))
    time.sleep(0.35)
    t.pause()
    assert t.is_paused and not t.is_playing and _balanced(out)
    held = t.position_tick
    assert 480 * 2 < held < 480 * 8
    time.sleep(0.1)
    assert t.position_tick == held
    out.clear()
    t.resume()
    time.sleep(0.05)
    t.stop()
    first_on = out.of_type("note_on")[0]
    assert first_on.note == 60 + held // 480  # the note under the playhead is chased
    t.close()


def test_loop_repeats_range_and_releases_at_wrap():
    notes = [Note(60, 0, 240, 90), Note(62, 240, 240, 90), Note(64, 480, 240, 90),
             Note(72, 960, 240, 90)]
    out = RecordingOutput()
    t = Transport(out)
    t.set_loop(0, 480)  # 0.1 s: C, D
    t.play(_score(notes))
    time.sleep(0.45)
    assert t.is_playing and 0 <= t.position_tick < 480
    t.stop()
    pitches = [m.note for m in out.of_type("note_on")]
    assert pitches[:6] == [60, 62, 60, 62, 60, 62]
    assert 64 not in pitches and 72 not in pitches
    assert _balanced(out)
    t.clear_loop()
    with pytest.raises(UserError):
        t.set_loop(480, 480)
    t.close()


def test_mute_solo_and_metronome():
    tracks = [Track("A", 0, 0), Track("B", 1, 0, mute=True), Track("C", 2, 0)]
    notes = [Note(60, 0, 480, 90, 0), Note(62, 0, 480, 90, 1), Note(64, 0, 480, 90, 2)]
    out, _ = _play_to_end(_score(notes, tracks), metronome=True)
    played = {(m.channel, m.note) for m in out.of_type("note_on")}
    assert (1, 62) not in played and {(0, 60), (2, 64), (9, 76)} <= played
    tracks[2].solo = True
    out, _ = _play_to_end(_score(notes, tracks))
    assert {m.channel for m in out.of_type("note_on")} == {2}


def test_events_follow_the_tempo_map():
    score = _score([Note(60, 0, 480, 90), Note(62, 480, 480, 90)],
                   tempos=[TempoChange(0, 120.0), TempoChange(480, 60.0)])
    ons = [e[0] for e in build_events(score) if e[1] == transport_mod.ON]
    offs = [e[0] for e in build_events(score) if e[1] == transport_mod.OFF and e[2] != 9]
    assert ons == pytest.approx([0.0, 0.5]) and offs == pytest.approx([0.5, 1.5])


def test_preview_note_sounds_and_releases():
    out = RecordingOutput()
    t = Transport(out)
    t.preview_note(67, channel=2, velocity=100, duration_s=0.05, program=19)
    time.sleep(0.2)
    msgs = [m for _, m in out.messages]
    assert [m.type for m in msgs] == ["program_change", "note_on", "note_off"]
    assert msgs[1].channel == 2 and msgs[1].note == 67 and msgs[1].velocity == 100
    lag = out.messages[2][0] - out.messages[1][0]
    assert 0.04 < lag < 0.5
    t.close()


class _VanishingPort(Output):
    """Works for a few messages, then behaves like an unplugged MIDI device."""

    description = "vanishing"

    def __init__(self, ok_messages: int):
        super().__init__()
        self.left = ok_messages

    def _send(self, msg):
        if self.left <= 0:
            raise PortUnavailable("MIDI output port 'Synth' disappeared")
        self.left -= 1


def test_port_that_disappears_stops_cleanly_and_reports():
    errors = []
    got = threading.Event()
    notes = [Note(60 + i, i * 120, 120, 90) for i in range(40)]
    t = Transport(_VanishingPort(ok_messages=6),
                  on_error=lambda e: (errors.append(e), got.set()))
    t.play(_score(notes))
    assert got.wait(3)
    assert isinstance(errors[0], PortUnavailable) and not t.is_playing
    # The user re-chooses an output and plays again.
    out = RecordingOutput()
    t.set_output(out)
    done = threading.Event()
    t.on_finished = done.set
    t.play(_score(notes[:2]))
    assert done.wait(3) and len(out.of_type("note_on")) == 2
    t.close()


def test_output_check_failure_stops_playback():
    class Unplugged(SilentOutput):
        def check(self):
            raise PortUnavailable("MIDI output port 'X' disappeared")

    got = threading.Event()
    t = Transport(Unplugged(), on_error=lambda e: got.set())
    t.play(_score([Note(60, 0, 480 * 40, 90)]))
    assert got.wait(3) and not t.is_playing
    t.close()


def test_missing_port_message_and_listing_never_raises():
    ports = list_output_ports()
    assert isinstance(ports, list)
    with pytest.raises(PortUnavailable, match=r"MIDI output port 'No Such Port' not found \(available: "):
        MidiPortOutput("No Such Port")
    output, note = open_output(port_name="No Such Port")
    assert isinstance(output, Output) and "No Such Port" in note
    output.close()


def test_position_is_fresh_while_playing():
    t = Transport(SilentOutput())
    t.play(_score([Note(60, 0, 480 * 40, 90)]))
    a = t.position_tick
    time.sleep(0.03)
    b = t.position_tick
    t.stop()
    assert b > a  # 30 ms at 600 bpm is ~144 ticks
    t.close()


def test_replaying_and_editing_while_playing_send_programs_and_respect_mute():
    long = [Note(60, 0, 480 * 40, 90, 0), Note(64, 0, 480 * 40, 90, 1)]
    out = RecordingOutput()
    t = Transport(out)
    t.play(_score(long))
    time.sleep(0.05)
    tracks = [Track("A", 0, 5), Track("B", 3, 40, mute=True)]
    t.set_score(_score(long, tracks))
    time.sleep(0.05)
    t.stop()
    assert ("program_change", 0, 5) in [(m.type, m.channel, getattr(m, "program", None))
                                        for _, m in out.messages]
    ons = [(m.channel, m.note) for m in out.of_type("note_on")]
    # The held note of the edited score goes on without a re-attack; the muted track's
    # note stops at the edit, not at the stop.
    assert ons == [(0, 60), (3, 64)]
    offs = [(m.channel, m.note) for m in out.of_type("note_off", "note_on")
            if m.type == "note_off" or m.velocity == 0]
    assert offs[0] == (3, 64)
    assert _balanced(out)
    t.close()


def test_edits_while_playing_do_not_re_attack_held_notes():
    out = RecordingOutput()
    t = Transport(out)
    held = Note(48, 0, 480 * 40, 90, 0)
    t.play(_score([held]))
    for i in range(5):  # five edits elsewhere in the piece, as the editor sends them
        time.sleep(0.02)
        t.set_score(_score([held] + [Note(72 + j, 480 * 30, 240, 90, 0) for j in range(i + 1)]))
    time.sleep(0.02)
    t.stop()
    assert [(m.channel, m.note) for m in out.of_type("note_on") if m.velocity] == [(0, 48)]
    assert _balanced(out)
    t.close()


def test_loop_wrap_sounds_notes_held_across_the_loop_start():
    out = RecordingOutput()
    t = Transport(out)
    bass = Note(36, 0, 480 * 16, 90, 0)  # held through the whole loop
    t.set_loop(480, 960)  # one beat at 600 bpm: 0.1 s
    t.play(_score([bass]), start_tick=480)
    time.sleep(0.35)  # three wraps or so
    t.stop()
    ons = [m for m in out.of_type("note_on") if m.velocity]
    assert len(ons) >= 3 and all(m.note == 36 for m in ons)  # struck again at each wrap
    assert _balanced(out)
    t.close()


def test_metronome_leaves_the_users_percussion_notes_alone():
    out = RecordingOutput()
    t = Transport(out)
    wood_block = Note(76, 0, 480 * 8, 90, 0)  # the same key as the accent click
    t.play(_score([wood_block], [Track("Drums", 9, 0)]))
    time.sleep(0.2)
    offs_while_playing = [m for m in out.of_type("note_off")
                          if m.note == 76] + [m for m in out.of_type("note_on")
                                               if m.note == 76 and m.velocity == 0]
    t.stop()
    assert offs_while_playing == []  # metronome off: its click note-offs are not sent
    assert _balanced(out)
    t.close()


class _FakePort:
    def __init__(self):
        self.sent, self.unplugged, self.closed = [], False, False

    def send(self, msg):
        if self.unplugged:
            raise OSError("device unplugged")
        self.sent.append(msg)

    def close(self):
        self.closed = True


def test_midi_port_output_sends_detects_unplug_and_reconnects(monkeypatch):
    from composer_app.audio import backends

    present = ["Synth"]
    ports: list[_FakePort] = []
    monkeypatch.setattr(backends, "list_output_ports", lambda: list(present))
    monkeypatch.setattr(backends.mido, "open_output",
                        lambda name: ports.append(_FakePort()) or ports[-1])
    out = MidiPortOutput("Synth")
    out.note_on(1, 60, 100)
    assert ports[0].sent[0].type == "note_on" and ports[0].sent[0].channel == 1
    ports[0].unplugged = True
    present.clear()
    with pytest.raises(PortUnavailable, match="'Synth' disappeared"):
        out.note_off(1, 60)
    out._last_check = 0.0
    with pytest.raises(PortUnavailable):
        out.check()
    with pytest.raises(PortUnavailable, match="not found"):
        out.reconnect()
    present.append("Synth")
    out.reconnect()
    out.note_on(2, 62, 90)
    assert ports[-1].sent[-1].note == 62
    out.close()
    assert ports[-1].closed


def test_panic_stops_and_silences_every_channel():
    out = RecordingOutput()
    t = Transport(out)
    t.play(_score([Note(60, 0, 480 * 40, 90)]))
    time.sleep(0.05)
    t.panic()
    assert not t.is_playing and _balanced(out)
    silenced = {m.channel for m in out.of_type("control_change") if m.control == 120}
    assert silenced == set(range(16))
    t.close()


def test_overlapping_notes_of_one_pitch_sound_until_the_later_ends():
    """Two voices on one channel share a pitch: the synth's one voice for it must not be
    cut when the shorter note ends (the same rule in playback and the offline render)."""
    notes = [Note(60, 0, 960, 100, 0), Note(60, 240, 240, 90, 0)]
    out, _ = _play_to_end(_score(notes, tracks=[Track("A", 0, 0)]))
    offs = [(t, m.note) for t, m in out.messages if m.type == "note_off"]
    ons = [(t, m.note) for t, m in out.messages if m.type == "note_on" and m.velocity]
    assert len(ons) == 2 and len(offs) == 1
    assert offs[0][0] - ons[0][0] == pytest.approx(0.2, abs=0.05)  # the long note ends, not 0.1
    sounding = {(0, 60): 2}
    assert not transport_mod.release(sounding, (0, 60)) and sounding == {(0, 60): 1}
    assert transport_mod.release(sounding, (0, 60)) and sounding == {}
    assert not transport_mod.release(sounding, (0, 60))  # a stray note-off sends nothing


# -- the voices' controllers and bends (issue 13: the pedal and bend lanes play) ----------


def _pedalled(events, notes=None):
    from composer_app.music.score import ChannelEvent

    return Score(notes=notes or [Note(60, 0, 480 * 40, 90, 1)],
                 tracks=[Track("A", 0, 0), Track("B", 3, 40)], tempos=list(FAST),
                 channel_events=[ChannelEvent(*e) for e in events])


def _controls(out):
    return [(m.type, m.channel, getattr(m, "control", None),
             m.value if m.type == "control_change" else m.pitch)
            for m in out.of_type("control_change", "pitchwheel")]


def test_pedal_and_bend_play_in_time_and_stop_puts_them_back():
    # tick, track, kind, number, value: the pedal down and a bend on voice B (channel 3)
    score = _pedalled([(0, 1, "control", 64, 127), (0, 1, "control", 7, 90),
                       (240, 1, "pitchwheel", 0, 4096)])
    out = RecordingOutput()
    t = Transport(out)
    t.play(score)
    time.sleep(0.15)  # past the bend at 0.05 s
    assert _controls(out) == [("control_change", 3, 64, 127), ("control_change", 3, 7, 90),
                              ("pitchwheel", 3, None, 4096)]
    on = next(i for i, (_, m) in enumerate(out.messages) if m.type == "note_on")
    pedal = next(i for i, (_, m) in enumerate(out.messages) if m.type == "control_change")
    assert pedal < on  # in place before the note it holds
    out.clear()
    t.stop()
    # the pedal up and the bend centred on that channel; the volume back to GM's 100
    assert sorted(_controls(out)) == [("control_change", 3, 7, 100),
                                      ("control_change", 3, 64, 0), ("pitchwheel", 3, None, 0)]
    out.clear()
    t.stop()  # a second stop has nothing to put back
    assert _controls(out) == []
    t.close()


def test_a_pedal_let_go_in_the_piece_is_not_reset_again_and_mute_silences_it():
    score = _pedalled([(0, 1, "control", 64, 127), (240, 1, "control", 64, 0)],
                      notes=[Note(60, 0, 480, 90, 1)])
    out, _t = _play_to_end(score)
    assert _controls(out) == [("control_change", 3, 64, 127), ("control_change", 3, 64, 0)]
    score.tracks[1].mute = True
    out, _t = _play_to_end(score)
    assert _controls(out) == []


def test_playback_starting_under_the_pedal_presses_it_and_the_loop_wrap_resets_it():
    # the pedal down from beat 1 to beat 3, bent from beat 2; loop beats 2-4
    score = _pedalled([(480, 1, "control", 64, 127), (960, 1, "pitchwheel", 0, -3000),
                       (1440, 1, "control", 64, 0)])
    out = RecordingOutput()
    t = Transport(out)
    t.play(score, start_tick=1200)  # under the pedal, after the bend: both chased
    time.sleep(0.02)
    assert sorted(_controls(out)[:2]) == [("control_change", 3, 64, 127),
                                          ("pitchwheel", 3, None, -3000)]
    t.stop()
    out.clear()
    t.set_loop(600, 1200)  # 0.06 s
    t.play(score, start_tick=600)
    time.sleep(0.2)
    t.stop()
    sent = _controls(out)
    # each pass: the pedal pressed again at the loop start (chased) after a reset at the
    # wrap, and the bend back to the centre before the pass reaches it again
    assert sent.count(("control_change", 3, 64, 127)) >= 2
    assert ("pitchwheel", 3, None, 0) in sent
    last = {(kind, ch, cc): value for kind, ch, cc, value in sent}
    assert last == {("control_change", 3, 64): 0, ("pitchwheel", 3, None): 0}  # all put back
    t.close()


def test_build_events_orders_controls_between_note_offs_and_note_ons():
    score = _pedalled([(480, 0, "control", 64, 127), (480, 0, "pitchwheel", 0, 100),
                       (480, 0, "aftertouch", 0, 50)],
                      notes=[Note(60, 0, 480, 90, 0), Note(62, 480, 480, 90, 0)])
    kinds = [e[1] for e in build_events(score, metronome_until=0)]
    T = transport_mod
    assert kinds == [T.ON, T.OFF, T.CONTROL, T.BEND, T.ON, T.OFF]  # aftertouch not played
