"""Generate > Song Form…: a whole song in a form (ABCBDB, AABA, …) from the sketch.

The dialog asks for the form (a preset or any letters), the bars of a section, the
letters seeded by a relative (a second verse), a seed, "vary repeats" and a Reharmonize
pass, and says what is wrong with them as they are typed (``music/form.py`` owns the
rules). *Write song* runs ``ml/song.py`` on the model worker (``Generation.submit_job``)
with progress and Cancel in the dialog; the window keeps painting and playing meanwhile
(the dialog is window-modal, so the piece cannot change under the job). The song is
applied as one undo step (notes, new voices, the sections as markers); a failure is
shown in the dialog and leaves the piece as it was.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
)

from composer_app.music import UserError

from . import commands as cmd
from . import proposals

# (label, letters, related) of the presets; the last is Custom (the letters typed)
PRESETS = [
    ("ABCBDB: verse, chorus, verse 2, chorus, bridge, chorus", "ABCBDB", "C=A"),
    ("AABA: 32-bar song form", "AABA", ""),
    ("ABAB: verse, chorus, verse, chorus", "ABAB", ""),
    ("IABABO: intro, verse, chorus, verse, chorus, outro", "IABABO", ""),
    ("Custom letters", "", ""),
]
CUSTOM = len(PRESETS) - 1
RANDOM_SEED = -1  # the seed box's "random"


class SongDialog(QDialog):
    """The Song form dialog of a window's :class:`~.generation.Generation`."""

    def __init__(self, window, generation):
        super().__init__(window)
        self.w, self.generation = window, generation
        self.setWindowTitle("Song form")
        self.setWindowModality(Qt.WindowModal)
        self._running = False  # a song job is on the worker
        self._request: proposals.Request | None = None
        self._closing = False

        layout = QVBoxLayout(self)
        self.sketch_label = QLabel()
        self.sketch_label.setWordWrap(True)
        layout.addWidget(self.sketch_label)
        form = QFormLayout()
        layout.addLayout(form)
        self.preset = QComboBox()
        self.preset.addItems([p[0] for p in PRESETS])
        form.addRow("Form", self.preset)
        self.letters = QLineEdit(PRESETS[0][1])
        self.letters.setPlaceholderText("letters, one per section: ABCBDB, AABA, AAB…")
        self.letters.setMaxLength(64)
        form.addRow("Sections", self.letters)
        self.bars = QSpinBox()
        self.bars.setRange(0, 999)  # checked below, so 0 or 500 get a message, not a clamp
        self.bars.setValue(8)
        self.bars.setSuffix(" bars each")
        form.addRow("Section length", self.bars)
        self.related = QLineEdit(PRESETS[0][2])
        self.related.setPlaceholderText("e.g. C=A: C continues A alone (a second verse)")
        form.addRow("Related", self.related)
        self.seed = QSpinBox()
        self.seed.setRange(RANDOM_SEED, 2**31 - 1)
        self.seed.setSpecialValueText("random")
        self.seed.setValue(RANDOM_SEED)
        form.addRow("Seed", self.seed)
        self.vary = QCheckBox("Vary repeats (a repeated section keeps its first half and "
                              "continues the rest anew)")
        form.addRow(self.vary)
        self.reharmonize = QCheckBox("Reharmonize: alto, tenor and bass under the whole song")
        form.addRow(self.reharmonize)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #a01818")
        layout.addWidget(self.message)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.hide()
        layout.addWidget(self.progress_bar)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.write_button = self.buttons.button(QDialogButtonBox.Ok)
        self.write_button.setText("Write song")
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.preset.currentIndexChanged.connect(self._preset_chosen)
        self._syncing = False
        self.letters.textChanged.connect(self._letters_changed)
        for signal in (self.letters.textChanged, self.related.textChanged):
            signal.connect(self.check)
        self.bars.valueChanged.connect(self.check)
        self.setMinimumWidth(520)
        self.check()

    # -- the fields ---------------------------------------------------------------------

    def _preset_chosen(self, index: int) -> None:
        if index != CUSTOM:
            self._syncing = True
            self.letters.setText(PRESETS[index][1])
            self.related.setText(PRESETS[index][2])
            self._syncing = False
        else:
            self.letters.setFocus()

    def _letters_changed(self, text: str) -> None:
        """Letters typed: the preset they are (else Custom); a preset's own relation
        (ABCBDB's C=A) goes with it."""
        if self._syncing:
            return
        known = next((i for i, p in enumerate(PRESETS[:CUSTOM]) if p[1] == text.upper()), CUSTOM)
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(known)
        self.preset.blockSignals(False)
        if self.related.text() in {p[2] for p in PRESETS if p[2]}:
            self.related.setText(PRESETS[known][2])

    def request(self) -> proposals.Request:
        """The song's request from the fields; :class:`UserError` says what is wrong."""
        seed = self.seed.value()
        return proposals.song_request(
            self.w.doc, self.w.roll.selection, self.w.roll.active_track,
            form=self.letters.text(), section_bars=self.bars.value(),
            related=self.related.text(), vary=self.vary.isChecked(),
            reharmonize=self.reharmonize.isChecked(),
            seed=None if seed == RANDOM_SEED else seed,
            device=self.w.settings.get("compute/device") or "auto",
            style=self.w.generation.panel.style.currentData())

    def check(self) -> bool:
        """Say what is wrong (and disable Write song), or what will be written."""
        if self._running:
            return False
        try:
            req = self.request()
        except UserError as exc:
            self.message.setText(str(exc))
            self.write_button.setEnabled(False)
            self._describe(None)
            return False
        self.message.setText("")
        self.write_button.setEnabled(True)
        self._describe(req)
        return True

    def _describe(self, req: proposals.Request | None) -> None:
        if req is None:
            self.sketch_label.setText("Your sketch (the selected notes, or the voice being "
                                      "edited) is the song's first section.")
            return
        doc = self.w.doc
        track = req.context["melody_track"]
        name = doc.base.tracks[track].name if track < len(doc.base.tracks) else "the melody"
        letters, bars = req.params["form"], req.params["section_bars"]
        sketch_bars, count = req.score.length_bars, len(req.score.notes)
        self.sketch_label.setText(
            f"Your sketch ({count} note{'s' * (count != 1)} of {name}, {sketch_bars} "
            f"bar{'s' * (sketch_bars != 1)}) is section {letters[0]}. The song: "
            f"{len(letters)} sections of {bars} bars, {len(letters) * bars} bars in all; "
            "it replaces that voice from bar 1 to the song's end (one undo step).")

    # -- running ------------------------------------------------------------------------

    def _set_running(self, running: bool) -> None:
        for widget in (self.preset, self.letters, self.bars, self.related, self.seed,
                       self.vary, self.reharmonize):
            widget.setEnabled(not running)
        self.write_button.setEnabled(not running)
        self.progress_bar.setVisible(running)
        if running:
            self.progress_bar.setRange(0, 0)  # busy until the first section reports

    def start(self) -> bool:
        """Write song: check, then run the job on the model worker."""
        if self._running or not self.check():
            return False
        req = self.request()
        if self.generation.busy or not self.generation.submit_job(req, self):
            self.message.setText("A generation is already running: wait for it, or cancel "
                                 "it (the status bar's Cancel) first.")
            return False
        self._request = req
        self._running = True
        self.message.setText("")
        self._set_running(True)
        return True

    def reject(self) -> None:
        """Cancel: stops a running job (and closes when it has stopped), else closes."""
        if self._running:
            self._closing = True
            self.message.setText("Cancelling…")
            self.generation.cancel()
            return
        super().reject()

    # -- the job's outcome (Generation calls these on the GUI thread) ---------------------

    def job_progress(self, percent: int) -> None:
        if self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(max(0, min(100, int(percent))))

    def _ended(self) -> None:
        self._running = False
        self._set_running(False)

    def job_finished(self, job, results) -> None:
        req = self._request
        self._ended()
        if self._closing or req is None:
            super().reject()
            return
        if job.context.get("notes_of") is not self.w.doc.notes:
            self.message.setText("Another piece was opened meanwhile; the song was dropped.")
            return
        try:
            apply_song(self.w.doc, req, results[0])
        except Exception as exc:  # a handler must not raise (PySide aborts); say it
            self.message.setText(f"The song could not be applied: {exc}")
            return
        letters, bars = req.params["form"], req.params["section_bars"]
        self.w.statusBar().showMessage(
            f"Song written: {letters}, {len(letters)} sections of {bars} bars, as markers on "
            "the ruler (Ctrl+Z undoes it)", 8000)
        self.w.autosaver.save_now()
        self.accept()

    def job_failed(self, job, message: str) -> None:
        self._ended()
        if self._closing:
            super().reject()
            return
        self.message.setText(f"{message}\nThe piece is unchanged.")

    def job_cancelled(self, job) -> None:
        self._ended()
        if self._closing:
            super().reject()
            return
        self.message.setText("Cancelled; the piece is unchanged.")


def apply_song(doc, req: proposals.Request, result) -> None:
    """The song into the document as one undo step: its notes (and new voices) as
    :func:`proposals.song_proposal` says, its sections as the piece's markers."""
    prop = proposals.song_proposal(doc, req, result)
    markers = list(result.markers)
    with cmd.one_step(doc, f"Song form {req.params['form']}"):
        def meta(m):
            m.tracks.extend(prop.new_tracks)
            m.markers = markers
        cmd.edit_meta(doc, "Song form", meta)
        cmd.replace_notes(doc, prop.remove_ids, prop.add, "Song form")
