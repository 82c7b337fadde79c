"""Synth backends: one base :class:`Output`, subclasses that write only ``_send``.

Like mido's output ports, the base serialises sends with a lock, turns the friendly
calls (``note_on``, ``program_change``, ``panic``…) into ``mido.Message`` objects and
handles closing; a backend implements ``_send(msg)`` (and optionally ``_close``).

- :class:`FluidSynthOutput`: FluidSynth with a GM soundfont, through an audio driver.
- :class:`MidiPortOutput`: a MIDI output port (hardware synth, a DAW's virtual port).
- :class:`RecordingOutput`: records ``(time.monotonic(), message)`` for tests and benches.
- :class:`SilentOutput`: accepts everything, makes no sound.

:func:`open_output` picks one with fallbacks and says why when it had to fall back.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import mido

from ._native import compiled_audio_drivers, fluidsynth_version, load_fluidsynth
from .errors import AudioUnavailable, PortUnavailable
from .ports import list_output_ports
from .soundfont import resolve_soundfont

__all__ = [
    "Output", "FluidSynthOutput", "MidiPortOutput", "RecordingOutput", "SilentOutput",
    "AudioUnavailable", "PortUnavailable", "open_output", "driver_candidates",
]

log = logging.getLogger(__name__)

CHANNELS = range(16)
# Controller numbers (MIDI 1.0).
CC_SUSTAIN, CC_ALL_SOUND_OFF, CC_RESET_CONTROLLERS, CC_ALL_NOTES_OFF = 64, 120, 121, 123


class Output:
    """Base of every synth backend. Thread-safe; a closed output ignores sends."""

    description = "output"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.closed = False

    # -- the one hook a backend writes ---------------------------------------------

    def _send(self, msg: mido.Message) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        pass

    # -- public calls --------------------------------------------------------------

    def send(self, msg: mido.Message) -> None:
        """Send one channel message. A backend whose device vanished raises PortUnavailable."""
        with self._lock:
            if not self.closed:
                self._send(msg)

    def note_on(self, channel: int, pitch: int, velocity: int = 90) -> None:
        self.send(mido.Message("note_on", channel=channel, note=pitch, velocity=velocity))

    def note_off(self, channel: int, pitch: int) -> None:
        self.send(mido.Message("note_off", channel=channel, note=pitch, velocity=0))

    def program_change(self, channel: int, program: int) -> None:
        self.send(mido.Message("program_change", channel=channel, program=program))

    def control_change(self, channel: int, control: int, value: int) -> None:
        self.send(mido.Message("control_change", channel=channel, control=control, value=value))

    def pitch_bend(self, channel: int, value: int) -> None:
        """The channel's pitch bend, -8192..8191 (0 = centre)."""
        value = max(-8192, min(8191, int(value)))
        self.send(mido.Message("pitchwheel", channel=channel, pitch=value))

    def all_notes_off(self) -> None:
        """Release every note on every channel (sustain pedal up, then CC 123)."""
        for ch in CHANNELS:
            self.control_change(ch, CC_SUSTAIN, 0)
            self.control_change(ch, CC_ALL_NOTES_OFF, 0)

    def panic(self) -> None:
        """Silence everything now: all sound off, reset controllers, all notes off."""
        for ch in CHANNELS:
            self.control_change(ch, CC_ALL_SOUND_OFF, 0)
            self.control_change(ch, CC_RESET_CONTROLLERS, 0)
        self.all_notes_off()

    def check(self) -> None:
        """Raise PortUnavailable if the device went away. Cheap; the transport calls it."""

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                self.all_notes_off()
            except AudioUnavailable:
                pass
            self.closed = True
            self._close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"


class SilentOutput(Output):
    """Accepts everything and makes no sound (no audio device, or sound turned off)."""

    description = "no sound"

    def _send(self, msg: mido.Message) -> None:
        pass


