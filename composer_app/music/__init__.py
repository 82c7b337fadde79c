"""Notes, scores, theory and files. Pure Python (mido for MIDI files); no Qt, no torch."""

from .errors import Cancelled, FileFormatError, UserError
from .files import load_score, save_score
from .midifile import midi_bytes, read_midi, write_midi
from .musicxml import read_musicxml, write_musicxml
from .project import read_project, write_project
from .score import PPQ, KeySignature, Note, Score, TempoChange, TimeSignature, Track
from .theory import (
    SATB_RANGES,
    VOICE_NAMES,
    Key,
    detect_key,
    in_scale,
    parse_key,
    scale_pitch_classes,
    transpose,
)

__all__ = [
    "PPQ", "Note", "Score", "Track", "TempoChange", "TimeSignature", "KeySignature",
    "Key", "parse_key", "detect_key", "in_scale", "scale_pitch_classes", "transpose",
    "SATB_RANGES", "VOICE_NAMES",
    "UserError", "FileFormatError", "Cancelled",
    "load_score", "save_score", "read_midi", "write_midi", "midi_bytes",
    "read_musicxml", "write_musicxml", "read_project", "write_project",
]
