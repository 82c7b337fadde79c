"""Whole-piece and conductor-map edit arithmetic, no Qt (``tests/test_piece_edits.py``).

The conductor marks are the Score's tempo, meter and key changes (``ScoreMeta``'s
``tempos``, ``time_signatures``, ``key_signatures``), each kind a list sorted by tick.
A mark at tick 0 is bar 1's (the toolbar's tempo, meter and key fields): it can be
changed but not moved or deleted. Meter and key marks sit on bar lines.

Markers (``ScoreMeta.markers``, the Score's text events of kind marker: a song's
sections, a DAW's markers) are named places, at bar 1 too; they are added, renamed,
moved and deleted by :func:`add_marker`, :func:`rename_marker`, :func:`move_marker`,
:func:`delete_marker`, and move with their music when bars are inserted or deleted.

Whole-piece edits take the notes by id (``dict[int, Note]``) and a ``ScoreMeta`` and
return new values: :func:`transpose_piece`, :func:`insert_time`, :func:`delete_time`.
"""

from __future__ import annotations

from dataclasses import replace

from composer_app.music import Note, Score
from composer_app.music.score import KeySignature, TempoChange, TextEvent, TimeSignature
from composer_app.music.theory import Key

from .document import ScoreMeta

TEMPO, METER, KEY = "tempo", "meter", "key"
KINDS = (METER, KEY, TEMPO)  # the order labels sit in at one tick
FIELD = {TEMPO: "tempos", METER: "time_signatures", KEY: "key_signatures"}
NAMES = {TEMPO: "tempo", METER: "meter", KEY: "key"}


def marks(meta: ScoreMeta, kind: str) -> list:
    return getattr(meta, FIELD[kind])


def value_of(mark) -> object:
    """A mark's value: bpm, (numerator, denominator) or Key."""
    if isinstance(mark, TempoChange):
        return mark.bpm
    if isinstance(mark, TimeSignature):
        return (mark.numerator, mark.denominator)
    return mark.key


def make_mark(kind: str, tick: int, value):
    if kind == TEMPO:
        return TempoChange(tick, float(value))
    if kind == METER:
        return TimeSignature(tick, int(value[0]), int(value[1]))
    return KeySignature(tick, value)


def label(mark) -> str:
    """The mark's label on the ruler: "♩=90", "3/4", "G", "Em"."""
    if isinstance(mark, TempoChange):
        bpm = mark.bpm
        return f"♩={bpm:g}" if bpm != int(bpm) else f"♩={int(bpm)}"
    if isinstance(mark, TimeSignature):
        return str(mark)
    return mark.key.name


def mark_at(meta: ScoreMeta, kind: str, tick: int):
    return next((m for m in marks(meta, kind) if m.tick == tick), None)


def score_of(meta: ScoreMeta) -> Score:
    """A note-less Score with ``meta``'s maps (for its bar helpers)."""
    return Score(tracks=list(meta.tracks), tempos=list(meta.tempos),
                 time_signatures=list(meta.time_signatures),
                 key_signatures=list(meta.key_signatures), title=meta.title)


def bar_line_at(meta: ScoreMeta, tick: int) -> int:
    """The start of the bar that holds ``tick``."""
    s = score_of(meta)
    return s.bar_start(s.bar_of(max(0, int(tick))))


def nearest_bar_line(meta: ScoreMeta, tick: float) -> int:
    s = score_of(meta)
    start = s.bar_start(s.bar_of(max(0, int(tick))))
    nxt = s.bar_start(s.bar_of(start) + 1)
    return start if tick - start < nxt - tick else nxt


def _put(meta: ScoreMeta, kind: str, mark) -> None:
    items = [m for m in marks(meta, kind) if m.tick != mark.tick] + [mark]
    setattr(meta, FIELD[kind], sorted(items, key=lambda m: m.tick))


def set_mark(meta: ScoreMeta, kind: str, tick: int, value) -> None:
    """Add the change at ``tick`` or replace the one there (in place)."""
    _put(meta, kind, make_mark(kind, int(tick), value))


def delete_mark(meta: ScoreMeta, kind: str, tick: int) -> None:
    if tick <= 0:
        raise ValueError("bar 1's tempo, meter and key are changed, not deleted")
    setattr(meta, FIELD[kind], [m for m in marks(meta, kind) if m.tick != tick])


def move_mark(meta: ScoreMeta, kind: str, old: int, new: int) -> None:
    """Move the change at ``old`` to ``new`` (> 0); one already at ``new`` is replaced."""
    mark = mark_at(meta, kind, old)
    if mark is None or old <= 0 or new <= 0 or new == old:
        return
    delete_mark(meta, kind, old)
    _put(meta, kind, replace(mark, tick=int(new)))


