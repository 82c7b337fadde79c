"""The harmony checker and chord labels for four-part writing in a Score.

The voice-leading rules themselves are :mod:`.voice_leading`'s (the same rulebook the
harmonizer's evaluation counts with); this module finds the four voices of a Score, turns
them into the succession of chords those rules read, and turns the findings back into
times, bars and one-line explanations a music student can act on. Chord labels are
roman numerals in the key, with inversion figures, secondary dominants and borrowed
chords, for every beat where the four voices sound a triad or seventh chord.

Pure Python (no music21, no Qt): the editor can run it on every edit, off the GUI
thread, and ``composer-app check`` prints the same list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import voice_leading as vl
from .errors import UserError
from .score import Note, Score
from .theory import VOICE_NAMES, Key, pitch_name

__all__ = ["Issue", "ChordMark", "four_voices", "succession", "check_score", "chord_labels",
           "roman_numeral", "chord_symbol", "EXPLANATIONS"]

EXPLANATIONS = {
    vl.PARALLEL_FIFTHS: "two voices move in the same direction from a fifth to a fifth; "
                        "they stop sounding independent",
    vl.ANTIPARALLEL_FIFTHS: "a fifth to a fifth by contrary motion (a twelfth or more "
                            "apart): still heard as consecutive fifths",
    vl.PARALLEL_OCTAVES: "two voices move from an octave to an octave: one voice is lost "
                         "in the other",
    vl.ANTIPARALLEL_OCTAVES: "an octave to an octave by contrary motion: still consecutive "
                             "octaves",
    vl.OCTAVE_UNISON: "an octave to a unison (or back): consecutive perfect consonances",
    vl.PARALLEL_UNISONS: "two voices move in unison: one voice disappears",
    vl.HIDDEN_FIFTHS: "the outer voices move the same way into a fifth (direct fifths); "
                      "softer when the soprano moves by step",
    vl.HIDDEN_OCTAVES: "the outer voices move the same way into an octave (direct "
                       "octaves); softer when the soprano moves by step",
    vl.CROSSING: "a voice goes below the voice under it (or above the one over it)",
    vl.OVERLAP: "a voice moves past the note the neighbouring voice just left",
    vl.SPACING: "more than an octave between soprano and alto, or alto and tenor",
    vl.RANGE: "a note outside the voice's usual range",
    vl.DOUBLED_LEADING_TONE: "the leading tone is doubled in a dominant chord: both copies "
                             "want to rise to the tonic",
    vl.UNRESOLVED_LEADING_TONE: "the leading tone of a dominant chord does not rise to the "
                                "tonic",
    vl.UNRESOLVED_SEVENTH: "the seventh of a V7 does not fall by step",
}


@dataclass(frozen=True)
class Issue:
    """One finding, placed in time: ``start`` is the tick of the chord where it is heard
    (for a motion, the chord it arrives at), ``end`` the next change; ``tracks`` the
    Score tracks of the voices involved."""

    kind: str
    voices: tuple[str, ...]
    tracks: tuple[int, ...]
    start: int
    end: int
    bar: int
    beat: int

    @property
    def explanation(self) -> str:
        return EXPLANATIONS.get(self.kind, "")

    def describe(self) -> str:
        return (f"bar {self.bar}, beat {self.beat}: {self.kind} ({'-'.join(self.voices)}): "
                f"{self.explanation}")

    def as_dict(self) -> dict:
        return {"kind": self.kind, "voices": list(self.voices), "tracks": list(self.tracks),
                "start": self.start, "end": self.end, "bar": self.bar, "beat": self.beat,
                "explanation": self.explanation}


@dataclass(frozen=True)
class ChordMark:
    """A chord label at a beat: the roman numeral in ``key`` and a chord symbol."""

    tick: int
    bar: int
    beat: int
    roman: str
    symbol: str


def four_voices(score: Score) -> list[int]:
    """The tracks of soprano, alto, tenor and bass: tracks named so, else the four tracks
    with notes, highest mean pitch first. :class:`UserError` when there are not four."""
    names = [t.name.strip().lower() for t in score.tracks]
    named = [names.index(v.lower()) for v in VOICE_NAMES if v.lower() in names]
    if len(named) == 4 and all(score.track_notes(t) for t in named):
        return named
    tracks = score.tracks_with_notes()
    if len(tracks) != 4:
        raise UserError(f"the harmony checker reads four-part writing (soprano, alto, tenor, "
                        f"bass); this piece has {len(tracks)} voices with notes")

    def mean(t: int) -> float:
        ns = score.track_notes(t)
        return sum(n.pitch for n in ns) / len(ns)

    return sorted(tracks, key=mean, reverse=True)


def _line(notes: list[Note]) -> list[Note]:
    """A voice as one line: of notes starting together the highest, each cut at the next."""
    out: list[Note] = []
    for n in sorted(notes, key=lambda n: (n.start, -n.pitch)):
        if out and n.start == out[-1].start:
            continue
        if out and out[-1].end > n.start:
            out[-1] = out[-1].moved(duration=n.start - out[-1].start)
        out.append(n)
    return out


def succession(score: Score, voices: Sequence[int]) -> tuple[list[int], list[tuple[int, ...]]]:
    """Ticks where the sound changes (a voice starts a note or falls silent) and the chord
    there (S, A, T, B pitches, -1 silent), as the evaluation reads a grid; all-silent
    moments are left out."""
    lines = [_line(score.track_notes(t)) for t in voices]
    ticks = sorted({n.start for ln in lines for n in ln} | {n.end for ln in lines for n in ln})
    at = [0] * 4
    out_ticks: list[int] = []
    chords: list[tuple[int, ...]] = []
    for tick in ticks:
        chord = []
        for v, ln in enumerate(lines):
            while at[v] < len(ln) and ln[at[v]].end <= tick:
                at[v] += 1
            n = ln[at[v]] if at[v] < len(ln) else None
            chord.append(n.pitch if n is not None and n.start <= tick < n.end else vl.SILENT)
        if max(chord) < 0:
            continue
        out_ticks.append(tick)
        chords.append(tuple(chord))
    return out_ticks, chords


def check_score(score: Score, key: Key | None = None) -> list[Issue]:
    """Every voice-leading finding of the four-part writing in ``score``, in time order.

    ``key`` defaults to the key in force at the start (the key signature, else detected
    from the soprano); tendency tones are judged in that one key."""
    voices = four_voices(score)
    ticks, chords = succession(score, voices)
    if key is None:
        key = score.key_in_force(0, score.track_notes(voices[0]))
    issues = []
    for f in vl.check_chords(chords, key):
        start = ticks[f.index]
        end = ticks[f.index + 1] if f.index + 1 < len(ticks) else score.end_tick
        bar, beat, _ = score.tick_to_bar_beat(start)
        issues.append(Issue(f.kind, tuple(VOICE_NAMES[v] for v in f.voices),
                            tuple(voices[v] for v in f.voices), start, end, bar, beat))
    return issues


# -- chord labels ----------------------------------------------------------------------------

_NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")
_MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
_MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)
_SYMBOL = {"major": "", "minor": "m", "diminished": "dim", "augmented": "+",
           "dominant7": "7", "major7": "maj7", "minor7": "m7", "half-diminished7": "m7b5",
           "diminished7": "dim7", "minor-major7": "m(maj7)", "augmented-major7": "+maj7"}


def _degree(pc: int, key: Key) -> tuple[str, int] | None:
    """(accidental, degree index) of a pitch class in the key; the raised 6th and 7th of
    minor count as diatonic (melodic/harmonic minor)."""
    rel = (pc - key.tonic) % 12
    steps = _MAJOR_STEPS if key.mode == "major" else _MINOR_STEPS
    if rel in steps:
        return "", steps.index(rel)
    if key.mode == "minor" and rel in (9, 11):
        return "", 5 if rel == 9 else 6
    for acc, d in (("b", 1), ("#", -1)):
        if (rel + d) % 12 in steps:
            return acc, steps.index((rel + d) % 12)
    return None


def _figure(quality: str, inversion: int) -> str:
    if quality.endswith("7"):
        return ("7", "65", "43", "42")[inversion]
    return ("", "6", "64")[min(inversion, 2)]


def roman_numeral(label: vl.ChordLabel, key: Key, bass_pc: int) -> str:
    """The roman numeral of a chord in ``key``: case by the third, ° and ø, + for
    augmented, the figure of its inversion (6, 64, 7, 65, 43, 42), a secondary dominant
    as V/x or vii°/x when the chord is not diatonic, a flat or sharp for a borrowed or
    chromatic root."""
    q = label.quality
    third = {"major": 4, "augmented": 4, "dominant7": 4, "major7": 4, "augmented-major7": 4}
    thirds = (label.root + third.get(q, 3)) % 12
    fifth = (label.root + (6 if "diminished" in q else 8 if "augmented" in q else 7)) % 12
    members = [label.root, thirds, fifth] + ([label.seventh] if label.seventh is not None else [])
    inversion = members.index(bass_pc) if bass_pc in members else 0
    if inversion == 3 and not q.endswith("7"):
        inversion = 0
    steps = _MAJOR_STEPS if key.mode == "major" else _MINOR_STEPS
    pcs_in_key = {(key.tonic + s) % 12 for s in steps} | (
        {(key.tonic + 9) % 12, (key.tonic + 11) % 12} if key.mode == "minor" else set())
    chord_in_key = all(m in pcs_in_key for m in members)
    if not chord_in_key and q in ("major", "dominant7", "diminished", "diminished7",
                                  "half-diminished7"):
        # a secondary function: V or vii° of a diatonic degree other than the tonic
        target = (label.root - 7) % 12 if q in ("major", "dominant7") else (label.root + 1) % 12
        deg = _degree(target, key)
        if deg is not None and deg[0] == "" and deg[1] != 0:
            base = "V" if q in ("major", "dominant7") else "vii" + ("ø" if q.startswith("half")
                                                                   else "°")
            target_q = "minor" if (target - key.tonic) % 12 in (
                (2, 4, 9) if key.mode == "major" else (0, 5, 7)) else "major"
            tname = _NUMERALS[deg[1]] if target_q == "major" else _NUMERALS[deg[1]].lower()
            return f"{base}{_figure(q, inversion)}/{tname}"
    deg = _degree(label.root, key)
    if deg is None:
        return "?"
    acc, d = deg
    name = _NUMERALS[d]
    if q in ("minor", "minor7", "diminished", "diminished7", "half-diminished7", "minor-major7"):
        name = name.lower()
    if q in ("diminished", "diminished7"):
        name += "°"
    elif q == "half-diminished7":
        name += "ø"
    elif q.startswith("augmented"):
        name += "+"
    return f"{acc}{name}{_figure(q, inversion)}"


def chord_symbol(label: vl.ChordLabel, bass_pc: int, key: Key | None = None) -> str:
    """"F#m", "E7/G#": sharps in sharp keys and C major, flats in flat keys."""
    def name(pc: int) -> str:
        return pitch_name(60 + pc, key)[:-1]

    sym = name(label.root) + _SYMBOL.get(label.quality, "")
    return sym if bass_pc == label.root else f"{sym}/{name(bass_pc)}"


def chord_labels(score: Score, key: Key | None = None) -> list[ChordMark]:
    """A label for every beat where the four voices sound a triad or seventh chord."""
    voices = four_voices(score)
    ticks, chords = succession(score, voices)
    if key is None:
        key = score.key_in_force(0, score.track_notes(voices[0]))
    marks = []
    i = 0
    tick = 0
    end = score.end_tick
    while tick < end:
        while i + 1 < len(ticks) and ticks[i + 1] <= tick:
            i += 1
        if ticks and ticks[i] <= tick:
            chord = chords[i]
            label = vl.chord_label(chord, key)
            if label is not None:
                bass = min(p for p in chord if p >= 0) % 12
                bar, beat, _ = score.tick_to_bar_beat(tick)
                marks.append(ChordMark(tick, bar, beat, roman_numeral(label, key, bass),
                                       chord_symbol(label, bass, key)))
        tick += score.time_signature_at(tick).beat_ticks
    return marks
