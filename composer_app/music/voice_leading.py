"""Voice-leading checks over four-part chord successions: the one module both the harmony
checker the user sees and the harmonizer's evaluation use, so both judge by one rulebook.

A chord is four MIDI pitches, soprano, alto, tenor, bass (``-1`` for a silent voice); a
succession is a list of chords, one per change of sound. Pure Python, no music21, so the
editor can check a piece while it is edited; ``tests/test_voice_leading.py`` holds the
definitions against music21's ``voiceLeading.VoiceLeadingQuartet`` on constructed
quartets.

Intervals are counted in semitones, not spelled: a MIDI file has no spelling, and the
ear hears C#-Ab as a fifth. Where music21's spelled definitions differ from a semitone
count (an augmented fourth heard as a diminished fifth, a diminished octave), the
semitone reading wins; see :func:`motion_findings` for the one choice this forces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .theory import SATB_RANGES, VOICE_NAMES, Key

__all__ = [
    "Chord", "Finding", "KINDS", "MOTION_KINDS", "PARALLEL_KINDS",
    "motion", "motion_findings", "check_chords", "chord_label", "ChordLabel",
    "is_dominant_function", "Resolution", "tendency_tones",
]

Chord = Sequence[int]  # (S, A, T, B) MIDI pitches, -1 = silent
SILENT = -1
SOPRANO, ALTO, TENOR, BASS = range(4)

# Kinds of findings, in the order a checker lists them.
PARALLEL_FIFTHS = "parallel fifths"
ANTIPARALLEL_FIFTHS = "antiparallel fifths"
PARALLEL_OCTAVES = "parallel octaves"
ANTIPARALLEL_OCTAVES = "antiparallel octaves"
OCTAVE_UNISON = "octave to unison"  # contrary motion between an octave and a unison
PARALLEL_UNISONS = "parallel unisons"
HIDDEN_FIFTHS = "hidden fifths"
HIDDEN_OCTAVES = "hidden octaves"
CROSSING = "voice crossing"
OVERLAP = "voice overlap"
SPACING = "spacing"
RANGE = "range"
UNRESOLVED_LEADING_TONE = "unresolved leading tone"
UNRESOLVED_SEVENTH = "unresolved seventh"
DOUBLED_LEADING_TONE = "doubled leading tone"

PARALLEL_KINDS = (PARALLEL_FIFTHS, ANTIPARALLEL_FIFTHS, PARALLEL_OCTAVES, ANTIPARALLEL_OCTAVES,
                  OCTAVE_UNISON, PARALLEL_UNISONS)
MOTION_KINDS = PARALLEL_KINDS + (HIDDEN_FIFTHS, HIDDEN_OCTAVES)
KINDS = MOTION_KINDS + (CROSSING, OVERLAP, SPACING, RANGE, DOUBLED_LEADING_TONE,
                        UNRESOLVED_LEADING_TONE, UNRESOLVED_SEVENTH)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: its kind (one of :data:`KINDS`), the voices involved (0 = soprano ..
    3 = bass, upper voice first) and the index of the chord where it is heard (for a
    motion, the chord it arrives at; for a tendency tone, the chord that holds it)."""

    kind: str
    voices: tuple[int, ...]
    index: int

    def describe(self) -> str:
        names = "-".join(VOICE_NAMES[v] for v in self.voices)
        return f"chord {self.index + 1}: {self.kind} ({names})"


# -- two voices moving ---------------------------------------------------------------------


def motion(a1: int, a2: int, b1: int, b2: int) -> str:
    """The motion of voice a (a1 -> a2) against voice b (b1 -> b2): "none", "oblique",
    "similar" or "contrary" (music21's ``motionType`` without its "parallel" refinement,
    which needs spelled intervals; parallels are found by :func:`motion_findings`)."""
    ma, mb = a2 - a1, b2 - b1
    if ma == 0 and mb == 0:
        return "none"
    if ma == 0 or mb == 0:
        return "oblique"
    return "similar" if (ma > 0) == (mb > 0) else "contrary"


