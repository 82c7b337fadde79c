"""The pedal and bend lanes' edit arithmetic (no Qt): spans drawn, deleted, moved; bend
curves drawn, cleared and reset; every edit undone exactly; nothing else touched."""

from __future__ import annotations

from composer_app.music.score import SUSTAIN, ChannelEvent
from composer_app.ui import lane_edits as le


def cc(tick, value, track=0, number=SUSTAIN):
    return ChannelEvent(tick, track, "control", number, value)


def bend(tick, value, track=0):
    return ChannelEvent(tick, track, "pitchwheel", 0, value)


def applied(events, edit):
    out = list(events)
    edit.apply(out)
    back = list(out)
    edit.revert(back)
    assert back == list(events), "revert is not the exact inverse"
    return out


def pedal(events, track=0):
    return [(e.tick, e.value) for e in events
            if e.track == track and e.kind == "control" and e.number == SUSTAIN]


OTHERS = [cc(0, 100, number=7), cc(0, 127, track=1), cc(500, 0, track=1),
          ChannelEvent(240, 0, "aftertouch", 0, 50), bend(300, 4000, track=1)]


def test_a_drawn_span_writes_press_and_release_and_leaves_the_rest():
    events = sorted(OTHERS, key=lambda e: e.tick)
    out = applied(events, le.add_pedal_span(events, 0, 480, 960))
    assert pedal(out) == [(480, 127), (960, 0)]
    assert [e for e in out if not (e.track == 0 and e.number == SUSTAIN
                                   and e.kind == "control")] == events
    assert [e.tick for e in out] == sorted(e.tick for e in out)


def test_a_span_drawn_over_others_replaces_what_was_inside_and_joins_them():
    events = [cc(0, 127), cc(300, 100), cc(600, 0), cc(700, 0), cc(800, 127), cc(1000, 0),
              cc(2000, 127), cc(2400, 0)]
    out = applied(events, le.add_pedal_span(events, 0, 500, 900))
    # the first span (0-600) and the third (800-1000) overlap it: one span 0-1000; the
    # stray release at 700 inside goes; the span at 2000 is untouched
    assert pedal(out) == [(0, 127), (1000, 0), (2000, 127), (2400, 0)]


def test_a_span_touching_another_stays_apart_as_a_re_pedal():
    events = [cc(0, 127), cc(480, 0)]
    out = applied(events, le.add_pedal_span(events, 0, 480, 960))
    assert pedal(out) == [(0, 127), (480, 0), (480, 127), (960, 0)]
    spans, _ = le.pedal_spans(out, 0)
    assert [(s.start, s.end) for s in spans] == [(0, 480), (480, 960)]
    # and one ending where the next begins: the release goes before the press
    events = [cc(960, 127), cc(1200, 0)]
    out = applied(events, le.add_pedal_span(events, 0, 480, 960))
    assert pedal(out) == [(480, 127), (960, 0), (960, 127), (1200, 0)]


def test_delete_and_move_a_span():
    events = [cc(0, 100, number=7), cc(480, 127), cc(600, 127), cc(960, 0), cc(1920, 127),
              cc(2400, 0)]
    spans, _ = le.pedal_spans(events, 0)
    assert [(s.start, s.end) for s in spans] == [(480, 960), (1920, 2400)]
    out = applied(events, le.delete_pedal_span(events, spans[0]))
    assert pedal(out) == [(1920, 127), (2400, 0)] and out[0] == events[0]
    out = applied(events, le.move_pedal_span(events, 0, spans[0], 240, 960))  # start edge
    assert pedal(out) == [(240, 127), (960, 0), (1920, 127), (2400, 0)]
    out = applied(events, le.move_pedal_span(events, 0, spans[0], 480, 2000))  # over the next
    assert pedal(out) == [(480, 127), (2400, 0)]
    assert not le.move_pedal_span(events, 0, spans[0], 480, 960)


def test_a_pedal_never_released_is_a_span_to_the_end():
    events = [cc(480, 127)]
    spans, _ = le.pedal_spans(events, 0)
    assert spans[0].end is None and spans[0].covers(10**9)
    out = applied(events, le.add_pedal_span(events, 0, 0, 960))
    assert pedal(out) == [(0, 127)]  # joined: still down to the end


def test_a_drawn_bend_is_thinned_in_range_and_in_time_order():
    samples = [(t, (t - 480) * 20) for t in range(480, 1440, 5)]  # a steep ramp, past the top
    samples += [(1000, -9000)]  # the pointer went back: the later sample wins
    events = [bend(0, 100), cc(0, 127), bend(700, 5), bend(2000, 0)]
    out = applied(events, le.draw_bend(events, 0, samples))
    bends = [(e.tick, e.value) for e in out if e.kind == "pitchwheel"]
    assert bends[0] == (0, 100) and bends[-1] == (2000, 0)
    ticks = [t for t, _ in bends]
    assert ticks == sorted(ticks) and len(set(ticks)) == len(ticks)
    assert all(le.BEND_MIN <= v <= le.BEND_MAX for _, v in bends)
    assert (1000, -8192) in bends and (700, 5) not in bends
    assert bends[-2][1] == le.BEND_MAX  # the last drawn value holds until the bend at 2000
    assert cc(0, 127) in out


def test_thinning_keeps_a_slow_curve_to_one_event_per_64th():
    samples = [(t, t // 10) for t in range(0, 960)]  # +1 per 10 ticks: slow
    points = le.thin_bend(samples)
    gaps = [b[0] - a[0] for a, b in zip(points, points[1:], strict=False)]
    assert min(gaps[:-1]) >= le.BEND_STEP_TICKS
    assert points[-1][1] == 95
    # a shaky hand (every tick, a few units up and down) is one event per 1/64
    shaky = [(t, 2000 + (7 if t % 2 else -7)) for t in range(0, 960)]
    assert len(le.thin_bend(shaky)) <= 960 // le.BEND_STEP_TICKS + 2


def test_clear_a_range_back_to_centre_and_reset():
    events = [bend(0, 1000), bend(480, 3000), bend(960, -2000), bend(1920, 0)]
    out = applied(events, le.clear_bend(events, 0, 240, 1200))
    assert [(e.tick, e.value) for e in out] == [(0, 1000), (240, 0), (1200, -2000), (1920, 0)]
    assert le.bend_at(out, 0, 1500) == -2000 and le.bend_at(out, 0, 600) == 0
    out = applied(events, le.reset_bend(events, 0, 480))
    assert [(e.tick, e.value) for e in out] == [(0, 1000), (480, 0), (960, -2000), (1920, 0)]
    assert not le.reset_bend(events, 0, 2000)  # already at the centre
    assert not le.clear_bend([], 0, 0, 480)
