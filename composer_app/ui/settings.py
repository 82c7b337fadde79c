"""User preferences in QSettings, with their defaults in one place."""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORG, APP = "composer-app", "composer-app"
MAX_RECENT = 10

DEFAULTS: dict[str, object] = {
    "audio/output": "fluidsynth",  # "fluidsynth", "port" or "none"
    "audio/driver": "",  # "" = try the usual drivers in order
    "audio/soundfont": "",  # "" = look in the usual places
    "audio/port": "",
    "compute/device": "auto",  # "auto", "cpu" or "gpu"
    "compute/threads": 0,  # 0 = automatic
    "editor/snap": "1/16",
    "generation/style": "folk",  # Continue's style: "folk" or "chorale" (ml.STYLES)
    "autosave/interval_s": 60,
    "midi/input_port": "",  # "" = no MIDI input (a keyboard to play in)
    "record/count_in_bars": 1,
    "record/metronome": True,  # the metronome clicks while recording
    "record/quantize": False,  # onsets played in snap to the grid
    "files/unfold_repeats": True,  # a MusicXML file's repeats played out on Open
}


class Settings:
    """Typed access to the app's QSettings (``QSettings()`` or an explicit file in tests)."""

    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings or QSettings(ORG, APP)

    def get(self, key: str):
        default = DEFAULTS.get(key)
        value = self.q.value(key, default)
        if isinstance(default, bool):
            return value in (True, "true", "1", 1) if value is not None else default
        if isinstance(default, int):
            try:
                return int(value)
            except (TypeError, ValueError):
                return default
        return "" if value is None else str(value)

    def set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def recent_files(self) -> list[str]:
        value = self.q.value("files/recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str) -> None:
        items = [p for p in self.recent_files() if p != path]
        self.q.setValue("files/recent", ([path] + items)[:MAX_RECENT])

    def clear_recent(self) -> None:
        self.q.setValue("files/recent", [])

    def sync(self) -> None:
        self.q.sync()
