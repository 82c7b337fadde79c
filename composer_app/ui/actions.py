"""The main window's actions as data, and the registry that builds them.

Every window action is one :class:`Action` line in :data:`WINDOW_ACTIONS`: its stable
name (``window.act_<name>``, and ``shortcuts/<name>`` in QSettings to override its
keys), menu text, keys, slot (a dotted path from the window, e.g. ``"files.save"``,
with fixed arguments if any) and the menu it sits in, in order. Adding a menu entry is
one line here plus its slot, e.g.::

    Action("listening_test", "&Listening Test…", "listening_test", menu=HELP),

Actions made elsewhere join the registry by name (:meth:`ActionRegistry.adopt`): the
roll's editing actions (``edit_<name>``, ``roll_commands.EDIT_ACTIONS``) and
Generation's (``continue``, ``variation_next``, ...). So the registry knows every key
the window binds, and :meth:`ActionRegistry.clashes` finds a key bound twice (Qt calls
such a key "ambiguous" and runs neither action).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QStyle, QWidget

K = QKeySequence.StandardKey
FILE, EDIT, VIEW, TRANSPORT, HELP = "&File", "&Edit", "&View", "&Transport", "&Help"
PIECE = "piece"  # Edit > Piece


@dataclass(frozen=True)
class Every:
    """All of the platform's bindings of a standard key (``QKeySequence(k)`` alone is
    only its first)."""

    key: QKeySequence.StandardKey


@dataclass(frozen=True)
class Action:
    name: str
    text: str
    slot: str | None  # dotted path from the window; None: nothing connected
    keys: tuple = ()  # str, QKeySequence.StandardKey or Every(...)
    menu: str = ""  # the menu it is listed in ("" none), in declaration order
    args: tuple = ()  # the slot is called with these (and not with ``checked``)
    icon: str = ""  # a QStyle.StandardPixmap name
    tip: str = ""  # status tip and tooltip
    checkable: bool = False
    checked: bool = False
    signal: str = "triggered"  # or "toggled" (runs on setChecked too)
    group: str = ""  # exclusive QActionGroup
    make: str = ""  # a factory (dotted path) called as f(window, text) instead of QAction


@dataclass(frozen=True)
class Separator:
    menu: str


@dataclass(frozen=True)
class Listed:
    """An action registered elsewhere (adopted), listed in a menu here."""

    menu: str
    name: str


@dataclass(frozen=True)
class ListedGroup:
    """The actions of an exclusive group, listed in a menu."""

    menu: str
    group: str


@dataclass(frozen=True)
class Submenu:
    menu: str
    name: str
    text: str


def unique_keys(*keys) -> list[QKeySequence]:
    """Key sequences in order, each once (Qt finds a key bound twice ambiguous)."""
    out: list[QKeySequence] = []
    for k in keys:
        seq = QKeySequence(k)
        if not seq.isEmpty() and seq not in out:
            out.append(seq)
    return out


def key_sequences(keys) -> list[QKeySequence]:
    """The sequences an action's ``keys`` stand for (one key: exactly that sequence)."""
    if len(keys) == 1 and not isinstance(keys[0], Every):
        return [QKeySequence(keys[0])]
    expanded = []
    for k in keys:
        expanded.extend(QKeySequence.keyBindings(k.key) if isinstance(k, Every) else [k])
    return unique_keys(*expanded)


# US-layout shifted symbols: Qt matches Ctrl+Shift+= also as Ctrl++ (and so on), so two
# actions holding both forms make that key "ambiguous" and neither runs.
_SHIFTED = dict(zip("+_?:<>\"{}|~!@#$%^&*()", "=-/;,.'[]\\`1234567890", strict=True))
_MODS = ["Ctrl", "Alt", "Shift", "Meta"]