class RecordingOutput(Output):
    """Keeps ``(time.monotonic(), message)`` for every message sent; for tests and benches."""

    description = "recording"

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[float, mido.Message]] = []

    def _send(self, msg: mido.Message) -> None:
        self.messages.append((time.monotonic(), msg))

    def of_type(self, *types: str) -> list[mido.Message]:
        return [m for _, m in self.messages if m.type in types]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()


# -- FluidSynth -------------------------------------------------------------------

def driver_candidates(platform: str = sys.platform) -> list[str]:
    """Audio drivers to try on ``platform``, in order (JACK and SDL are left out: JACK
    blocks seconds when no server runs, SDL needs the app to initialise SDL first)."""
    if platform.startswith("linux"):
        return ["pulseaudio", "pipewire", "alsa"]
    if platform == "darwin":
        return ["coreaudio", "portaudio"]
    if platform.startswith("win"):
        return ["wasapi", "dsound", "waveout"]
    return ["pulseaudio", "alsa", "oss", "sndio", "portaudio"]


def _driver_help(tried: list[str]) -> str:
    tried_text = ", ".join(tried) if tried else "none available in this FluidSynth build"
    if sys.platform.startswith("linux"):
        hint = "start PulseAudio or PipeWire (pipewire-pulse), or check that a sound card exists"
    elif sys.platform == "darwin":
        hint = "check the macOS sound output"
    else:
        hint = "check that an audio output device is enabled"
    return (f"no audio output could be opened (tried {tried_text}); {hint}, "
            "or choose a MIDI output port in the Audio settings")


class FluidSynthOutput(Output):
    """FluidSynth playing through an audio driver.

    ``driver`` None tries :func:`driver_candidates` in order and keeps the first that
    opens (``.driver`` says which). ``start()`` of pyfluidsynth reports success even when
    no driver opened, so we create the driver ourselves and check it.
    """

    # Small buffers so a clicked note sounds quickly (64 frames × 8 periods ≈ 11.6 ms at 44.1 kHz).
    PERIOD_SIZE = 64
    PERIODS = 8

    def __init__(self, soundfont: str | Path | None = None, driver: str | None = None,
                 gain: float = 0.8, sample_rate: int = 44100,
                 settings: dict[str, str | int | float] | None = None) -> None:
        """``settings``: extra FluidSynth settings, e.g. ``{"audio.alsa.device": "hw:1"}``."""
        super().__init__()
        fs = load_fluidsynth()
        self.soundfont = resolve_soundfont(soundfont)
        self._fs = fs
        self._synth = fs.Synth(gain=float(gain), samplerate=int(sample_rate))
        self._driver_ptr = None
        self.driver: str | None = None
        try:
            if not sys.platform.startswith("win"):
                self._synth.setting("audio.period-size", self.PERIOD_SIZE)
                self._synth.setting("audio.periods", self.PERIODS)
            for name, value in (settings or {}).items():
                self._synth.setting(name, value)
            if self._synth.sfload(str(self.soundfont), 1) < 0:
                raise AudioUnavailable(
                    f"could not load soundfont {self.soundfont} (not a SoundFont 2/3 file?)")
            self._open_driver(driver)
        except BaseException:
            self._synth.delete()
            raise
        period = int(self._synth.get_setting("audio.period-size") or self.PERIOD_SIZE)
        periods = int(self._synth.get_setting("audio.periods") or self.PERIODS)
        self.latency_s = period * periods / float(sample_rate)
        self.description = (f"FluidSynth {fluidsynth_version()} via {self.driver} "
                            f"({self.soundfont.name}, {self.latency_s * 1000:.1f} ms buffer)")

    def _open_driver(self, requested: str | None) -> None:
        available = compiled_audio_drivers(self._synth.settings)
        if requested:
            candidates = [requested]
        else:
            candidates = [d for d in driver_candidates() if not available or d in available]
        tried = []
        for name in candidates:
            tried.append(name)
            self._synth.setting("audio.driver", name)
            ptr = self._fs.new_fluid_audio_driver(self._synth.settings, self._synth.synth)
            if ptr:
                self._driver_ptr = ptr
                self._synth.audio_driver = ptr  # so Synth.delete() frees it
                self.driver = name
                log.info("FluidSynth audio driver: %s", name)
                return
        raise AudioUnavailable(_driver_help(tried))

    def _send(self, msg: mido.Message) -> None:
        s = self._synth
        kind = msg.type
        if kind == "note_on":
            if msg.velocity:
                s.noteon(msg.channel, msg.note, msg.velocity)
            else:
                s.noteoff(msg.channel, msg.note)
        elif kind == "note_off":
            s.noteoff(msg.channel, msg.note)
        elif kind == "control_change":
            s.cc(msg.channel, msg.control, msg.value)
        elif kind == "program_change":
            s.program_change(msg.channel, msg.program)
        elif kind == "pitchwheel":
            s.pitch_bend(msg.channel, msg.pitch)

    def _close(self) -> None:
        self._synth.delete()


