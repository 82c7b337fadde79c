"""The Harmony checker dock: the findings of :func:`~composer_app.music.harmony_check.
check_score` for the piece (or the variation on show), each with its one-line
explanation; a click on one selects its notes and scrolls the roll there. The list comes
from the analysis thread (:mod:`.analysis`) after each edit."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from .analysis import NOT_FOUR_PART, Result


class CheckerPanel(QWidget):
    findingClicked = Signal(int)  # the finding's index in ``result.issues``

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("padding: 2px 4px;")
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.summary)
        lay.addWidget(self.list)
        self.result: Result | None = None

    def show_result(self, res: Result) -> None:
        self.result = res
        self.list.clear()
        what = " in the variation on show" if res.source.variation else ""
        if not res.four_part:
            self.summary.setText(NOT_FOUR_PART + ".")
            return
        n = len(res.issues)
        self.summary.setText(f"No voice-leading findings{what}." if not n else
                             f"{n} finding{'s' if n != 1 else ''}{what}:")
        for k, issue in enumerate(res.issues):
            head = (f"bar {issue.bar}, beat {issue.beat}: {issue.kind} "
                    f"({'-'.join(issue.voices)})")
            item = QListWidgetItem(f"{head}\n    {issue.explanation}")
            item.setData(Qt.UserRole, k)
            item.setToolTip(issue.describe())
            self.list.addItem(item)

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _clicked(self, item: QListWidgetItem) -> None:
        self.findingClicked.emit(int(item.data(Qt.UserRole)))