def move_target(meta: ScoreMeta, kind: str, old: int, tick: float, snap) -> int:
    """Where a dragged mark lands: meters and keys on the nearest bar line (bars as they
    are without the meter being moved), tempos by ``snap(tick)``; never bar 1's tick."""
    if kind == TEMPO:
        return max(1, int(snap(tick)))
    probe = _copy(meta)
    if kind == METER:
        probe.time_signatures = [m for m in probe.time_signatures if m.tick != old]
    line = nearest_bar_line(probe, tick)
    if line <= 0:
        s = score_of(probe)
        line = s.bar_start(1)
    return line


# -- markers ------------------------------------------------------------------------------

MAX_MARKER_NAME = 200


def clean_marker_name(name: str) -> str:
    """A marker's name as stored: one line, trimmed; ValueError when empty."""
    text = " ".join(str(name).split())[:MAX_MARKER_NAME]
    if not text:
        raise ValueError("a marker needs a name")
    return text


def _put_markers(meta: ScoreMeta, items: list[TextEvent]) -> None:
    meta.markers = sorted(items, key=lambda m: m.tick)


def add_marker(meta: ScoreMeta, tick: int, name: str) -> TextEvent:
    """A new marker (for the whole piece) at ``tick``; returns it."""
    mark = TextEvent(max(0, int(tick)), "marker", clean_marker_name(name))
    _put_markers(meta, list(meta.markers) + [mark])
    return mark


def _index(meta: ScoreMeta, mark: TextEvent) -> int:
    for i, m in enumerate(meta.markers):
        if m == mark:
            return i
    raise ValueError(f"no marker {mark.text!r} at tick {mark.tick}")


def rename_marker(meta: ScoreMeta, mark: TextEvent, name: str) -> None:
    items = list(meta.markers)
    items[_index(meta, mark)] = replace(mark, text=clean_marker_name(name))
    _put_markers(meta, items)


def move_marker(meta: ScoreMeta, mark: TextEvent, tick: int) -> None:
    items = list(meta.markers)
    items[_index(meta, mark)] = replace(mark, tick=max(0, int(tick)))
    _put_markers(meta, items)


def delete_marker(meta: ScoreMeta, mark: TextEvent) -> None:
    items = list(meta.markers)
    del items[_index(meta, mark)]
    _put_markers(meta, items)


def marker_target(meta: ScoreMeta, tick: float) -> int:
    """Where a dragged marker lands: the nearest bar line (bar 1's included)."""
    return nearest_bar_line(meta, max(0.0, tick))


def section_span(meta: ScoreMeta, mark: TextEvent, end_tick: int) -> tuple[int, int]:
    """The section a marker starts: from it to the next marker at a later tick, or to the
    bar line at or after the piece's end (``end_tick``: its last note-off)."""
    later = [m.tick for m in meta.markers if m.tick > mark.tick]
    if later:
        return mark.tick, min(later)
    s = score_of(meta)
    return mark.tick, max(s.next_bar_line(max(end_tick, 1)), s.next_bar_line(mark.tick + 1))


# -- whole-piece edits --------------------------------------------------------------------


def transposed_key(key: Key, semitones: int) -> Key:
    """``key`` moved by ``semitones``; :attr:`Key.name` spells it with the fewer
    accidentals (up a semitone from C is Db, not C#)."""
    return Key((key.tonic + semitones) % 12, key.mode)


def transpose_piece(notes: dict[int, Note], meta: ScoreMeta, semitones: int
                    ) -> tuple[dict[int, Note], ScoreMeta]:
    """Every note and every key signature moved by ``semitones``. Raises ValueError
    when a note would leave the MIDI range 0-127."""
    out = {i: n.moved(pitch=n.pitch + semitones) for i, n in notes.items()}
    if any(not 0 <= n.pitch <= 127 for n in out.values()):
        raise ValueError(f"transposing by {semitones:+d} takes notes outside the MIDI range")
    new = _copy(meta)
    new.key_signatures = [KeySignature(k.tick, transposed_key(k.key, semitones))
                          for k in meta.key_signatures]
    return out, new


