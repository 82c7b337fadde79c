"""The one score type that flows through the whole app.

Time is in integer ticks at ``PPQ`` (480) ticks per quarter note, pitch is a MIDI
number, velocity 1-127. A ``Score`` holds a flat list of notes; each note names the
track (voice) it belongs to by index into ``Score.tracks``.
"""

from __future__ import annotations

import bisect
import copy
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from .theory import Key

PPQ = 480
DEFAULT_BPM = 120.0

__all__ = [
    "PPQ",
    "Note",
    "Track",
    "TempoChange",
    "TimeSignature",
    "KeySignature",
    "Score",
]


@dataclass(frozen=True, slots=True)
class Note:
    """One note. ``start`` and ``duration`` are ticks; ``track`` indexes ``Score.tracks``.

    ``locked`` marks a note the user pinned: generation must keep it as it is.
    ``fermata`` marks a phrase end (a fermata over the note, as read from MusicXML or set
    by the user): the harmonizer cadences there. MIDI cannot carry it; projects and
    MusicXML do.
    """

    pitch: int
    start: int
    duration: int
    velocity: int = 80
    track: int = 0
    locked: bool = False
    fermata: bool = False

    @property
    def end(self) -> int:
        return self.start + self.duration

    def moved(self, **changes) -> Note:
        return replace(self, **changes)


@dataclass(slots=True)
class Track:
    """A voice: a name, a MIDI channel (0-15) and a General MIDI program (0-127)."""

    name: str = "Melody"
    channel: int = 0
    program: int = 0
    mute: bool = False
    solo: bool = False


@dataclass(frozen=True, slots=True)
class TempoChange:
    tick: int
    bpm: float

    @property
    def us_per_quarter(self) -> int:
        return int(round(60_000_000 / self.bpm))


@dataclass(frozen=True, slots=True)
class TimeSignature:
    tick: int
    numerator: int = 4
    denominator: int = 4

    @property
    def bar_ticks(self) -> int:
        return self.numerator * self.beat_ticks

    @property
    def beat_ticks(self) -> int:
        return PPQ * 4 // self.denominator

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


@dataclass(frozen=True, slots=True)
class KeySignature:
    tick: int
    key: Key


@dataclass(frozen=True, slots=True)
class Marker:
    """A named place on the ruler (a song's sections: "A", "B", ...), from ``tick`` on."""

    tick: int
    name: str


