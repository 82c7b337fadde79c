"""The main window: composes the roll, panels, toolbars and the three controllers.

- :mod:`.actions`: every action as data (name, text, keys, slot, menu) in one registry,
  which builds them, lays out the menus and finds a key bound twice;
- :mod:`.file_controller`: new, open, save, export, recent files, recovery, dialogs;
- :mod:`.transport_controller`: play, stop, loop, metronome, the playhead.

The window itself holds the toolbars and their fields (snap, tempo, meter, key), the
docks, fitting the screen, preferences and closing. The public names others use
(``open_path``, ``export_midi``, ``play_pause``, ...) pass to the controllers.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSpinBox,
    QToolBar,
    QWidget,
)

from composer_app.music import KeySignature, TempoChange, TimeSignature, parse_key
from composer_app.music.theory import key_names
from composer_app.music.validate import MAX_BPM, MIN_BPM

from . import commands as cmd
from .actions import HELP, VIEW, ActionRegistry
from .audio_link import AudioLink
from .autosave import Autosaver
from .clip_drag import ClipDragHandle
from .document import Document
from .file_controller import APP_TITLE, FileController
from .generation import Generation
from .piano_roll import DEFAULT_KEY_H, DEFAULT_PX_PER_TICK, SNAP_TICKS, SNAPS, PianoRoll
from .piece_commands import PieceController
from .record_controller import RecordController
from .score_controller import ScoreController
from .settings import Settings
from .tracks_panel import TracksPanel
from .transport_controller import TransportController

KEY_NAMES = key_names()  # spelled as Key.name spells them, so a key always finds its entry


class MainWindow(QMainWindow):
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
        self._updating_fields = False
        self.transport = TransportController(self, self.audio, self.roll, self.doc)
        self.files = FileController(self, self.doc, self.settings, self.autosaver, self.roll,
                                    self.transport)

        self.piece = PieceController(self, self.doc, self.roll)  # Edit > Piece
        self.record = RecordController(self)  # MIDI keyboard: record, step entry
        self.action_registry = ActionRegistry(self)
        self.action_registry.build()
        self.action_registry.adopt(self.roll.edit_actions, "edit_")
        self.tool_actions = self.action_registry.groups["tool"]
        for a in self.tool_actions.values():
            a.triggered.connect(lambda: self.roll.setFocus())
        self.transport.attach(self.act_play, self.act_loop)
        self.record.attach(self.act_record, self.act_step_entry)
        self.act_record.setIcon(_record_icon())
        self.doc.loaded.connect(self.record.cancel)
        self.generation = Generation(self)  # Continue / Reharmonize (its actions first)
        # Generation sets its actions as act_<name> attributes (ui/generation.py).
        self.action_registry.adopt({k[4:]: v for k, v in vars(self).items()
                                    if k.startswith("act_") and k[4:] not in self.action_registry})
        self.action_registry.apply_overrides(self.settings.q)
        menus = self.action_registry.build_menus(self.menuBar())
        self.recent_menu = menus["recent"]
        self.recent_menu.aboutToShow.connect(lambda: self.files.fill_recent(self.recent_menu))
        self.view_menu, self.help_menu = menus[VIEW], menus[HELP]
        self._make_toolbars()
        self._make_docks()
        self.generation.install()
        self.score = ScoreController(self)  # the Score dock, chord labels, the checker

        self.roll.message.connect(lambda m: self.statusBar().showMessage(m, 4000))
        self.roll.selectionChanged.connect(self._selection_changed)
        self.roll.activeTrackChanged.connect(self.tracks.set_active)
        self.tracks.activeTrackChanged.connect(self.roll.set_active_track)
        self.doc.undo_stack.cleanChanged.connect(self._update_title)
        self.doc.pathChanged.connect(self._update_title)
        self.doc.metaChanged.connect(self._meta_to_fields)
        self.set_snap(self.settings.get("editor/snap"))
        self._update_title()
        self._meta_to_fields()
        self.transport.update_position()
        self.resize(self._first_size())
        geometry = self.settings.q.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.q.value("window/state")
        self._size_docks = state is None  # first start: the Score dock gets its share
        if state is not None:
            self.restoreState(state)  # docks and toolbars: shown, hidden, their sizes
        else:
            self._arrange_for_screen()
        self.act_velocity_lane.setChecked(self.settings.q.value("view/velocity_lane", "true")
                                          not in (False, "false", "0"))
        self.roll.laneChanged.connect(self._lane_shown)
        lane = str(self.settings.q.value("view/lane", "velocity"))
        lanes_on = self.act_velocity_lane.isChecked()
        self.roll.set_lane(lane)  # an unknown name: velocity
        self._lane_shown(self.roll.lane)
        self.act_velocity_lane.setChecked(lanes_on)
        for name in ("chord_lane", "chord_symbols"):
            action = getattr(self, f"act_{name}")
            on = self.settings.q.value(f"view/{name}", "true" if action.isChecked() else "false")
            action.setChecked(on not in (False, "false", "0"))
        self.fit_to_screen()
        self._fitted_on_show = False
        self.record.open_from_settings()  # the MIDI keyboard (none chosen: nothing opens)

    def named_actions(self) -> dict:
        """Every action by its stable name (``shortcuts/<name>`` overrides its keys)."""
        return self.action_registry.named()

    # -- what others call (passed to the controllers) ----------------------------------

    def warn(self, title: str, text: str) -> None:
        """Every user-facing error goes through here (tests replace it)."""
        QMessageBox.warning(self, title, text)

    def maybe_save(self) -> bool:
        return self.files.maybe_save()

    def file_new(self) -> None:
        self.files.new()

    def file_open(self) -> None:
        self.files.open()

    def open_path(self, path: str, ask: bool = True) -> bool:
        return self.files.open_path(path, ask)

    def file_save(self) -> bool:
        return self.files.save()

    def file_save_as(self) -> bool:
        return self.files.save_as()

    def save_to(self, path: str) -> bool:
        return self.files.save_to(path)

    def export_midi(self, path: str | None = None) -> bool:
        return self.files.export_midi(path)

    def export_musicxml(self, path: str | None = None) -> bool:
        return self.files.export_musicxml(path)

    def export_wav(self, path: str | None = None) -> None:
        self.files.export_wav(path)

    def export_score_svg(self, path: str | None = None) -> bool:
        return self.score.export_svg(path)

    def export_score_pdf(self, path: str | None = None) -> bool:
        return self.score.export_pdf(path)

    def clip_source(self):
        return self.files.clip_source()

    def offer_recovery(self, ask=None) -> bool:
        return self.files.offer_recovery(ask)

    def restore(self, item, all_items=()) -> bool:
        return self.files.restore(item, all_items)

    def play_pause(self) -> None:
        self.transport.play_pause()

    def stop(self) -> None:
        self.transport.stop()

    # -- construction ----------------------------------------------------------------

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
        self.snap_combo.currentTextChanged.connect(self.set_snap)
        tb.addWidget(self.snap_combo)
        tb.addSeparator()
        tb.addActions([self.act_zoom_out, self.act_zoom_in])
        tb.addSeparator()
        self.clip_handle = ClipDragHandle(self.files.clip_source)
        self.clip_handle.message.connect(lambda m: self.statusBar().showMessage(m, 4000))
        tb.addWidget(self.clip_handle)
        self.addToolBar(tb)
        self.main_toolbar = tb
        self.view_menu.addAction(tb.toggleViewAction())

        tb = QToolBar("Transport")
        tb.setObjectName("transport_toolbar")
        tb.setIconSize(QSize(18, 18))
        tb.addActions([self.act_home, self.act_play, self.act_stop, self.act_record,
                       self.act_loop, self.act_metronome])
        tb.addSeparator()
        self.position_display = self.transport.position_display
        tb.addWidget(self.position_display)
        self.record_indicator = self.record.indicator
        tb.addWidget(self.record_indicator).setVisible(False)
        self.record.stateChanged.connect(self._record_state)
        tb.addSeparator()
        tb.addWidget(QLabel(" Tempo "))
        self.tempo_spin = QDoubleSpinBox()
        # The range a Score holds (music/validate.py): a file's 3.58 bpm shows as itself.
        self.tempo_spin.setDecimals(2)
        self.tempo_spin.setRange(round(MIN_BPM, 2), MAX_BPM)
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
        # Enter in a number field hands the keys back to the roll: type a tempo, Enter,
        # Space plays it (in the field Space would replace the number).
        for spin in (self.tempo_spin, self.num_spin):
            spin.lineEdit().returnPressed.connect(self._keys_to_roll)
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
        # The side docks keep their full height; the Score dock sits under the roll only.
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        self.setCorner(Qt.BottomLeftCorner, Qt.LeftDockWidgetArea)

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
    WIDE_SCREEN = 1800
    FIRST_SIZE = QSize(1400, 860)  # the least a first start opens at (then fitted)

    def _first_size(self) -> QSize:
        """The size of a first start: 1400x860, or 85 % of a bigger screen's area (a
        1920 px screen gets a window wide enough for both panels beside the roll)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return self.FIRST_SIZE
        avail = screen.availableGeometry()
        return QSize(max(self.FIRST_SIZE.width(), int(avail.width() * 0.85)),
                     max(self.FIRST_SIZE.height(), int(avail.height() * 0.85)))

    def _arrange_for_screen(self) -> None:
        """First start (no saved layout): when the window opens narrower than WIDE_SCREEN
        (the screen's width or the window's, whichever is less) the Voices panel shares
        the right-hand dock with Generation as a tab, so the roll gets the width (in a
        1400 px window about 1000 px instead of 620)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        width = self.width() if screen is None else min(self.width(),
                                                        screen.availableGeometry().width())
        if width >= self.WIDE_SCREEN:
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
            if self._size_docks:  # once the window has its size
                QTimer.singleShot(0, lambda: self.resizeDocks(
                    [self.score.dock], [max(170, int(self.height() * 0.25))], Qt.Vertical))

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
        self.transport.update_position()

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

    def _keys_to_roll(self) -> None:
        self.roll.setFocus(Qt.OtherFocusReason)

    def _key_edited(self, text: str) -> None:
        if self._updating_fields:
            return
        key = None if text == "(none)" else parse_key(text)

        def change(meta):
            rest = [k for k in meta.key_signatures if k.tick > 0]
            meta.key_signatures = ([KeySignature(0, key)] if key else []) + rest
        cmd.edit_meta(self.doc, "Set key", change)

    def set_snap(self, name: str) -> None:
        """The grid by its name in ``SNAPS`` ("Off": none); unknown names: 1/16."""
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

    def set_chord_symbols(self, on: bool) -> None:
        """Chord symbols instead of roman numerals, in the lane and the score."""
        self.roll.chord_lane.symbols = bool(on)
        self.roll.chord_lane.update()
        if hasattr(self, "score"):
            self.score.set_symbols(bool(on))

    def _lane_shown(self, name: str) -> None:
        """The View menu follows the lane the roll shows (its selector or the menu)."""
        action = self.lane_group_actions().get(name)
        if action is not None and not action.isChecked():
            action.setChecked(True)
        if self.roll.lanes_on and not self.act_velocity_lane.isChecked():
            self.act_velocity_lane.setChecked(True)

    def lane_group_actions(self) -> dict:
        return self.action_registry.groups["lane"]

    def zoom_reset(self) -> None:
        self.roll.set_zoom(DEFAULT_PX_PER_TICK, DEFAULT_KEY_H)

    def _record_state(self) -> None:
        """The record indicator (in the transport toolbar) shows only while it has news."""
        for a in self.transport_toolbar.actions():
            if self.transport_toolbar.widgetForAction(a) is self.record_indicator:
                a.setVisible(bool(self.record_indicator.text()))

    def _selection_changed(self) -> None:
        n = len(self.roll.selection)
        if n:
            self.statusBar().showMessage(f"{n} note(s) selected", 2000)

    # -- preferences, about, close ---------------------------------------------------------

    def preferences(self) -> None:
        from .preferences import PreferencesDialog

        dlg = PreferencesDialog(self.settings, self, audio_state=self.audio.state(),
                                input_state=self.record.state())
        if dlg.exec():
            dlg.save()
            self.record.open_from_settings()
            self.autosaver.set_interval(self.settings.get("autosave/interval_s"))
            self.set_snap(self.settings.get("editor/snap"))
            self.generation.panel.set_device(self.settings.get("compute/device"))
            self.audio.reopen()

    def listening_test(self) -> None:
        """Help > Listening test…: the variations on show, blinded and rated."""
        from .listening_dialog import open_listening_test

        open_listening_test(self)

    def about(self) -> None:
        from composer_app import __version__

        QMessageBox.about(self, APP_TITLE, f"<b>{APP_TITLE}</b> {__version__}<br>"
                          "Piano roll, melody continuation and Bach-style reharmonization.")

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.files.maybe_save():
            event.ignore()
            return
        self.record.cancel()
        self.record.set_input(None)
        self.transport.stop()
        self.generation.shutdown()
        self.score.shutdown()
        self.audio.close()
        self.autosaver.timer.stop()
        self.autosaver.remove()
        self.settings.q.setValue("window/geometry", self.saveGeometry())
        self.settings.q.setValue("window/state", self.saveState())
        self.settings.q.setValue("view/velocity_lane", self.act_velocity_lane.isChecked())
        self.settings.q.setValue("view/lane", self.roll.lane)
        self.settings.q.setValue("view/chord_lane", self.act_chord_lane.isChecked())
        self.settings.q.setValue("view/chord_symbols", self.act_chord_symbols.isChecked())
        self.settings.sync()
        event.accept()


def _record_icon():
    """A red dot (QStyle has no record icon)."""
    from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

    pix = QPixmap(18, 18)
    pix.fill(Qt.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(QColor("#7a1014"))
    p.setBrush(QColor("#d8262d"))
    p.drawEllipse(3, 3, 12, 12)
    p.end()
    return QIcon(pix)