def motion_findings(a1: int, a2: int, b1: int, b2: int, hidden: bool = False) -> list[str]:
    """Parallel and (with ``hidden``) hidden intervals as voice a moves a1 -> a2 against
    voice b moving b1 -> b2; an empty list when the motion is fine.

    The definitions are music21's ``VoiceLeadingQuartet`` ones on semitones:

    - parallel fifths: similar motion between (compound) perfect fifths, e.g. a fifth to a
      twelfth; antiparallel fifths: the same in contrary motion (music21's
      ``parallelFifth`` is true for both).
    - parallel octaves: similar motion between octaves or compound octaves, never a
      unison; antiparallel octaves: contrary motion between them; octave to unison:
      contrary motion between an octave (or compound) and a unison, either way (music21's
      ``parallelOctave`` is true for these three; its ``parallelUnison`` is true for the
      last two and for parallel unisons, so the three are kept apart here).
    - parallel unisons: similar motion from a unison to a unison.
    - hidden fifths / octaves: similar motion into a perfect fifth / an octave or unison
      from any other interval class (music21's ``hiddenInterval``; it does not ask that
      the upper voice leap). A unison reached from an octave in similar motion is a hidden
      octave, as in music21. Choice: a tritone moving to a perfect fifth is music21's
      diminished fifth to perfect fifth ("unequal fifths"), which music21 counts neither
      as parallel nor as hidden fifths, so neither is it here.

    Oblique motion and no motion give nothing.
    """
    kind = motion(a1, a2, b1, b2)
    if kind in ("none", "oblique"):
        return []
    d1, d2 = abs(a1 - b1), abs(a2 - b2)
    fifth1, fifth2 = d1 % 12 == 7, d2 % 12 == 7
    oct1, oct2 = d1 % 12 == 0, d2 % 12 == 0
    if kind == "contrary":
        if fifth1 and fifth2:
            return [ANTIPARALLEL_FIFTHS]
        if oct1 and oct2:
            return [ANTIPARALLEL_OCTAVES] if d1 and d2 else [OCTAVE_UNISON]
        return []
    # similar motion
    if fifth1 and fifth2:
        return [PARALLEL_FIFTHS]
    if oct1 and oct2 and d1 and d2:
        return [PARALLEL_OCTAVES]
    if d1 == 0 and d2 == 0:
        return [PARALLEL_UNISONS]
    if not hidden:
        return []
    if fifth2 and d1 % 12 != 6:
        return [HIDDEN_FIFTHS]
    if oct2:
        return [HIDDEN_OCTAVES]
    return []


# -- chords ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChordLabel:
    """A chord's root pitch class and quality: "major", "minor", "diminished",
    "augmented" (triads) or "dominant7", "major7", "minor7", "half-diminished7",
    "diminished7", "minor-major7", "augmented-major7" (sevenths, also without their
    fifth). ``complete`` is False for a seventh chord missing its fifth."""

    root: int
    quality: str
    complete: bool = True

    @property
    def seventh(self) -> int | None:
        """Pitch class of the chord seventh, None for a triad."""
        if not self.quality.endswith("7"):
            return None
        return (self.root + (9 if self.quality == "diminished7" else
                             11 if self.quality in ("major7", "minor-major7", "augmented-major7")
                             else 10)) % 12


_TRIADS = {(0, 4, 7): "major", (0, 3, 7): "minor", (0, 3, 6): "diminished",
           (0, 4, 8): "augmented"}
_SEVENTHS = {(0, 4, 7, 10): "dominant7", (0, 4, 7, 11): "major7", (0, 3, 7, 10): "minor7",
             (0, 3, 6, 10): "half-diminished7", (0, 3, 6, 9): "diminished7",
             (0, 3, 7, 11): "minor-major7", (0, 4, 8, 11): "augmented-major7"}
_NO_FIFTH = {(0, 4, 10): "dominant7", (0, 4, 11): "major7", (0, 3, 10): "minor7"}