def insert_time(notes: dict[int, Note], meta: ScoreMeta, at: int, length: int
                ) -> tuple[dict[int, Note], list[Note], ScoreMeta]:
    """Open ``length`` empty ticks at ``at`` (a bar line), across all voices.

    Returns (changed notes by id, new notes, meta). Notes from ``at`` on move later; a
    note sounding across ``at`` is split there, its rest moved with what follows. Tempo,
    meter and key changes from ``at`` on move too (bar 1's stay), so the new bars have
    the meter of the bar before them.
    """
    changed: dict[int, Note] = {}
    added: list[Note] = []
    for i, n in notes.items():
        if n.start >= at:
            changed[i] = n.moved(start=n.start + length)
        elif n.end > at:
            changed[i] = n.moved(duration=at - n.start)
            added.append(n.moved(start=at + length, duration=n.end - at))
    new = _copy(meta)
    for kind in KINDS:
        setattr(new, FIELD[kind], [replace(m, tick=m.tick + length) if m.tick >= at and m.tick > 0
                                   else m for m in marks(meta, kind)])
    # A marker names the music after it: it moves with it (bar 1's too).
    new.markers = [replace(m, tick=m.tick + length) if m.tick >= at else m
                   for m in meta.markers]
    return changed, added, new


def delete_time(notes: dict[int, Note], meta: ScoreMeta, a: int, b: int
                ) -> tuple[dict[int, Note], set[int], ScoreMeta]:
    """Remove the ticks [a, b) (whole bars) across all voices.

    Returns (changed notes by id, deleted ids, meta). Notes inside go; notes after move
    earlier by ``b - a``; a note sounding into the cut is shortened to it (and keeps
    what sounds after it), one starting in the cut and ending after it starts at ``a``.
    Tempo, meter and key changes after move too; the last change inside the cut moves to
    ``a``, so what was in force at ``b`` still is there (unless it is already in force).
    """
    cut = b - a
    changed: dict[int, Note] = {}
    deleted: set[int] = set()

    def at(t: int) -> int:
        return t if t <= a else (a if t <= b else t - cut)

    for i, n in notes.items():
        start, end = at(n.start), at(n.end)
        if end <= start:
            deleted.add(i)
        elif (start, end) != (n.start, n.end):
            changed[i] = n.moved(start=start, duration=end - start)
    new = _copy(meta)
    for kind in KINDS:
        before = [m for m in marks(meta, kind) if m.tick < a]
        inside = [m for m in marks(meta, kind) if a <= m.tick < b]
        after = [replace(m, tick=m.tick - cut) for m in marks(meta, kind) if m.tick >= b]
        items = before
        if inside and not (after and after[0].tick == a):
            moved = replace(inside[-1], tick=a)
            if not before or value_of(before[-1]) != value_of(moved) or a == 0:
                items = items + [moved]
        items = items + after
        setattr(new, FIELD[kind], items)
    # Markers: as the maps, the last one inside the cut names what is left of its section
    # from ``a`` on, unless a marker lands on ``a`` from after the cut.
    before = [m for m in meta.markers if m.tick < a]
    inside = [m for m in meta.markers if a <= m.tick < b]
    after = [replace(m, tick=m.tick - cut) for m in meta.markers if m.tick >= b]
    if inside and not (after and after[0].tick == a):
        before = before + [replace(inside[-1], tick=a)]
    new.markers = before + after
    return changed, deleted, new


# -- the events that are not notes (controllers, bends, lyrics, chord symbols, sysex) ------


def insert_events(events: list, at: int, length: int) -> list:
    """The events (of any kind with a ``tick``) from ``at`` on moved ``length`` later,
    as the notes are: a pedal pressed on the bar line goes with the music after it."""
    return [replace(e, tick=e.tick + length) if e.tick >= at else e for e in events]


def delete_events(events: list, a: int, b: int, keep_state: bool = False) -> list:
    """The events without those in ``[a, b)``, the later ones ``b - a`` earlier.

    ``keep_state`` (channel events): for each controller, bend or aftertouch of a voice,
    the last value set inside the cut is set at ``a`` instead, so what was in force at
    ``b`` (the pedal down, a bend) still is where the music goes on.
    """
    cut = b - a
    before = [e for e in events if e.tick < a]
    after = [replace(e, tick=e.tick - cut) for e in events if e.tick >= b]
    kept = []
    if keep_state:
        last: dict[tuple, object] = {}
        for e in events:
            if a <= e.tick < b:
                last[(e.track, e.kind, e.number if e.kind in ("control", "polytouch") else 0)] = e
        landing = {(e.track, e.kind, e.number if e.kind in ("control", "polytouch") else 0)
                   for e in after if e.tick == a}
        kept = [replace(e, tick=a) for key, e in last.items() if key not in landing]
    return sorted(before + kept + after, key=lambda e: e.tick)


def _copy(meta: ScoreMeta) -> ScoreMeta:
    return ScoreMeta(meta.tracks, list(meta.tempos), list(meta.time_signatures),
                     list(meta.key_signatures), meta.title, list(meta.markers))