# -- MIDI out ---------------------------------------------------------------------

class MidiPortOutput(Output):
    """A MIDI output port opened by name. ``reconnect()`` reopens it after it vanished."""

    CHECK_INTERVAL_S = 1.0

    def __init__(self, port_name: str, virtual: bool = False) -> None:
        """``virtual``: create a port of that name for a DAW to connect to (macOS, Linux)."""
        super().__init__()
        self.port_name = port_name
        self.virtual = virtual
        self.description = f"MIDI out: {port_name}" + (" (virtual)" if virtual else "")
        self._port = None
        self._last_check = 0.0
        self._open()

    def _open(self) -> None:
        if self.virtual:
            try:
                self._port = mido.open_output(self.port_name, virtual=True)
            except Exception as exc:
                raise PortUnavailable(
                    f"could not create virtual MIDI port {self.port_name!r}: {exc}") from exc
            return
        names = list_output_ports()
        if self.port_name not in names:
            raise PortUnavailable(
                f"MIDI output port {self.port_name!r} not found "
                f"(available: {', '.join(names) if names else 'none'})")
        try:
            self._port = mido.open_output(self.port_name)
        except Exception as exc:
            raise PortUnavailable(
                f"MIDI output port {self.port_name!r} could not be opened: {exc}") from exc
        self._last_check = time.monotonic()

    def reconnect(self) -> None:
        """Close and reopen the port by name; raises PortUnavailable if it is still gone."""
        with self._lock:
            self._drop_port()
            self._open()
            self.closed = False

    def _disappeared(self, why: str = "") -> PortUnavailable:
        return PortUnavailable(
            f"MIDI output port {self.port_name!r} disappeared{': ' + why if why else ''}; "
            "reconnect it or choose another output")

    def _send(self, msg: mido.Message) -> None:
        if self._port is None:
            raise self._disappeared()
        try:
            self._port.send(msg)
        except Exception as exc:
            raise self._disappeared(str(exc)) from exc

    def check(self) -> None:
        now = time.monotonic()
        if self.virtual or now - self._last_check < self.CHECK_INTERVAL_S:
            return
        self._last_check = now
        if self.port_name not in list_output_ports():
            raise self._disappeared()

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                if self._port is not None:
                    self.all_notes_off()
            except AudioUnavailable:
                pass
            self.closed = True
            self._drop_port()

    def _drop_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # a vanished device may fail to close; nothing left to free
                pass


def open_output(port_name: str | None = None, soundfont: str | Path | None = None,
                driver: str | None = None) -> tuple[Output, str]:
    """The best output available, never raising: (output, note for the user or "").

    With ``port_name``: that MIDI port, else FluidSynth, else silence. Without: FluidSynth,
    else silence. The note explains each fallback (what to install or start).
    """
    notes: list[str] = []
    if port_name:
        try:
            return MidiPortOutput(port_name), ""
        except AudioUnavailable as exc:
            notes.append(str(exc))
    try:
        return FluidSynthOutput(soundfont=soundfont, driver=driver), "; ".join(notes)
    except AudioUnavailable as exc:
        notes.append(str(exc))
    notes.append("playing silently")
    return SilentOutput(), "; ".join(notes)
