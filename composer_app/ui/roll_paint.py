"""Painting the piano roll's note canvas: rows, grid, notes, ghosts, overlays.

Functions of a painter, the exposed rectangle and the roll (read only: its geometry,
document, selection, ghosts and the gesture running). Drawn straight from the
:class:`Document` (no item per note): every paint walks only the notes that overlap the
exposed rectangle, found in the document's time-sorted index, and fills them in a few
batched ``drawRects`` calls. Ghost notes (variations) are dashed outlines, the notes
they would replace faded and struck through; locked notes hatched with a dark edge;
fermata signs from :mod:`.roll_marks`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen

from . import roll_marks

if TYPE_CHECKING:
    from .piano_roll import PianoRoll

VOICE_COLORS = ["#e0614a", "#3f8fd8", "#4cae5b", "#c28a2c", "#9a62c9", "#2fb3b0",
                "#d2559a", "#7f8c3a"]
BLACK_KEYS = {1, 3, 6, 8, 10}
REPLACED_STRIKE = QColor(170, 20, 20)  # the line through a note a variation replaces
PLAYHEAD = QColor(220, 40, 40)


def track_color(track: int) -> QColor:
    return QColor(VOICE_COLORS[track % len(VOICE_COLORS)])


def grid_lines(roll: PianoRoll, t0: float, t1: float):
    """(tick, level) for visible grid lines: 0 bar, 1 beat, 2 snap subdivision."""
    score = roll.doc.base
    bar = score.bar_of(max(0, int(t0)))
    sub = roll.snap if roll.snap > 0 and roll.snap * roll.px_per_tick >= 7 else 0
    while True:
        start = score.bar_start(bar)
        if start > t1:
            break
        sig = score.time_signature_at(start)
        end = start + sig.bar_ticks
        yield start, 0
        beat = sig.beat_ticks
        if beat * roll.px_per_tick >= 5:
            for t in range(start + beat, end, beat):
                if t0 <= t <= t1:
                    yield t, 1
        if sub:
            for t in range(start + sub, end, sub):
                if t % beat and t0 <= t <= t1 and (t - start) % beat:
                    yield t, 2
        bar += 1


def paint_canvas(p: QPainter, rect: QRect, roll: PianoRoll) -> None:
    """Everything in the exposed ``rect``, back to front."""
    paint_rows(p, rect, roll)
    paint_grid(p, rect, roll)
    paint_notes(p, rect, roll)
    paint_findings(p, rect, roll)
    if roll.gesture is not None:
        roll.gesture.paint_overlay(p)
    paint_playhead(p, rect, roll)


def paint_rows(p: QPainter, rect: QRect, roll: PianoRoll) -> None:
    """Rows of the key in force are lighter (each key change from its tick on);
    black-key rows a shade darker than white."""
    p.fillRect(rect, QColor("#ecece7"))
    scales = roll.scales
    for i, (tick, scale) in enumerate(scales):
        x0 = max(rect.left(), roll.x_of(tick)) if i else rect.left()
        x1 = min(rect.right() + 1, roll.x_of(scales[i + 1][0])) if i + 1 < len(scales) \
            else rect.right() + 1
        if x1 > x0:
            _paint_rows_in(p, rect, roll, x0, x1 - x0, scale)


def _paint_rows_in(p: QPainter, rect: QRect, roll: PianoRoll, x0: float, w: float,
                   scale: frozenset[int]) -> None:
    top, bottom = roll.pitch_at(rect.top()), roll.pitch_at(rect.bottom())
    colors = {(False, False): QColor("#ecece7"), (False, True): QColor("#e0e0da"),
              (True, False): QColor("#fbfbf4"), (True, True): QColor("#f0f0e6")}
    if not scale:  # no key: plain white/black rows
        colors[(False, False)] = colors[(True, False)]
        colors[(False, True)] = colors[(True, True)]
    c_line, f_line = QColor("#b8b8b0"), QColor("#d4d4cc")
    for pitch in range(bottom, top + 1):
        y = roll.y_of(pitch)
        pc = pitch % 12
        p.fillRect(QRectF(x0, y, w, roll.key_h), colors[(pc in scale, pc in BLACK_KEYS)])
        if pc in (0, 5):  # the B|C and E|F boundaries
            p.fillRect(QRectF(x0, y + roll.key_h - 1, w, 1), c_line if pc == 0 else f_line)


def paint_grid(p: QPainter, rect: QRect, roll: PianoRoll) -> None:
    t0, t1 = roll.tick_at(rect.left() - 1), roll.tick_at(rect.right() + 1)
    if roll.loop and roll.loop_on:
        a, b = roll.loop
        p.fillRect(QRectF(roll.x_of(a), rect.top(), (b - a) * roll.px_per_tick,
                          rect.height()), QColor(90, 160, 255, 28))
    colors = (QColor("#8c8c86"), QColor("#bdbdb6"), QColor("#dadad4"))
    lines: list[list[QRectF]] = [[], [], []]
    top, h = rect.top(), rect.height()
    for tick, level in grid_lines(roll, t0, t1):
        lines[level].append(QRectF(int(roll.x_of(tick)), top, 1, h))
    p.setPen(Qt.NoPen)
    for level in (2, 1, 0):
        if lines[level]:
            p.setBrush(colors[level])
            p.drawRects(lines[level])


def paint_notes(p: QPainter, rect: QRect, roll: PianoRoll) -> None:
    t0, t1 = roll.tick_at(rect.left()), roll.tick_at(rect.right() + 1)
    p_top, p_bottom = roll.pitch_at(rect.top()), roll.pitch_at(rect.bottom())
    g = roll.gesture
    moving = g.moving if g is not None else ()
    hidden = g.hidden if g is not None else ()
    groups: dict[tuple[int, int], list[QRectF]] = {}
    locked: list[QRectF] = []
    replaced: list[QRectF] = []
    ppt, kh = roll.px_per_tick, roll.key_h
    xoff = roll.horizontalScrollBar().value()
    yoff = roll.verticalScrollBar().value()
    sel, active = roll.selection, roll.active_track
    for i, n in roll.doc.index.overlapping(t0, t1):
        if moving and i in moving:
            continue
        if not (p_bottom <= n.pitch <= p_top) or i in hidden:
            continue
        r = QRectF(n.start * ppt - xoff, (127 - n.pitch) * kh - yoff,
                   max(2.0, n.duration * ppt), kh)
        state = 2 if i in sel else (1 if n.track == active else 0)
        groups.setdefault((n.track if state else -1 - n.track, state), []).append(r)
        if n.locked:
            locked.append(r)
        if i in roll.replaced_ids:
            replaced.append(r)
    if g is not None:
        for i in moving:
            n = roll.doc.notes.get(i)
            if n is not None:
                n = g.shown(n)
                groups.setdefault((n.track, 2), []).append(roll.note_rect(n))
        for n in g.preview:
            groups.setdefault((n.track, 2), []).append(roll.note_rect(n))
    # Other voices first (faint), then the active voice, then the selection on top.
    for (key, state), rects in sorted(groups.items(), key=lambda kv: kv[0][1]):
        track = key if state else -1 - key
        base = track_color(track)
        if state == 0:
            fill = QColor(base)
            fill.setAlpha(90)
            p.setPen(QPen(base.darker(110), 1))
        elif state == 1:
            fill = base
            p.setPen(QPen(base.darker(160), 1))
        else:
            fill = base.darker(135)
            p.setPen(QPen(QColor("#10243c"), 2))
        p.setBrush(fill)
        p.drawRects([r.adjusted(0.5, 0.5, -0.5, -0.5) for r in rects])
    if locked:
        p.setPen(QPen(QColor("#202020"), 2))
        p.setBrush(QBrush(QColor(0, 0, 0, 110), Qt.BDiagPattern))
        p.drawRects(locked)
    if replaced:  # what accepting the variation shown would remove: faded ...
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(255, 255, 255, 165))
        p.drawRects(replaced)
    if roll.ghost_notes:
        for n in roll.ghost_notes:
            if n.end < t0 or n.start > t1:
                continue
            c = track_color(n.track)
            p.setPen(QPen(c.darker(250), 2, Qt.DashLine))
            c.setAlpha(200)
            p.setBrush(c)
            p.drawRect(roll.note_rect(n).adjusted(0.5, 0.5, -0.5, -0.5))
    if roll.recording_notes:  # the take being recorded: the voice's colour, outlined red
        p.setPen(QPen(RECORDING, 2))
        for n in roll.recording_notes:
            if n.end < t0 or n.start > t1:
                continue
            p.setBrush(track_color(n.track))
            p.drawRect(roll.note_rect(n).adjusted(0.5, 0.5, -0.5, -0.5))
    if replaced:  # ... and struck through, over any ghost lying on them
        p.setPen(QPen(REPLACED_STRIKE, 2))
        for r in replaced:
            mid = r.center().y()
            p.drawLine(QPointF(r.left(), mid), QPointF(r.right(), mid))
    drag = g.offsets if moving else (0, 0, 0)
    signs = roll_marks.fermata_notes(roll, rect, moving, *drag, hidden=hidden)
    roll_marks.paint_fermatas(p, [roll.note_rect(n) for n in signs], kh)


RECORDING = QColor("#c0282d")  # the take being recorded (as the record indicator)
FINDING = QColor(214, 48, 42)  # the harmony checker's marks (and the score's notes)


def paint_findings(p: QPainter, rect: QRect, roll: PianoRoll) -> None:
    """The harmony checker's findings: each involved note outlined, and a bracket at the
    finding's tick from its highest note to its lowest (the current one thicker)."""
    if not roll.findings:
        return
    t0, t1 = roll.tick_at(rect.left() - 4), roll.tick_at(rect.right() + 4)
    notes = roll.doc.notes
    p.save()
    p.setBrush(Qt.NoBrush)
    for k, (start, end, ids) in enumerate(roll.findings):
        if end < t0 or start > t1:
            continue
        found = [notes[i] for i in ids if i in notes]
        if not found:
            continue
        current = k == roll.current_finding
        p.setPen(QPen(FINDING, 2.5 if current else 1.5))
        for n in found:
            p.drawRoundedRect(roll.note_rect(n).adjusted(-2, -2, 2, 2), 3, 3)
        x = roll.x_of(start) - 4
        top = min(roll.y_of(n.pitch) for n in found)
        bottom = max(roll.y_of(n.pitch) for n in found) + roll.key_h
        p.drawPolyline([QPointF(x + 4, top), QPointF(x, top), QPointF(x, bottom),
                        QPointF(x + 4, bottom)])
    p.restore()


def paint_playhead(p: QPainter, rect: QRect, roll: PianoRoll) -> None:
    x = roll.x_of(roll.playhead)
    if rect.left() - 2 <= x <= rect.right() + 2:
        p.setPen(QPen(PLAYHEAD, 2))
        p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom() + 1))