def typed(seq: QKeySequence) -> str:
    """A shortcut as the keys pressed: "Ctrl++" -> "Ctrl+Shift+="."""
    key = seq.toString()
    mods, _, last = key.rpartition("+") if not key.endswith("++") else (key[:-2], "+", "+")
    if last in _SHIFTED:
        parts = {m for m in mods.split("+") if m} | {"Shift"}
        return "+".join(sorted(parts, key=_MODS.index) + [_SHIFTED[last]])
    return key


def resolve(owner, path: str):
    obj = owner
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


class ActionRegistry:
    """Builds the actions of ``entries`` on ``window`` and knows them all by name."""

    def __init__(self, window: QWidget, entries=None):
        self.window = window
        self.entries = list(WINDOW_ACTIONS if entries is None else entries)
        self.actions: dict[str, QAction] = {}
        self.groups: dict[str, dict[str, QAction]] = {}
        self.menus: dict[str, QMenu] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.actions

    def __getitem__(self, name: str) -> QAction:
        return self.actions[name]

    def build(self) -> None:
        w = self.window
        for spec in self.entries:
            if isinstance(spec, Action):
                a = self._make(spec)
                w.addAction(a)
                self.actions[spec.name] = a
                setattr(w, f"act_{spec.name}", a)

    def _make(self, spec: Action) -> QAction:
        w = self.window
        a = resolve(w, spec.make)(w, spec.text) if spec.make else QAction(spec.text, w)
        if spec.keys:
            seqs = key_sequences(spec.keys)
            if len(spec.keys) == 1 and not isinstance(spec.keys[0], Every):
                a.setShortcut(seqs[0])
            else:
                a.setShortcuts(seqs)
        if spec.icon:
            a.setIcon(w.style().standardIcon(getattr(QStyle.StandardPixmap, spec.icon)))
        if spec.tip:
            a.setStatusTip(spec.tip)
            a.setToolTip(spec.tip)
        if spec.checkable:
            a.setCheckable(True)
            a.setChecked(spec.checked)
        if spec.slot is not None:
            slot = resolve(w, spec.slot)
            handler: Callable = (lambda *_, s=slot, x=spec.args: s(*x)) if spec.args else slot
            getattr(a, spec.signal).connect(handler)
        if spec.group:
            if spec.group not in self.groups:
                self.groups[spec.group] = {}
                setattr(w, f"{spec.group}_group", QActionGroup(w))
            getattr(w, f"{spec.group}_group").addAction(a)
            self.groups[spec.group][spec.name.removeprefix(spec.group + "_")] = a
        return a

    def adopt(self, actions: dict[str, QAction], prefix: str = "") -> None:
        """Actions made elsewhere join by name (for menus, overrides and clashes)."""
        for name, a in actions.items():
            self.actions[prefix + name] = a

    def build_menus(self, bar: QMenuBar) -> dict[str, QMenu]:
        for spec in self.entries:
            menu = self.menus.get(spec.menu)
            if menu is None and spec.menu:
                menu = self.menus[spec.menu] = bar.addMenu(spec.menu)
            if isinstance(spec, Separator):
                menu.addSeparator()
            elif isinstance(spec, Submenu):
                self.menus[spec.name] = menu.addMenu(spec.text)
            elif isinstance(spec, ListedGroup):
                menu.addActions(list(self.groups[spec.group].values()))
            elif isinstance(spec, (Action, Listed)) and spec.menu:
                menu.addAction(self.actions[spec.name])
        return self.menus

    def named(self) -> dict[str, QAction]:
        return dict(self.actions)

    def apply_overrides(self, q) -> None:
        """``shortcuts/<name>`` in QSettings ``q`` overrides the defaults above ("" removes
        them; several separated by ";")."""
        for name, action in self.actions.items():
            value = q.value(f"shortcuts/{name}")
            if value is not None:
                keys = [k for k in str(value).split(";") if k.strip()]
                action.setShortcuts([QKeySequence(k.strip()) for k in keys])

    def clashes(self) -> list[tuple[str, str, str]]:
        """(key as typed, first action, second action) for each key bound twice."""
        seen: dict[str, str] = {}
        out = []
        for name, action in self.actions.items():
            for seq in action.shortcuts():
                key = typed(seq)
                if key in seen and seen[key] != name:
                    out.append((key, seen[key], name))
                seen.setdefault(key, name)
        return out


