"""What playback plays: a :class:`Score` as a time-sorted event list in seconds.

:func:`build_events` turns the notes (of the voices that sound: mute and solo), the
voices' controllers and pitch bends, and the metronome's clicks into
``(seconds, kind, channel, number, value)`` tuples by the tempo map; the count-in's
clicks, the controllers in force at a point (:func:`control_state`, for chasing), and
the note-counting rule (:func:`release`) are here too. The scheduler that sends them
is :class:`~composer_app.audio.transport.Transport`; the offline render plays the same
list, so what is heard live and what is rendered cannot drift apart.
"""

from __future__ import annotations

from composer_app.music import Score
from composer_app.music.gm import DRUM_CHANNEL, HI_WOOD_BLOCK, LOW_WOOD_BLOCK

__all__ = ["build_events", "count_in_events", "control_state", "metronome_clicks",
           "release", "audible_tracks", "METRONOME_CHANNEL", "CONTROL_RESET",
           "OFF", "ON", "CLICK", "CLICK_OFF", "COUNT", "CONTROL", "BEND", "Event"]

# Event kinds; at one instant note-offs go before note-ons so repeated notes re-strike.
# A click's note-off has its own kind: it releases only a click that was sent, never a
# note of the user's on the percussion channel.
# COUNT is a count-in click: it sounds whether or not the metronome is on.
# CONTROL and BEND are a voice's controller and pitch bend: (seconds, kind, channel,
# number, value); at one instant they go after the note-offs and before the note-ons (as
# the MIDI writer orders them), so a bend or pedal is in place when its note starts.
OFF, ON, CLICK, CLICK_OFF, COUNT, CONTROL, BEND = 0, 1, 2, 3, 4, 5, 6
_RANK = {OFF: 0, CLICK_OFF: 0, CONTROL: 1, BEND: 1}
# What playback puts a controller it changed back to (General MIDI's reset values:
# modulation, volume, pan, expression, the pedals); others are left as they were sent.
CONTROL_RESET = {1: 0, 7: 100, 10: 64, 11: 127, 64: 0, 65: 0, 66: 0, 67: 0, 68: 0, 69: 0}
METRONOME_CHANNEL = DRUM_CHANNEL
CLICK_ACCENT, CLICK_BEAT = HI_WOOD_BLOCK, LOW_WOOD_BLOCK
CLICK_SECONDS = 0.05

Event = tuple  # (seconds, kind, channel, pitch, velocity)


def release(sounding: dict[tuple[int, int], int], key: tuple[int, int]) -> bool:
    """One note of ``key`` (channel, pitch) ends: True when it was the last one sounding,
    so the synth's note-off is due now. Two overlapping notes of one pitch on one channel
    are one synth voice; it stops when the later of them ends. The one rule of live
    playback and offline render."""
    count = sounding.get(key, 0)
    if count <= 0:
        return False
    if count == 1:
        del sounding[key]
        return True
    sounding[key] = count - 1
    return False


def audible_tracks(score: Score) -> set[int]:
    """Indices of tracks that sound: the soloed ones if any track is soloed, else the unmuted."""
    soloed = {i for i, t in enumerate(score.tracks) if t.solo}
    if soloed:
        return soloed
    return {i for i, t in enumerate(score.tracks) if not t.mute}


def voicing(score: Score) -> list[tuple[int, int]]:
    """(channel, program) per track: when it changes, programs are sent again."""
    return [(t.channel, t.program) for t in score.tracks]


def reset_value(key: tuple[int, int]) -> int | None:
    """What a controller (channel, number) or the bend (channel, -1) goes back to."""
    return 0 if key[1] < 0 else CONTROL_RESET.get(key[1])


def _channel_of(score: Score, track: int) -> int:
    return score.tracks[track].channel if 0 <= track < len(score.tracks) else 0


def metronome_clicks(score: Score, end_tick: int) -> list[tuple[int, bool]]:
    """(tick, is_downbeat) for every beat from 0 up to ``end_tick``, following meter changes."""
    clicks: list[tuple[int, bool]] = []
    bar = 0
    while True:
        start = score.bar_start(bar)
        if start >= end_tick:
            return clicks
        sig = score.time_signature_at(start)
        nxt = score.bar_start(bar + 1)
        for tick in range(start, min(nxt, end_tick), sig.beat_ticks):
            clicks.append((tick, tick == start))
        bar += 1


def count_in_events(score: Score, start_tick: int, bars: int) -> list[Event]:
    """The count-in before ``start_tick``: ``bars`` bars of clicks (kind COUNT, and their
    CLICK_OFFs) in the meter and tempo in force there, in seconds *relative to the
    start* (the first click at minus the count-in's length, the last a beat before 0).
    The first beat of each bar is accented."""
    if bars <= 0:
        return []
    sig = score.time_signature_at(start_tick)
    beat_s = sig.beat_ticks * 60.0 / (score.tempo_at(start_tick) * score.ppq)
    beats = bars * sig.numerator
    events: list[Event] = []
    for k in range(beats):
        t = -(beats - k) * beat_s
        accent = k % sig.numerator == 0
        pitch = CLICK_ACCENT if accent else CLICK_BEAT
        events.append((t, COUNT, METRONOME_CHANNEL, pitch, 110 if accent else 80))
        events.append((t + min(CLICK_SECONDS, beat_s / 2), CLICK_OFF, METRONOME_CHANNEL,
                       pitch, 0))
    events.sort(key=lambda e: (e[0], e[1] != CLICK_OFF))
    return events


def build_events(score: Score, metronome_until: int | None = None) -> list[Event]:
    """Time-sorted (seconds, kind, channel, pitch, velocity) for the audible notes.

    Metronome clicks (kind CLICK, plus their note-offs) are included up to
    ``metronome_until`` ticks (default: the end of the score); the transport skips
    them while the metronome is off.
    """
    events: list[Event] = []
    audible = audible_tracks(score)
    sec = score.tick_to_seconds
    for n in score.notes:
        if n.track not in audible and n.track < len(score.tracks):
            continue
        if n.duration <= 0:
            continue
        ch = _channel_of(score, n.track)
        vel = max(1, min(127, int(n.velocity)))
        events.append((sec(n.start), ON, ch, n.pitch, vel))
        events.append((sec(n.end), OFF, ch, n.pitch, 0))
    for e in score.channel_events:
        if e.kind not in ("control", "pitchwheel") or (
                e.track not in audible and e.track < len(score.tracks)):
            continue
        kind = CONTROL if e.kind == "control" else BEND
        events.append((sec(e.tick), kind, _channel_of(score, e.track), e.number, e.value))
    until = score.end_tick if metronome_until is None else metronome_until
    for tick, accent in metronome_clicks(score, until):
        t = sec(tick)
        pitch = CLICK_ACCENT if accent else CLICK_BEAT
        events.append((t, CLICK, METRONOME_CHANNEL, pitch, 110 if accent else 80))
        events.append((t + CLICK_SECONDS, CLICK_OFF, METRONOME_CHANNEL, pitch, 0))
    events.sort(key=lambda e: (e[0], _RANK.get(e[1], 2)))
    return events


def control_state(events: list[Event]) -> dict[tuple[int, int], int]:
    """The controllers and bends ``events`` leave in force: (channel, number) -> value
    for controllers, (channel, -1) -> value for the bend."""
    state: dict[tuple[int, int], int] = {}
    for _t, kind, ch, number, value in events:
        if kind == CONTROL:
            state[ch, number] = value
        elif kind == BEND:
            state[ch, -1] = value
    return state



