"""Playing in from a MIDI keyboard: the input port, recording, step entry, the sound.

One :class:`RecordController` per main window (``window.record``). It opens the input
port chosen in Preferences (none is normal: a machine without one simply has no input),
receives the port's messages on the GUI thread through :attr:`received` (a queued
signal: the port calls back on its own thread), sounds every note played through the
output in use, and

- **records** (Transport > Record, R): a count-in, then the piece plays (the metronome
  on, unless Preferences say otherwise) and every note played lands in the current
  voice, timed by the transport's clock (:meth:`Transport.locate`, the tempo map in
  force), merged with what is there: one undo step per take when it stops. With the
  loop on, each pass of the loop is a take of its own (one undo step each);
- **step entry** (Edit > Step Entry, N): each key adds a note of the snap length at the
  playhead and moves it on (keys held together: a chord).

The notes of a take come from :mod:`.recording` (no Qt).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel

from . import commands as cmd
from .recording import StepCursor, Take, quantized_onsets

log = logging.getLogger(__name__)

POLL_MS = 33

INDICATOR_STYLE = ("QLabel { font-weight: bold; padding: 2px 8px; border-radius: 3px;"
                   " color: white; background: %s; }")


class RecordController(QObject):
    received = Signal(object, float)  # (mido message, clock stamp), from the port's thread
    stateChanged = Signal()

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.doc, self.roll, self.audio = window.doc, window.roll, window.audio
        self.settings = window.settings
        self.input = None  # a composer_app.audio.midi_input.MidiInput
        self.input_note = ""  # why there is none (for Preferences)
        self.record_action: QAction | None = None
        self.step_action: QAction | None = None
        self.recording = False
        self.take: Take | None = None
        self.takes = 0  # takes committed in this recording
        self.transport = None  # the transport of the running recording
        self.step_entry = False
        self._step = StepCursor()
        self._programs: tuple[object, dict[int, int]] = (None, {})
        self.indicator = QLabel()
        self.indicator.setObjectName("record_indicator")
        self.indicator.setToolTip("Recording (R stops), count-in, or step entry (N)")
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.received.connect(self.handle)
        self._show_state()

    def attach(self, record: QAction, step: QAction) -> None:
        self.record_action, self.step_action = record, step

    # -- the input port ---------------------------------------------------------------

    def open_from_settings(self) -> None:
        """Open the input port Preferences name ("" : none); a missing one is a note in
        the status bar, never an error."""
        name = self.settings.get("midi/input_port")
        if self.input is not None and getattr(self.input, "port_name", None) == name:
            return
        self.set_input(None)
        self.input_note = ""
        if not name:
            return
        try:
            from composer_app.audio.midi_input import open_input

            self.set_input(open_input(name))
        except Exception as exc:  # PortUnavailable, a broken backend: never fatal
            log.info("MIDI input: %s", exc)
            self.input_note = str(exc)
            self.window.statusBar().showMessage(f"MIDI input: {exc}", 8000)

    def set_input(self, port) -> None:
        """Take messages from ``port`` (a MidiInput; None: none) from now on."""
        old, self.input = self.input, port
        if old is not None:
            try:
                old.close()
            except Exception:
                pass
        if port is not None:
            port.set_callback(lambda msg, stamp: self.received.emit(msg, stamp))

    def state(self) -> str:
        """The input in words (Preferences)."""
        if self.input is not None:
            return str(getattr(self.input, "description", "MIDI input"))
        return f"none ({self.input_note})" if self.input_note else "none"

    # -- messages (GUI thread) -------------------------------------------------------------

    def handle(self, msg, stamp: float) -> None:
        """One message from the keyboard; never raises (it runs from the event loop)."""
        try:
            if msg.type == "note_on":
                self._sound(msg.note, msg.velocity)
                if self.recording:
                    self._record(msg.note, msg.velocity, stamp)
                elif self.step_entry:
                    self._step_key(msg.note, msg.velocity)
            elif msg.type == "note_off":
                self._sound(msg.note, 0)
                if self.recording:
                    self._record(msg.note, 0, stamp)
                elif self.step_entry:
                    self._step.release(msg.note)
            elif msg.type == "control_change":  # the pedal sounds (it is not recorded)
                voice = self._voice()
                self.audio.live_control(voice.channel if voice else 0, msg.control, msg.value)
        except Exception as exc:
            log.exception("MIDI input message failed")
            self.window.statusBar().showMessage(f"MIDI input: {exc}", 8000)

    def _voice(self):
        tracks = self.doc.base.tracks
        track = self.roll.active_track
        return tracks[track] if 0 <= track < len(tracks) else None

    def _sound(self, pitch: int, velocity: int) -> None:
        voice = self._voice()
        channel = voice.channel if voice else 0
        program = None
        if velocity > 0 and voice is not None:
            transport, sent = self._programs
            if transport is not self.audio.transport:  # a new output: send them again
                sent = {}
                self._programs = (self.audio.transport, sent)
            if sent.get(channel) != voice.program:
                program = sent[channel] = voice.program
        self.audio.live_note(channel, pitch, velocity, program)

    # -- recording ------------------------------------------------------------------------

    def toggle_record(self) -> None:
        """Transport > Record (R): start (count-in, then record) or stop."""
        if self.recording or self.take is not None:
            self.stop_record()
            return
        if self.input is None:
            self.window.statusBar().showMessage(
                "Record: no MIDI input port (choose one in File > Preferences > MIDI input)",
                8000)
            self._sync_action()
            return
        window = self.window
        window.transport.stop()
        start = self.roll.playhead
        track = self.roll.active_track
        loop = self.roll.loop if window.transport.loop_on else None
        end = loop[1] if loop and start < loop[1] else None
        self.take = Take(track, start, end)
        self.takes = 0
        bars = max(0, self.settings.get("record/count_in_bars"))
        window.transport.play(self.doc.score, start, count_in_bars=bars, hold_open=True,
                              on_started=self._started)
        self._show_state()

    def _started(self, transport) -> None:
        """The transport runs (the output was open, or has just opened)."""
        if self.take is None:  # stopped before the output opened
            return
        self.transport = transport
        self.recording = True
        transport.metronome = bool(self.settings.get("record/metronome")) or self.audio.metronome
        self.timer.start()
        voice = self._voice()
        self.window.statusBar().showMessage(
            f"Recording into {voice.name if voice else 'the voice'} (R stops)", 4000)
        self._show_state()

    def _record(self, pitch: int, velocity: int, stamp: float) -> None:
        tick, passes, counting = self.transport.locate(stamp)
        self._roll_over(passes)
        if velocity > 0:
            self.take.press(tick, pitch, velocity)
        else:
            self.take.release(tick, pitch, counting_in=counting)

    def _roll_over(self, passes: int) -> None:
        """The loop wrapped: the take of the pass that ended is one undo step."""
        if self.take is None or passes <= self.take.passes:
            return
        loop = self.transport.loop if self.transport is not None else None
        if not loop:
            return
        take, self.take = self.take, self.take.next_pass(loop[0], passes)
        self.take.end = loop[1]
        self.roll.set_recording_notes([])
        self._commit(take.finish())

    def _commit(self, notes) -> None:
        if self.settings.get("record/quantize"):
            notes = quantized_onsets(notes, self.doc.base, self.roll.grid)
        if notes:
            self.takes += 1
            cmd.insert_notes(self.doc, notes, f"Record take {self.takes}")

    def poll(self) -> None:
        """While recording: loop wraps make takes; playback stopped (Space, Stop, the
        output failing) ends the recording; the indicator follows the count-in."""
        if not self.recording:
            self.timer.stop()
            return
        try:
            transport = self.transport
            if not transport.is_playing:
                self.stop_record()
                return
            tick, passes, _counting = transport.locate(transport.clock())
            self._roll_over(passes)
            if self.take is not None:
                self.roll.set_recording_notes(self.take.shown(tick))
            self._show_state()
        except Exception as exc:
            log.exception("recording poll failed")
            self.window.statusBar().showMessage(f"Record: {exc}", 8000)

    def stop_record(self) -> None:
        """End the recording: the take so far is one undo step, playback stops."""
        take, self.take = self.take, None
        transport, self.transport = self.transport, None
        was_recording, self.recording = self.recording, False
        self.timer.stop()
        self.roll.set_recording_notes([])
        if was_recording and take is not None and transport is not None:
            tick, passes, counting = transport.locate(transport.clock())
            if passes > take.passes and take.end is not None:
                tick = take.end
            self._commit(take.finish(tick))
            transport.metronome = self.audio.metronome  # as the M toggle says
        self.window.transport.stop()
        if self.takes:
            self.window.statusBar().showMessage(
                f"Recorded {self.takes} take{'s' if self.takes != 1 else ''} "
                "(each one undo step)", 4000)
        self._show_state()

    def cancel(self) -> None:
        """Drop a recording without keeping its take (a new piece was opened)."""
        self.take = None
        if self.recording:
            self.stop_record()
        self._show_state()

    # -- step entry -------------------------------------------------------------------------

    def set_step_entry(self, on: bool) -> None:
        """Edit > Step Entry (N): each key played adds a snap-length note at the playhead."""
        self.step_entry = bool(on)
        self._step = StepCursor()
        if on and self.input is None:
            self.window.statusBar().showMessage(
                "Step entry: no MIDI input port (choose one in File > Preferences > "
                "MIDI input)", 8000)
        self._show_state()

    def _step_key(self, pitch: int, velocity: int) -> None:
        roll = self.roll
        length = roll.snap_len
        at, cursor = self._step.press(pitch, roll.playhead, length)
        note_track = roll.active_track
        from composer_app.music import Note

        cmd.insert_notes(self.doc, [Note(pitch, at, length, max(1, min(127, velocity)),
                                         note_track)], "Step entry")
        roll.set_playhead(cursor, follow=True)
        self.window.transport.update_position()

    # -- the indicator ---------------------------------------------------------------------

    def _sync_action(self) -> None:
        on = self.take is not None
        a = self.record_action
        if a is not None and a.isChecked() != on:
            a.blockSignals(True)
            a.setChecked(on)
            a.blockSignals(False)

    def _show_state(self) -> None:
        self._sync_action()
        label = self.indicator
        if self.take is not None:
            counting = self.transport is not None and self.transport.counting_in
            if counting or not self.recording:
                text, colour = "● COUNT-IN", "#b07000"
            else:
                text, colour = f"● REC {self.takes + 1}", "#c0282d"
        elif self.step_entry:
            text, colour = "STEP", "#2c5fa8"
        else:
            text, colour = "", ""
        if label.text() != text:
            label.setText(text)
            label.setStyleSheet(INDICATOR_STYLE % colour if colour else "")
            self.stateChanged.emit()
