"""The Harmony checker dock: the findings of :func:`~composer_app.music.harmony_check.
check_score` for the piece (or the variation on show), each with its one-line
explanation; a click on one selects its notes and scrolls the roll there, and *Suggest*
reharmonizes that span (Generation's Reharmonize on the soprano there: a variation). The list comes
from the analysis thread (:mod:`.analysis`) after each edit."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .analysis import NOT_FOUR_PART, Result


class CheckerPanel(QWidget):
    findingClicked = Signal(int)  # the finding's index in ``result.issues``
    suggestAsked = Signal(int)  # "Suggest": reharmonize that finding's span

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
        self.suggest = QPushButton("Suggest (Bach's way)")
        self.suggest.setToolTip("Reharmonize just this finding's span under the soprano, "
                                "as a variation beside your own (your notes stay until you "
                                "accept it)")
        self.suggest.setEnabled(False)
        self.suggest.clicked.connect(self._suggest)
        lay.addWidget(self.suggest)
        self.result: Result | None = None

    def show_result(self, res: Result) -> None:
        self.result = res
        self.list.clear()
        self.suggest.setEnabled(False)
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
        self.suggest.setEnabled(self.result is not None and not self.result.source.variation)
        self.findingClicked.emit(int(item.data(Qt.UserRole)))

    def _suggest(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.suggestAsked.emit(int(item.data(Qt.UserRole)))
