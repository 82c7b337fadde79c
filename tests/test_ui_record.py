"""Playing in from a MIDI keyboard in the window (issue 12): recording, loop takes,
quantize on input, step entry, Preferences with no input ports.

The keyboard is a FakeInput: the interface a real port (PortInput) has, its messages
reaching the window through the same queued signal; the transport is a real one on a
RecordingOutput, both on one clock the test moves, so every tick is exact."""

from __future__ import annotations

import threading

import mido
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from composer_app.audio.backends import RecordingOutput  # noqa: E402
from composer_app.audio.midi_input import FakeInput  # noqa: E402
from composer_app.audio.transport import Transport  # noqa: E402
from composer_app.music import Note, Score, TempoChange, Track  # noqa: E402


class ManualClock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def rig(make_window):
    w = make_window()
    clock = ManualClock()
    out = RecordingOutput()
    transport = Transport(out, clock=clock)
    w.audio.ensure_open = lambda: None
    w.audio.output, w.audio.transport = out, transport
    port = FakeInput(clock=clock)
    w.record.set_input(port)
    w.settings.set("record/count_in_bars", 0)
    yield w, clock, port, out
    transport.close()


def _piece(window, notes, tempos=None):
    score = Score(notes=notes, tracks=[Track("Soprano", 0, 52), Track("Alto", 1, 40)],
                  tempos=tempos or [TempoChange(0, 120.0)])
    window.doc.load(score)


def _played(port, clock, pitch, on, off, velocity=90):
    clock.t = on
    port.note(pitch, velocity)
    clock.t = off
    port.note(pitch, 0)


def _notes(window):
    return sorted((n.pitch, n.start, n.duration, n.track) for n in window.doc.notes.values())


def test_recording_lands_notes_at_their_ticks_in_the_current_voice_in_one_step(rig, qtbot):
    w, clock, port, out = rig
    _piece(w, [Note(60, 0, 480, track=1), Note(72, 1920, 1920, track=0)],
           tempos=[TempoChange(0, 120.0), TempoChange(1920, 60.0)])
    w.roll.set_active_track(1)
    w.roll.set_playhead(1920)
    before = _notes(w)
    steps = w.doc.undo_stack.count()
    w.act_record.trigger()                      # R, at clock 100: bar 2, at 60 bpm
    assert w.record.recording and w.act_record.isChecked()
    assert w.audio.transport.metronome           # the metronome clicks while recording
    assert w.record_indicator.text().startswith("● REC")
    _played(port, clock, 64, 100.5, 101.0, velocity=100)   # 0.5 s = 240 ticks at 60 bpm
    port.feed(mido.Message("control_change", control=64, value=127))  # the pedal sounds
    assert [(m.channel, m.control, m.value) for m in out.of_type("control_change")] == [
        (1, 64, 127)]
    clock.t = 101.25
    thread = threading.Thread(target=port.note, args=(65, 70))  # as rtmidi's thread does
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: 65 in w.record.take.held, timeout=2000)  # queued to the GUI
    clock.t = 101.5
    w.record.poll()                             # the take so far is shown, not yet added
    assert [(n.pitch, n.start, n.end) for n in w.roll.recording_notes] == [
        (64, 2160, 2400), (65, 2520, 2640)]
    assert _notes(w) == before
    clock.t = 101.75
    w.act_record.trigger()                      # R again: stop, key 65 still down
    assert not w.record.recording and not w.act_record.isChecked()
    assert not w.audio.transport.metronome and not w.audio.transport.is_playing
    assert w.doc.undo_stack.count() == steps + 1
    assert w.doc.undo_stack.text(steps) == "Record take 1" and not w.roll.recording_notes
    assert _notes(w) == sorted(before + [(64, 2160, 240, 1), (65, 2520, 240, 1)])
    assert {n.velocity for n in w.doc.notes.values() if n.pitch in (64, 65)} == {100, 70}
    # what was played also sounded, in the Alto's channel and program
    assert [(m.channel, m.note) for m in out.of_type("note_on")
            if m.note in (64, 65)] == [(1, 64), (1, 65)]
    assert (1, 40) in [(m.channel, m.program) for m in out.of_type("program_change")]
    w.doc.undo_stack.undo()
    assert _notes(w) == before                  # an undone take leaves the piece as it was


def test_count_in_shifts_nothing_into_the_count_in(rig):
    w, clock, port, _out = rig
    w.settings.set("record/count_in_bars", 1)   # 4 beats at 120 bpm: 2 s
    _piece(w, [])
    w.act_record.trigger()                      # at clock 100; the music starts at 102
    assert w.record_indicator.text() == "● COUNT-IN"
    _played(port, clock, 60, 100.5, 101.0)      # played and released in the count-in
    _played(port, clock, 62, 101.9, 102.5)      # a pickup just early, held into bar 1
    _played(port, clock, 64, 102.5, 103.0)      # 0.5 s into bar 1
    w.act_record.trigger()
    assert _notes(w) == [(62, 0, 480, 0), (64, 480, 480, 0)]


