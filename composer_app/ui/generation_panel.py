"""The Generation dock: the two actions, their settings, and the variation picker.

Only widgets live here; :mod:`composer_app.ui.generation` reads the values and drives
the buttons.
"""

from __future__ import annotations

import random

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from composer_app.music.theory import key_names

from .clip_drag import ClipDragHandle
from .workers import STYLES

KEY_NAMES = key_names()  # spelled as Key.name spells them
DEVICES = [("Auto", "auto"), ("CPU", "cpu"), ("GPU", "gpu")]
STYLE_TEXT = {"folk": ("Folk", "Continue like the folk tunes the model learnt from "
                               "(Essen, O'Neill's, Ryan's)"),
              "chorale": ("Chorale", "Continue like the soprano of a Bach chorale")}
MAX_SEED = 2**31 - 1


def _button(action) -> QToolButton:
    b = QToolButton()
    b.setDefaultAction(action)
    b.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
    b.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
    return b



# ml.continuer.MAX_BARS (not imported: that module imports torch); README says 1-64.
MAX_CONTINUE_BARS = 64

class GenerationPanel(QWidget):
    """Settings for Continue/Reharmonize and the picker for their variations."""

    deviceChanged = Signal(str)  # "auto", "cpu" or "gpu"
    styleChanged = Signal(str)  # "folk" or "chorale"

    def __init__(self, actions: dict, clip_source, parent=None):
        super().__init__(parent)
        self.setObjectName("generation_panel")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)

        row = QHBoxLayout()
        row.addWidget(_button(actions["continue"]))
        row.addWidget(_button(actions["reharmonize"]))
        outer.addLayout(row)

        # -- settings shared by both actions
        both = QGroupBox("Common")
        form = QFormLayout(both)
        self.variations = QSpinBox()
        self.variations.setRange(1, 8)
        self.variations.setValue(3)
        self.variations.setToolTip("How many alternatives to propose (1–8)")
        form.addRow("Variations", self.variations)

        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setValue(random.randint(0, 99_999))
        self.seed.setToolTip("Same seed, same settings and same notes give the same result")
        self.new_seed = QToolButton()
        self.new_seed.setText("New")
        self.new_seed.setToolTip("Draw a new random seed")
        self.new_seed.clicked.connect(self.draw_seed)
        self.seed_lock = QCheckBox("Lock")
        self.seed_lock.setToolTip("Keep this seed (unlocked: a new seed for every request)")
        self.seed.lineEdit().textEdited.connect(lambda _: self.seed_lock.setChecked(True))
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.new_seed)
        seed_row.addWidget(self.seed_lock)
        form.addRow("Seed", seed_row)

        self.key = QComboBox()
        self.key.addItem("Auto")
        self.key.addItems(KEY_NAMES)
        self.key.setToolTip("Key the models assume: Auto uses the key signature, else the "
                            "key detected from the selection")
        form.addRow("Key", self.key)

        self.device = QComboBox()
        for text, value in DEVICES:
            self.device.addItem(text, value)
        self.device.currentIndexChanged.connect(
            lambda _: self.deviceChanged.emit(self.device.currentData()))
        self.device_label = QLabel("not loaded yet")
        self.device_label.setObjectName("device_in_use")
        self.device_label.setToolTip("Where the last request ran")
        dev_row = QHBoxLayout()
        dev_row.addWidget(self.device)
        dev_row.addWidget(self.device_label, 1)
        form.addRow("Device", dev_row)
        outer.addWidget(both)

        # -- Continue only
        cont = QGroupBox("Continue")
        form = QFormLayout(cont)
        self.style = QComboBox()
        self.style.setObjectName("continue_style")
        for value in STYLES:
            text, tip = STYLE_TEXT.get(value, (value.title(), ""))
            self.style.addItem(text, value)
            self.style.setItemData(self.style.count() - 1, tip, Qt.ToolTipRole)
        self.style.setToolTip("The style Continue writes in: Folk (folk tunes) or Chorale "
                              "(Bach chorale sopranos)")
        self.style.currentIndexChanged.connect(
            lambda _: self.styleChanged.emit(self.style.currentData()))
        form.addRow("Style", self.style)
        self.bars = QSpinBox()
        self.bars.setRange(1, MAX_CONTINUE_BARS)
        self.bars.setValue(4)
        self.bars.setSuffix(" bars")
        self.bars.setToolTip("Whole bars added after the bar the sketch ends in")
        form.addRow("Length", self.bars)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.1, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setValue(1.0)
        self.temperature.setToolTip("Lower: safer, more repetitive; higher: more adventurous")
        form.addRow("Temperature", self.temperature)
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.5, 1.0)
        self.top_p.setSingleStep(0.01)
        self.top_p.setValue(0.95)
        self.top_p.setToolTip("Sample only among the likeliest notes that make up this share")
        form.addRow("Top-p", self.top_p)
        outer.addWidget(cont)

        # -- the variation picker
        pick = QGroupBox("Variations")
        self.picker = pick
        box = QVBoxLayout(pick)
        self.variation_label = QLabel("Nothing proposed yet")
        self.variation_label.setObjectName("variation_label")
        self.variation_label.setWordWrap(True)
        box.addWidget(self.variation_label)
        nav = QHBoxLayout()
        for name in ("previous", "next", "audition"):
            b = QToolButton()
            b.setDefaultAction(actions[name])
            nav.addWidget(b)
        nav.addStretch(1)
        box.addLayout(nav)
        decide = QHBoxLayout()
        decide.addWidget(_button(actions["accept"]))
        decide.addWidget(_button(actions["discard"]))
        box.addLayout(decide)
        self.drag = ClipDragHandle(clip_source)
        self.drag.setText("  ⠿ Drag this variation  ")
        self.drag.setToolTip("Drag onto a DAW or the desktop: the shown variation as a .mid "
                             "file (before accepting it)")
        box.addWidget(self.drag, 0, Qt.AlignLeft)
        outer.addWidget(pick)
        outer.addStretch(1)
        self.set_variations(0, 0, "")

    # -- values ------------------------------------------------------------------------

    def draw_seed(self) -> int:
        self.seed.setValue(random.randint(0, MAX_SEED))
        return self.seed.value()

    def seed_for_request(self) -> int:
        """The seed to use now: the shown one when locked, else a fresh one (shown)."""
        return self.seed.value() if self.seed_lock.isChecked() else self.draw_seed()

    def key_override(self) -> str | None:
        return None if self.key.currentIndex() == 0 else self.key.currentText()

    def set_detected_key(self, name: str) -> None:
        self.key.setItemText(0, f"Auto ({name})" if name else "Auto")

    def set_device(self, value: str) -> None:
        i = self.device.findData(value)
        self.device.setCurrentIndex(max(i, 0))

    def set_style(self, value: str) -> None:
        """Show ``value`` (an unknown one: the first style, Folk)."""
        self.style.setCurrentIndex(max(self.style.findData(value), 0))

    def continue_style(self) -> str:
        return self.style.currentData() or STYLES[0]

    def set_device_in_use(self, text: str) -> None:
        self.device_label.setText(text)

    def set_variations(self, index: int, count: int, detail: str) -> None:
        if count:
            self.variation_label.setText(f"<b>Variation {index + 1} of {count}</b> {detail}")
            self.picker.setTitle(f"Variations ({count})")
        else:
            self.variation_label.setText(detail or "Nothing proposed yet. Select a melody "
                                         "and press Continue or Reharmonize.")
            self.picker.setTitle("Variations")
        self.drag.setEnabled(bool(count))
