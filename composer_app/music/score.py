"""The one score type that flows through the whole app.

Time is in integer ticks at ``PPQ`` (480) ticks per quarter note, pitch is a MIDI
number, velocity 1-127. A ``Score`` holds a flat list of notes; each note names the
track (voice) it belongs to by index into ``Score.tracks``.

What is not a note and not a conductor map is kept as it was read, so that a file from a
DAW comes back out with it (issue 13): ``Score.channel_events`` (controllers such as the
sustain pedal, pitch bends, aftertouch, program changes after a voice has begun) and
``Score.text_events`` (markers, lyrics, text, cue points, copyright), each in ticks and
naming its track, and ``Score.system_events`` (system exclusive and the meta events
nothing else holds, byte for byte). Editing notes never moves them: a note moved under the pedal plays
with the pedal where it was.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from operator import attrgetter

from .theory import Key, spelled_name

PPQ = 480
DEFAULT_BPM = 120.0

__all__ = [
    "PPQ",
    "Note",
    "Track",
    "TempoChange",
    "TimeSignature",
    "KeySignature",
    "ChannelEvent",
    "TextEvent",
    "numbered_verses",
    "SystemEvent",
    "CHANNEL_KINDS",
    "TEXT_KINDS",
    "ARTICULATIONS",
    "CONDUCTOR",
    "SUSTAIN",
    "Score",
]

# ChannelEvent.kind: a controller (number = controller, value 0-127), a pitch bend
# (value -8192..8191, 0 = none), channel aftertouch (value 0-127), polyphonic aftertouch
# (number = the key, value 0-127), a program change (number = the program).
CHANNEL_KINDS = ("control", "pitchwheel", "aftertouch", "polytouch", "program")
# TextEvent.kind: the MIDI meta events of that name, then what notation files say besides
# notes (issue 13): a dynamic mark ("p", "ff"; on a voice), a chord symbol ("Cm7"; on a
# voice), tempo words ("Allegro"; for the piece, at a tempo change or alone), other
# words of a direction ("dolce"; on a voice), a repeat barline kept written once
# ("|:" a repeat starts, ":|" it ends, ":|x3" played three times; for the piece) and a
# slur ("(" at the onset of its first note, ")" at its last note's; on a voice). MIDI
# holds these as text events.
TEXT_KINDS = ("text", "marker", "lyrics", "cue_marker", "copyright",
              "dynamic", "chord", "tempo", "words", "repeat", "slur")
# Note.articulations: the marks over a note that notation holds, in this order. Marks
# only: a staccato note plays as long as it is written.
ARTICULATIONS = ("staccato", "staccatissimo", "accent", "marcato", "tenuto")
CONDUCTOR = -1  # TextEvent.track of text that belongs to the whole piece (markers, ...)
SUSTAIN = 64  # the sustain pedal's controller number


@dataclass(frozen=True, slots=True)
class Note:
    """One note. ``start`` and ``duration`` are ticks; ``track`` indexes ``Score.tracks``.

    ``locked`` marks a note the user pinned: generation must keep it as it is.
    ``fermata`` marks a phrase end (a fermata over the note, as read from MusicXML or set
    by the user): the harmonizer cadences there. ``articulations`` are the marks over it
    (names from ARTICULATIONS, in that order: staccato, accent, …), kept as written and
    not played. MIDI cannot carry either (a MIDI save names them); projects and MusicXML
    do.
    """

    pitch: int
    start: int
    duration: int
    velocity: int = 80
    track: int = 0
    locked: bool = False
    fermata: bool = False
    articulations: tuple[str, ...] = ()

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
    """A key from ``tick``. ``fifths`` is the signature as the file wrote it (sharps > 0,
    flats < 0) when that is not the key's usual one (G♭ major written with six flats,
    A♯ minor with seven sharps); None for the usual spelling."""

    tick: int
    key: Key
    fifths: int | None = None

    @property
    def name(self) -> str:
        """The key's name as written: "Gb" where the file wrote G♭, else ``key.name``."""
        return self.key.name if self.fifths is None else spelled_name(self.key, self.fifths)


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """A channel message of a track other than a note, kept in place (see CHANNEL_KINDS)."""

    tick: int
    track: int
    kind: str
    number: int = 0
    value: int = 0


@dataclass(frozen=True, slots=True)
class TextEvent:
    """Meta text at a tick: a marker, a lyric syllable, text (see TEXT_KINDS); ``track``
    is the voice it belongs to, or CONDUCTOR for the whole piece. ``verse`` is a lyric's
    verse (1, 2, 3, … as notation numbers its lines of lyrics; unique at one tick of one
    voice: :func:`numbered_verses`); 1 for every other kind."""

    tick: int
    kind: str
    text: str
    track: int = CONDUCTOR
    verse: int = 1


def numbered_verses(events: Iterable[TextEvent]) -> list[TextEvent]:
    """``events`` with each lyric's verse unique at its tick and voice: its own number
    where no earlier lyric there has it, else the next free one (two lyrics of a MIDI
    file at one tick are verses 1 and 2; a note's two lyrics both numbered 1 stay two
    lines). The one rule of the readers and of the MusicXML writer."""
    used: dict[tuple[int, int], set[int]] = {}
    out = []
    for e in events:
        if e.kind == "lyrics":
            taken = used.setdefault((e.track, e.tick), set())
            verse = e.verse if isinstance(e.verse, int) and e.verse >= 1 else 1
            while verse in taken:
                verse += 1
            taken.add(verse)
            if verse != e.verse:
                e = replace(e, verse=verse)
        out.append(e)
    return out


