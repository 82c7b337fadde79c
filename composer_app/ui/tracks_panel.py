"""The voice list: name, colour, mute, solo, GM instrument, MIDI channel (undoable edits)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from composer_app.music import Track
from composer_app.music.gm import PROGRAM_NAMES, free_melodic_channel

from . import commands as cmd
from .document import Document
from .piano_roll import track_color

COLS = ("", "Voice", "M", "S", "Instrument", "Ch")


class TracksPanel(QWidget):
    activeTrackChanged = Signal(int)

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.active = 0
        self._building = False
        self.table = QTableWidget(0, len(COLS))
        self.table.setHorizontalHeaderLabels(COLS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.Stretch)
        header.setMinimumSectionSize(24)
        self.table.setMinimumWidth(330)
        self.table.itemChanged.connect(self._name_edited)
        self.table.currentCellChanged.connect(lambda row, *_: self._row_selected(row))
        add = QPushButton("Add voice")
        add.clicked.connect(self.add_track)
        remove = QPushButton("Remove")
        remove.setToolTip("Remove the selected voice (only when it has no notes)")
        remove.clicked.connect(self.remove_track)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        doc.metaChanged.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        self._building = True
        tracks = self.doc.base.tracks
        self.table.setRowCount(len(tracks))
        for row, t in enumerate(tracks):
            swatch = QPixmap(14, 14)
            swatch.fill(track_color(row))
            item = QTableWidgetItem(QIcon(swatch), "")
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
            self.table.setItem(row, 0, item)
            name = QTableWidgetItem(t.name)
            self.table.setItem(row, 1, name)
            for col, attr in ((2, "mute"), (3, "solo")):
                box = QCheckBox()
                box.setChecked(getattr(t, attr))
                box.setToolTip("Mute" if attr == "mute" else "Solo")
                box.toggled.connect(lambda on, r=row, a=attr: self._set(r, a, on))
                self.table.setCellWidget(row, col, _centered(box))
            combo = QComboBox()
            combo.addItems([f"{i + 1} {n}" for i, n in enumerate(PROGRAM_NAMES)])
            combo.setCurrentIndex(t.program)
            combo.currentIndexChanged.connect(lambda i, r=row: self._set(r, "program", i))
            self.table.setCellWidget(row, 4, combo)
            spin = QSpinBox()
            spin.setRange(1, 16)
            spin.setValue(t.channel + 1)
            spin.valueChanged.connect(lambda v, r=row: self._set(r, "channel", v - 1))
            self.table.setCellWidget(row, 5, spin)
        self.active = min(self.active, len(tracks) - 1)
        self.table.selectRow(self.active)
        self._building = False

    def set_active(self, track: int) -> None:
        if track != self.active and 0 <= track < self.table.rowCount():
            self.active = track
            self._building = True
            self.table.selectRow(track)
            self._building = False

    def _row_selected(self, row: int) -> None:
        if self._building or row < 0:
            return
        self.active = row
        self.activeTrackChanged.emit(row)

    def _set(self, row: int, attr: str, value) -> None:
        if self._building:
            return

        def change(meta):
            setattr(meta.tracks[row], attr, value)
        cmd.edit_meta(self.doc, f"Set {attr}", change)

    def _name_edited(self, item: QTableWidgetItem) -> None:
        if self._building or item.column() != 1:
            return
        self._set(item.row(), "name", item.text().strip() or f"Voice {item.row() + 1}")

    def add_track(self) -> None:
        used = {t.channel for t in self.doc.base.tracks}
        channel = free_melodic_channel(used, 0)
        n = len(self.doc.base.tracks)

        def change(meta):
            meta.tracks.append(Track(f"Voice {n + 1}", channel, 0))
        cmd.edit_meta(self.doc, "Add voice", change)
        self.set_active(n)
        self.activeTrackChanged.emit(n)

    def remove_track(self) -> None:
        row = self.active
        tracks = self.doc.base.tracks
        if len(tracks) <= 1 or any(n.track == row for n in self.doc.notes.values()) \
                or row != len(tracks) - 1:
            self.window().statusBar().showMessage(
                "Only the last voice can be removed, and only when it has no notes", 4000)
            return

        def change(meta):
            meta.tracks.pop(row)
        cmd.edit_meta(self.doc, "Remove voice", change)


def _centered(widget: QWidget) -> QWidget:
    holder = QWidget()
    lay = QHBoxLayout(holder)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setAlignment(Qt.AlignCenter)
    lay.addWidget(widget)
    return holder


_ = QColor  # colour swatches come from piano_roll.track_color
