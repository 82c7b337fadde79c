"""Edit > Piece: transpose the whole piece, insert bars, delete bars; and the ruler's
tempo/meter/key marks. Each is one undo step (notes and meta in one macro); the
arithmetic is :mod:`.piece_edits`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QInputDialog

from . import commands as cmd
from . import piece_edits as pe
from .document import Document, ScoreMeta

if TYPE_CHECKING:
    from .piano_roll import PianoRoll


def _apply(doc: Document, text: str, changed: dict, added: list, deleted: set,
           meta: ScoreMeta, events=None) -> None:
    """One undo step: the notes, the meta and (``events(lists)`` -> lists) the events."""
    before = ScoreMeta.of(doc.base)
    changed = {i: n for i, n in changed.items() if i not in deleted and doc.notes[i] != n}
    base = doc.base
    lists = (base.channel_events, [e for e in base.text_events if e.kind != "marker"],
             base.system_events)
    moved = tuple(events(*lists)) if events is not None else lists
    events_change = any(list(x) != list(y) for x, y in zip(moved, lists))
    if not (changed or added or deleted or meta != before or events_change):
        return
    with cmd.one_step(doc, text):
        cmd.delete_notes(doc, deleted, text)
        cmd.change_notes(doc, changed, text)
        cmd.insert_notes(doc, added, text)
        if meta != before:
            doc.undo_stack.push(cmd.EditMeta(doc, text, before, meta))
        if events_change:
            doc.undo_stack.push(cmd.ReplaceEvents(doc, text, moved))


def transpose_piece(doc: Document, semitones: int) -> None:
    """Every note of every voice and every key signature, by ``semitones``."""
    if not semitones:
        return
    notes, meta = pe.transpose_piece(doc.notes, ScoreMeta.of(doc.base), semitones)
    _apply(doc, f"Transpose piece {semitones:+d}", notes, [], set(), meta)


def insert_bars(doc: Document, bar: int, count: int) -> None:
    """``count`` empty bars before 0-based ``bar``, of the meter of the bar before it."""
    if count <= 0:
        return
    score = pe.score_of(ScoreMeta.of(doc.base))
    at = score.bar_start(bar)
    bar_ticks = score.time_signature_at(max(at - 1, 0)).bar_ticks
    length = count * bar_ticks
    changed, added, meta = pe.insert_time(doc.notes, ScoreMeta.of(doc.base), at, length)
    _apply(doc, f"Insert {count} bar{'s' * (count != 1)}", changed, added, set(), meta,
           lambda *lists: [pe.insert_events(x, at, length) for x in lists])


def delete_bars(doc: Document, first: int, last: int) -> None:
    """Delete 0-based bars ``first``..``last`` across all voices."""
    score = pe.score_of(ScoreMeta.of(doc.base))
    a, b = score.bar_start(first), score.bar_start(last + 1)
    changed, deleted, meta = pe.delete_time(doc.notes, ScoreMeta.of(doc.base), a, b)
    count = last - first + 1
    _apply(doc, f"Delete {count} bar{'s' * (count != 1)}", changed, [], deleted, meta,
           lambda channel, text, system: (pe.delete_events(channel, a, b, keep_state=True),
                                          pe.delete_events(text, a, b),
                                          pe.delete_events(system, a, b)))


class PieceController:
    """The Piece submenu's slots (``window.piece``). ``ask_int(title, label, value, lo,
    hi)`` returns the number or None; tests replace it."""

    def __init__(self, window, doc: Document, roll: PianoRoll):
        self.window, self.doc, self.roll = window, doc, roll

    def ask_int(self, title: str, label: str, value: int, lo: int, hi: int) -> int | None:
        n, ok = QInputDialog.getInt(self.window, title, label, value, lo, hi)
        return n if ok else None

    def _message(self, text: str) -> None:
        self.roll.message.emit(text)

    def transpose(self) -> None:
        n = self.ask_int("Transpose piece", "Semitones (all voices and keys):", 0, -24, 24)
        if n:
            try:
                transpose_piece(self.doc, n)
            except ValueError as exc:
                self._message(str(exc))

    def playhead_bar(self) -> int:
        return self.doc.base.bar_of(self.roll.playhead)

    def insert_bars(self) -> None:
        bar = self.playhead_bar()
        n = self.ask_int("Insert bars", f"Empty bars to insert before bar {bar + 1}:", 1, 1, 64)
        if n:
            insert_bars(self.doc, bar, n)

    def selected_bars(self) -> tuple[int, int]:
        """The bars the selected notes lie in (first, last); none selected: the
        playhead's bar."""
        sel = self.roll.selected_notes().values()
        base = self.doc.base
        if not sel:
            bar = self.playhead_bar()
            return bar, bar
        return (base.bar_of(min(n.start for n in sel)),
                base.bar_of(max(n.end for n in sel) - 1))

    def delete_bars(self) -> None:
        first, last = self.selected_bars()
        delete_bars(self.doc, first, last)
        self.roll.set_selection(set())
