"""The piano roll's editing commands (each one undo step) and the keys that run them.

:class:`RollCommands` is a base class of :class:`~.piano_roll.PianoRoll`: it works on the
roll's document, selection, active voice, snap and playhead, computes the new notes with
:mod:`.roll_edits` and pushes them through :mod:`.commands`. ``EDIT_ACTIONS`` declares
the roll's actions as data; the main window lists them in its Edit menu and in its
shortcut registry (``edit_<name>``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from composer_app.music import Note

from . import commands as cmd
from . import roll_edits as edits

# The roll's editing keys (active while it or a child has focus): name (the window's
# ``edit_<name>`` for shortcut overrides), menu text, keys, the method and its arguments.
EDIT_ACTIONS = [
    ("select_all", "Select &All", ["Ctrl+A"], "select_all", ()),
    ("delete", "&Delete", ["Del", "Backspace"], "delete_selection", ()),
    ("copy", "&Copy", ["Ctrl+C"], "copy", ()),
    ("cut", "Cu&t", ["Ctrl+X"], "cut", ()),
    ("paste", "&Paste", ["Ctrl+V"], "paste", ()),
    ("duplicate", "D&uplicate", ["Ctrl+D"], "duplicate", ()),
    ("up", "Transpose Up a Semitone", ["Up"], "transpose", (1,)),
    ("down", "Transpose Down a Semitone", ["Down"], "transpose", (-1,)),
    ("octave_up", "Transpose Up an Octave", ["Shift+Up"], "transpose", (12,)),
    ("octave_down", "Transpose Down an Octave", ["Shift+Down"], "transpose", (-12,)),
    ("left", "Move Earlier", ["Left"], "shift_time", (-1,)),
    ("right", "Move Later", ["Right"], "shift_time", (1,)),
    ("quantize", "&Quantize", ["Q"], "quantize", ()),
    ("lock", "Lock/Unlock Notes", ["Ctrl+L"], "toggle_lock", ()),
    ("fermata", "&Fermata On/Off (Phrase End)", ["F"], "toggle_fermata", ()),
    ("vel_up", "Velocity +10", ["Ctrl+Up"], "change_velocity", (10,)),
    ("vel_down", "Velocity -10", ["Ctrl+Down"], "change_velocity", (-10,)),
]


class RollCommands:
    """Select all, delete, copy, cut, paste, duplicate, transpose, shift, quantize, lock,
    fermata and velocity on the roll's selection (mixed into the roll)."""

    _clipboard: list[Note]

    def _make_actions(self) -> None:
        self.edit_actions: dict[str, QAction] = {}
        for name, text, keys, method, args in EDIT_ACTIONS:
            a = QAction(text, self)
            a.setShortcuts([QKeySequence(k) for k in keys])
            a.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            slot = getattr(self, method)
            a.triggered.connect((lambda *_, s=slot, a=args: s(*a)) if args else slot)
            self.addAction(a)
            self.edit_actions[name] = a

    def select_all(self) -> None:
        self.set_selection(i for i, n in self.doc.notes.items() if n.track == self.active_track)

    def delete_selection(self) -> None:
        lane = self.lane_selection()  # a pedal span or bend range chosen last
        if lane is not None:
            lane.delete_selected()
            return
        if self.selection:
            cmd.delete_notes(self.doc, self.selection)

    def copy(self) -> None:
        notes = sorted(self.selected_notes().values(), key=lambda n: n.start)
        if notes:
            self._clipboard = notes
            self.message.emit(f"Copied {len(notes)} note(s)")

    def cut(self) -> None:
        if self.selection:
            self.copy()
            cmd.delete_notes(self.doc, self.selection, "Cut")

    def paste(self) -> None:
        if not self._clipboard:
            self.message.emit("Nothing to paste")
            return
        notes = edits.pasted(self._clipboard, self.snap_round(self.playhead), self.active_track,
                             len(self.doc.base.tracks))
        self.set_selection(cmd.insert_notes(self.doc, notes, "Paste"))

    def duplicate(self) -> None:
        notes = list(self.selected_notes().values())
        if notes:
            ids = cmd.insert_notes(self.doc, edits.duplicated(notes, self.snap_len), "Duplicate")
            self.set_selection(ids)

    def transpose(self, semitones: int) -> None:
        sel = self.selected_notes()
        if not sel:
            return
        changed = edits.transposed(sel, semitones)
        if changed is None:
            self.message.emit("Cannot transpose beyond the MIDI range")
            return
        cmd.change_notes(self.doc, changed, "Transpose", cmd.MERGE_TRANSPOSE)
        anchor = max(sel.values(), key=lambda n: n.pitch)
        self.previewPitch.emit(anchor.pitch + semitones, anchor.track)

    def shift_time(self, steps: int) -> None:
        sel = self.selected_notes()
        if not sel:
            return
        dt = edits.shift_offset(sel.values(), steps * self.snap_len)
        if dt:
            cmd.change_notes(self.doc, edits.moved_notes(sel, dt, 0), "Move notes",
                             cmd.MERGE_SHIFT)

    def quantize(self) -> None:
        sel = self.selected_notes() or {i: n for i, n in self.doc.notes.items()
                                        if n.track == self.active_track}
        if sel:
            cmd.change_notes(self.doc, edits.quantized(sel, self.doc.base, self.grid,
                                                       self.snap_len), "Quantize")

    def toggle_lock(self) -> None:
        sel = self.selected_notes()
        if not sel:
            return
        changed, lock = edits.lock_toggled(sel)
        cmd.change_notes(self.doc, changed, "Lock notes" if lock else "Unlock notes")

    def toggle_fermata(self) -> None:
        """Mark the selected notes as phrase ends, or unmark them when all are marked.

        One undo step, like lock; the harmonizer makes its cadences at these notes."""
        sel = self.selected_notes()
        if not sel:
            self.message.emit("Fermata: select the note(s) that end a phrase first")
            return
        changed, mark = edits.fermata_toggled(sel)
        cmd.change_notes(self.doc, changed, "Mark fermata" if mark else "Remove fermata")
        self.message.emit(f"Fermata {'marked on' if mark else 'removed from'} "
                          f"{len(sel)} note{'s' if len(sel) != 1 else ''}")

    def change_velocity(self, delta: int) -> None:
        sel = self.selected_notes()
        if sel:
            cmd.change_notes(self.doc, edits.with_velocity_change(sel, delta), "Velocity",
                             cmd.MERGE_VELOCITY)
