"""A take played in from a MIDI keyboard, and step entry: the arithmetic, no Qt.

:class:`Take` turns key presses and releases, each at a tick (the transport's position
when the message arrived, :meth:`Transport.locate`), into notes of one voice. A take
begins at the record start (or, for a later pass of a loop, the loop start) and, in a
loop, ends at the loop end: a key held across the wrap is cut there and goes on in the
next take from the loop start. Nothing lands before the take's start: a key pressed
during the count-in starts at the start, one pressed and released in the count-in is
dropped. :func:`quantized_onsets` snaps the onsets to the grid (quantize on input), the
lengths as played. ``tests/test_recording.py`` tests them directly; the controller is
``ui/record_controller.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from composer_app.music import Note

from .roll_edits import snap_round


@dataclass
class Take:
    track: int
    start: int
    end: int | None = None  # the loop end (notes are cut there); None: open
    passes: int = 0  # the loop pass this take records (0: the first)
    notes: list[Note] = field(default_factory=list)
    held: dict[int, tuple[int, int]] = field(default_factory=dict)  # pitch -> (start, vel)

    def press(self, tick: int, pitch: int, velocity: int) -> None:
        """A key goes down at ``tick`` (a key already down is released there first)."""
        if pitch in self.held:
            self.release(tick, pitch)
        self.held[pitch] = (max(self.start, int(tick)), max(1, min(127, int(velocity))))

    def release(self, tick: int, pitch: int, counting_in: bool = False) -> None:
        """The key comes up at ``tick``; released during the count-in: no note."""
        begun = self.held.pop(pitch, None)
        if begun is None or counting_in:
            return
        start, velocity = begun
        end = int(tick) if self.end is None else min(int(tick), self.end)
        if end > start:
            self.notes.append(Note(pitch, start, end - start, velocity, self.track))

    def finish(self, tick: int | None = None) -> list[Note]:
        """The take's notes, keys still down ending at ``tick`` (or the loop end)."""
        end = self.end if tick is None or (self.end is not None and tick > self.end) else tick
        for pitch in list(self.held):
            self.release(end if end is not None else self.start, pitch)
        return sorted(self.notes, key=lambda n: (n.start, n.pitch))

    def shown(self, tick: int) -> list[Note]:
        """What the roll shows while recording: the notes so far, and each key still
        down as a note up to ``tick``."""
        end = tick if self.end is None else min(tick, self.end)
        return self.notes + [Note(pitch, start, end - start, velocity, self.track)
                             for pitch, (start, velocity) in self.held.items() if end > start]

    def next_pass(self, loop_start: int, passes: int) -> Take:
        """The take of the loop's next pass: the keys held across the wrap go on in it
        from the loop start (call before :meth:`finish`)."""
        nxt = Take(self.track, loop_start, self.end, passes)
        for pitch, (_start, velocity) in self.held.items():
            nxt.held[pitch] = (loop_start, velocity)
        return nxt


def quantized_onsets(notes: Iterable[Note], score, grid: int) -> list[Note]:
    """Each onset on the nearest ``grid`` line (the grid restarts at every bar line, as
    the roll's); the lengths as played. ``grid`` <= 0: the notes as they are."""
    if grid <= 0:
        return list(notes)
    return [n.moved(start=snap_round(score, n.start, grid)) for n in notes]


@dataclass
class StepCursor:
    """Step entry: each key adds a note of ``length`` at the cursor, and the cursor
    moves on by ``length``; keys pressed while another is still down make a chord at
    the same place (the cursor moves on once)."""

    held: set[int] = field(default_factory=set)
    chord_at: int = 0

    def press(self, pitch: int, cursor: int, length: int) -> tuple[int, int]:
        """(where the note goes, where the cursor goes next)."""
        if not self.held:
            self.chord_at = max(0, int(cursor))
        self.held.add(pitch)
        return self.chord_at, self.chord_at + length

    def release(self, pitch: int) -> None:
        self.held.discard(pitch)
