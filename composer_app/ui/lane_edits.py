"""The pedal and bend lanes' edit arithmetic: functions of events and numbers, no Qt.

A lane shows one voice's events of one kind out of ``Score.channel_events``: the
sustain pedal (controller 64; a value of 64 or more is down) as spans, the pitch bend
(-8192..8191, 0 = centre) as a step curve. An edit here is an :class:`EventEdit`: the
events it takes out and the ones it puts in, each with its index in the whole list, so
undo puts back exactly what was there (same events, same order) and every event of
another kind, controller or voice stays as it is. ``tests/test_lane_edits.py`` tests
these directly; the lanes (``roll_lanes.py``) push them through ``commands.edit_events``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from composer_app.music.score import SUSTAIN, ChannelEvent

BEND_MIN, BEND_MAX = -8192, 8191
PEDAL_DOWN = 64  # a sustain value at or above this is down
PEDAL_ON, PEDAL_OFF = 127, 0  # what a drawn span writes
BEND_STEP_TICKS = 30  # a drawn bend: at most one event per 1/64 note (PPQ 480) ...
BEND_STEP_VALUE = 64  # ... unless the value moved at least this much


@dataclass(frozen=True)
class EventEdit:
    """Events out and in, each as (index, event): ``removed`` indexes the list before,
    ``added`` the list after. :meth:`apply` and :meth:`revert` are exact inverses."""

    removed: tuple[tuple[int, ChannelEvent], ...] = ()
    added: tuple[tuple[int, ChannelEvent], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.removed or self.added)

    def apply(self, events: list[ChannelEvent]) -> None:
        """``events`` (the list before) becomes the list after, in place."""
        _swap(events, self.removed, self.added)

    def revert(self, events: list[ChannelEvent]) -> None:
        _swap(events, self.added, self.removed)


def _swap(events: list, out: Sequence[tuple[int, ChannelEvent]],
          into: Sequence[tuple[int, ChannelEvent]]) -> None:
    for i, _e in sorted(out, reverse=True):
        del events[i]
    for i, e in sorted(into, key=lambda x: x[0]):
        events.insert(i, e)


def rewrite(events: Sequence[ChannelEvent], remove: Iterable[int],
            add: Iterable[ChannelEvent]) -> EventEdit:
    """The edit that takes out the events at indices ``remove`` and puts in ``add``, each
    placed by its tick among the events that stay: a pedal release before whatever else
    is at its tick (so a span ending where the next begins is a re-pedal, up then down),
    anything else after."""
    remove = sorted(set(remove))
    gone = set(remove)
    kept = [e for i, e in enumerate(events) if i not in gone]
    ticks = [e.tick for e in kept]
    new = list(add)
    for e in sorted(new, key=lambda e: e.tick):
        if is_pedal_up(e):
            at = bisect.bisect_left(ticks, e.tick)
        else:
            at = bisect.bisect_right(ticks, e.tick)
        kept.insert(at, e)
        ticks.insert(at, e.tick)
    fresh = {id(e) for e in new}
    added = tuple((i, e) for i, e in enumerate(kept) if id(e) in fresh)
    return EventEdit(tuple((i, events[i]) for i in remove), added)


def is_pedal_up(e: ChannelEvent) -> bool:
    return e.kind == "control" and e.number == SUSTAIN and e.value < PEDAL_DOWN


def _is_pedal(e: ChannelEvent, track: int) -> bool:
    return e.track == track and e.kind == "control" and e.number == SUSTAIN


def _is_bend(e: ChannelEvent, track: int) -> bool:
    return e.track == track and e.kind == "pitchwheel"


# -- the sustain pedal -------------------------------------------------------------------


@dataclass(frozen=True)
class PedalSpan:
    """The pedal down from ``start`` to ``end`` (None: never released). ``indices`` are
    the events that make it (the press, repeats while down, the release)."""

    start: int
    end: int | None
    indices: tuple[int, ...]

    def covers(self, tick: float) -> bool:
        return self.start <= tick and (self.end is None or tick < self.end)


def pedal_spans(events: Sequence[ChannelEvent], track: int
                ) -> tuple[list[PedalSpan], list[int]]:
    """The voice's pedal spans in time order, and the indices of the pedal events that
    change nothing (a release while up)."""
    spans: list[PedalSpan] = []
    strays: list[int] = []
    start: int | None = None
    members: list[int] = []
    for i, e in enumerate(events):
        if not _is_pedal(e, track):
            continue
        if e.value >= PEDAL_DOWN:
            if start is None:
                start, members = e.tick, []
            members.append(i)
        elif start is None:
            strays.append(i)
        else:
            members.append(i)
            spans.append(PedalSpan(start, e.tick, tuple(members)))
            start = None
    if start is not None:
        spans.append(PedalSpan(start, None, tuple(members)))
    return spans, strays


def pedal_span_at(events: Sequence[ChannelEvent], track: int, tick: float) -> PedalSpan | None:
    spans, _ = pedal_spans(events, track)
    return next((s for s in spans if s.covers(tick)), None)


def _place_span(events, track: int, start: int, end: int | None,
                without: PedalSpan | None = None) -> EventEdit:
    """The pedal down over [start, end) (end None: never released; ``without``: a span
    taken out first, moved). A span it overlaps joins it; one that only touches it
    stays apart (a re-pedal)."""
    if end is not None and end <= start:
        return EventEdit()
    spans, strays = pedal_spans(events, track)
    remove: set[int] = set(without.indices) if without else set()
    lo, hi = start, start if end is None else end
    open_end = end is None
    for s in spans:
        if without is not None and s.indices == without.indices:
            continue
        if (end is None or s.start < end) and (s.end is None or s.end > start):
            remove.update(s.indices)
            lo = min(lo, s.start)
            if s.end is None:
                open_end = True
            else:
                hi = max(hi, s.end)
    remove.update(i for i in strays if lo <= events[i].tick and (open_end or
                                                                 events[i].tick <= hi))
    add = [ChannelEvent(lo, track, "control", SUSTAIN, PEDAL_ON)]
    if not open_end:
        add.append(ChannelEvent(hi, track, "control", SUSTAIN, PEDAL_OFF))
    return rewrite(events, remove, add)


def add_pedal_span(events: Sequence[ChannelEvent], track: int, start: int, end: int
                   ) -> EventEdit:
    """A span drawn: CC64 127 at ``start`` and 0 at ``end``; what was inside goes."""
    return _place_span(events, track, start, end)


def delete_pedal_span(events: Sequence[ChannelEvent], span: PedalSpan) -> EventEdit:
    return rewrite(events, span.indices, ())


def move_pedal_span(events: Sequence[ChannelEvent], track: int, span: PedalSpan,
                    start: int, end: int | None) -> EventEdit:
    """``span`` now from ``start`` to ``end`` (an edge dragged)."""
    if (start, end) == (span.start, span.end):
        return EventEdit()
    return _place_span(events, track, start, end, without=span)


# -- the pitch bend ----------------------------------------------------------------------


def clamp_bend(value: float) -> int:
    return max(BEND_MIN, min(BEND_MAX, int(round(value))))


def bend_points(events: Sequence[ChannelEvent], track: int) -> list[tuple[int, int]]:
    """(tick, value) of the voice's bends in time order (the curve steps there)."""
    return [(e.tick, e.value) for e in events if _is_bend(e, track)]


