"""Signs the piano roll draws over its notes: the fermata (a phrase end).

Kept apart from ``piano_roll.py`` so the roll's paint loop stays a few batched calls.
The sign is drawn as a path (an arc over a dot) rather than the "𝄐" glyph, which many
system fonts lack. Its size follows the row height only within fixed bounds, so it stays
readable when the rows are squeezed and does not grow huge when they are tall; it does
not scale with the time zoom at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from composer_app.music import Note

SIGN_MIN_W, SIGN_MAX_W = 14.0, 26.0
SIGN_GAP = 1.5  # px between the sign and the top of its note
INK = QColor("#1a1a1a")
HALO = QColor(255, 255, 255, 230)


def sign_size(key_h: float) -> tuple[float, float]:
    """(width, height) of the fermata sign for rows ``key_h`` pixels tall."""
    w = max(SIGN_MIN_W, min(SIGN_MAX_W, key_h * 0.6 + 8.0))
    return w, w * 0.48


def sign_box(note_rect: QRectF, key_h: float) -> QRectF:
    """Where the sign goes for a note drawn at ``note_rect``: just above it, over its
    head (its first ``SIGN_MAX_W`` pixels) as a fermata sits over a notehead; centred
    on a note narrower than that."""
    w, h = sign_size(key_h)
    cx = note_rect.left() + min(note_rect.width(), SIGN_MAX_W) / 2
    return QRectF(cx - w / 2, note_rect.top() - SIGN_GAP - h, w, h)


def sign_path(box: QRectF) -> QPainterPath:
    """The arc (upper half of an ellipse) whose ends sit on the bottom of ``box``."""
    path = QPainterPath()
    arc = QRectF(box.left(), box.top(), box.width(), 2 * box.height())
    path.arcMoveTo(arc, 180)
    path.arcTo(arc, 180, -180)
    return path


def fermata_notes(roll, rect: QRect, moving: Iterable[int] = (), dt: int = 0, dp: int = 0,
                  dlen: int = 0, hidden: Iterable[int] = ()) -> list[Note]:
    """Notes with a fermata whose sign may meet ``rect``, as they are drawn now.

    Notes in ``moving`` are shown displaced by the drag (``dt``, ``dp``, ``dlen``);
    ``hidden`` ones (being erased) get no sign. The search reaches beyond ``rect`` by a
    sign's size, because the sign sticks out above and beside its note.
    """
    moving, hidden = set(moving), set(hidden)
    w, h = sign_size(roll.key_h)
    t0, t1 = roll.tick_at(rect.left() - w), roll.tick_at(rect.right() + w)
    lo = roll.pitch_at(rect.bottom() + h + SIGN_GAP + 1)
    hi = roll.pitch_at(rect.top())
    out = [n for i, n in roll.doc.index.overlapping(t0, t1)
           if n.fermata and lo <= n.pitch <= hi and i not in moving and i not in hidden]
    for i in moving:
        n = roll.doc.notes.get(i)
        if n is not None and n.fermata:
            out.append(n.moved(start=n.start + dt, pitch=n.pitch + dp,
                               duration=n.duration + dlen))
    return out


def paint_fermatas(p: QPainter, note_rects: Iterable[QRectF], key_h: float) -> None:
    """Draw a fermata over each rectangle: dark ink on a white halo, so it reads over
    any row shade and over other voices' notes."""
    boxes = [sign_box(r, key_h) for r in note_rects]
    if not boxes:
        return
    p.save()
    p.setRenderHint(QPainter.Antialiasing, True)
    arcs = QPainterPath()
    for box in boxes:
        arcs.addPath(sign_path(box))
    dot_r = max(1.4, boxes[0].height() * 0.18)
    dots = [QPointF(b.center().x(), b.bottom() - dot_r) for b in boxes]
    p.setBrush(Qt.NoBrush)
    p.setPen(QPen(HALO, 4.0, Qt.SolidLine, Qt.RoundCap))
    p.drawPath(arcs)
    p.setPen(QPen(HALO, 1.6))
    p.setBrush(INK)
    for c in dots:
        p.drawEllipse(c, dot_r + 0.6, dot_r + 0.6)
    p.setPen(QPen(INK, 1.7, Qt.SolidLine, Qt.RoundCap))
    p.setBrush(Qt.NoBrush)
    p.drawPath(arcs)
    p.restore()