def _edit(*names: str) -> list[Listed]:
    return [Listed(EDIT, f"edit_{n}") for n in names]


def _tool(name: str, text: str, key: str, checked: bool = False) -> Action:
    return Action(f"tool_{name}", text, "roll.set_tool", (key,), args=(name,), checkable=True,
                  checked=checked, tip=f"{text} tool ({key})", group="tool")


WINDOW_ACTIONS = [
    Action("new", "&New", "files.new", (K.New,), FILE, icon="SP_FileIcon"),
    Action("open", "&Open…", "files.open", (K.Open,), FILE, icon="SP_DirOpenIcon"),
    Submenu(FILE, "recent", "Open &Recent"),
    Separator(FILE),
    Action("save", "&Save", "files.save", (K.Save,), FILE, icon="SP_DialogSaveButton"),
    Action("save_as", "Save &As…", "files.save_as", (K.SaveAs,), FILE),
    Separator(FILE),
    Action("export_midi", "Export &MIDI…", "files.export_midi", ("Ctrl+E",), FILE),
    Action("export_xml", "Export Music&XML…", "files.export_musicxml", (), FILE),
    Action("export_wav", "Export &Audio (WAV)…", "files.export_wav", (), FILE),
    Action("export_svg", "Export Score as S&VG…", "export_score_svg", (), FILE,
           tip="The score view's engraving as SVG"),
    Action("export_pdf", "Export Score as &PDF…", "export_score_pdf", (), FILE,
           tip="The score view's engraving as PDF (A4)"),
    Separator(FILE),
    # X11 binds nothing to the platform's Preferences; Ctrl+, as most apps there (once
    # where it is the platform's own).
    Action("prefs", "&Preferences…", "preferences", (Every(K.Preferences), "Ctrl+,"), FILE),
    Separator(FILE),
    Action("quit", "&Quit", "close", (K.Quit,), FILE),

    Action("undo", "&Undo", None, (K.Undo,), EDIT, icon="SP_ArrowBack",
           make="doc.undo_stack.createUndoAction"),
    # Both usual redo keys on every platform, each once: on X11 the platform's Redo is
    # Ctrl+Shift+Z itself, and a key bound twice to one action is "ambiguous" to Qt.
    Action("redo", "&Redo", None, (Every(K.Redo), "Ctrl+Shift+Z", "Ctrl+Y"), EDIT,
           icon="SP_ArrowForward", make="doc.undo_stack.createRedoAction"),
    Separator(EDIT),
    *_edit("cut", "copy", "paste", "duplicate", "delete", "select_all"), Separator(EDIT),
    *_edit("up", "down", "octave_up", "octave_down", "left", "right"), Separator(EDIT),
    *_edit("quantize", "vel_up", "vel_down", "lock", "fermata"), Separator(EDIT),
    _tool("select", "Select", "S"),
    _tool("draw", "Draw", "D", checked=True),
    _tool("erase", "Erase", "E"),
    ListedGroup(EDIT, "tool"),
    Separator(EDIT),
    Action("step_entry", "Ste&p Entry (MIDI Keyboard)", "record.set_step_entry", ("N",), EDIT,
           checkable=True, signal="toggled",
           tip="Each key played adds a note of the snap length at the playhead (N)"),
    Separator(EDIT),
    Submenu(EDIT, PIECE, "&Piece"),
    Action("piece_transpose", "&Transpose Piece…", "piece.transpose", ("Ctrl+Alt+T",), PIECE,
           tip="Transpose every voice and the key signatures by semitones"),
    Action("piece_insert_bars", "&Insert Bars…", "piece.insert_bars", ("Ctrl+Alt+I",), PIECE,
           tip="Insert empty bars before the playhead's bar, across all voices"),
    Action("piece_delete_bars", "&Delete Bars", "piece.delete_bars", (), PIECE,
           tip="Delete the bars of the selected notes (or the playhead's bar), all voices"),

    # Ctrl+= too (Ctrl++ is Ctrl+Shift+= on most layouts). The row zooms keep off
    # Ctrl+Shift+=: Qt matches that key as Ctrl++ as well ("ambiguous": nothing ran).
    Action("zoom_in", "Zoom &In", "roll.zoom", (Every(K.ZoomIn), "Ctrl+="), VIEW,
           args=(1.25,)),
    Action("zoom_out", "Zoom &Out", "roll.zoom", (K.ZoomOut,), VIEW, args=(0.8,)),
    Action("vzoom_in", "Taller Rows", "roll.zoom", ("Ctrl+Alt+=",), VIEW, args=(1, 1.2)),
    Action("vzoom_out", "Shorter Rows", "roll.zoom", ("Ctrl+Alt+-",), VIEW, args=(1, 1 / 1.2)),
    Action("zoom_reset", "Reset Zoom", "zoom_reset", ("Ctrl+0",), VIEW),
    Separator(VIEW),
    Action("follow", "Follow Playhead", "transport.set_follow", (), VIEW, checkable=True,
           checked=True),
    Separator(VIEW),
    Action("velocity_lane", "Show &Lane Under the Notes", "roll.set_velocity_lane_visible",
           (), VIEW, checkable=True, checked=True, signal="toggled",
           tip="Show the lane under the notes (velocity, sustain pedal or pitch bend)"),
    Action("lane_velocity", "Lane: &Velocity", "roll.set_lane", ("Alt+1",), args=("velocity",),
           checkable=True, checked=True, group="lane",
           tip="The lane under the notes shows the velocities (Alt+1)"),
    Action("lane_pedal", "Lane: Sustain &Pedal", "roll.set_lane", ("Alt+2",), args=("pedal",),
           checkable=True, group="lane",
           tip="The lane under the notes shows the voice's sustain pedal (Alt+2)"),
    Action("lane_bend", "Lane: Pitch &Bend", "roll.set_lane", ("Alt+3",), args=("bend",),
           checkable=True, group="lane",
           tip="The lane under the notes shows the voice's pitch bend (Alt+3)"),
    ListedGroup(VIEW, "lane"),
    Action("chord_lane", "&Chord Labels", "roll.set_chord_lane_visible", (), VIEW,
           checkable=True, checked=True, signal="toggled",
           tip="Roman numerals of four-part music under the notes and the score's staves"),
    Action("chord_symbols", "Chord &Symbols", "set_chord_symbols", (), VIEW, checkable=True,
           signal="toggled", tip="Chord symbols (F#m, E7/G#) instead of roman numerals"),
    # (the toolbars' and panels' toggles follow, added by the window)

    Action("play", "&Play/Pause", "transport.play_pause", ("Space",), TRANSPORT,
           icon="SP_MediaPlay", tip="Play from the playhead / pause (Space)"),
    Action("stop", "&Stop", "transport.stop", ("Ctrl+Space",), TRANSPORT,
           icon="SP_MediaStop", tip="Stop (Ctrl+Space)"),
    Action("home", "Go to Start", "transport.go_home", ("Home",), TRANSPORT,
           icon="SP_MediaSkipBackward"),
    Action("loop", "&Loop", "transport.toggle_loop", ("L",), TRANSPORT, checkable=True,
           tip="Loop the ruler range (drag on the ruler to set it)"),
    Action("metronome", "&Metronome", "audio.set_metronome", ("M",), TRANSPORT,
           checkable=True, tip="Metronome (M)"),
    Action("record", "&Record", "record.toggle_record", ("R",), TRANSPORT, checkable=True,
           tip="Record from the MIDI keyboard into the current voice: a count-in, then "
               "one undo step per take (R starts and stops)"),

    Action("listening_test", "&Listening test…", "listening_test", (), HELP),
    Action("about", "&About", "about", (), HELP),
]