def chord_label(pitches: Sequence[int], key: Key | None = None) -> ChordLabel | None:
    """Root and quality of the sounding pitches (``-1`` ignored), or None for anything
    that is not a triad or a seventh chord (dyads, added-note and suspension sounds).

    A complete triad or seventh is named by its stacked thirds; a seventh chord without
    its fifth (root, third, seventh: common in four parts) is recognised too. The
    symmetric chords are resolved in the key: a diminished seventh takes the key's
    leading tone as root when it holds it, else the bass; an augmented triad its bass.
    """
    pcs = sorted({p % 12 for p in pitches if p >= 0})
    if len(pcs) < 3:
        return None
    sounding = [p for p in pitches if p >= 0]
    bass = min(sounding) % 12
    found: list[ChordLabel] = []
    for table, complete in ((_TRIADS, True), (_SEVENTHS, True), (_NO_FIFTH, False)):
        for root in pcs:
            rel = tuple(sorted((p - root) % 12 for p in pcs))
            if rel in table:
                found.append(ChordLabel(root, table[rel], complete))
        if found:
            break
    if not found:
        return None
    if len(found) > 1:  # diminished seventh or augmented triad
        leading = (key.tonic + 11) % 12 if key is not None else None
        for label in found:
            if label.quality == "diminished7" and label.root == leading:
                return label
        for label in found:
            if label.root == bass:
                return label
    return found[0]


def is_dominant_function(label: ChordLabel | None, key: Key) -> bool:
    """V, V7 (also without its fifth), vii°, vii°7 or viiø7 of the key: the chords whose
    leading tone wants the tonic."""
    if label is None:
        return False
    degree = (label.root - key.tonic) % 12
    if degree == 7:
        return label.quality in ("major", "dominant7")
    if degree == 11:
        return label.quality in ("diminished", "diminished7", "half-diminished7")
    return False


def _next_different(chords: Sequence[Chord], i: int, v: int) -> int | None:
    """Index of the first chord after ``i`` where voice v sounds another pitch (None if it
    falls silent first or the succession ends)."""
    p = chords[i][v]
    for j in range(i + 1, len(chords)):
        q = chords[j][v]
        if q < 0:
            return None
        if q != p:
            return j
    return None


@dataclass(frozen=True, slots=True)
class Resolution:
    """One tendency tone of a dominant chord that moves to the tonic: ``tone`` is
    "leading tone" or "seventh", ``index`` the dominant chord that holds it, ``resolved``
    whether the voice went where the tone tends."""

    tone: str
    voice: int
    index: int
    resolved: bool


# A tonic chord: a triad, or the leading tone held over one (a retardation, read as a
# major seventh on the tonic).
_TONIC_QUALITIES = ("major", "minor", "major7", "minor-major7")


def tendency_tones(chords: Sequence[Chord], key: Key,
                   voices: Sequence[int] = (0, 1, 2, 3)) -> list[Resolution]:
    """The leading tones and V7 sevenths of every dominant-to-tonic progression.

    A dominant chord (:func:`is_dominant_function`: V, V7, vii°, vii°7, viiø7 of ``key``)
    "moves to the tonic" when the next chord with another label (sounds that are no
    triad or seventh, such as passing or suspension sounds, are skipped) is a major or
    minor triad on the key's tonic, or that triad with the leading tone held over it (a
    retardation, which reads as a major seventh chord). In such a progression:

    - the key's leading tone, in any of ``voices``, is resolved when that voice's next
      different pitch is the tonic a semitone above;
    - the seventh of a V7 (also without its fifth) is resolved when the voice's next
      different pitch is one or two semitones below: it falls by step.

    "Next different pitch": a tone held or repeated into the tonic chord (a retardation,
    a delayed resolution) is judged by where it goes next, as the textbooks allow; a
    voice that falls silent first is not counted. music21 has no check of its own for
    these (``isProperResolution`` checks intervals against the bass, not tendency tones).
    Deceptive and half progressions (V-vi, V-IV6) are not judged. A tone held across
    several dominant chords is counted once.
    """
    labels = [chord_label(c, key) for c in chords]
    leading = (key.tonic + 11) % 12
    dominant = (key.tonic + 7) % 12
    out: list[Resolution] = []
    seen: set[tuple[int, int]] = set()
    for i, chord in enumerate(chords):
        label = labels[i]
        if not is_dominant_function(label, key):
            continue
        j = i + 1
        while j < len(chords) and (labels[j] is None or labels[j] == label):
            j += 1
        if j >= len(chords):
            continue
        target = labels[j]
        if target.root != key.tonic or target.quality not in _TONIC_QUALITIES:
            continue
        seventh = label.seventh if label.quality == "dominant7" and label.root == dominant \
            else None
        for v in voices:
            p = chord[v]
            if p < 0 or p % 12 not in (leading, seventh):
                continue
            start = i
            while start > 0 and chords[start - 1][v] == p:
                start -= 1
            if (start, v) in seen:
                continue
            k = _next_different(chords, i, v)
            if k is None:
                continue
            seen.add((start, v))
            step = chords[k][v] - p
            if p % 12 == leading:
                out.append(Resolution("leading tone", v, i, step == 1))
            else:
                out.append(Resolution("seventh", v, i, -2 <= step <= -1))
    return out


