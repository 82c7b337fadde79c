"""What a Score may hold: the one check every file reader runs before handing a Score on.

The readers differ in what they forgive in foreign files (the MIDI and MusicXML readers
clamp absurd tempos and skip meters that cannot be counted, with :func:`clamp_bpm` and
:func:`countable_meter` below), but each ends with :func:`validate_score`, so a Score that
leaves a reader can be counted in bars and seconds: no division by zero, no negative
length. README "Files and limits" states the same limits.
"""

from __future__ import annotations

import math

from .errors import FileFormatError
from .score import ARTICULATIONS, CHANNEL_KINDS, CONDUCTOR, PPQ, TEXT_KINDS, Score
from .theory import key_from_sharps

__all__ = [
    "MAX_NOTES", "MAX_EVENTS", "MAX_TRACKS", "MIN_BPM", "MAX_BPM", "MAX_NUMERATOR",
    "VALID_DENOMINATORS", "MAX_TICK", "BEND_MIN", "BEND_MAX", "ReadNotes", "readable_bpm",
    "clamp_bpm", "countable_meter", "score_problem", "validate_score",
]

MAX_NOTES = 1_000_000
# Controllers, bends, aftertouch, later program changes, text and system events, each
# counted: a controller flood of a million events reads (about 100 MB); beyond two we
# refuse.
MAX_EVENTS = 2_000_000
# Voices (tracks of a Score; MusicXML parts, MIDI track chunks): beyond this a file is
# refused before it is parsed (a MusicXML of 500 parts reads in about 5 s).
MAX_TRACKS = 1000
# The highest lyric verse number (TextEvent.verse).
MAX_VERSE = 999
BEND_MIN, BEND_MAX = -8192, 8191
# A tempo is what a MIDI file can hold (set_tempo: 24-bit microseconds per quarter, so
# 3.576 bpm at the slowest) up to 1000 bpm: every tempo in that range is written and read
# back exactly in MIDI, MusicXML and project files. Slower or faster tempos of a foreign
# file are clamped (and said); a project file's are refused.
MIN_BPM = 60_000_000 / 0xFFFFFF
MAX_BPM = 1000.0
MAX_NUMERATOR = 64
VALID_DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)
# The longest piece: 24 hours at 120 bpm (43,200 bars of 4/4). A note or event later than
# this is refused: a 480-byte MusicXML with a note of a million bars no longer opens
# into an export that needs gigabytes.
MAX_TICK = 24 * 3600 * 2 * PPQ


