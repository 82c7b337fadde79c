"""Preferences dialog over :class:`Settings`."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .piano_roll import SNAPS
from .settings import Settings

OUTPUTS = [("fluidsynth", "FluidSynth (built-in synth)"), ("port", "MIDI output port"),
           ("none", "No sound")]
DRIVERS = ["", "pulseaudio", "pipewire", "alsa", "jack", "coreaudio", "wasapi", "dsound",
           "sdl2"]
DEVICES = [("auto", "Automatic"), ("cpu", "CPU"), ("gpu", "GPU (CUDA/MPS)")]


def _keyed_combo(items: list[tuple[str, str]], current: str) -> QComboBox:
    """A combo of (setting value, label) pairs showing ``current`` (the first if unknown)."""
    combo = QComboBox()
    for key, label in items:
        combo.addItem(label, key)
    keys = [k for k, _ in items]
    combo.setCurrentIndex(keys.index(current) if current in keys else 0)
    return combo


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent=None, audio_state: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.settings = settings
        s = settings

        self.output = _keyed_combo(OUTPUTS, s.get("audio/output"))
        self.driver = QComboBox()
        self.driver.setEditable(True)
        for d in DRIVERS:
            self.driver.addItem(d or "automatic", d)
        self.driver.setCurrentText(s.get("audio/driver") or "automatic")
        self.soundfont = QLineEdit(s.get("audio/soundfont"))
        self.soundfont.setPlaceholderText("automatic (FluidR3_GM, TimGM6mb, …)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        sf_row = QWidget()
        lay = QHBoxLayout(sf_row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.soundfont, 1)
        lay.addWidget(browse)
        self.port = QComboBox()
        self.port.setEditable(True)
        try:
            from composer_app.audio.ports import list_output_ports

            ports = list_output_ports()
        except Exception:
            ports = []
        self.port.addItems(ports)
        self.port.setCurrentText(s.get("audio/port"))
        audio = QGroupBox("Audio output")
        form = QFormLayout(audio)
        self.audio_state = QLabel(audio_state or "not opened yet")
        self.audio_state.setObjectName("audio_state")
        self.audio_state.setWordWrap(True)
        self.audio_state.setToolTip("What the app plays through now; OK applies a change")
        form.addRow("Now", self.audio_state)
        form.addRow("Output", self.output)
        form.addRow("FluidSynth driver", self.driver)
        form.addRow("Soundfont", sf_row)
        form.addRow("MIDI port", self.port)

        self.device = _keyed_combo(DEVICES, s.get("compute/device"))
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("automatic")
        self.threads.setValue(s.get("compute/threads"))
        compute = QGroupBox("Models")
        form = QFormLayout(compute)
        form.addRow("Compute device", self.device)
        form.addRow("Threads", self.threads)

        self.snap = QComboBox()
        self.snap.addItems([name for name, _ in SNAPS])
        self.snap.setCurrentText(s.get("editor/snap"))
        self.autosave = QSpinBox()
        self.autosave.setRange(0, 3600)
        self.autosave.setSuffix(" s")
        self.autosave.setSpecialValueText("off")
        self.autosave.setValue(s.get("autosave/interval_s"))
        editor = QGroupBox("Editor")
        form = QFormLayout(editor)
        form.addRow("Default snap", self.snap)
        form.addRow("Autosave every", self.autosave)

        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (audio, compute, editor):
            layout.addWidget(w)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Soundfont", "", "SoundFonts (*.sf2 *.sf3)")
        if path:
            self.soundfont.setText(path)

    def save(self) -> None:
        s = self.settings
        s.set("audio/output", self.output.currentData())
        driver = self.driver.currentText().strip()
        s.set("audio/driver", "" if driver == "automatic" else driver)
        s.set("audio/soundfont", self.soundfont.text().strip())
        s.set("audio/port", self.port.currentText().strip())
        s.set("compute/device", self.device.currentData())
        s.set("compute/threads", self.threads.value())
        s.set("editor/snap", self.snap.currentText())
        s.set("autosave/interval_s", self.autosave.value())
        s.sync()