# -- the whole check -------------------------------------------------------------------------


def check_chords(chords: Sequence[Chord], key: Key | None = None,
                 ranges: dict[str, tuple[int, int]] | None = None,
                 hidden_needs_leap: bool = False) -> list[Finding]:
    """Every finding in a succession of four-part chords, in chord order; each names
    the chord by its index in ``chords`` (the caller maps that to a time).

    - motions (:func:`motion_findings`) between every pair of voices that sound in both
      chords; hidden fifths/octaves only between soprano and bass, and with
      ``hidden_needs_leap`` only when the soprano leaps (the textbook rule; music21 and
      the default do not ask it).
    - voice crossing: an upper voice below the next lower sounding voice in a chord
      (music21's ``voiceCrossing``); overlap: a voice moving above the previous pitch of
      the voice above it or below that of the voice below it (``voiceOverlap``).
    - spacing: more than an octave between soprano and alto or alto and tenor.
    - range: a note outside its voice's range (``ranges``, default
      :data:`~composer_app.music.theory.SATB_RANGES`), reported where the note starts.
    - with a ``key``: a leading tone doubled (two voices on it, at a change where one of
      them moves there) in a dominant-function chord; in dominant-to-tonic progressions,
      leading tones that do not rise
      to the tonic and V7 sevenths that do not fall by step, in any voice
      (:func:`tendency_tones`; a checker may forgive inner voices, as textbooks do).
    """
    ranges = ranges or SATB_RANGES
    found: list[Finding] = []
    for i, chord in enumerate(chords):
        prev = chords[i - 1] if i else None
        sounding = [v for v in range(4) if chord[v] >= 0]
        if prev is not None:
            for x in range(4):
                for y in range(x + 1, 4):
                    if min(prev[x], chord[x], prev[y], chord[y]) < 0:
                        continue
                    outer = (x, y) == (SOPRANO, BASS)
                    hidden = outer and (not hidden_needs_leap or abs(chord[x] - prev[x]) > 2)
                    for kind in motion_findings(prev[x], chord[x], prev[y], chord[y], hidden):
                        found.append(Finding(kind, (x, y), i))
        for x, y in zip(sounding, sounding[1:]):
            if chord[x] < chord[y]:
                found.append(Finding(CROSSING, (x, y), i))
            if prev is not None and min(prev[x], prev[y]) >= 0 and \
                    (chord[x] < prev[y] or chord[y] > prev[x]):
                found.append(Finding(OVERLAP, (x, y), i))
        for x, y in ((SOPRANO, ALTO), (ALTO, TENOR)):
            if chord[x] >= 0 and chord[y] >= 0 and chord[x] - chord[y] > 12:
                found.append(Finding(SPACING, (x, y), i))
        for v in sounding:
            lo, hi = ranges[VOICE_NAMES[v]]
            if not lo <= chord[v] <= hi and (prev is None or prev[v] != chord[v]):
                found.append(Finding(RANGE, (v,), i))
    if key is not None:
        leading = (key.tonic + 11) % 12
        for i, chord in enumerate(chords):
            on = [v for v in range(4) if chord[v] >= 0 and chord[v] % 12 == leading]
            arrived = i == 0 or any(chords[i - 1][v] != chord[v] for v in on)
            if len(on) >= 2 and arrived and is_dominant_function(chord_label(chord, key), key):
                found.append(Finding(DOUBLED_LEADING_TONE, tuple(on), i))
        for r in tendency_tones(chords, key):
            if not r.resolved:
                kind = UNRESOLVED_LEADING_TONE if r.tone == "leading tone" else UNRESOLVED_SEVENTH
                found.append(Finding(kind, (r.voice,), r.index))
    found.sort(key=lambda f: (f.index, KINDS.index(f.kind), f.voices))
    return found
