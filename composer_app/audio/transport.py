"""Playback of a :class:`Score` on an :class:`Output`, scheduled on its own thread.

The score is turned once into a time-sorted event list in *seconds* (so the tempo map is
honoured), and a scheduler thread sends each event when ``time.monotonic()`` reaches it.
No GUI timer is involved: the UI reads :attr:`Transport.position_tick` whenever it
repaints (it is computed from the clock on each read, so it is always fresh) and is told
about the end of playback or a failing output through callbacks, which run on the
scheduler thread (a Qt UI re-emits them as signals).

Every note the transport starts is counted per (channel, pitch), so ``stop``, ``pause``,
a loop wrap or an output change release exactly the notes that sound, and two
overlapping notes of one pitch on one channel do not cut each other short.

The voices' controllers (the sustain pedal, modulation, volume, ...) and pitch bends
(``Score.channel_events``) play in time too. Like notes they are chased: playback that
starts (or resumes, or wraps) in the middle sends the pedal and bend in force there; and
what was sent is put back on ``stop``, ``pause``, a wrap and an edit that removed it
(:data:`CONTROL_RESET`: the pedal up, the bend centred), so a pedal never stays down
and a bend never stays off-centre after playback.

Over 500 lines on purpose: :class:`Transport` is one lock, one condition and one
scheduler thread, and every public method (play, seek, loop, set_score, set_output,
preview) changes state those guard; kept in one file so its invariants are read together.
The event list it plays (:func:`~.events.build_events`), the count-in, the controllers
in force and the note-counting rule (:func:`~.events.release`) are in :mod:`.events`,
which the offline render shares.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import threading
import time
from collections.abc import Callable

from composer_app.music import Score, UserError

from .backends import Output
from .errors import AudioUnavailable
from .events import (
    BEND,
    CLICK_OFF,
    CONTROL,
    COUNT,
    METRONOME_CHANNEL,
    OFF,
    ON,
    Event,
    audible_tracks,
    build_events,
    control_state,
    count_in_events,
    release,
    reset_value,
    voicing,
)

__all__ = ["Transport"]

log = logging.getLogger(__name__)

_EPS = 0.0005                    # events this close to due are sent now (seconds)
_CHECK_EVERY_S = 1.0             # how often a playing output is asked whether it still exists
HOLD_OPEN_BARS = 500             # a recording's metronome runs this far past its start


class Transport:
    """Play, pause, stop, loop and preview on one output, from a scheduler thread.

    Callbacks (each may be None; they run on the scheduler thread):

    - ``on_error(exc)``: the output failed (e.g. a MIDI port disappeared). Playback has
      already stopped cleanly; choose another output with :meth:`set_output`.
    - ``on_finished()``: playback reached the end of the score (not called on ``stop``).

    ``clock`` is the time source (seconds; ``time.monotonic`` unless a test gives its
    own). A MIDI input stamps its messages with the same clock, and :meth:`locate`
    turns a stamp into the score position played at that moment (recording).
    """

    def __init__(self, output: Output, on_error: Callable[[Exception], None] | None = None,
                 on_finished: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._output = output
        self.on_error = on_error
        self.on_finished = on_finished
        self.metronome = False
        self._cond = threading.Condition(threading.RLock())
        self._thread: threading.Thread | None = None
        self._shutdown = False

        self._score: Score | None = None
        self._events: list[Event] = []
        self._times: list[float] = []
        self._idx = 0
        self._playing = False
        self._paused = False
        # The clock: at monotonic time _anchor_mono the score was at _anchor_pos seconds.
        self._anchor_mono = 0.0
        self._anchor_pos = 0.0
        self._loop_ticks: tuple[int, int] | None = None
        self._loop_s: tuple[float, float] | None = None
        self._loop_armed = False
        self._sounding: dict[tuple[int, int], int] = {}
        self._previews: list[tuple[float, int, int]] = []   # heap of (due, channel, pitch)
        self._last_check = 0.0
        self._clicks_until = 0
        self._clicks_sounding: dict[tuple[int, int], int] = {}  # clicks sent, not yet released
        # A count-in: its clicks (absolute score seconds) and where the music starts;
        # _count_until is None when no count-in is running.
        self._count_in: list[Event] = []
        self._count_idx = 0
        self._count_until: float | None = None
        self._hold_open = False        # a recording: the clock runs on past the last event
        self._hold_until = 0           # ... with the metronome up to this tick
        self._wraps = 0                # loop wraps since play()
        self._play_from: float | None = None  # where play() started (seconds), until a seek
        self._live: dict[tuple[int, int], int] = {}  # notes played in (live_note), sounding
        # Controllers and bends playback sent: (channel, number or -1 = bend) -> value.
        self._controls: dict[tuple[int, int], int] = {}

    # -- state the UI reads ---------------------------------------------------------

    @property
    def is_playing(self) -> bool:
        return self._playing

    @property
    def is_paused(self) -> bool:
        return self._paused

    @property
    def output(self) -> Output:
        return self._output

    @property
    def score(self) -> Score | None:
        return self._score

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @property
    def counting_in(self) -> bool:
        """True during a count-in (the playhead waits at the start)."""
        return self._playing and self._count_until is not None

    @property
    def position_seconds(self) -> float:
        """Playhead in score seconds, computed from the clock now (thread-safe). During a
        count-in it stays at the start."""
        with self._cond:
            if not self._playing:
                return self._anchor_pos
            pos = self._anchor_pos + (self._clock() - self._anchor_mono)
            if self._count_until is not None and pos < self._count_until:
                return self._count_until
            if self._loop_armed and self._loop_s and pos > self._loop_s[1]:
                start, end = self._loop_s  # the wrap is due this instant: show it already
                pos = start + (pos - end) % (end - start)
            return pos

    @property
    def position_tick(self) -> int:
        """Playhead in ticks (thread-safe, fresh on every read)."""
        score = self._score
        if score is None:
            return 0
        return max(0, int(score.seconds_to_tick(self.position_seconds)))

    @property
    def loop(self) -> tuple[int, int] | None:
        return self._loop_ticks

    def locate(self, stamp: float) -> tuple[int, int, bool]:
        """Where the playback was at ``stamp`` (a reading of :attr:`clock`): (tick, loop
        passes since play, in the count-in). The tempo map is the score's; a stamp from
        just before a wrap the scheduler has already made belongs to the pass before, one
        past a wrap not made yet to the pass after. In the count-in the tick is the start."""
        with self._cond:
            score = self._score
            if score is None:
                return 0, 0, False
            if not self._playing:
                return max(0, round(score.seconds_to_tick(self._anchor_pos))), self._wraps, False
            pos = self._anchor_pos + (stamp - self._anchor_mono)
            wraps = self._wraps
            start = self._play_from
            if start is not None and wraps == 0 and pos < start - _EPS:  # the count-in
                return max(0, round(score.seconds_to_tick(start))), wraps, True
            loop = self._loop_s
            if loop and loop[1] > loop[0]:
                length = loop[1] - loop[0]
                if wraps > 0 and pos < loop[0] - _EPS:
                    pos, wraps = loop[1] - (loop[0] - pos), wraps - 1
                elif self._loop_armed and pos >= loop[1]:
                    passes = int((pos - loop[1]) // length) + 1
                    pos, wraps = loop[0] + (pos - loop[1]) % length, wraps + passes
            return max(0, round(score.seconds_to_tick(pos))), wraps, False

    # -- commands -------------------------------------------------------------------

    def play(self, score: Score, start_tick: int = 0, count_in_bars: int = 0,
             hold_open: bool = False) -> None:
        """Play ``score`` from ``start_tick``, stopping whatever played before.

        ``count_in_bars``: that many bars of clicks first (the meter and tempo at the
        start), the playhead waiting at the start. ``hold_open`` (recording): the clock
        goes on past the end of the score, the metronome with it, until :meth:`stop`."""
        start_tick = max(0, int(start_tick))
        with self._cond:
            self._release_all()
            self._hold_open = hold_open
            self._hold_until = (score.bar_start(score.bar_of(start_tick) + HOLD_OPEN_BARS)
                                if hold_open else 0)
            self._wraps = 0
            self._load(score)
            start = score.tick_to_seconds(start_tick)
            self._play_from = start
            clicks = count_in_events(score, start_tick, count_in_bars)
            if not clicks:
                self._start_at(start, programs=True)
                return
            # The music waits at the start (notes held there start when the count-in
            # ends) while the clock counts in.
            self._playing, self._paused = True, False
            self._count_in = [(start + e[0], *e[1:]) for e in clicks]
            self._count_idx = 0
            self._count_until = start
            self._anchor_pos = self._count_in[0][0]
            self._anchor_mono = self._clock()
            self._idx = bisect.bisect_left(self._times, start - _EPS)
            self._arm_loop(start)
            try:
                self._send_programs()
            except AudioUnavailable as exc:
                self._halt()
                self._report_later(exc)
                return
            self._ensure_thread()
            self._cond.notify()

    def live_note(self, channel: int, pitch: int, velocity: int,
                  program: int | None = None) -> None:
        """A note played in (a MIDI keyboard): on now (``velocity`` 0: off). Played
        notes are counted like the others, and an edit reaching a running playback
        does not cut them off; ``stop`` releases them."""
        key = (channel, pitch)
        with self._cond:
            try:
                if velocity > 0:
                    if program is not None:
                        self._output.program_change(channel, program)
                    self._note_on(channel, pitch, max(1, min(127, int(velocity))))
                    self._live[key] = self._live.get(key, 0) + 1
                elif self._live.get(key):
                    release(self._live, key)
                    self._note_off(channel, pitch)
            except AudioUnavailable as exc:
                self._report_later(exc)
                return
            self._ensure_thread()

    def resume(self) -> None:
        """Continue after :meth:`pause` (or from the playhead after stop)."""
        with self._cond:
            if self._playing or self._score is None:
                return
            self._start_at(self._anchor_pos, programs=True)

    def pause(self) -> None:
        """Stop sounding and keep the playhead where it is; :meth:`resume` continues."""
        with self._cond:
            if not self._playing:
                return
            self._halt()
            self._paused = True

    def stop(self) -> None:
        """Stop playback; every sounding note gets its note-off. The playhead stays."""
        with self._cond:
            self._halt()
            self._paused = False
            self._release_all()

    def panic(self) -> None:
        """Stop, then silence the output completely (all sound off on every channel)."""
        self.stop()
        with self._cond:
            try:
                self._output.panic()
            except AudioUnavailable as exc:
                self._report_later(exc)

    def seek(self, tick: int) -> None:
        """Move the playhead; playback (if any) continues from there."""
        with self._cond:
            if self._score is None:
                return
            pos = self._score.tick_to_seconds(max(0, int(tick)))
            self._play_from = None
            if self._playing:
                self._release_all()
                self._start_at(pos)
            else:
                self._anchor_pos = pos

    def set_score(self, score: Score) -> None:
        """Swap in an edited score (notes, mute/solo, tempo) keeping the playhead.

        While playing, notes that sound in both versions go on untouched (an edit is not
        heard as a re-attack); only notes that stopped or started are switched.
        """
        with self._cond:
            old = self._score
            tick = self.position_tick if old is not None else 0
            self._load(score)
            pos = score.tick_to_seconds(tick)
            if self._playing and self._count_until is not None:  # counting in: go on
                self._count_until = pos
                self._idx = bisect.bisect_left(self._times, pos - _EPS)
                self._arm_loop(pos)
                self._cond.notify()
            elif self._playing:
                self._retarget(pos, programs=old is None or voicing(old) != voicing(score))
            else:
                self._anchor_pos = pos

    def set_loop(self, start_tick: int, end_tick: int) -> None:
        """Loop [start_tick, end_tick) once the playhead reaches ``end_tick``."""
        if end_tick <= start_tick or start_tick < 0:
            raise UserError("the loop must end after it starts")
        with self._cond:
            self._loop_ticks = (int(start_tick), int(end_tick))
            if self._score is not None and end_tick > self._clicks_until:
                # The loop reaches past the score: rebuild so the metronome covers it.
                pos = self.position_seconds
                self._load(self._score)
                if self._playing:
                    self._retarget(pos)
                return
            self._refresh_loop()
            if self._playing:
                self._arm_loop(self.position_seconds)
            self._cond.notify()

    def clear_loop(self) -> None:
        with self._cond:
            self._loop_ticks = None
            self._loop_s = None
            self._loop_armed = False
            self._cond.notify()

    def set_output(self, output: Output) -> None:
        """Switch outputs (the caller owns both; the old one is not closed)."""
        with self._cond:
            old = self._output
            try:
                for ch, pitch in list(self._sounding):
                    old.note_off(ch, pitch)
                self._reset_controls()  # on the old output, still current here
            except AudioUnavailable:
                pass  # the old device is gone; nothing to release there
            self._sounding.clear()
            self._controls.clear()
            self._previews.clear()
            self._output = output
            if self._playing:
                self._start_at(self.position_seconds, programs=True)

    def preview_note(self, pitch: int, channel: int = 0, velocity: int = 90,
                     duration_s: float = 0.25, program: int | None = None) -> None:
        """Sound one short note now (a note drawn or clicked); its note-off is scheduled."""
        with self._cond:
            try:
                if program is not None:
                    self._output.program_change(channel, program)
                self._note_on(channel, pitch, velocity)
            except AudioUnavailable as exc:
                self._report_later(exc)
                return
            heapq.heappush(self._previews, (self._clock() + duration_s, channel, pitch))
            self._ensure_thread()
            self._cond.notify()

    def live_control(self, channel: int, control: int, value: int) -> None:
        """A controller played in (the sustain pedal) goes to the output now."""
        with self._cond:
            try:
                self._output.control_change(channel, control, value)
            except AudioUnavailable as exc:
                self._report_later(exc)

    def close(self) -> None:
        """Stop and end the scheduler thread. The output is not closed."""
        self.stop()
        with self._cond:
            self._shutdown = True
            self._cond.notify()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)

    # -- internals (call with the lock held) ---------------------------------------------

    def _load(self, score: Score) -> None:
        self._score = score
        until = max(score.end_tick, self._hold_until)
        if self._loop_ticks:
            until = max(until, self._loop_ticks[1])
        self._events = build_events(score, metronome_until=until)
        self._times = [e[0] for e in self._events]
        self._clicks_until = until
        self._refresh_loop()

    def _refresh_loop(self) -> None:
        if self._loop_ticks and self._score is not None:
            s, e = self._loop_ticks
            self._loop_s = (self._score.tick_to_seconds(s), self._score.tick_to_seconds(e))
        else:
            self._loop_s = None

    def _arm_loop(self, pos: float) -> None:
        self._loop_armed = self._loop_s is not None and pos < self._loop_s[1] - _EPS

    def _start_at(self, pos: float, programs: bool = False) -> None:
        """Start (or restart) the clock at score second ``pos``; call with nothing sounding."""
        self._playing = True
        self._paused = False
        self._retarget(pos, programs)

    def _send_programs(self) -> None:
        score = self._score
        if score is None:
            return
        done: set[int] = set()
        for i in sorted(audible_tracks(score)):
            ch = score.tracks[i].channel
            if ch not in done and ch != METRONOME_CHANNEL:
                self._output.program_change(ch, score.tracks[i].program)
                done.add(ch)

    def _held(self) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]:
        """Notes begun before the playhead (events before ``_idx``) and still sounding:
        how many per (channel, pitch), and the velocity of the last one."""
        held: dict[tuple[int, int], int] = {}
        velocity: dict[tuple[int, int], int] = {}
        for _t, kind, ch, pitch, vel in self._events[: self._idx]:
            if kind == ON:
                held[ch, pitch] = held.get((ch, pitch), 0) + 1
                velocity[ch, pitch] = vel
            elif kind == OFF and held.get((ch, pitch)):
                held[ch, pitch] -= 1
        return {k: c for k, c in held.items() if c > 0}, velocity

    def _chase_controls(self) -> None:
        """Send the controllers and bend in force at the playhead (events before
        ``_idx``) that differ from what was sent; put back what is no longer set."""
        state = control_state(self._events[: self._idx])
        for key in [k for k in self._controls if k not in state]:
            self._send_control(key, reset_value(key))
        for key, value in state.items():
            if self._controls.get(key, reset_value(key)) != value:
                self._send_control(key, value)

    def _send_control(self, key: tuple[int, int], value: int | None) -> None:
        ch, number = key
        if value is None:  # no reset value known: left as it was sent
            self._controls.pop(key, None)
            return
        if number < 0:
            self._output.pitch_bend(ch, value)
        else:
            self._output.control_change(ch, number, value)
        if value == reset_value(key):
            self._controls.pop(key, None)
        else:
            self._controls[key] = value

    def _reset_controls(self) -> None:
        """Put back every controller and bend playback changed (pedal up, bend 0)."""
        for key in list(self._controls):
            self._send_control(key, reset_value(key))
        self._controls.clear()

    def _chase_notes(self) -> None:
        """Start the notes that began before the playhead and still sound at it (and set
        the pedal and bend in force there)."""
        self._chase_controls()
        held, velocity = self._held()
        for key in held:
            self._note_on(key[0], key[1], velocity[key])
        for key, count in held.items():  # as many note-offs are still to come
            self._sounding[key] = count

    def _retarget(self, pos: float, programs: bool = False) -> None:
        """Go on playing from ``pos`` of the (new) event list without a re-attack: notes
        held there that already sound keep sounding, the others start or stop."""
        self._anchor_pos = pos
        self._anchor_mono = self._clock()
        self._count_until, self._count_in, self._count_idx = None, [], 0
        self._idx = bisect.bisect_left(self._times, pos - _EPS)
        self._arm_loop(pos)
        held, velocity = self._held()
        previewed = {(ch, pitch) for _due, ch, pitch in self._previews} | set(self._live)
        try:
            if programs:
                self._send_programs()
            self._chase_controls()
            for key in list(self._sounding):
                if key not in held and key not in previewed:
                    del self._sounding[key]
                    self._output.note_off(*key)
            for key, count in held.items():
                if key not in self._sounding:
                    self._output.note_on(key[0], key[1], velocity[key])
                self._sounding[key] = count
        except AudioUnavailable as exc:
            self._halt()
            self._report_later(exc)
            return
        self._ensure_thread()
        self._cond.notify()

    def _halt(self) -> None:
        if self._playing:
            self._anchor_pos = self._anchor_pos + (self._clock() - self._anchor_mono)
            if self._count_until is not None:
                self._anchor_pos = max(self._anchor_pos, self._count_until)
        self._count_until, self._count_in, self._count_idx = None, [], 0
        self._playing = False
        self._release_all()

    def _note_on(self, ch: int, pitch: int, vel: int) -> None:
        key = (ch, pitch)
        self._sounding[key] = self._sounding.get(key, 0) + 1
        self._output.note_on(ch, pitch, vel)

    def _note_off(self, ch: int, pitch: int) -> None:
        if release(self._sounding, (ch, pitch)):
            self._output.note_off(ch, pitch)

    def _release_all(self) -> None:
        sounding, self._sounding = self._sounding, {}
        self._previews.clear()
        self._clicks_sounding.clear()
        self._live.clear()
        try:
            for ch, pitch in sounding:
                self._output.note_off(ch, pitch)
            self._reset_controls()
        except AudioUnavailable as exc:
            self._controls.clear()
            self._report_later(exc)

    def _report_later(self, exc: Exception) -> None:
        """Report an output failure from the scheduler thread, never from the caller."""
        self._pending_error = exc
        self._ensure_thread()
        self._cond.notify()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._shutdown = False
            self._thread = threading.Thread(target=self._run, name="composer-transport",
                                            daemon=True)
            self._thread.start()

    # -- the scheduler thread ------------------------------------------------------------

    _pending_error: Exception | None = None

    def _send_count_in(self, pos: float) -> None:
        events = self._count_in
        while self._count_idx < len(events) and events[self._count_idx][0] <= pos + _EPS:
            _t, kind, ch, pitch, vel = events[self._count_idx]
            key = (ch, pitch)
            if kind == COUNT:
                self._note_on(ch, pitch, vel)
                self._clicks_sounding[key] = self._clicks_sounding.get(key, 0) + 1
            elif self._clicks_sounding.get(key):
                self._clicks_sounding[key] -= 1
                self._note_off(ch, pitch)
            self._count_idx += 1

    def _advance(self, now: float) -> bool:
        """Send everything due at ``now``; True when playback just reached the end."""
        while True:
            pos = self._anchor_pos + (now - self._anchor_mono)
            self._send_count_in(pos)
            if self._count_until is not None:
                if pos + _EPS < self._count_until:
                    return False
                self._count_until = None  # the count-in is over: the music starts
                self._chase_notes()
            loop_end = self._loop_s[1] if self._loop_armed and self._loop_s else None
            events, i, n = self._events, self._idx, len(self._events)
            while i < n:
                t, kind, ch, pitch, vel = events[i]
                if t > pos + _EPS or (loop_end is not None and (t > loop_end or (
                        t == loop_end and kind not in (OFF, CLICK_OFF)))):
                    break
                if kind == OFF:
                    self._note_off(ch, pitch)
                elif kind == CLICK_OFF:
                    if self._clicks_sounding.get((ch, pitch)):
                        self._clicks_sounding[ch, pitch] -= 1
                        self._note_off(ch, pitch)
                elif kind == ON:
                    self._note_on(ch, pitch, vel)
                elif kind == CONTROL:
                    self._send_control((ch, pitch), vel)
                elif kind == BEND:
                    self._send_control((ch, -1), vel)
                elif self.metronome:  # a click
                    self._note_on(ch, pitch, vel)
                    self._clicks_sounding[ch, pitch] = self._clicks_sounding.get((ch, pitch), 0) + 1
                i += 1
            self._idx = i
            if loop_end is not None and pos + _EPS >= loop_end:
                loop_start = self._loop_s[0]
                self._release_all()
                self._anchor_mono += loop_end - self._anchor_pos
                self._anchor_pos = loop_start
                self._wraps += 1
                self._idx = bisect.bisect_left(self._times, loop_start - _EPS)
                self._chase_notes()  # notes held across the loop start sound again
                continue  # catch up on anything due since the wrap
            if i >= n and loop_end is None and not self._hold_open:
                self._anchor_pos = min(pos, self._times[-1]) if self._times else 0.0
                self._playing = False
                self._release_all()
                return True
            return False

    def _next_deadline(self) -> float | None:
        due = self._previews[0][0] if self._previews else None
        if self._playing:
            candidates = []
            if self._count_idx < len(self._count_in):
                candidates.append(self._count_in[self._count_idx][0])
            if self._count_until is not None:
                candidates.append(self._count_until)
            if self._idx < len(self._events):
                candidates.append(self._events[self._idx][0])
            if self._loop_armed and self._loop_s:
                candidates.append(self._loop_s[1])
            if candidates:
                t = self._anchor_mono + (min(candidates) - self._anchor_pos)
                due = t if due is None else min(due, t)
        return due

    def _fire_previews(self, now: float) -> None:
        while self._previews and self._previews[0][0] <= now + _EPS:
            _, ch, pitch = heapq.heappop(self._previews)
            self._note_off(ch, pitch)

    def _fail(self, exc: Exception) -> None:
        log.warning("playback stopped: %s", exc)
        self._playing = False
        self._paused = False
        self._sounding.clear()   # the device is gone or broken: nothing to release there
        self._previews.clear()
        self._controls.clear()

    def _run(self) -> None:
        while True:
            callback = None
            check_output = None
            with self._cond:
                if self._shutdown:
                    return
                now = self._clock()
                try:
                    if self._pending_error is not None:
                        exc, self._pending_error = self._pending_error, None
                        raise exc
                    self._fire_previews(now)
                    if self._playing and self._advance(now):
                        callback = (self.on_finished,)
                except AudioUnavailable as exc:
                    self._fail(exc)
                    callback = (self.on_error, exc)
                except Exception as exc:  # a bug must not kill the thread silently
                    log.exception("transport scheduler error")
                    self._fail(exc)
                    callback = (self.on_error, exc)
                if callback is None:
                    deadline = self._next_deadline()
                    now = self._clock()
                    idle_long = deadline is None or deadline - now > 0.02
                    if self._playing and idle_long and now - self._last_check >= _CHECK_EVERY_S:
                        self._last_check = now
                        check_output = self._output
                    else:
                        self._cond.wait(None if deadline is None else max(0.0, deadline - now))
                        continue
            if check_output is not None:
                try:
                    check_output.check()
                except Exception as exc:  # AudioUnavailable, or a broken driver's own error
                    with self._cond:
                        if self._output is not check_output:
                            continue
                        self._fail(exc)
                    callback = (self.on_error, exc)
            if callback and callback[0] is not None:
                try:
                    callback[0](*callback[1:])
                except Exception:
                    log.exception("transport callback failed")
