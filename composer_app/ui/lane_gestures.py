"""Pointer input on the pedal and bend lanes: one object per drag, owning its state.

Each gesture follows the pointer in ticks and lane values (the lane hands it those),
says what to draw meanwhile, and on release pushes at most one undo step
(``commands.edit_events`` of an :class:`~.lane_edits.EventEdit`). The arithmetic is
in :mod:`.lane_edits`; painting in :mod:`.roll_lanes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import commands as cmd
from . import lane_edits as le

if TYPE_CHECKING:
    from .piano_roll import PianoRoll


class LaneGesture:
    def __init__(self, roll: PianoRoll, tick: float, value: float):
        self.roll = roll
        self.track = roll.active_track

    @property
    def events(self):
        return self.roll.doc.base.channel_events

    def update(self, tick: float, value: float) -> None: ...

    def finish(self) -> None: ...


# -- the sustain pedal -------------------------------------------------------------------


class PedalDrawGesture(LaneGesture):
    """Drag on empty lane: a pedal-down span from the press to the pointer (snapped)."""

    def __init__(self, roll: PianoRoll, tick: int, value: float = 0):
        super().__init__(roll, tick, value)
        self.anchor = tick
        self.span = (tick, tick)

    def update(self, tick: float, value: float = 0) -> None:
        a, b = sorted((self.anchor, int(tick)))
        self.span = (a, b)

    def finish(self) -> None:
        a, b = self.span
        if b <= a:
            return
        edit = le.add_pedal_span(self.events, self.track, a, b)
        if cmd.edit_events(self.roll.doc, "Draw pedal", edit):
            self.roll.pedal_lane.selected = a


class PedalEdgeGesture(LaneGesture):
    """Drag a span's start or end edge: the span is moved there (one undo step)."""

    def __init__(self, roll: PianoRoll, span: le.PedalSpan, edge: str):
        super().__init__(roll, span.start, 0)
        self.original = span
        self.edge = edge  # "start" or "end"
        self.span = (span.start, span.end)

    def update(self, tick: float, value: float = 0) -> None:
        tick = max(0, int(tick))
        start, end = self.original.start, self.original.end
        if self.edge == "start":
            limit = end - 1 if end is not None else tick
            self.span = (min(tick, limit), end)
        else:
            self.span = (start, max(tick, start + 1))

    def finish(self) -> None:
        start, end = self.span
        if self.original not in le.pedal_spans(self.events, self.track)[0]:
            return  # an undo or another piece during the drag: the span is not there now
        edit = le.move_pedal_span(self.events, self.track, self.original, start, end)
        if cmd.edit_events(self.roll.doc, "Move pedal", edit):
            self.roll.pedal_lane.selected = start


# -- the pitch bend ----------------------------------------------------------------------


class BendDrawGesture(LaneGesture):
    """Drag: the curve follows the pointer (samples between two pointer positions are
    filled in at the thinning step), pushed as one step on release."""

    def __init__(self, roll: PianoRoll, tick: float, value: float):
        super().__init__(roll, tick, value)
        self.samples: list[tuple[float, float]] = [(max(0.0, tick), value)]

    def update(self, tick: float, value: float) -> None:
        t0, v0 = self.samples[-1]
        t1 = max(0.0, tick)
        steps = int(abs(t1 - t0) // le.BEND_STEP_TICKS)
        for k in range(1, steps + 1):
            f = k / (steps + 1)
            self.samples.append((t0 + (t1 - t0) * f, v0 + (value - v0) * f))
        self.samples.append((t1, value))

    def finish(self) -> None:
        if len(self.samples) < 2:
            return
        edit = le.draw_bend(self.events, self.track, self.samples)
        cmd.edit_events(self.roll.doc, "Draw pitch bend", edit)


class BendRangeGesture(LaneGesture):
    """Shift-drag selects a range (right-click or Delete clears it back to the centre);
    a right-drag clears the range dragged over at once."""

    def __init__(self, roll: PianoRoll, tick: float, value: float = 0, clear: bool = False):
        super().__init__(roll, tick, value)
        self.anchor = max(0, int(tick))
        self.range = (self.anchor, self.anchor)
        self.clear = clear

    def update(self, tick: float, value: float = 0) -> None:
        self.range = tuple(sorted((self.anchor, max(0, int(tick)))))

    def finish(self) -> None:
        a, b = self.range
        lane = self.roll.bend_lane
        if b <= a:
            lane.selected = None
            return
        lane.selected = (a, b)
        if self.clear:
            lane.clear_selected()
