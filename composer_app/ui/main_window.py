"""The main window: menus, toolbars, piano roll, voices, transport, files, autosave."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSpinBox,
    QStyle,
    QToolBar,
    QWidget,
)

from composer_app.music import (
    KeySignature,
    Score,
    TempoChange,
    TimeSignature,
    UserError,
    load_score,
    parse_key,
    save_score,
    write_midi,
    write_musicxml,
)
from composer_app.music.project import PROJECT_SUFFIX
from composer_app.music.theory import key_names

from . import commands as cmd
from .audio_link import AudioLink
from .autosave import Autosaver, Recoverable, find_recoverable, load_recoverable
from .clip_drag import ClipDragHandle
from .document import Document
from .generation import Generation
from .listening_dialog import open_listening_test
from .piano_roll import SNAP_TICKS, SNAPS, PianoRoll
from .settings import Settings
from .tracks_panel import TracksPanel

log = logging.getLogger(__name__)

APP_TITLE = "Composer"
OPEN_FILTER = ("Scores (*.mid *.midi *.musicxml *.xml *.mxl *.composer.json);;"
               "MIDI (*.mid *.midi);;MusicXML (*.musicxml *.xml *.mxl);;"
               f"Projects (*{PROJECT_SUFFIX});;All files (*)")
KEY_NAMES = key_names()  # spelled as Key.name spells them, so a key always finds its entry


def unique_keys(*keys) -> list[QKeySequence]:
    """Key sequences in order, each once (Qt finds a key bound twice ambiguous)."""
    out: list[QKeySequence] = []
    for k in keys:
        seq = QKeySequence(k)
        if not seq.isEmpty() and seq not in out:
            out.append(seq)
    return out


class MainWindow(QMainWindow):
    _wavDone = Signal(str)

    def __init__(self, settings: Settings | None = None, parent=None):
        super().__init__(parent)
        self.settings = settings or Settings()
        self.doc = Document(parent=self)
        self.roll = PianoRoll(self.doc)
        self.setCentralWidget(self.roll)
        self.audio = AudioLink(self.settings, self)
        self.audio.message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.audio.ready.connect(lambda d: self.statusBar().showMessage(f"Audio: {d}", 4000))
        self.autosaver = Autosaver(self.doc, self.settings.get("autosave/interval_s"), parent=self)
        self.autosaver.failed.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self._wavDone.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(33)  # ~30 Hz playhead
        self._play_timer.timeout.connect(self._poll_playhead)
        self._updating_fields = False
        self.audio.finished.connect(self._playback_finished)
        self._live_update = QTimer(self)  # edits reach a running playback, debounced
        self._live_update.setSingleShot(True)
        self._live_update.setInterval(120)
        # What is playing: the piece, or a variation laid over it (Generation's Listen).
        # Edits during playback are rebuilt from the same source.
        self.play_source = self.doc.score
        self._live_update.timeout.connect(lambda: self.audio.set_score(self.play_source()))
        self.doc.notesChanged.connect(self._edited_while_playing)
        self.doc.metaChanged.connect(self._edited_while_playing)

        self._make_actions()
        self.generation = Generation(self)  # Continue / Reharmonize (its actions first)
        self._apply_shortcut_overrides()
        self._make_menus()
        self._make_toolbars()
        self._make_docks()
        self.generation.install()

        self.roll.message.connect(lambda m: self.statusBar().showMessage(m, 4000))
        self.roll.previewPitch.connect(self._preview)
        self.roll.playheadMoved.connect(self._playhead_set_by_user)
        self.roll.loopChanged.connect(self._loop_changed)
        self.roll.selectionChanged.connect(self._selection_changed)
        self.roll.activeTrackChanged.connect(self.tracks.set_active)
        self.tracks.activeTrackChanged.connect(self.roll.set_active_track)
        self.doc.undo_stack.cleanChanged.connect(self._update_title)
        self.doc.pathChanged.connect(self._update_title)
        self.doc.metaChanged.connect(self._meta_to_fields)
        self._set_snap(self.settings.get("editor/snap"))
        self._update_title()
        self._meta_to_fields()
        self._update_position()
        self.resize(1400, 860)
        geometry = self.settings.q.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.q.value("window/state")
        if state is not None:
            self.restoreState(state)  # docks and toolbars: shown, hidden, their sizes
        else:
            self._arrange_for_screen()
        self.act_velocity_lane.setChecked(self.settings.q.value("view/velocity_lane", "true")
                                          not in (False, "false", "0"))
        self.fit_to_screen()
        self._fitted_on_show = False

    # -- construction ----------------------------------------------------------------

    def _act(self, text, slot, shortcut=None, icon=None, checkable=False, tip=None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if icon is not None:
            a.setIcon(self.style().standardIcon(icon))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _make_actions(self) -> None:
        S = QStyle.StandardPixmap
        K = QKeySequence.StandardKey
        self.act_new = self._act("&New", self.file_new, K.New, S.SP_FileIcon)
        self.act_open = self._act("&Open…", self.file_open, K.Open, S.SP_DirOpenIcon)
        self.act_save = self._act("&Save", self.file_save, K.Save, S.SP_DialogSaveButton)
        self.act_save_as = self._act("Save &As…", self.file_save_as, K.SaveAs)
        self.act_export_midi = self._act("Export &MIDI…", self.export_midi, "Ctrl+E")
        self.act_export_xml = self._act("Export Music&XML…", self.export_musicxml)
        self.act_export_wav = self._act("Export &Audio (WAV)…", self.export_wav)
        self.act_prefs = self._act("&Preferences…", self.preferences, K.Preferences)
        self.act_quit = self._act("&Quit", self.close, K.Quit)
        stack = self.doc.undo_stack
        self.act_undo = stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(K.Undo)
        self.act_undo.setIcon(self.style().standardIcon(S.SP_ArrowBack))
        self.act_redo = stack.createRedoAction(self, "&Redo")
        # Both usual redo keys on every platform, each once: on X11 the platform's Redo
        # is Ctrl+Shift+Z itself, and a key bound twice to one action is "ambiguous" to
        # Qt, so neither fired (and Ctrl+Y was not bound at all).
        self.act_redo.setShortcuts(unique_keys(*QKeySequence.keyBindings(K.Redo),
                                               "Ctrl+Shift+Z", "Ctrl+Y"))
        self.act_redo.setIcon(self.style().standardIcon(S.SP_ArrowForward))
        self.addActions([self.act_undo, self.act_redo])

        self.tool_group = QActionGroup(self)
        self.tool_actions = {}
        for name, text, key in (("select", "Select", "S"), ("draw", "Draw", "D"),
                                ("erase", "Erase", "E")):
            a = self._act(text, lambda _=False, n=name: self.roll.set_tool(n), key,
                          checkable=True, tip=f"{text} tool ({key})")
            self.tool_group.addAction(a)
            self.tool_actions[name] = a
        self.tool_actions["draw"].setChecked(True)
        for a in self.tool_actions.values():
            a.triggered.connect(lambda: self.roll.setFocus())

        self.act_play = self._act("&Play/Pause", self.play_pause, "Space", S.SP_MediaPlay,
                                  tip="Play from the playhead / pause (Space)")
        self.act_stop = self._act("&Stop", self.stop, "Ctrl+Space", S.SP_MediaStop,
                                  tip="Stop (Ctrl+Space)")
        self.act_home = self._act("Go to Start", self.go_home, "Home", S.SP_MediaSkipBackward)
        self.act_loop = self._act("&Loop", self.toggle_loop, "L", checkable=True,
                                  tip="Loop the ruler range (drag on the ruler to set it)")
        self.act_metronome = self._act("&Metronome", self.audio.set_metronome, "M",
                                       checkable=True, tip="Metronome (M)")
        self.act_follow = self._act("Follow Playhead", self._set_follow, checkable=True)
        self.act_follow.setChecked(True)
        self.act_zoom_in = self._act("Zoom &In", lambda: self.roll.zoom(1.25), K.ZoomIn)
        # Ctrl+= too (Ctrl++ is Ctrl+Shift+= on most layouts). The row zooms keep off
        # Ctrl+Shift+=: Qt matches that key as Ctrl++ as well ("ambiguous": nothing ran).
        self.act_zoom_in.setShortcuts(unique_keys(*QKeySequence.keyBindings(K.ZoomIn),
                                                  "Ctrl+="))
        self.act_zoom_out = self._act("Zoom &Out", lambda: self.roll.zoom(0.8), K.ZoomOut)
        self.act_vzoom_in = self._act("Taller Rows", lambda: self.roll.zoom(1, 1.2),
                                      "Ctrl+Alt+=")
        self.act_vzoom_out = self._act("Shorter Rows", lambda: self.roll.zoom(1, 1 / 1.2),
                                       "Ctrl+Alt+-")
        self.act_zoom_reset = self._act("Reset Zoom", self._zoom_reset, "Ctrl+0")
        self.act_velocity_lane = self._act("&Velocity Lane", lambda *_: None, checkable=True,
                                           tip="Show the velocity lane under the notes")
        self.act_velocity_lane.setChecked(True)
        self.act_velocity_lane.toggled.connect(self.roll.set_velocity_lane_visible)

    def named_actions(self) -> dict[str, QAction]:
        """Every action with a shortcut, by a stable name (for user overrides)."""
        named = {k[4:]: v for k, v in vars(self).items()
                 if k.startswith("act_") and isinstance(v, QAction)}
        named.update({f"tool_{k}": v for k, v in self.tool_actions.items()})
        named.update({f"edit_{k}": v for k, v in self.roll.edit_actions.items()})
        return named

    def _apply_shortcut_overrides(self) -> None:
        """Defaults live in the code above; ``shortcuts/<name>`` in QSettings overrides
        them ("" removes one; several separated by ";")."""
        for name, action in self.named_actions().items():
            value = self.settings.q.value(f"shortcuts/{name}")
            if value is not None:
                keys = [k for k in str(value).split(";") if k.strip()]
                action.setShortcuts([QKeySequence(k.strip()) for k in keys])

    def _make_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions([self.act_new, self.act_open])
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addSeparator()
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addActions([self.act_export_midi, self.act_export_xml, self.act_export_wav])
        m.addSeparator()
        m.addAction(self.act_prefs)
        m.addSeparator()
        m.addAction(self.act_quit)

        m = mb.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        a = self.roll.edit_actions
        for group in (("cut", "copy", "paste", "duplicate", "delete", "select_all"),
                      ("up", "down", "octave_up", "octave_down", "left", "right"),
                      ("quantize", "vel_up", "vel_down", "lock", "fermata")):
            m.addActions([a[k] for k in group])
            m.addSeparator()
        m.addActions(list(self.tool_actions.values()))

        m = mb.addMenu("&View")
        m.addActions([self.act_zoom_in, self.act_zoom_out, self.act_vzoom_in,
                      self.act_vzoom_out, self.act_zoom_reset])
        m.addSeparator()
        m.addAction(self.act_follow)
        m.addSeparator()
        m.addAction(self.act_velocity_lane)  # toolbars and panels follow (_make_*)
        self.view_menu = m

        m = mb.addMenu("&Transport")
        m.addActions([self.act_play, self.act_stop, self.act_home, self.act_loop,
                      self.act_metronome])
        self.help_menu = mb.addMenu("&Help")
        self.help_menu.addAction(self._act("&Listening test…", lambda: open_listening_test(self)))
        self.help_menu.addAction(self._act("&About", self._about))

    def _make_toolbars(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setIconSize(QSize(18, 18))
        tb.addActions([self.act_new, self.act_open, self.act_save])
        tb.addSeparator()
        tb.addActions([self.act_undo, self.act_redo])
        tb.addSeparator()
        tb.addActions(list(self.tool_actions.values()))
        tb.addSeparator()
        tb.addWidget(QLabel(" Snap "))
        self.snap_combo = QComboBox()
        self.snap_combo.addItems([name for name, _ in SNAPS] + ["Off"])
        self.snap_combo.setToolTip("Grid for drawing, moving and quantize (Alt/Shift-drag "
                                   "bypasses it)")
        self.snap_combo.currentTextChanged.connect(self._set_snap)
        tb.addWidget(self.snap_combo)
        tb.addSeparator()
        tb.addActions([self.act_zoom_out, self.act_zoom_in])
        tb.addSeparator()
        self.clip_handle = ClipDragHandle(self.clip_source)
        self.clip_handle.message.connect(lambda m: self.statusBar().showMessage(m, 4000))
        tb.addWidget(self.clip_handle)
        self.addToolBar(tb)
        self.main_toolbar = tb
        self.view_menu.addAction(tb.toggleViewAction())

        tb = QToolBar("Transport")
        tb.setObjectName("transport_toolbar")
        tb.setIconSize(QSize(18, 18))
        tb.addActions([self.act_home, self.act_play, self.act_stop, self.act_loop,
                       self.act_metronome])
        tb.addSeparator()
        self.position_display = QLabel()
        self.position_display.setMinimumWidth(110)
        self.position_display.setStyleSheet(
            "QLabel { font-family: monospace; font-size: 14px; padding: 2px 8px;"
            " background: #20242a; color: #9fe29f; border-radius: 3px; }")
        self.position_display.setToolTip("Playhead: bar.beat.tick")
        tb.addWidget(self.position_display)
        tb.addSeparator()
        tb.addWidget(QLabel(" Tempo "))
        self.tempo_spin = QDoubleSpinBox()
        self.tempo_spin.setRange(20, 300)
        self.tempo_spin.setDecimals(1)
        self.tempo_spin.setSuffix(" bpm")
        self.tempo_spin.setKeyboardTracking(False)
        self.tempo_spin.valueChanged.connect(self._tempo_edited)
        tb.addWidget(self.tempo_spin)
        tb.addWidget(QLabel(" Meter "))
        self.num_spin = QSpinBox()
        self.num_spin.setRange(1, 32)
        self.num_spin.setKeyboardTracking(False)
        self.num_spin.valueChanged.connect(self._meter_edited)
        tb.addWidget(self.num_spin)
        tb.addWidget(QLabel("/"))
        self.den_combo = QComboBox()
        self.den_combo.addItems(["2", "4", "8", "16"])
        self.den_combo.currentTextChanged.connect(self._meter_edited)
        tb.addWidget(self.den_combo)
        tb.addWidget(QLabel(" Key "))
        self.key_combo = QComboBox()
        self.key_combo.addItems(["(none)"] + KEY_NAMES)
        self.key_combo.setToolTip("Key signature; its scale is highlighted in the roll")
        self.key_combo.currentTextChanged.connect(self._key_edited)
        tb.addWidget(self.key_combo)
        self.addToolBarBreak()
        self.addToolBar(tb)
        self.transport_toolbar = tb
        self.view_menu.addAction(tb.toggleViewAction())
        self.view_menu.addSeparator()  # the panels' toggles come next

    def _make_docks(self) -> None:
        self.tracks = TracksPanel(self.doc)
        dock = QDockWidget("Voices", self)
        dock.setObjectName("voices_dock")
        dock.setWidget(self.tracks)
        self.addDockWidget(Qt.LeftDockWidgetArea, dock)
        self.tracks_dock = dock
        self.resizeDocks([dock], [360], Qt.Horizontal)
        self.view_menu.addAction(dock.toggleViewAction())

    def add_panel(self, widget: QWidget, title: str,
                  area: Qt.DockWidgetArea = Qt.RightDockWidgetArea) -> QDockWidget:
        """Dock a panel (part 2: the generation panel goes on the right)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower().replace(" ", "_") + "_dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.view_menu.addAction(dock.toggleViewAction())
        return dock

    # -- fitting the screen ------------------------------------------------------------

    # Room for a window manager's frame while the real one is not known (before show).
    FRAME_GUESS = QSize(8, 36)

    def fit_to_screen(self) -> None:
        """Keep the whole window (frame included) inside the available area of the screen
        it is on: a default or saved size too big for this screen shrinks, a position off
        it moves back. The layout inside (docks, toolbars) adapts to the smaller size."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None or self.isMaximized() or self.isFullScreen():
            return
        avail = screen.availableGeometry()
        frame, inner = self.frameGeometry(), self.geometry()
        extra = QSize(frame.width() - inner.width(), frame.height() - inner.height())
        if extra.isNull():
            extra = self.FRAME_GUESS
        width = min(inner.width(), avail.width() - extra.width())
        height = min(inner.height(), avail.height() - extra.height())
        if (width, height) != (inner.width(), inner.height()):
            self.resize(max(width, 200), max(height, 200))
        frame = self.frameGeometry()
        x = min(max(frame.x(), avail.x()), avail.right() + 1 - frame.width())
        y = min(max(frame.y(), avail.y()), avail.bottom() + 1 - frame.height())
        if (x, y) != (frame.x(), frame.y()):
            self.move(max(x, avail.x()), max(y, avail.y()))

    # Narrower than this, the two panels side by side leave the roll too little width.
    WIDE_SCREEN = 1500

    def _arrange_for_screen(self) -> None:
        """First start (no saved layout): on a screen narrower than WIDE_SCREEN the Voices
        panel shares the right-hand dock with Generation as a tab, so the roll gets the
        width (at 1280 px about 880 px instead of 570)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None or screen.availableGeometry().width() >= self.WIDE_SCREEN:
            return
        gen = self.generation.dock
        self.addDockWidget(Qt.RightDockWidgetArea, self.tracks_dock)
        self.tabifyDockWidget(gen, self.tracks_dock)
        self.tracks_dock.raise_()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._fitted_on_show:  # a size set after construction fits too, and
            self._fitted_on_show = True  # once a window manager has framed it, with its frame
            self.fit_to_screen()
            QTimer.singleShot(0, self.fit_to_screen)

    # -- title, fields ---------------------------------------------------------------

    def _update_title(self, *_):
        try:
            modified = self.doc.modified
        except RuntimeError:  # the undo stack is being destroyed with the window
            return
        self.setWindowTitle(f"{self.doc.display_name}[*] — {APP_TITLE}")
        self.setWindowModified(modified)

    def _meta_to_fields(self) -> None:
        self._updating_fields = True
        base = self.doc.base
        self.tempo_spin.setValue(base.tempo_at(0))
        sig = base.time_signature_at(0)
        self.num_spin.setValue(sig.numerator)
        self.den_combo.setCurrentText(str(sig.denominator))
        key = base.key
        self.key_combo.setCurrentText(key.name if key else "(none)")
        self._updating_fields = False
        self._update_position()

    def _tempo_edited(self, bpm: float) -> None:
        if self._updating_fields:
            return

        def change(meta):
            rest = [t for t in meta.tempos if t.tick > 0]
            meta.tempos = [TempoChange(0, float(bpm))] + rest
        cmd.edit_meta(self.doc, "Set tempo", change)

    def _meter_edited(self, *_):
        if self._updating_fields:
            return
        num, den = self.num_spin.value(), int(self.den_combo.currentText())

        def change(meta):
            rest = [t for t in meta.time_signatures if t.tick > 0]
            meta.time_signatures = [TimeSignature(0, num, den)] + rest
        cmd.edit_meta(self.doc, "Set meter", change)

    def _key_edited(self, text: str) -> None:
        if self._updating_fields:
            return
        key = None if text == "(none)" else parse_key(text)

        def change(meta):
            rest = [k for k in meta.key_signatures if k.tick > 0]
            meta.key_signatures = ([KeySignature(0, key)] if key else []) + rest
        cmd.edit_meta(self.doc, "Set key", change)

    def _set_snap(self, name: str) -> None:
        if name not in SNAP_TICKS and name != "Off":
            name = "1/16"
        if self.snap_combo.currentText() != name:
            self.snap_combo.setCurrentText(name)
            return  # the combo's signal calls back
        self.roll.snap_enabled = name != "Off"
        if name != "Off":
            self.roll.snap = SNAP_TICKS[name]
        self.roll.last_length = None  # a new grid: clicks draw its length again
        self.roll.viewport().update()
        self.roll.setFocus()  # the editing keys act on the roll

    def _zoom_reset(self) -> None:
        from .piano_roll import DEFAULT_KEY_H, DEFAULT_PX_PER_TICK

        self.roll.set_zoom(DEFAULT_PX_PER_TICK, DEFAULT_KEY_H)

    def _set_follow(self, on: bool) -> None:
        self.roll.follow_playhead = on

    def _selection_changed(self) -> None:
        n = len(self.roll.selection)
        if n:
            self.statusBar().showMessage(f"{n} note(s) selected", 2000)

    def _update_position(self) -> None:
        bar, beat, tick = self.doc.base.tick_to_bar_beat(self.roll.playhead)
        self.position_display.setText(f"{bar:3d}.{beat}.{tick:03d}")

    # -- audio -------------------------------------------------------------------------

    def _preview(self, pitch: int, track: int) -> None:
        tracks = self.doc.base.tracks
        t = tracks[track] if 0 <= track < len(tracks) else None
        self.audio.preview(pitch, t.channel if t else 0, t.program if t else None)

    def _show_playing(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.act_play.setIcon(self.style().standardIcon(icon))

    def play_pause(self) -> None:
        if self.audio.is_playing:
            self.audio.pause()
            self._play_timer.stop()
            self._show_playing(False)
            return
        self._show_playing(True)
        if self.act_loop.isChecked() and self.roll.loop:
            self.audio.set_loop(*self.roll.loop)
        self.play_source = self.doc.score
        self.audio.play(self.play_source(), start_tick=self.roll.playhead)
        self._play_timer.start()

    def stop(self) -> None:
        self.audio.stop()
        self._play_timer.stop()
        self._show_playing(False)

    def go_home(self) -> None:
        playing = self.audio.is_playing
        self.stop()
        self.roll.set_playhead(0, follow=True)
        self._update_position()
        if playing:
            self.play_pause()

    def toggle_loop(self, on: bool) -> None:
        if on and not self.roll.loop:
            sel = self.roll.selected_notes().values()
            if sel:
                a = self.roll.snap_floor(min(n.start for n in sel))
                b = max(n.end for n in sel)
            else:
                a = self.doc.base.bar_start(self.doc.base.bar_of(self.roll.playhead))
                b = self.doc.base.bar_start(self.doc.base.bar_of(self.roll.playhead) + 4)
            self.roll.set_loop(a, b)
        self.audio.set_loop(*(self.roll.loop if on and self.roll.loop else (0, 0)))

    def _loop_changed(self, a: int, b: int) -> None:
        if b > a:
            self.act_loop.setChecked(True)
            self.audio.set_loop(a, b)
        else:
            self.act_loop.setChecked(False)
            self.audio.set_loop(0, 0)

    def _playhead_set_by_user(self, tick: int) -> None:
        self._update_position()
        if self.audio.is_playing:
            self.audio.seek(tick)

    def _edited_while_playing(self) -> None:
        if self.audio.is_playing:
            self._live_update.start()

    def _playback_finished(self) -> None:
        self._play_timer.stop()
        self._poll_playhead()

    def _poll_playhead(self) -> None:
        pos = self.audio.position_tick
        if pos is not None:
            self.roll.set_playhead(pos, follow=True)
            self._update_position()
        if not self.audio.is_playing and not self.audio._opening:
            self._play_timer.stop()
            self._show_playing(False)

    # -- files ----------------------------------------------------------------------------

    def _warn(self, title: str, text: str) -> None:
        """Every user-facing error goes through here (tests replace it)."""
        QMessageBox.warning(self, title, text)

    def _ask_save(self) -> QMessageBox.StandardButton:
        return QMessageBox.question(
            self, APP_TITLE, f"Save changes to {self.doc.display_name}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current piece."""
        if not self.doc.modified:
            return True
        answer = self._ask_save()
        if answer == QMessageBox.Save:
            return self.file_save()
        return answer == QMessageBox.Discard

    def file_new(self) -> None:
        if self.maybe_save():
            self.stop()
            self.doc.load(Score())
            self.autosaver.remove()
            self._fresh_view()

    def _fresh_view(self) -> None:
        """A piece just replaced the old one (New, Open): nothing selected, no loop, the
        playhead (and its display) at the start, the view at the start of the notes."""
        self.roll.set_selection(set())
        self.roll.set_loop(0, 0)
        self._loop_changed(0, 0)
        self.roll.set_playhead(0)
        self._update_position()
        self.roll.center_on_notes()
        self.roll.horizontalScrollBar().setValue(0)

    def file_open(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open", self._dialog_dir(open_=True),
                                              OPEN_FILTER)
        if path:
            self._remember_dir(path)
            self.open_path(path, ask=False)

    def open_path(self, path: str, ask: bool = True) -> bool:
        """Open ``path``; on failure show why and keep the current piece."""
        if ask and not self.maybe_save():
            return False
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            score = load_score(path)
        except UserError as exc:
            QApplication.restoreOverrideCursor()
            self._warn("Cannot open file", str(exc))
            return False
        except Exception as exc:  # a reader bug must not cost the user the open piece
            QApplication.restoreOverrideCursor()
            log.exception("reading %s failed", path)
            self._warn("Cannot open file", f"{path}: not readable ({type(exc).__name__}: {exc})")
            return False
        QApplication.restoreOverrideCursor()
        self.stop()
        self.doc.load(score, str(Path(path).resolve()))
        self.autosaver.remove()
        self.settings.add_recent(str(Path(path).resolve()))
        self._fresh_view()
        self.statusBar().showMessage(f"Opened {path} ({len(score.notes)} notes)", 4000)
        return True

    def file_save(self) -> bool:
        path = self.doc.path
        if path and path.endswith(PROJECT_SUFFIX):
            return self.save_to(path)
        return self.file_save_as()

    def file_save_as(self) -> bool:
        suggested = self._suggest(PROJECT_SUFFIX)
        path, _ = QFileDialog.getSaveFileName(self, "Save As", suggested,
                                              f"Projects (*{PROJECT_SUFFIX})")
        if not path:
            return False
        self._remember_dir(path)
        if not path.endswith(PROJECT_SUFFIX):
            path = str(Path(path).with_suffix("")) + PROJECT_SUFFIX
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        try:
            save_score(self.doc.score(), path)
        except UserError as exc:
            self._warn("Cannot save", str(exc))
            return False
        self.doc.set_path(str(Path(path).resolve()))
        self.doc.undo_stack.setClean()
        self.autosaver.remove()
        self.settings.add_recent(self.doc.path)
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def _suggest(self, suffix: str) -> str:
        name = self.doc.display_name
        for s in (PROJECT_SUFFIX, ".mid", ".midi", ".musicxml", ".xml", ".mxl"):
            if name.lower().endswith(s):
                name = name[: -len(s)]
        return str(Path(self._dialog_dir()) / (name + suffix))

    def _dialog_dir(self, open_: bool = False) -> str:
        """Where a file dialog starts: Open in the folder last used in any file dialog;
        Save and Export beside the open piece, else in that folder too. (The home folder
        only when none was ever used and no piece is open.)"""
        last = str(self.settings.q.value("files/last_dir") or "")
        if last and not Path(last).is_dir():
            last = ""
        if self.doc.path and not open_:
            return str(Path(self.doc.path).parent)
        if last:
            return last
        if self.doc.path:
            return str(Path(self.doc.path).parent)
        recent = self.settings.recent_files()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def _remember_dir(self, path: str) -> None:
        self.settings.set("files/last_dir", str(Path(path).resolve().parent))

    def export_midi(self, path: str | None = None) -> bool:
        path = path or QFileDialog.getSaveFileName(self, "Export MIDI", self._suggest(".mid"),
                                                   "MIDI (*.mid)")[0]
        if not path:
            return False
        self._remember_dir(path)
        return self._export(lambda: write_midi(self.doc.score(), path), path)

    def export_musicxml(self, path: str | None = None) -> bool:
        path = path or QFileDialog.getSaveFileName(self, "Export MusicXML",
                                                   self._suggest(".musicxml"),
                                                   "MusicXML (*.musicxml)")[0]
        if not path:
            return False
        self._remember_dir(path)
        return self._export(lambda: write_musicxml(self.doc.score(), path), path)

    def _export(self, write, path: str) -> bool:
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            write()
        except UserError as exc:
            self._warn("Cannot export", str(exc))
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self.statusBar().showMessage(f"Exported {path}", 4000)
        return True

    def export_wav(self, path: str | None = None) -> None:
        path = path or QFileDialog.getSaveFileName(self, "Export Audio", self._suggest(".wav"),
                                                   "WAV audio (*.wav)")[0]
        if not path:
            return
        self._remember_dir(path)
        score = self.doc.score()
        soundfont = self.settings.get("audio/soundfont") or None
        self.statusBar().showMessage(f"Rendering {path}…")

        def work():
            try:
                from composer_app.audio.render import render_to_wav

                summary = render_to_wav(score, path, soundfont=soundfont)
                self._wavDone.emit(f"Exported audio: {summary}")
            except ImportError:
                self._wavDone.emit("Audio export is not available in this build")
            except Exception as exc:  # UserError (no FluidSynth/soundfont) or a bug
                self._wavDone.emit(f"Audio export failed: {exc}")

        threading.Thread(target=work, name="render-wav", daemon=True).start()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for path in files:
            a = self.recent_menu.addAction(path)
            a.triggered.connect(lambda _=False, p=path: self.open_path(p))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear", self.settings.clear_recent)
        else:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def clip_source(self) -> tuple[Score, str]:
        """What the drag handle drags: the selection, else the whole piece."""
        base = self._suggest("")
        name = Path(base).name or "clip"
        if self.roll.selection:
            score = self.doc.score_of(self.roll.selection)
            first = min(n.start for n in score.notes)
            # Start the clip at the bar line before the selection, as DAWs expect.
            shift = self.doc.base.bar_start(self.doc.base.bar_of(first))
            score.notes = [n.moved(start=n.start - shift) for n in score.notes]
            return score, f"{name} selection"
        return self.doc.score(), name

    # -- recovery -------------------------------------------------------------------

    def offer_recovery(self, ask=None) -> bool:
        """Offer the newest autosave left by a crashed session; True when restored."""
        items = find_recoverable(self.autosaver.folder)
        if not items:
            return False
        item = items[0]
        ask = ask or self._ask_restore
        if not ask(item):
            for it in items:
                it.discard()
            return False
        return self.restore(item, items)

    def _ask_restore(self, item: Recoverable) -> bool:
        answer = QMessageBox.question(
            self, "Recover unsaved work",
            f"{APP_TITLE} did not close properly. Restore {item.describe()}?",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
        return answer == QMessageBox.Yes

    def restore(self, item: Recoverable, all_items=()) -> bool:
        try:
            score = load_recoverable(item)
        except UserError as exc:
            self._warn("Cannot restore", str(exc))
            return False
        self.doc.load(score, item.original)
        # Restored work is unsaved work: mark it modified with one undoable step.
        self.doc.undo_stack.resetClean()
        for it in (all_items or [item]):
            it.discard()
        self.autosaver.save_now(force=True)
        self.roll.center_on_notes()
        self.statusBar().showMessage(f"Restored {item.describe()}", 6000)
        return True

    # -- preferences, about, close ---------------------------------------------------------

    def preferences(self) -> None:
        from .preferences import PreferencesDialog

        dlg = PreferencesDialog(self.settings, self, audio_state=self.audio.state())
        if dlg.exec():
            dlg.save()
            self.autosaver.set_interval(self.settings.get("autosave/interval_s"))
            self._set_snap(self.settings.get("editor/snap"))
            self.generation.panel.set_device(self.settings.get("compute/device"))
            self.audio.reopen()

    def _about(self) -> None:
        from composer_app import __version__

        QMessageBox.about(self, APP_TITLE, f"<b>{APP_TITLE}</b> {__version__}<br>"
                          "Piano roll, melody continuation and Bach-style reharmonization.")

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.maybe_save():
            event.ignore()
            return
        self.stop()
        self.generation.shutdown()
        self.audio.close()
        self.autosaver.timer.stop()
        self.autosaver.remove()
        self.settings.q.setValue("window/geometry", self.saveGeometry())
        self.settings.q.setValue("window/state", self.saveState())
        self.settings.q.setValue("view/velocity_lane", self.act_velocity_lane.isChecked())
        self.settings.sync()
        event.accept()
