"""Music theory helpers: keys, scales, transposition, SATB ranges, key detection.

Pitches are MIDI numbers; pitch classes are 0-11 with C = 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Key",
    "KeyError_",
    "parse_key",
    "key_names",
    "key_from_sharps",
    "key_fifths",
    "spelled_name",
    "scale_pitch_classes",
    "in_scale",
    "transpose",
    "SATB_RANGES",
    "VOICE_NAMES",
    "detect_key",
    "pitch_name",
]

NOTE_NAMES_SHARP = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
NOTE_NAMES_FLAT = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
NATURAL_MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)

# Tonic pitch class -> number of sharps (negative = flats) for the usual spelling.
_MAJOR_SHARPS = {0: 0, 7: 1, 2: 2, 9: 3, 4: 4, 11: 5, 6: 6, 1: -5, 5: -1, 10: -2, 3: -3, 8: -4}
# Major-key names spelled as musicians write them, indexed by sharps + 7.
_MAJOR_BY_SHARPS = ["Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#"]
_MINOR_BY_SHARPS = ["Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#"]

# Comfortable four-part chorale ranges (MIDI numbers, inclusive), as Bach wrote them.
SATB_RANGES: dict[str, tuple[int, int]] = {
    "Soprano": (60, 81),  # C4-A5
    "Alto": (53, 74),  # F3-D5
    "Tenor": (48, 69),  # C3-A4
    "Bass": (36, 64),  # C2-E4
}
VOICE_NAMES = ("Soprano", "Alto", "Tenor", "Bass")


class KeyError_(ValueError):
    """A key name that cannot be parsed."""


@dataclass(frozen=True, slots=True)
class Key:
    """A key: tonic pitch class (0-11) and mode ("major" or "minor")."""

    tonic: int
    mode: str = "major"

    def __post_init__(self) -> None:
        if self.mode not in ("major", "minor"):
            raise KeyError_(f"unknown mode {self.mode!r} (use major or minor)")
        if not 0 <= self.tonic < 12:
            object.__setattr__(self, "tonic", self.tonic % 12)

    @property
    def sharps(self) -> int:
        """Sharps (>0) or flats (<0) in the key signature."""
        if self.mode == "major":
            return _MAJOR_SHARPS[self.tonic]
        sharps = _MAJOR_SHARPS[(self.tonic + 3) % 12]
        return -6 if sharps == 6 else sharps  # Eb minor is written with flats more often

    @property
    def name(self) -> str:
        """Conventional spelling: "Db", "F#m"."""
        if self.mode == "major":
            return _MAJOR_BY_SHARPS[self.sharps + 7]
        return _MINOR_BY_SHARPS[self.sharps + 7] + "m"

    @property
    def long_name(self) -> str:
        return self.name.rstrip("m") + (" minor" if self.mode == "minor" else " major")

    def __str__(self) -> str:
        return self.name


_KEY_RE = re.compile(
    r"^\s*([A-Ga-g])\s*(#|b|♯|♭|-|sharp|flat|s|is|es)?\s*"
    r"(m|min|minor|maj|major|M|-?moll|-?dur)?\s*$"
)


def key_names() -> list[str]:
    """All 24 keys spelled as :attr:`Key.name` spells them, majors then minors, each
    round the circle of fifths from C / A minor (for key pickers)."""
    order = (0, 1, 2, 3, 4, 5, 6, -5, -4, -3, -2, -1)
    return [key_from_sharps(n).name for n in order] + \
        [key_from_sharps(n, minor=True).name for n in order]


def parse_key(text: str) -> Key:
    """Parse a key name: "C", "Db", "F#m", "f# minor", "Bb major", "a" (lower = minor).

    Raises :class:`KeyError_` with a message a user can act on.
    """
    m = _KEY_RE.match(text or "")
    if not m:
        raise KeyError_(f"unknown key {text!r} (examples: C, Db, F#m, 'Bb minor')")
    letter, accidental, mode_text = m.groups()
    pc = _LETTER_PC[letter.upper()]
    if accidental in ("#", "♯", "sharp", "s", "is"):
        pc += 1
    elif accidental in ("b", "♭", "-", "flat", "es"):
        pc -= 1
    if mode_text:
        minor = mode_text.lower().lstrip("-") in ("m", "min", "minor", "moll") and mode_text != "M"
    else:
        minor = letter.islower()
    return Key(pc % 12, "minor" if minor else "major")


def key_from_sharps(sharps: int, minor: bool = False) -> Key:
    """The key with ``sharps`` sharps (negative for flats), major or minor."""
    if not -7 <= sharps <= 7:
        raise KeyError_(f"a key signature has -7..7 sharps, not {sharps}")
    major_pc = (sharps * 7) % 12
    if minor:
        return Key((major_pc + 9) % 12, "minor")
    return Key(major_pc, "major")


def spelled_name(key: Key, fifths: int) -> str:
    """``key``'s name spelled with ``fifths`` sharps (flats < 0): "Gb", "A#m"; the usual
    name when ``fifths`` does not spell this key."""
    if not -7 <= fifths <= 7 or key_from_sharps(fifths, key.mode == "minor") != key:
        return key.name
    names = _MINOR_BY_SHARPS if key.mode == "minor" else _MAJOR_BY_SHARPS
    return names[fifths + 7] + ("m" if key.mode == "minor" else "")


def key_fifths(text: str) -> int | None:
    """The signature a key name spells ("Gb" -6, "F#" 6, "A#m" 7), None when unknown."""
    text = (text or "").strip().replace("♭", "b").replace("♯", "#")
    minor = text.endswith("m")
    names = _MINOR_BY_SHARPS if minor else _MAJOR_BY_SHARPS
    name = text[:-1] if minor else text
    return names.index(name) - 7 if name in names else None


def scale_pitch_classes(key: Key, minor_variants: bool = True) -> frozenset[int]:
    """Pitch classes of the key's scale.

    For minor keys with ``minor_variants`` the raised 6th and 7th of the melodic and
    harmonic minor are included, as a musician would count them "in the key".
    """
    steps = MAJOR_STEPS if key.mode == "major" else NATURAL_MINOR_STEPS
    pcs = {(key.tonic + s) % 12 for s in steps}
    if key.mode == "minor" and minor_variants:
        pcs |= {(key.tonic + 9) % 12, (key.tonic + 11) % 12}
    return frozenset(pcs)


def in_scale(pitch: int, key: Key, minor_variants: bool = True) -> bool:
    return pitch % 12 in scale_pitch_classes(key, minor_variants)


def transpose(pitches: Iterable[int], semitones: int) -> list[int]:
    """Shift pitches by ``semitones``, refusing to leave the MIDI range 0-127."""
    out = [p + semitones for p in pitches]
    if out and (min(out) < 0 or max(out) > 127):
        raise ValueError(f"transposing by {semitones} leaves the MIDI range 0-127")
    return out


def pitch_name(pitch: int, key: Key | None = None) -> str:
    """"C4" style name (middle C = C4 = 60), flats in flat keys."""
    names = NOTE_NAMES_FLAT if key is not None and key.sharps < 0 else NOTE_NAMES_SHARP
    return f"{names[pitch % 12]}{pitch // 12 - 1}"


# Krumhansl-Kessler key profiles (the one copy: key detection here, the continuer's
# corpus modes in training/continuer.py).
KEY_PROFILES = {
    "major": (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
    "minor": (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
}


def profile_fit(hist: list[float], tonic: int, mode: str) -> float:
    """Correlation of a pitch-class histogram with the key profile of ``tonic``/``mode``
    (0 when either is flat)."""
    profile = KEY_PROFILES[mode]
    return _correlation(hist, [profile[(pc - tonic) % 12] for pc in range(12)])


def detect_key(notes: Iterable[tuple[int, int]]) -> Key:
    """Best key for (pitch, duration) pairs by the Krumhansl-Kessler profiles.

    Durations weight the pitch classes; an empty input gives C major.
    """
    hist = [0.0] * 12
    for pitch, duration in notes:
        hist[pitch % 12] += max(duration, 1)
    if not any(hist):
        return Key(0, "major")
    best, best_score = Key(0, "major"), float("-inf")
    for mode in ("major", "minor"):
        for tonic in range(12):
            score = profile_fit(hist, tonic, mode)
            if score > best_score:
                best, best_score = Key(tonic, mode), score
    return best


def _correlation(a: list[float], b: list[float]) -> float:
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    da = sum((x - ma) ** 2 for x in a) ** 0.5
    db = sum((y - mb) ** 2 for y in b) ** 0.5
    return num / (da * db) if da and db else 0.0