class ReadNotes:
    """What a reader tells the user besides the Score: repairs of a damaged file and
    what it changed or left out (a tempo clamped, a meter ignored), each said once with
    how often it happened; :meth:`lines` gives them as one line per kind."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._damage: list[str] = []
        self._groups: dict[str, dict[str, int]] = {}

    def once(self, text: str) -> None:
        self._counts[text] = self._counts.get(text, 0) + 1

    def item(self, group: str, name: str) -> None:
        """One of several things of a kind: said in one phrase, ``group: a, b (3 times)``."""
        names = self._groups.setdefault(group, {})
        names[name] = names.get(name, 0) + 1

    def damage(self, items: list[str]) -> None:
        self._damage.extend(items)

    def lines(self, name: str) -> list[str]:
        out = []
        if self._damage:
            shown = self._damage[:6]
            more = len(self._damage) - len(shown)
            out.append(f"{name}: damaged file, opened with repairs: " + "; ".join(shown)
                       + (f"; and {more} more" if more else ""))
        changed = [text if n == 1 else f"{text} ({n:,} times)" for text, n in self._counts.items()]
        changed += [f"{group}: " + ", ".join(t if n == 1 else f"{t} ({n:,} times)"
                                            for t, n in names.items())
                    for group, names in self._groups.items()]
        if changed:
            out.append(f"{name}: " + "; ".join(changed))
        return out


def readable_bpm(bpm: float, said: ReadNotes | None = None) -> float:
    """A tempo from a foreign file in the range a Score holds, clamped to
    MIN_BPM..MAX_BPM; a clamped tempo is told to ``said``. The one tempo rule of the
    readers."""
    bpm = float(bpm)
    kept = min(max(bpm, MIN_BPM), MAX_BPM)
    if kept != bpm and said is not None:
        said.once(f"tempo {bpm:.6g} bpm set to {kept:.4g} bpm (tempos are "
                  f"{MIN_BPM:.4g}-{MAX_BPM:g} bpm)")
    return kept


def clamp_bpm(bpm: float) -> float:
    """A readable tempo from a foreign file: clamped to MIN_BPM..MAX_BPM."""
    return readable_bpm(bpm)


def countable_meter(numerator: int, denominator: int) -> bool:
    """Whether bars of this meter can be counted (1-64 beats of a power-of-two note)."""
    return 0 < numerator <= MAX_NUMERATOR and denominator in VALID_DENOMINATORS


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tick_ok(tick) -> bool:
    return _is_int(tick) and 0 <= tick <= MAX_TICK


def score_problem(score: Score) -> str | None:
    """The first thing wrong with ``score`` in words, or None when it is sound."""
    if score.ppq != PPQ:
        return f"unsupported resolution {score.ppq} (expected {PPQ})"
    if not score.tracks:
        return "no tracks"
    if len(score.tracks) > MAX_TRACKS:
        return f"{len(score.tracks):,} tracks: more than {MAX_TRACKS:,}, too many to edit"
    for i, t in enumerate(score.tracks, 1):
        if not (_is_int(t.channel) and 0 <= t.channel <= 15):
            return f"bad track {i} {t.name!r}: channel {t.channel} (channels are 1-16)"
        if not (_is_int(t.program) and 0 <= t.program <= 127):
            return f"bad track {i} {t.name!r}: program {t.program} (programs are 0-127)"
    if len(score.notes) > MAX_NOTES:
        return f"more than {MAX_NOTES:,} notes: too large to edit"
    n_tracks = len(score.tracks)
    for n in score.notes:
        if not (_is_int(n.pitch) and 0 <= n.pitch <= 127):
            return f"bad note {_note_text(n)}: pitches are 0-127"
        if not (_tick_ok(n.start) and _is_int(n.duration) and n.duration > 0
                and n.start + n.duration <= MAX_TICK):
            return f"bad note {_note_text(n)}: a note starts at tick 0 or later and lasts"
        if not (_is_int(n.velocity) and 1 <= n.velocity <= 127):
            return f"bad note {_note_text(n)}: velocities are 1-127"
        if not (_is_int(n.track) and 0 <= n.track < n_tracks):
            return f"bad note {_note_text(n)}: there is no track {n.track + 1}"
        if n.articulations and not (isinstance(n.articulations, tuple) and all(
                a in ARTICULATIONS for a in n.articulations)):
            return (f"bad note {_note_text(n)}: articulations are "
                    f"{', '.join(ARTICULATIONS)}, not {n.articulations!r:.60}")
    if not score.tempos:
        return "no tempo"
    for t in score.tempos:
        if not _tick_ok(t.tick):
            return f"bad tempo change at tick {t.tick}"
        bpm = t.bpm
        if not (isinstance(bpm, (int, float)) and math.isfinite(bpm)
                and MIN_BPM <= bpm <= MAX_BPM):
            return (f"tempo {bpm} bpm at tick {t.tick} "
                    f"(a tempo is {MIN_BPM:.4g}-{MAX_BPM:g} bpm)")
    if not score.time_signatures:
        return "no meter"
    for ts in score.time_signatures:
        if not _tick_ok(ts.tick):
            return f"bad meter change at tick {ts.tick}"
        if not (_is_int(ts.numerator) and _is_int(ts.denominator)
                and countable_meter(ts.numerator, ts.denominator)):
            return (f"meter {ts.numerator}/{ts.denominator} at tick {ts.tick} cannot be counted "
                    f"(1-{MAX_NUMERATOR} beats of a whole, half, quarter … 64th note)")
    for ks in score.key_signatures:
        if not _tick_ok(ks.tick):
            return f"bad key change at tick {ks.tick}"
        if ks.fifths is not None and not (
                _is_int(ks.fifths) and -7 <= ks.fifths <= 7
                and key_from_sharps(ks.fifths, ks.key.mode == "minor") == ks.key):
            count = (f"{abs(ks.fifths)} {'flats' if ks.fifths < 0 else 'sharps'}"
                     if _is_int(ks.fifths) else repr(ks.fifths))
            return f"a key signature of {count} at tick {ks.tick} is not {ks.key.name}"
    return _events_problem(score, n_tracks)


def _events_problem(score: Score, n_tracks: int) -> str | None:
    if len(score.channel_events) > MAX_EVENTS or len(score.text_events) > MAX_EVENTS:
        return f"more than {MAX_EVENTS:,} controller or text events: too large to edit"
    for e in score.channel_events:
        where = f"{e.kind} event at tick {e.tick}"
        if e.kind not in CHANNEL_KINDS:
            return f"unknown channel event {e.kind!r} at tick {e.tick}"
        if not _tick_ok(e.tick):
            return f"bad {where}: events are at tick 0 or later"
        if not (_is_int(e.track) and 0 <= e.track < n_tracks):
            return f"bad {where}: there is no track {e.track + 1 if _is_int(e.track) else e.track}"
        if not (_is_int(e.number) and 0 <= e.number <= 127):
            return f"bad {where}: number {e.number} (controllers, keys, programs are 0-127)"
        low, high = (BEND_MIN, BEND_MAX) if e.kind == "pitchwheel" else (0, 127)
        if not (_is_int(e.value) and low <= e.value <= high):
            return f"bad {where}: value {e.value} (it is {low} to {high})"
    for t in score.text_events:
        if t.kind not in TEXT_KINDS or not isinstance(t.text, str):
            return f"bad text event {t.kind!r} at tick {t.tick}"
        if not (_is_int(t.verse) and 1 <= t.verse <= MAX_VERSE):
            return f"bad {t.kind} at tick {t.tick}: verse {t.verse!r:.20} (verses are 1-{MAX_VERSE})"
        if not _tick_ok(t.tick):
            return f"bad {t.kind} at tick {t.tick}: events are at tick 0 or later"
        if not (_is_int(t.track) and (t.track == CONDUCTOR or 0 <= t.track < n_tracks)):
            return f"bad {t.kind} at tick {t.tick}: there is no track {t.track}"
    if len(score.system_events) > MAX_EVENTS:
        return f"more than {MAX_EVENTS:,} system events: too large to edit"
    for e in score.system_events:
        if not (_tick_ok(e.tick) and isinstance(e.data, bytes) and _system_bytes_ok(e.data)):
            return f"bad system event at tick {e.tick}"
        if not (_is_int(e.track) and (e.track == CONDUCTOR or 0 <= e.track < n_tracks)):
            return f"bad system event at tick {e.tick}: there is no track {e.track}"
    return None


def _system_bytes_ok(data: bytes) -> bool:
    """A whole system exclusive (F0/F7, length, data) or meta event (FF, type, length,
    data) other than the end of a track, as a MIDI file holds it."""
    if len(data) < 2 or data[0] not in (0xF0, 0xF7, 0xFF):
        return False
    pos = 1
    if data[0] == 0xFF:
        if data[1] > 0x7F or data[1] == 0x2F:
            return False
        pos = 2
    length = 0
    for _ in range(4):
        if pos >= len(data):
            return False
        byte = data[pos]
        pos += 1
        length = (length << 7) | (byte & 0x7F)
        if byte < 0x80:
            return pos + length == len(data)
    return False


def _note_text(n) -> str:
    return (f"(pitch {n.pitch}, start {n.start}, length {n.duration}, velocity {n.velocity}, "
            f"track {n.track + 1 if _is_int(n.track) else n.track})")


def validate_score(score: Score, where: str, label: str = "not a usable score") -> Score:
    """``score`` when it is sound; else :class:`FileFormatError` ``"WHERE: LABEL (why)"``."""
    problem = score_problem(score)
    if problem:
        raise FileFormatError(f"{where}: {label} ({problem})")
    return score
