"""Three of music21's steps done in linear time with music21's own rules: joining ties
(``stripTies`` copies the part and removes one note at a time), putting overlapping
notes in voices for notation (``makeVoices`` compares every pair) and finding the
spanners (slurs) of each note as the exporter writes it (``getBySpannedElement`` looks
through every spanner of the score for every note). Beethoven's op. 132 opened in 143 s
and exported in over 300 s with the first two; its 3,170 slurs, once read, made the
export 4 times slower with the third. Used by :mod:`.musicxml`.
"""

from __future__ import annotations

import logging
from fractions import Fraction

log = logging.getLogger(__name__)


def untied_notes(flat):
    return [(el, el.offset, el.quarterLength) for el in flat.notes]


def tied_notes(part, flat=None) -> list:
    """``(note or chord, offset, quarter length)`` of each note of ``part`` with its ties joined:
    what ``part.stripTies(inPlace=False).flatten().notes`` gives (the notes, each first
    note of a tie lasting to the end of its last), without the copy of the part and the
    one removal per tied note that make music21's ``stripTies`` quadratic (208 of the
    249 s that Beethoven's op. 132 took to open). The walk is music21's own (same order,
    same rules, ``matchByPitch``), over the part's flattened notes and rests (``flat``,
    when the caller has it: ``part.flatten()``); a stream
    that holds parts or voices at its top goes through music21's ``stripTies`` itself."""
    from music21 import chord, note
    from music21.common.numberTools import opFrac

    if part.hasPartLikeStreams() or part.hasVoices():
        return untied_notes(part.stripTies(inPlace=False).flatten())
    flat = part.flatten() if flat is None else flat
    seq = [el for el in flat.notesAndRests if el.quarterLength > 0]
    lengths: dict[int, object] = {}  # id of a chain's first note -> its joined length
    deleted: set[int] = set()
    connected: list[int] = []

    def end_match(n, last, i_last) -> bool:  # music21's updateEndMatch (matchByPitch)
        if (hasattr(n, "tie") and not isinstance(n, chord.Chord) and n.tie is not None
                and n.tie.type == "stop"):
            return True
        if (last is not None and i_last in connected and hasattr(last, "pitch")
                and hasattr(n, "pitch") and not isinstance(last, chord.Chord)
                and not isinstance(n, chord.Chord) and last.pitch == n.pitch):
            return True
        if (last is not None and not isinstance(n, note.Note) and i_last in connected
                and hasattr(last, "pitches") and hasattr(n, "pitches")):
            if len(last.pitches) != len(n.pitches):
                return False
            return all(a.step == b.step and a.isEnharmonic(b)
                       for a, b in zip(last.pitches, n.pitches))
        return False

    for i, n in enumerate(seq):
        i_last, last = (i - 1, seq[i - 1]) if i > 0 else (None, None)
        match = None
        tie = getattr(n, "tie", None)
        if tie is not None and tie.type == "start":
            if i_last is None or i_last not in connected:
                connected = [i]
            else:
                connected.append(i)
            match = False
        elif tie is not None and tie.type == "continue":
            if not connected:
                connected.append(i)
            elif end_match(n, last, i_last):
                connected.append(i)
            else:
                connected = [i]
            match = False
        if match is None:
            match = end_match(n, last, i_last)
        if match:
            connected.append(i)
            if len(connected) < 2:
                connected = []
                continue
            head = seq[connected[0]]
            total = 0
            for q in connected[1:]:
                total += seq[q].quarterLength
                deleted.add(id(seq[q]))
            lengths[id(head)] = opFrac(lengths.get(id(head), head.quarterLength) + total)
            connected = []
    return [(el, el.offset, lengths.get(id(el), el.quarterLength))
            for el in flat.notes if id(el) not in deleted]




def insert_voiced(part, placed, stream) -> bool:
    """Insert ``placed`` (offset, note or chord; sorted as music21 sorts them) into
    ``part``, overlapping notes in voices: what music21's ``makeVoices`` makes of them
    when it notates the part (the first voice whose last note has ended takes each note),
    in linear time; whether it made voices (their gaps are then filled with rests by
    the caller, to the end of the score). music21's own pairwise overlap search and a
    re-measured voice per note took 327 of the 564 s op. 132's export took (profiled);
    ``makeNotation`` then finds the voices made and leaves them."""
    voice_of, count = _voice_numbers(placed)
    if count <= 1:  # nothing overlaps: no voices, as music21 leaves it
        for offset, el in placed:
            part.insert(offset, el)
        return False
    voices = [stream.Voice() for _ in range(count)]
    for (offset, el), v in zip(placed, voice_of):
        voices[v].insert(offset, el)
    for voice in voices:
        part.insert(0, voice)
    return True


def insert_staff_voices(part, staff: list, stream) -> None:
    """Insert the notes of several voices of the app written on one staff (``staff``:
    one ``placed`` list each, as for :func:`insert_voiced`) into ``part`` as its
    voices, in order: each app voice's own overlapping notes in voices of their own."""
    for placed in staff:
        voice_of, count = _voice_numbers(placed)
        voices = [stream.Voice() for _ in range(max(count, 1))]
        for (offset, el), v in zip(placed, voice_of):
            voices[v].insert(offset, el)
        for voice in voices:
            part.insert(0, voice)


def _voice_numbers(placed) -> tuple[list[int], int]:
    """The voice (0, 1, …) of each of ``placed`` by music21's rule (the first voice
    whose last note has ended takes the note), and how many voices."""
    ends: list[Fraction] = []
    voice_of: list[int] = []
    for offset, el in placed:
        end = offset + Fraction(el.quarterLength)
        for v, voice_end in enumerate(ends):
            if voice_end <= offset:
                ends[v] = end
                break
        else:
            v = len(ends)
            ends.append(end)
        voice_of.append(v)
    return voice_of, len(ends)


def musicxml_bytes(m21_score) -> bytes:
    """music21's MusicXML of ``m21_score`` (what ``write("musicxml", makeNotation=True)``
    writes), with the spanners of each note looked up in an index of the score's
    spanners built once (:func:`indexed_spanners`) rather than searched for."""
    from music21.musicxml import m21ToXml

    class ScoreExporter(m21ToXml.ScoreExporter):
        def scorePreliminaries(self):  # noqa: N802 (music21's name)
            super().scorePreliminaries()
            self.spannerBundle = indexed_spanners(self.spannerBundle)

    class Exporter(m21ToXml.GeneralObjectExporter):
        def parseWellformedObject(self, sc):  # noqa: N802
            exporter = ScoreExporter(sc, makeNotation=self.makeNotation)
            exporter.parse()
            return exporter.asBytes()

    exporter = Exporter(m21_score)
    exporter.makeNotation = True
    return exporter.parse()


def indexed_spanners(bundle):
    """A copy of music21's SpannerBundle ``bundle`` whose ``getBySpannedElement`` (the
    spanners an element is in, in the bundle's order) is a lookup in an index by
    element, built once: for the exporter, which reads the spanners of a notated score
    and changes none (music21's own looks through every spanner each time)."""
    from music21 import spanner

    index: dict[int, list] = {}
    for sp in bundle:
        for element_id in dict.fromkeys(sp.getSpannedElementIds()):
            index.setdefault(element_id, []).append(sp)

    class Indexed(spanner.SpannerBundle):
        def getBySpannedElement(self, spannedElement):  # noqa: N802, N803 (music21's names)
            return spanner.SpannerBundle(index.get(id(spannedElement), []))

    return Indexed(list(bundle))