@dataclass
class Score:
    """Notes, tracks and the conductor maps (tempo, meter, key), all in ticks.

    ``markers`` name places in the piece (the song form's sections); only MusicXML
    (rehearsal marks) carries them in a file so far.
    """

    notes: list[Note] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=lambda: [Track()])
    tempos: list[TempoChange] = field(default_factory=lambda: [TempoChange(0, DEFAULT_BPM)])
    time_signatures: list[TimeSignature] = field(default_factory=lambda: [TimeSignature(0, 4, 4)])
    key_signatures: list[KeySignature] = field(default_factory=list)
    ppq: int = PPQ
    title: str = ""
    markers: list[Marker] = field(default_factory=list)

    # -- basic queries -------------------------------------------------------------

    def copy(self) -> Score:
        return copy.deepcopy(self)

    def sort(self) -> None:
        """Sort notes by (start, track, pitch) and the maps by tick, in place."""
        self.notes.sort(key=lambda n: (n.start, n.track, n.pitch, n.duration))
        self.tempos.sort(key=lambda t: t.tick)
        self.time_signatures.sort(key=lambda t: t.tick)
        self.key_signatures.sort(key=lambda k: k.tick)

    @property
    def end_tick(self) -> int:
        """Tick where the last note ends (0 for an empty score)."""
        return max((n.end for n in self.notes), default=0)

    def track_notes(self, track: int) -> list[Note]:
        return sorted((n for n in self.notes if n.track == track), key=lambda n: (n.start, n.pitch))

    def tracks_with_notes(self) -> list[int]:
        return sorted({n.track for n in self.notes})

    def add_track(self, name: str, channel: int, program: int = 0) -> int:
        self.tracks.append(Track(name=name, channel=channel, program=program))
        return len(self.tracks) - 1

    # -- conductor maps ------------------------------------------------------------

    def tempo_at(self, tick: int) -> float:
        return _last_at(self.tempos, tick, TempoChange(0, DEFAULT_BPM)).bpm

    def time_signature_at(self, tick: int) -> TimeSignature:
        return _last_at(self.time_signatures, tick, TimeSignature(0, 4, 4))

    def key_at(self, tick: int) -> Key | None:
        ks = _last_at(self.key_signatures, tick, None)
        return ks.key if ks else None

    @property
    def key(self) -> Key | None:
        """The key at the start, or None when the file named none."""
        return self.key_at(0)

    def key_in_force(self, tick: int, melody: Iterable[Note] = ()) -> Key:
        """The key generation uses at ``tick``: the key signature in force there, else
        the key detected from ``melody`` (the notes being harmonized or continued), else
        C major. The one owner of this rule: the models and the editor's "Auto (…)"
        label both ask here."""
        from .theory import detect_key

        return self.key_at(tick) or detect_key((n.pitch, n.duration) for n in melody)

    def tick_to_seconds(self, tick: int) -> float:
        """Wall-clock seconds at ``tick`` following the tempo map."""
        seconds = 0.0
        tempos = self.tempos or [TempoChange(0, DEFAULT_BPM)]
        prev_tick, prev_bpm = 0, tempos[0].bpm if tempos[0].tick == 0 else DEFAULT_BPM
        for t in tempos:
            if t.tick > tick:
                break
            seconds += (t.tick - prev_tick) * 60.0 / (prev_bpm * self.ppq)
            prev_tick, prev_bpm = t.tick, t.bpm
        return seconds + (tick - prev_tick) * 60.0 / (prev_bpm * self.ppq)

    def seconds_to_tick(self, seconds: float) -> float:
        """Inverse of :meth:`tick_to_seconds` (fractional ticks)."""
        tempos = self.tempos or [TempoChange(0, DEFAULT_BPM)]
        elapsed, prev_tick = 0.0, 0
        prev_bpm = tempos[0].bpm if tempos[0].tick == 0 else DEFAULT_BPM
        for t in tempos:
            if t.tick == 0:
                continue
            span = (t.tick - prev_tick) * 60.0 / (prev_bpm * self.ppq)
            if elapsed + span > seconds:
                break
            elapsed += span
            prev_tick, prev_bpm = t.tick, t.bpm
        return prev_tick + (seconds - elapsed) * prev_bpm * self.ppq / 60.0

    @property
    def duration_seconds(self) -> float:
        return self.tick_to_seconds(self.end_tick)

    # -- bars and beats ------------------------------------------------------------

    def _meter_segments(self) -> list[tuple[int, int, TimeSignature]]:
        """(start tick, first bar index, meter) per meter change; bars are 0-based.

        A change written mid-bar closes the partial bar (it counts as a bar) and the
        new meter starts where it is written.
        """
        sigs = sorted(self.time_signatures, key=lambda s: s.tick)
        if not sigs or sigs[0].tick != 0:
            sigs = [TimeSignature(0, 4, 4)] + sigs
        segments: list[tuple[int, int, TimeSignature]] = []
        for sig in sigs:
            if not segments:
                segments.append((0, 0, sig))
                continue
            prev_tick, prev_bar, prev_sig = segments[-1]
            if sig.tick == prev_tick:
                segments[-1] = (prev_tick, prev_bar, sig)
                continue
            bars = -(-(sig.tick - prev_tick) // prev_sig.bar_ticks)
            segments.append((sig.tick, prev_bar + bars, sig))
        return segments

    def bar_start(self, bar: int) -> int:
        """Tick of the start of ``bar`` (0-based)."""
        segments = self._meter_segments()
        for tick, first_bar, sig in reversed(segments):
            if bar >= first_bar:
                return tick + (bar - first_bar) * sig.bar_ticks
        return bar * segments[0][2].bar_ticks

    def bar_of(self, tick: int) -> int:
        """0-based bar that contains ``tick``."""
        segments = self._meter_segments()
        for start, first_bar, sig in reversed(segments):
            if tick >= start:
                return first_bar + (tick - start) // sig.bar_ticks
        return 0

    def tick_to_bar_beat(self, tick: int) -> tuple[int, int, int]:
        """(bar, beat, tick within beat), bar and beat 1-based as a musician counts."""
        bar = self.bar_of(tick)
        sig = self.time_signature_at(tick)
        offset = tick - self.bar_start(bar)
        return bar + 1, offset // sig.beat_ticks + 1, offset % sig.beat_ticks

    def bar_beat_to_tick(self, bar: int, beat: int = 1, ticks: int = 0) -> int:
        """Inverse of :meth:`tick_to_bar_beat` (1-based bar and beat)."""
        start = self.bar_start(bar - 1)
        return start + (beat - 1) * self.time_signature_at(start).beat_ticks + ticks

    @property
    def length_bars(self) -> int:
        """Number of bars the notes reach into (a partial last bar counts)."""
        end = self.end_tick
        if end == 0:
            return 0
        return self.bar_of(end - 1) + 1

    def next_bar_line(self, tick: int) -> int:
        """The first bar line at or after ``tick``."""
        bar = self.bar_of(tick)
        start = self.bar_start(bar)
        return start if start == tick else self.bar_start(bar + 1)

    # -- editing helpers -----------------------------------------------------------

    def replace_notes(self, notes: Iterable[Note]) -> Score:
        out = self.copy()
        out.notes = list(notes)
        out.sort()
        return out


def _last_at(items: list, tick: int, default):
    ticks = [i.tick for i in items]
    idx = bisect.bisect_right(ticks, tick) - 1
    return items[idx] if idx >= 0 else (items[0] if items else default)