@dataclass(frozen=True, slots=True)
class SystemEvent:
    """A MIDI event the app does not interpret, kept byte for byte to be written back in
    place: system exclusive (``data`` from its F0 or F7 status on) and the meta events not
    read as anything else (sequencer-specific, instrument and device names, port, channel
    prefix, SMPTE offset, …; ``data`` from its FF on). ``track`` as for TextEvent."""

    tick: int
    data: bytes
    track: int = CONDUCTOR


_BY_TICK = attrgetter("tick")


@dataclass
class Score:
    """Notes, tracks and the conductor maps (tempo, meter, key), all in ticks.

    ``markers`` name places in the piece (the song form's sections, a DAW's markers):
    MIDI marker events, the project file's events and MusicXML rehearsal marks carry them.
    """

    notes: list[Note] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=lambda: [Track()])
    tempos: list[TempoChange] = field(default_factory=lambda: [TempoChange(0, DEFAULT_BPM)])
    time_signatures: list[TimeSignature] = field(default_factory=lambda: [TimeSignature(0, 4, 4)])
    key_signatures: list[KeySignature] = field(default_factory=list)
    ppq: int = PPQ
    title: str = ""
    channel_events: list[ChannelEvent] = field(default_factory=list)
    text_events: list[TextEvent] = field(default_factory=list)
    system_events: list[SystemEvent] = field(default_factory=list)

    # -- basic queries -------------------------------------------------------------

    @property
    def markers(self) -> list[TextEvent]:
        """The piece's markers (a song's sections "A", "B", ...; a DAW's markers): the
        text events of kind "marker", in time order. One store for both."""
        return sorted((e for e in self.text_events if e.kind == "marker"), key=_BY_TICK)

    def set_markers(self, marks: Iterable[tuple[int, str]]) -> None:
        """Replace the piece's markers by ``(tick, name)`` pairs (for the whole piece)."""
        self.text_events = [e for e in self.text_events if e.kind != "marker"] + \
            [TextEvent(int(t), "marker", str(name)) for t, name in marks]
        self.text_events.sort(key=_BY_TICK)

    def copy(self) -> Score:
        """An independent copy. Notes, events and map entries are immutable and shared;
        the lists and the (mutable) tracks are new, so it costs a list copy, not a deep
        copy of a million objects."""
        return replace(
            self, notes=list(self.notes), tracks=[replace(t) for t in self.tracks],
            tempos=list(self.tempos), time_signatures=list(self.time_signatures),
            key_signatures=list(self.key_signatures),
            channel_events=list(self.channel_events), text_events=list(self.text_events),
            system_events=list(self.system_events))

    def sort(self) -> None:
        """Sort notes by (start, track, pitch) and the maps and events by tick, in place
        (events at one tick keep their order: they are sent in it)."""
        self.notes.sort(key=lambda n: (n.start, n.track, n.pitch, n.duration))
        self.tempos.sort(key=_BY_TICK)
        self.time_signatures.sort(key=_BY_TICK)
        self.key_signatures.sort(key=_BY_TICK)
        self.channel_events.sort(key=_BY_TICK)
        self.text_events.sort(key=_BY_TICK)
        self.system_events.sort(key=_BY_TICK)

    @property
    def end_tick(self) -> int:
        """Tick where the last note ends (0 for an empty score)."""
        return max((n.end for n in self.notes), default=0)

    def track_notes(self, track: int) -> list[Note]:
        return sorted((n for n in self.notes if n.track == track), key=lambda n: (n.start, n.pitch))

    def tracks_with_notes(self) -> list[int]:
        return sorted({n.track for n in self.notes})

    def track_events(self, track: int) -> list[ChannelEvent]:
        return [e for e in self.channel_events if e.track == track]

    def add_track(self, name: str, channel: int, program: int = 0) -> int:
        self.tracks.append(Track(name=name, channel=channel, program=program))
        return len(self.tracks) - 1

    # -- conductor maps ------------------------------------------------------------

    def tempo_at(self, tick: int) -> float:
        return _last_at(self.tempos, tick, TempoChange(0, DEFAULT_BPM)).bpm

    def time_signature_at(self, tick: int) -> TimeSignature:
        return _last_at(self.time_signatures, tick, TimeSignature(0, 4, 4))

    def key_at(self, tick: int) -> Key | None:
        """The key signature in force at ``tick``; None before the first one (a piece
        without a key at bar 1 has none there, even with a key change later)."""
        ks = _last_at(self.key_signatures, tick, None)
        return ks.key if ks and ks.tick <= tick else None

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

    def bars_after(self, tick: int, bars: int) -> int:
        """Where ``bars`` whole bars after ``tick`` end: the bar ``tick`` ends in is filled,
        then ``bars`` bars follow (meter changes honoured). The one rule for the span
        Continue fills, asked by the continuer and by the editor."""
        return self.bar_start(self.bar_of(self.next_bar_line(tick)) + int(bars))

    def voice_tracks(self, melody_track: int | None = None) -> dict[str, int]:
        """Tracks named Soprano, Alto, Tenor, Bass (the first of each name; the melody's
        own track never counts as a lower voice): the one voice mapping of the harmonizer
        and of the editor that fills its result in."""
        from .theory import VOICE_NAMES

        found: dict[str, int] = {}
        for i, t in enumerate(self.tracks):
            name = t.name.strip().lower()
            for voice in VOICE_NAMES:
                if name == voice.lower() and voice not in found and \
                        (i != melody_track or voice == VOICE_NAMES[0]):
                    found[voice] = i
        return found

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
