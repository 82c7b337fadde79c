"""The piano roll's edit arithmetic: functions of notes and numbers, no Qt.

Snapping, the offsets of a move or resize drag, the length a drawn note gets, and the
new notes of each editing command (quantize, transpose, shift, duplicate, paste,
velocity, lock, fermata). The roll and its gestures call these and push the results as
undo commands; ``tests/test_roll_edits.py`` tests them directly.

``notes`` arguments are ``{id: Note}`` dicts (or lists where ids do not matter); a
``score`` is anything with ``bar_of(tick)`` and ``bar_start(bar)`` (a ``Score``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from composer_app.music import Note

# name -> ticks (PPQ 480); "T" is a triplet.
SNAPS = [("1/1", 1920), ("1/2", 960), ("1/4", 480), ("1/8", 240), ("1/16", 120),
         ("1/32", 60), ("1/4T", 320), ("1/8T", 160), ("1/16T", 80)]
SNAP_TICKS = dict(SNAPS)
DEFAULT_SNAP_LEN = 120  # the step of a snap value of 0 (none chosen)
FREE_MIN_LEN = 10  # the shortest note a drag makes with the snap bypassed


# -- snapping ------------------------------------------------------------------------------


def snap_round(score, tick: float, snap: int) -> int:
    """Nearest grid line (the grid restarts at every bar line); ``snap`` <= 0: no grid."""
    if snap <= 0:
        return int(round(tick))
    tick = max(0.0, tick)
    bar_start = score.bar_start(score.bar_of(int(tick)))
    return bar_start + int(round((tick - bar_start) / snap)) * snap


def snap_floor(score, tick: float, snap: int) -> int:
    """The grid line at or before ``tick``; ``snap`` <= 0: no grid."""
    if snap <= 0:
        return int(tick)
    tick = max(0.0, tick)
    bar_start = score.bar_start(score.bar_of(int(tick)))
    return bar_start + int((tick - bar_start) // snap) * snap


def snap_length(snap: int) -> int:
    """The step of the snap value ``snap`` (kept while snapping is switched off)."""
    return snap if snap > 0 else DEFAULT_SNAP_LEN


# -- drags ---------------------------------------------------------------------------------


def resized(note: Note, dlen: int, min_len: int) -> Note:
    """``note`` lengthened by ``dlen`` ticks (shortened when negative), never below
    ``min_len``, and never lengthened by a shortening (a note already shorter stays)."""
    if dlen >= 0:
        return note.moved(duration=note.duration + dlen)
    return note.moved(duration=max(min(min_len, note.duration), note.duration + dlen))


def move_offsets(notes: Iterable[Note], anchor: Note, new_start: int,
                 semitones: int) -> tuple[int, int]:
    """(dt, dp) moving ``notes`` so ``anchor`` starts at ``new_start``, ``semitones`` up:
    clamped so no note starts before 0 and every pitch stays in 0..127."""
    notes = list(notes)
    dt = max(new_start - anchor.start, -min(n.start for n in notes))
    lo, hi = min(n.pitch for n in notes), max(n.pitch for n in notes)
    return dt, max(-lo, min(127 - hi, semitones))


def resize_offset(notes: Iterable[Note], anchor: Note, new_end: int, min_len: int) -> int:
    """The length change that puts ``anchor``'s end at ``new_end``. Each note shrinks down
    to ``min_len`` on its own (see :func:`resized`): one note already that short no
    longer stops the others; the change stops once the longest is down to ``min_len``."""
    return max(new_end - anchor.end, min_len - max(n.duration for n in notes))


def drawn_length(start: int, end: int, min_len: int) -> int:
    """The length of a note drawn from ``start`` to ``end``, at least ``min_len``."""
    return max(min_len, end - start)


def draw_end(tick: float, score, grid: int, step: int, free: bool) -> int:
    """Where a draw drag at ``tick`` ends the note: ``step`` after the start of the grid
    cell under the pointer, or (``free``, the snap bypassed) the next whole tick."""
    return int(math.ceil(tick)) if free else snap_floor(score, tick, grid) + step


def moved_notes(notes: Mapping[int, Note], dt: int, dp: int) -> dict[int, Note]:
    return {i: n.moved(start=n.start + dt, pitch=n.pitch + dp) for i, n in notes.items()}


def resized_notes(notes: Mapping[int, Note], dlen: int, min_len: int) -> dict[int, Note]:
    """The notes a resize drag changes (those it leaves as they are are left out)."""
    out = {i: resized(n, dlen, min_len) for i, n in notes.items()}
    return {i: n for i, n in out.items() if n != notes[i]}


# -- editing commands ----------------------------------------------------------------------


def transposed(notes: Mapping[int, Note], semitones: int) -> dict[int, Note] | None:
    """The notes ``semitones`` higher, or None when one would leave the MIDI range."""
    if min(n.pitch for n in notes.values()) + semitones < 0 or \
            max(n.pitch for n in notes.values()) + semitones > 127:
        return None
    return {i: n.moved(pitch=n.pitch + semitones) for i, n in notes.items()}


def shift_offset(notes: Iterable[Note], dt: int) -> int:
    """``dt``, clamped so no note starts before 0."""
    return max(dt, -min(n.start for n in notes))


def quantized(notes: Mapping[int, Note], score, grid: int, step: int) -> dict[int, Note]:
    """Start and end on the nearest ``grid`` lines (0: whole ticks), at least ``step``
    long."""
    out = {}
    for i, n in notes.items():
        start = snap_round(score, n.start, grid)
        end = max(start + step, snap_round(score, n.end, grid))
        out[i] = n.moved(start=start, duration=end - start)
    return out


def duplicated(notes: Iterable[Note], step: int) -> list[Note]:
    """Copies just after the notes' span, that span rounded up to whole ``step`` s
    (unlocked: a copy is new material)."""
    notes = list(notes)
    first, last = min(n.start for n in notes), max(n.end for n in notes)
    offset = -(-(last - first) // step) * step
    return [n.moved(start=n.start + offset, locked=False) for n in notes]


def pasted(clipboard: Iterable[Note], at: int, active_track: int,
           track_count: int) -> list[Note]:
    """The clipboard's notes starting at ``at``, unlocked. One voice pastes onto the
    active voice; several keep theirs where they exist here (the clipboard may come
    from another piece, or from voices since undone)."""
    clipboard = list(clipboard)
    first = min(n.start for n in clipboard)
    voices = {n.track for n in clipboard}

    def target(track: int) -> int:
        return active_track if len(voices) == 1 or track >= track_count else track

    return [n.moved(start=n.start - first + at, locked=False, track=target(n.track))
            for n in clipboard]


def clamp_velocity(velocity: float) -> int:
    return max(1, min(127, int(velocity)))


def with_velocity_change(notes: Mapping[int, Note], delta: int) -> dict[int, Note]:
    return {i: n.moved(velocity=clamp_velocity(n.velocity + delta)) for i, n in notes.items()}


def velocity_at(y: float, height: int) -> int:
    """The velocity a point ``y`` pixels down a lane ``height`` tall stands for (4 px
    margins at the top and bottom)."""
    return max(1, min(127, int(round((height - 4 - y) / (height - 8) * 127))))


def lock_toggled(notes: Mapping[int, Note]) -> tuple[dict[int, Note], bool]:
    """All locked, unless all already are (then all unlocked); and whether it locks."""
    lock = not all(n.locked for n in notes.values())
    return {i: n.moved(locked=lock) for i, n in notes.items()}, lock


def fermata_toggled(notes: Mapping[int, Note]) -> tuple[dict[int, Note], bool]:
    """All marked as phrase ends, unless all already are (then all unmarked)."""
    mark = not all(n.fermata for n in notes.values())
    return {i: n.moved(fermata=mark) for i, n in notes.items()}, mark
