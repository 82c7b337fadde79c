"""File > Open of an ABC book: choose the tune from a list (its X: number and title),
with a filter field for books of hundreds of tunes."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from composer_app.music.abc import AbcTune


class TuneChooser(QDialog):
    """The tunes of one book; :meth:`chosen` is the selected tune's X: number."""

    def __init__(self, parent, name: str, tunes: list[AbcTune]):
        super().__init__(parent)
        self.setWindowTitle(f"Choose a tune: {name}")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{name} holds {len(tunes)} tunes. Open which one?"))
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by title or number")
        self.filter.setClearButtonEnabled(True)
        layout.addWidget(self.filter)
        self.list = QListWidget()
        width = max(len(str(t.number)) for t in tunes) if tunes else 1
        for tune in tunes:
            # numbers right-aligned by figure spaces (as wide as a digit)
            number = str(tune.number).rjust(width, "\u2007")
            item = QListWidgetItem(f"X:{number}   {tune.title or '(untitled)'}")
            item.setData(Qt.UserRole, tune.number)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(QDialogButtonBox.Open | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.open_button = buttons.button(QDialogButtonBox.Open)
        self.filter.textChanged.connect(self.apply_filter)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.list.currentItemChanged.connect(
            lambda item, _old: self.open_button.setEnabled(item is not None))
        self.resize(460, 520)
        # Typing a title filters at once; the arrows and page keys move in the list
        # from the filter, Enter opens the tune chosen (the dialog's default button).
        self.filter.installEventFilter(self)
        self.filter.setFocus()

    _LIST_KEYS = (Qt.Key_Up, Qt.Key_Down, Qt.Key_PageUp, Qt.Key_PageDown)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if (watched is self.filter and event.type() == QEvent.KeyPress
                and event.key() in self._LIST_KEYS):
            QApplication.sendEvent(self.list, event)  # the list skips the hidden rows
            return True
        return super().eventFilter(watched, event)

    def apply_filter(self, text: str) -> None:
        """Show only the tunes whose title or number holds ``text``; the first shown is
        selected."""
        needle = text.strip().lower().removeprefix("x:")
        first = None
        for row in range(self.list.count()):
            item = self.list.item(row)
            hide = bool(needle) and needle not in item.text().lower()
            item.setHidden(hide)
            if not hide and first is None:
                first = item
        self.list.setCurrentItem(first)

    def chosen(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None or item.isHidden() else int(item.data(Qt.UserRole))


def choose_tune(parent, name: str, tunes: list[AbcTune]) -> int | None:
    """The X: number of the tune chosen, or None when cancelled."""
    dialog = TuneChooser(parent, name, tunes)
    return dialog.chosen() if dialog.exec() == QDialog.Accepted else None
