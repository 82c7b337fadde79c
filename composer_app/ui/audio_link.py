"""The editor's connection to ``audio/``: opened off the GUI thread, never fatal.

The synth is opened lazily (first play or preview) in a Python thread, because loading
a soundfont takes a moment. Until it is ready, or when it fails, previews are silently
dropped and the reason goes to the status bar. Errors the transport reports from its
own thread arrive here as a Qt signal (queued to the GUI thread).
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal

from composer_app.music import Score

from .settings import Settings

log = logging.getLogger(__name__)


class AudioLink(QObject):
    message = Signal(str)  # for the status bar
    ready = Signal(str)  # description of the output
    _opened = Signal(object, object, str)  # output, transport, note (from the opener thread)
    _error = Signal(str)
    finished = Signal()  # playback reached the end (queued from the scheduler thread)

    def __init__(self, settings: Settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.output = None
        self.transport = None
        self._opening = False
        self._stale = False  # settings changed during an open: redo it when it ends
        self._pending: list = []  # calls waiting for the output
        self.metronome = False
        self.loop: tuple[int, int] | None = None
        # Why nothing sounds ("" while it does, or before the first open): said again at
        # every Play/Listen, and shown in Preferences.
        self.silent_reason = ""
        self._opened.connect(self._on_opened)
        self._error.connect(self.message)

    # -- opening ------------------------------------------------------------------------

    def ensure_open(self) -> None:
        if self.output is not None or self._opening:
            return
        self._opening = True
        choice = self.settings.get("audio/output")
        port = self.settings.get("audio/port") if choice == "port" else None
        soundfont = self.settings.get("audio/soundfont") or None
        driver = self.settings.get("audio/driver") or None
        threading.Thread(target=self._open, args=(choice, port, soundfont, driver),
                         name="audio-open", daemon=True).start()

    def _open(self, choice, port, soundfont, driver) -> None:
        output, transport, note = None, None, ""
        try:
            from composer_app.audio import backends

            if choice == "none":
                output = backends.SilentOutput()
                note = "Audio output is off (Preferences)"
            else:
                output, note = backends.open_output(port_name=port, soundfont=soundfont,
                                                    driver=driver)
        except Exception as exc:  # audio must never take the editor down
            log.warning("audio unavailable: %s", exc)
            note = f"Audio unavailable: {exc}"
        if output is not None:
            try:
                from composer_app.audio.transport import Transport

                transport = Transport(output)
                transport.on_error = lambda err: self._error.emit(f"Audio: {err}")
                transport.on_finished = self.finished.emit
            except ImportError:
                note = note or "Playback is not available in this build (no transport)"
            except Exception as exc:
                note = f"Playback unavailable: {exc}"
        self._opened.emit(output, transport, note)

    def _on_opened(self, output, transport, note: str) -> None:
        self._opening = False
        if self._stale:  # the preferences changed while this was opening: open anew
            self._stale = False
            for thing in (transport, output):
                if thing is not None:
                    self._safe(thing.close)
            self.ensure_open()
            return
        self.output, self.transport = output, transport
        self.silent_reason = ""
        if output is None or transport is None or _is_silent(output):
            self.silent_reason = note or "no audio output"
        if transport is not None:
            try:
                transport.metronome = self.metronome
            except Exception:
                pass
        if note:
            self.message.emit(note)
        elif output is not None:
            self.ready.emit(getattr(output, "description", "audio ready"))
        pending, self._pending = self._pending, []
        for fn in pending:
            self._safe(fn)

    def reopen(self) -> None:
        """Apply changed preferences: close the output and open the new one."""
        if self._opening:
            self._stale = True  # the open under way used the old settings
            return
        self.close()
        self.ensure_open()

    def close(self) -> None:
        if self.transport is not None:
            self._safe(self.transport.close)
        if self.output is not None:
            self._safe(self.output.close)
        self.output = self.transport = None

    def _safe(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            log.warning("audio call failed: %s", exc)
            self.message.emit(f"Audio: {exc}")
            return None

    def _when_ready(self, fn) -> None:
        if self.output is not None:
            self._safe(fn)
        else:
            self._pending = [fn]  # only the latest request matters
            self.ensure_open()

    # -- transport ----------------------------------------------------------------------

    def state(self) -> str:
        """The output as it is now, in words (Preferences shows it)."""
        if self._opening:
            return "opening…"
        if self.output is None:
            return "not opened yet (it opens at the first Play or preview)"
        if self.silent_reason:
            return f"no sound: {self.silent_reason}"
        return str(getattr(self.output, "description", "audio ready"))

    def play(self, score: Score, start_tick: int = 0, count_in_bars: int = 0,
             hold_open: bool = False, on_started=None) -> None:
        """Play ``score`` once the output is open; ``on_started(transport)`` then
        (recording: its clock places the notes played in). The count-in and
        ``hold_open`` are :meth:`Transport.play`'s."""
        def go():
            if self.silent_reason:  # every time: a silent Play must never look like a bug
                self.message.emit(f"No sound: {self.silent_reason} (see Preferences > Audio)")
            if self.transport is None:
                return
            self._apply_loop()
            if count_in_bars or hold_open:
                self.transport.play(score, start_tick=start_tick, count_in_bars=count_in_bars,
                                    hold_open=hold_open)
            else:
                self.transport.play(score, start_tick=start_tick)
            if on_started is not None:
                on_started(self.transport)
        self._when_ready(go)

    def live_note(self, channel: int, pitch: int, velocity: int,
                  program: int | None = None) -> None:
        """A note played in sounds now (velocity 0: its release), through the output
        in use; the first one opens the synth (and is not heard)."""
        if self.transport is None:
            if self.output is None:
                self.ensure_open()
            return
        self._safe(self.transport.live_note, channel, pitch, velocity, program)

    def live_control(self, channel: int, control: int, value: int) -> None:
        """A controller played in (the sustain pedal) sounds now."""
        if self.transport is not None:
            self._safe(self.transport.live_control, channel, control, value)

    def stop(self) -> None:
        self._pending = []
        if self.transport is not None:
            self._safe(self.transport.stop)

    def seek(self, tick: int) -> None:
        if self.transport is not None:
            self._safe(self.transport.seek, tick)

    def set_score(self, score: Score) -> None:
        """Hand an edited score to a running playback (keeps the playhead)."""
        if self.transport is not None and hasattr(self.transport, "set_score"):
            self._safe(self.transport.set_score, score)

    def pause(self) -> None:
        if self.transport is not None:
            self._safe(self.transport.pause)

    @property
    def is_playing(self) -> bool:
        try:
            return bool(self.transport is not None and self.transport.is_playing)
        except Exception:
            return False

    @property
    def position_tick(self) -> int | None:
        try:
            return None if self.transport is None else int(self.transport.position_tick)
        except Exception:
            return None

    def set_loop(self, a: int, b: int) -> None:
        """Loop [a, b) from now on (kept until the transport exists); b <= a clears."""
        self.loop = (a, b) if b > a else None
        self._apply_loop()

    def _apply_loop(self) -> None:
        if self.transport is None:
            return
        if self.loop:
            self._safe(self.transport.set_loop, *self.loop)
        else:
            self._safe(self.transport.clear_loop)

    def set_metronome(self, on: bool) -> None:
        self.metronome = on
        if self.transport is not None:
            try:
                self.transport.metronome = on
            except Exception as exc:
                self.message.emit(f"Audio: {exc}")

    def preview(self, pitch: int, channel: int = 0, program: int | None = None) -> None:
        def go():
            if self.transport is not None and hasattr(self.transport, "preview_note"):
                self.transport.preview_note(pitch, channel=channel, velocity=90,
                                            duration_s=0.25, program=program)
        if self.output is None:
            self.ensure_open()  # the first click opens the synth; later ones sound
            return
        self._safe(go)


def _is_silent(output) -> bool:
    try:
        from composer_app.audio.backends import SilentOutput
    except ImportError:
        return False
    return isinstance(output, SilentOutput)