def bend_at(events: Sequence[ChannelEvent], track: int, tick: float) -> int:
    """The bend in force at ``tick`` (the last one at or before it; 0 before the first)."""
    value = 0
    for e in events:
        if _is_bend(e, track):
            if e.tick > tick:
                break
            value = e.value
    return value


def thin_bend(samples: Iterable[tuple[float, float]], step: int = BEND_STEP_TICKS,
              min_change: int = BEND_STEP_VALUE) -> list[tuple[int, int]]:
    """A drawn curve's (tick, value) samples as bend events: the latest sample per tick,
    in time order, then one every ``step`` ticks or sooner when the value moved by
    ``min_change`` or more; a value the curve already holds is not written again, and
    the last sample's value always is (the curve holds it after the stroke)."""
    latest: dict[int, int] = {}
    for tick, value in samples:
        latest[max(0, int(round(tick)))] = clamp_bend(value)
    points = sorted(latest.items())
    out: list[tuple[int, int]] = []
    for tick, value in points:
        if not out:
            out.append((tick, value))
            continue
        t0, v0 = out[-1]
        if value != v0 and (tick - t0 >= step or abs(value - v0) >= min_change):
            out.append((tick, value))
    if points and out[-1][1] != points[-1][1]:
        out.append(points[-1])
    return out


def draw_bend(events: Sequence[ChannelEvent], track: int,
              samples: Iterable[tuple[float, float]]) -> EventEdit:
    """A curve drawn over the voice's bends: those in its range go, the thinned curve
    comes in; the last drawn value holds until the next bend after it."""
    samples = list(samples)
    points = thin_bend(samples)
    if not points:
        return EventEdit()
    ticks = [max(0, int(round(t))) for t, _v in samples]
    lo, hi = min(ticks), max(ticks)
    remove = [i for i, e in enumerate(events) if _is_bend(e, track) and lo <= e.tick <= hi]
    add = [ChannelEvent(t, track, "pitchwheel", 0, v) for t, v in points]
    edit = rewrite(events, remove, add)
    return edit if _changes(events, edit) else EventEdit()


def clear_bend(events: Sequence[ChannelEvent], track: int, start: int, end: int) -> EventEdit:
    """[start, end) back to the centre: its bends go, the bend is 0 from ``start`` and
    the value that was in force at ``end`` comes back there."""
    if end <= start:
        return EventEdit()
    before, after = bend_at(events, track, start - 1) if start > 0 else 0, \
        bend_at(events, track, end)
    remove = [i for i, e in enumerate(events) if _is_bend(e, track) and start <= e.tick < end]
    at_end = any(_is_bend(e, track) and e.tick == end for e in events)
    add = []
    if before != 0:
        add.append(ChannelEvent(start, track, "pitchwheel", 0, 0))
    if after != 0 and not at_end:
        add.append(ChannelEvent(end, track, "pitchwheel", 0, after))
    edit = rewrite(events, remove, add)
    return edit if _changes(events, edit) else EventEdit()


def reset_bend(events: Sequence[ChannelEvent], track: int, tick: int) -> EventEdit:
    """Back to the centre from ``tick`` (a bend at that very tick is replaced)."""
    same = [i for i, e in enumerate(events) if _is_bend(e, track) and e.tick == tick]
    if not same and bend_at(events, track, tick) == 0:
        return EventEdit()
    return rewrite(events, same, [ChannelEvent(tick, track, "pitchwheel", 0, 0)])


def _changes(events: Sequence[ChannelEvent], edit: EventEdit) -> bool:
    after = list(events)
    edit.apply(after)
    return after != list(events)