def test_loop_recording_gives_one_undo_step_per_take(rig):
    w, clock, port, _out = rig
    _piece(w, [Note(48, 0, 1920)])
    w.roll.set_loop(0, 1920)
    w.act_loop.trigger()                        # L: loop bar 1 (2 s at 120 bpm)
    assert w.act_loop.isChecked() and w.audio.transport.loop == (0, 1920)
    steps = w.doc.undo_stack.count()
    w.act_record.trigger()
    _played(port, clock, 60, 100.25, 100.5)                 # pass 1
    _played(port, clock, 62, 102.25, 102.5)                 # pass 2
    clock.t = 103.5
    port.note(64, 90)                                        # held across the wrap ...
    clock.t = 104.25
    w.record.poll()                                          # the wrap: take 2 is a step
    assert w.doc.undo_stack.count() == steps + 2
    port.note(64, 0)                                         # ... released in pass 3
    clock.t = 104.5
    w.act_record.trigger()
    assert w.doc.undo_stack.count() == steps + 3
    assert [w.doc.undo_stack.text(steps + k) for k in range(3)] == [
        "Record take 1", "Record take 2", "Record take 3"]
    assert _notes(w) == [(48, 0, 1920, 0), (60, 240, 240, 0), (62, 240, 240, 0),
                         (64, 0, 240, 0), (64, 1440, 480, 0)]
    w.doc.undo_stack.undo()
    assert (64, 0, 240, 0) not in _notes(w) and (62, 240, 240, 0) in _notes(w)
    w.doc.undo_stack.undo()
    w.doc.undo_stack.undo()
    assert _notes(w) == [(48, 0, 1920, 0)]


def test_quantize_on_input_snaps_the_onsets_to_the_grid(rig):
    w, clock, port, _out = rig
    w.settings.set("record/quantize", True)
    w.set_snap("1/8")
    _piece(w, [])
    w.act_record.trigger()
    _played(port, clock, 60, 100.27, 100.5)     # tick 259 -> 240
    _played(port, clock, 62, 100.7, 100.9)      # tick 672 -> 720
    w.act_record.trigger()
    assert _notes(w) == [(60, 240, 221, 0), (62, 720, 192, 0)]


def test_step_entry_adds_snap_length_notes_and_advances_the_cursor(rig):
    w, _clock, port, _out = rig
    _piece(w, [Note(55, 0, 480)])
    w.set_snap("1/8")
    w.roll.set_playhead(480)
    steps = w.doc.undo_stack.count()
    w.act_step_entry.setChecked(True)           # N
    assert w.record_indicator.text() == "STEP"
    port.note(60, 100)
    assert w.roll.playhead == 720
    port.note(60, 0)
    port.note(64, 90)
    port.note(67, 90)                           # 64 still down: a chord
    port.note(64, 0)
    port.note(67, 0)
    port.note(65, 80)
    port.note(65, 0)
    assert _notes(w) == [(55, 0, 480, 0), (60, 480, 240, 0), (64, 720, 240, 0),
                         (65, 960, 240, 0), (67, 720, 240, 0)]
    assert w.roll.playhead == 1200
    assert w.position_display.text().strip() == "1.3.240"
    assert w.doc.undo_stack.count() == steps + 4  # one step a key
    w.act_step_entry.setChecked(False)
    port.note(69, 90)
    assert len(w.doc.notes) == 5                # off: keys only sound


def test_no_input_ports_preferences_show_none_and_nothing_errors(qtbot, tmp_path, monkeypatch):
    """This machine has no ALSA sequencer: listing ports raises, which means none."""
    def no_sequencer():
        raise SystemError("MidiInAlsa::initialize: error creating ALSA sequencer client")

    monkeypatch.setattr(mido, "get_input_names", no_sequencer)
    monkeypatch.setenv("COMPOSER_APP_DATA", str(tmp_path / "data"))
    from composer_app.ui.main_window import MainWindow
    from composer_app.ui.preferences import PreferencesDialog
    from composer_app.ui.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.audio.ensure_open = lambda: None
    dlg = PreferencesDialog(settings, w, input_state=w.record.state())
    qtbot.addWidget(dlg)
    assert [dlg.input_port.itemText(i) for i in range(dlg.input_port.count())] == ["none"]
    # said in words, not a bare "none" beside a "none" port
    assert dlg.input_state.text().startswith("none")
    assert "no MIDI input port on this machine" in dlg.input_state.text()
    assert dlg.count_in.value() == 1 and dlg.record_metronome.isChecked()
    assert not dlg.quantize_input.isChecked()
    dlg.count_in.setValue(2)
    dlg.quantize_input.setChecked(True)
    dlg.save()
    assert settings.get("midi/input_port") == "" and settings.get("record/count_in_bars") == 2
    assert settings.get("record/quantize") is True
    w.record.open_from_settings()
    assert w.record.input is None
    w.act_record.trigger()                      # R with no keyboard: said, not recorded
    assert not w.record.recording and not w.act_record.isChecked()
    assert "no MIDI input port" in w.statusBar().currentMessage()
    # a keyboard chosen before and not plugged in now: kept, marked, and said once
    settings.set("midi/input_port", "Keystation 49")
    w.record.open_from_settings()
    assert w.record.input is None and "not found" in w.record.state()
    dlg = PreferencesDialog(settings, w, input_state=w.record.state())
    qtbot.addWidget(dlg)
    assert dlg.input_port.currentText() == "Keystation 49 (not found)"


def test_preferences_show_the_whole_no_sound_reason(qtbot, tmp_path):
    """The "Now" line of Audio output is the reason there is no sound and what to do: it
    is shown whole at the dialog's size, not cut to two lines."""
    from composer_app.ui.preferences import PreferencesDialog
    from composer_app.ui.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    reason = ("no sound: no audio output could be opened (tried pulseaudio, alsa); start "
              "PulseAudio or PipeWire (pipewire-pulse), or check that a sound card exists, "
              "or choose a MIDI output port in the Audio settings; playing silently")
    dlg = PreferencesDialog(settings, None, audio_state=reason)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    label = dlg.audio_state
    assert label.height() >= label.heightForWidth(label.width())
    assert dlg.height() <= 1000  # still a dialog that fits a laptop screen
