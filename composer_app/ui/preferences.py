"""Preferences dialog over :class:`Settings`."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
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
NO_INPUT = "none"  # the input port entry for "no MIDI keyboard"


def _keyed_combo(items: list[tuple[str, str]], current: str) -> QComboBox:
    """A combo of (setting value, label) pairs showing ``current`` (the first if unknown)."""
    combo = QComboBox()
    for key, label in items:
        combo.addItem(label, key)
    keys = [k for k, _ in items]
    combo.setCurrentIndex(keys.index(current) if current in keys else 0)
    return combo


class _WrappedLabel(QLabel):
    """A word-wrapped label tall enough for its whole text at the width it is given (a
    form lays a wrapped label out one line high: Qt's height-for-width does not reach a
    dialog's own size)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.setWordWrap(True)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        need = self.heightForWidth(self.width())
        if need > 0 and need != self.minimumHeight():
            self.setMinimumHeight(need)


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent=None, audio_state: str = "",
                 input_state: str = ""):
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
        self.audio_state = _WrappedLabel(audio_state or "not opened yet")
        self.audio_state.setObjectName("audio_state")
        # room for two lines before the first layout; then as many as the text needs
        self.audio_state.setMinimumHeight(self.audio_state.fontMetrics().lineSpacing() * 2 + 2)
        self.audio_state.setToolTip("What the app plays through now; OK applies a change")
        form.addRow("Now", self.audio_state)
        form.addRow("Output", self.output)
        form.addRow("FluidSynth driver", self.driver)
        form.addRow("Soundfont", sf_row)
        form.addRow("MIDI port", self.port)

        midi_in = self._midi_input(s, input_state)

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
        self.unfold = QCheckBox("Unfold repeats when opening MusicXML")
        self.unfold.setObjectName("unfold_repeats")
        self.unfold.setToolTip("On: repeated bars are written out as they are played. "
                               "Off: written once, with their repeat barlines kept")
        self.unfold.setChecked(s.get("files/unfold_repeats"))
        editor = QGroupBox("Editor")
        form = QFormLayout(editor)
        form.addRow("Default snap", self.snap)
        form.addRow("Autosave every", self.autosave)
        form.addRow("Repeats", self.unfold)

        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (audio, midi_in, compute, editor):
            layout.addWidget(w)
        layout.addWidget(buttons)

    def _midi_input(self, s: Settings, input_state: str) -> QGroupBox:
        """The MIDI keyboard: its port ("none" when there is none: a machine without
        MIDI simply lists none), the count-in, the metronome and quantize on input."""
        try:
            from composer_app.audio.ports import list_input_ports

            ports = list_input_ports()
        except Exception:
            ports = []
        self.input_port = QComboBox()
        self.input_port.setObjectName("input_port")
        self.input_port.addItem(NO_INPUT, "")
        for name in ports:
            self.input_port.addItem(name, name)
        chosen = s.get("midi/input_port")
        if chosen and chosen not in ports:  # chosen before, not plugged in now: kept
            self.input_port.addItem(f"{chosen} (not found)", chosen)
        index = self.input_port.findData(chosen)
        self.input_port.setCurrentIndex(max(0, index))
        self.input_port.setToolTip("The MIDI keyboard to record from and step-enter with"
                                   + ("" if ports else " (none found on this machine)"))
        self.count_in = QSpinBox()
        self.count_in.setObjectName("count_in")
        self.count_in.setRange(0, 8)
        self.count_in.setSuffix(" bar(s)")
        self.count_in.setSpecialValueText("none")
        self.count_in.setValue(s.get("record/count_in_bars"))
        self.record_metronome = QCheckBox("Metronome")
        self.record_metronome.setToolTip("The metronome clicks while recording")
        self.record_metronome.setChecked(s.get("record/metronome"))
        self.quantize_input = QCheckBox("Quantize to the snap")
        self.quantize_input.setToolTip("The onsets played in snap to the grid (the lengths "
                                       "as played)")
        self.quantize_input.setChecked(s.get("record/quantize"))
        box = QGroupBox("MIDI input (keyboard)")
        form = QFormLayout(box)
        if not input_state or input_state == NO_INPUT:
            input_state = NO_INPUT + (": no MIDI keyboard chosen" if ports else
                                      ": no MIDI input port on this machine (normal without "
                                      "a keyboard; plug one in and reopen Preferences)")
        self.input_state = _WrappedLabel(input_state)
        self.input_state.setObjectName("input_state")
        form.addRow("Now", self.input_state)
        form.addRow("Input port", self.input_port)
        form.addRow("Count-in", self.count_in)
        checks = QWidget()
        row = QHBoxLayout(checks)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.record_metronome)
        row.addWidget(self.quantize_input)
        form.addRow("Recording", checks)
        return box

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
        s.set("midi/input_port", self.input_port.currentData() or "")
        s.set("record/count_in_bars", self.count_in.value())
        s.set("record/metronome", self.record_metronome.isChecked())
        s.set("record/quantize", self.quantize_input.isChecked())
        s.set("files/unfold_repeats", self.unfold.isChecked())
        s.sync()
