"""MIDI input (a keyboard played in): one interface for a real port and a test's port.

A :class:`MidiInput` hands every message it receives to its callback as ``(message,
stamp)``, ``stamp`` being a reading of the input's clock (``time.monotonic`` unless
given) when the message arrived, so the receiver can place it in time later
(:meth:`Transport.locate <composer_app.audio.transport.Transport.locate>` turns a stamp
into a score position). The callback runs on the port's own thread (rtmidi's); a Qt UI
re-emits it as a signal. Only note and controller messages pass (clock, active sensing
and sysex are dropped); a note-on of velocity 0 arrives as a note-off.

- :class:`PortInput`: a MIDI input port opened by name through mido's rtmidi backend.
- :class:`FakeInput`: a port a test (or a bench) plays by calling :meth:`FakeInput.feed`.

:func:`open_input` opens a port by name, raising :class:`PortUnavailable` with a clear
message when it is not there (on a machine without an ALSA sequencer there are none).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import mido

from .errors import PortUnavailable
from .ports import list_input_ports

__all__ = ["MidiInput", "PortInput", "FakeInput", "open_input", "PASSED_TYPES"]

log = logging.getLogger(__name__)

PASSED_TYPES = frozenset({"note_on", "note_off", "control_change"})
Callback = Callable[[mido.Message, float], None]


class MidiInput:
    """Base of the inputs: a callback, a clock, closing. Thread-safe."""

    description = "input"

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._callback: Callback | None = None
        self._lock = threading.Lock()
        self.closed = False

    def set_callback(self, callback: Callback | None) -> None:
        """Who receives ``(message, stamp)`` from now on (None: nobody)."""
        with self._lock:
            self._callback = callback

    def _deliver(self, msg: mido.Message, stamp: float | None = None) -> None:
        """What the port does with each message it receives."""
        if self.closed or msg.type not in PASSED_TYPES:
            return
        if msg.type == "note_on" and msg.velocity == 0:
            msg = mido.Message("note_off", channel=msg.channel, note=msg.note, velocity=0)
        stamp = self.clock() if stamp is None else stamp
        with self._lock:
            callback = self._callback
        if callback is None:
            return
        try:
            callback(msg, stamp)
        except Exception:  # a receiver's bug must not kill the port's thread
            log.exception("MIDI input callback failed")

    def _close(self) -> None:
        pass

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.set_callback(None)
        self._close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"


class PortInput(MidiInput):
    """A MIDI input port (a keyboard) opened by name; rtmidi calls back on its thread."""

    def __init__(self, port_name: str, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.port_name = port_name
        self.description = f"MIDI in: {port_name}"
        names = list_input_ports()
        if port_name not in names:
            raise PortUnavailable(
                f"MIDI input port {port_name!r} not found "
                f"(available: {', '.join(names) if names else 'none'})")
        try:
            self._port = mido.open_input(port_name, callback=self._deliver)
        except Exception as exc:
            raise PortUnavailable(
                f"MIDI input port {port_name!r} could not be opened: {exc}") from exc

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # a vanished device may fail to close; nothing left to free
                pass


class FakeInput(MidiInput):
    """An input played by code: :meth:`feed` delivers as a port's thread would."""

    description = "test input"

    def feed(self, msg: mido.Message, stamp: float | None = None) -> None:
        """Receive ``msg`` now (``stamp`` None: the clock's reading now)."""
        self._deliver(msg, stamp)

    def note(self, pitch: int, velocity: int = 90, channel: int = 0,
             stamp: float | None = None) -> None:
        """A key pressed (``velocity`` 0: released)."""
        kind = "note_on" if velocity > 0 else "note_off"
        self.feed(mido.Message(kind, channel=channel, note=pitch, velocity=velocity), stamp)


def open_input(port_name: str, clock: Callable[[], float] = time.monotonic) -> PortInput:
    """The input port ``port_name``; PortUnavailable (a UserError) when it is not there."""
    return PortInput(port_name, clock)
