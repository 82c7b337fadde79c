"""Help > Listening test…: the variations on show, blinded, rated, then revealed.

The variations of one passage (Generation's results) are played under letters in a
random order (:class:`listening.session.BlindSession`); after every one has a rating,
Reveal names them, and Show puts the chosen one on show in the roll. Without two
variations on show, it offers to generate them first (Reharmonize or Continue on the
selection) and opens when they arrive.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from composer_app.listening.session import SCALE, BlindSession, excerpt

MIN_VARIATIONS = 2


def open_listening_test(window) -> ListeningDialog | None:
    """The dialog over ``window``'s variations on show, or the offer to make them."""
    gen = window.generation
    if len(gen.variations) >= MIN_VARIATIONS:
        dlg = ListeningDialog(window)
        dlg.open()
        return dlg
    box = QMessageBox(QMessageBox.Question, "Listening test",
                      "The listening test plays several variations of one passage without "
                      "saying which is which, and reveals them once you have rated each.\n\n"
                      "Generate variations of the selection now?", parent=window)
    harm = box.addButton("Reharmonize", QMessageBox.AcceptRole)
    cont = box.addButton("Continue", QMessageBox.AcceptRole)
    box.addButton(QMessageBox.Cancel)
    box.exec()
    clicked = box.clickedButton()
    if clicked not in (harm, cont):
        return None
    panel = gen.panel
    if panel.variations.value() < MIN_VARIATIONS:
        panel.variations.setValue(3)

    def arrived(outcome: str) -> None:
        gen.jobEnded.disconnect(arrived)
        if outcome == "finished" and len(gen.variations) >= MIN_VARIATIONS:
            open_listening_test(window)

    gen.jobEnded.connect(arrived)
    if not (gen.reharmonize() if clicked is harm else gen.continue_()):
        gen.jobEnded.disconnect(arrived)
    return None


class ListeningDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.setWindowTitle("Listening test")
        self.w = window
        gen = window.generation
        self.proposals = [gen.proposal(i) for i in range(len(gen.variations))]
        self.session = BlindSession.new(len(self.proposals))
        base = window.doc.base
        lo, hi = self.proposals[0].span
        if self.proposals[0].kind == "continue":  # hear what it continues: a bar before
            lo = base.bar_start(max(0, base.bar_of(lo) - 1))
        else:
            lo = base.bar_start(base.bar_of(lo))
        self.window_ticks = (lo, hi)
        first, last = base.bar_of(lo) + 1, base.bar_of(max(lo, hi - 1)) + 1
        bars = f"bar {first}" if first == last else f"bars {first}–{last}"

        layout = QVBoxLayout(self)
        intro = QLabel(f"{len(self.proposals)} variations of {bars}, in an order drawn at "
                       "random and named by letter only. Play each, rate it, then press "
                       "Reveal.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        legend = QLabel(" · ".join(f"{k} {v}" for k, v in SCALE.items()))
        legend.setStyleSheet("color: palette(mid)")
        legend.setWordWrap(True)
        layout.addWidget(legend)

        grid = QGridLayout()
        self.play_buttons, self.ratings, self.answers, self.show_buttons = [], [], [], []
        for pos in range(len(self.proposals)):
            letter = BlindSession.letter(pos)
            grid.addWidget(QLabel(f"Version {letter}"), pos, 0)
            play = QPushButton("▶ Play")
            play.setToolTip(f"Play version {letter} of the passage")
            play.clicked.connect(lambda _=False, p=pos: self.play(p))
            grid.addWidget(play, pos, 1)
            rating = QSpinBox()
            rating.setRange(0, 10)
            rating.setSpecialValueText("–")
            rating.setToolTip("Your rating, 1–10: " + "; ".join(f"{k} {v}"
                                                                 for k, v in SCALE.items()))
            rating.valueChanged.connect(lambda v, p=pos: self._rated(p, v))
            grid.addWidget(rating, pos, 2)
            answer = QLabel("")
            grid.addWidget(answer, pos, 3)
            show = QPushButton("Show")
            show.setToolTip("Put this variation on show in the roll")
            show.clicked.connect(lambda _=False, p=pos: self.show_variation(p))
            show.hide()
            grid.addWidget(show, pos, 4)
            self.play_buttons.append(play)
            self.ratings.append(rating)
            self.answers.append(answer)
            self.show_buttons.append(show)
        layout.addLayout(grid)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.stop_button = buttons.addButton("■ Stop", QDialogButtonBox.ActionRole)
        self.stop_button.clicked.connect(self.w.stop)
        self.reveal_button = buttons.addButton("Reveal", QDialogButtonBox.ActionRole)
        self.reveal_button.setEnabled(False)
        self.reveal_button.clicked.connect(self.reveal)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        # The roll's ghost notes would tell which variation is which: hidden meanwhile.
        window.roll.set_ghost_notes(None)
        self.finished.connect(self._closed)

    def _closed(self, _result=None) -> None:
        self.w.stop()
        gen = self.w.generation
        if gen.variations:
            gen.select(gen.index)  # the variation on show (or the one Show chose) again

    def passage(self, position: int):
        """What Play plays for ``position``: its variation in the piece, the passage only."""
        prop = self.proposals[self.session.order[position]]
        return excerpt(prop.applied_to(self.w.doc), *self.window_ticks)

    def play(self, position: int) -> None:
        w = self.w
        w.stop()
        w.audio.play(self.passage(position), start_tick=self.window_ticks[0])

    def _rated(self, position: int, value: int) -> None:
        if self.session.revealed:
            return
        self.session.rate(position, value or None)
        self.reveal_button.setEnabled(self.session.complete)

    def reveal(self) -> None:
        if not self.session.complete:
            return
        rows = self.session.reveal()
        for pos, variation in enumerate(self.session.order):
            self.answers[pos].setText(f"= variation {variation + 1}")
            self.ratings[pos].setEnabled(False)
            self.show_buttons[pos].show()
        best = rows[0]
        ties = [r for r in rows if r[2] == best[2]]
        names = ", ".join(f"variation {r[1]} ({r[0]})" for r in ties)
        self.summary.setText(f"Rated best ({best[2]}/10): {names}. "
                             "Show puts a variation on show in the roll.")
        self.answers[self.session.order.index(best[1] - 1)].setStyleSheet("font-weight: bold")
        self.reveal_button.setEnabled(False)

    def show_variation(self, position: int) -> None:
        self.w.generation.select(self.session.order[position])
        self.accept()

    def keyPressEvent(self, event) -> None:  # Enter must not close it mid-test
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            return
        super().keyPressEvent(event)
