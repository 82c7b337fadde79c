"""What notation says besides notes (issue 13), read and written with music21: a staff's
voices, grace notes, lyrics, dynamics, chord symbols, tempo words and other words,
repeats (unfolded or kept written once). Each becomes notes or ``Score.text_events``
(``score.TEXT_KINDS``) that the writer gives back. Called by :mod:`.musicxml`.

Over 500 lines on purpose: each kind of mark is a reader and its writer side by side
(the same music21 objects both ways), which the round-trip tests read as pairs; splitting
by kind would scatter the shared offset and voice helpers.
"""

from __future__ import annotations

import bisect
import functools
import logging
import xml.etree.ElementTree as ET
from dataclasses import replace
from fractions import Fraction

from .errors import error_text
from .musicxml_input import midi_numbers, parse_number
from .score import (
    ARTICULATIONS,
    CONDUCTOR,
    PPQ,
    Note,
    Score,
    TextEvent,
    numbered_verses,
)
from .validate import MAX_VERSE

log = logging.getLogger(__name__)


# What notation says besides notes (issue 13), read by one helper each and called from
# score_from_music21: voices of a staff, grace notes, lyrics, dynamics, chord symbols,
# tempo words and other words, repeats. Each becomes notes or Score.text_events
# (score.TEXT_KINDS) that score_to_music21 writes back.

def voices_of(part) -> list[tuple[int, object]]:
    """The voices of a staff as (number, stream of its notes at their offsets in the
    part), numbered in the order they first appear: ``[(1, part)]`` when no measure
    holds two voices. Notes written outside a voice belong to the first; chord symbols
    belong to the staff (:func:`harmony_of`) and are left out."""
    from music21 import harmony
    from music21 import stream as m21stream

    if not isinstance(part, m21stream.Stream):
        return [(1, part)]
    measures = list(part.getElementsByClass(m21stream.Measure))
    if not any(len(m.voices) > 1 for m in measures):
        return [(1, part)]
    loose: list = []
    voices: dict[str, list] = {}
    for m in measures:
        at = m.getOffsetBySite(part)
        for el in m.notes:
            if not isinstance(el, harmony.ChordSymbol):
                loose.append((at + el.getOffsetBySite(m), el))
        for v in m.voices:
            into = voices.setdefault(str(v.id), [])
            v_at = at + v.getOffsetBySite(m)
            for el in v.notes:
                if not isinstance(el, harmony.ChordSymbol):
                    into.append((v_at + el.getOffsetBySite(v), el))
    found = [items for items in voices.values() if items]
    if found:
        found[0] = loose + found[0]
    elif loose:
        found = [loose]
    out = []
    for number, items in enumerate(found, 1):
        voice = m21stream.Part()
        for offset, el in sorted(items, key=lambda item: item[0]):
            voice.coreInsert(offset, el)
        voice.coreElementsChanged()
        out.append((number, voice))
    return out or [(1, part)]


GRACE_TICKS = PPQ // 8  # a grace note is kept as a 32nd note


def grace_notes(graces, ticks, track: int, score: Score, said, first_note: int,
                 unmarked: list[int]) -> None:
    """Grace notes kept as short notes (a 32nd each, at most half the note they lead
    to) taken from the start of the note(s) of the voice they lead to, which start that
    much later; said once with how many. Grace notes before a tied note's continuation
    (inside a note that sounds on) are skipped, and said. ``score.notes[first_note:]``
    are the voice's."""
    from music21 import chord, note, percussion

    if not graces:
        return
    by_start: dict[int, list] = {}
    for el, offset in graces:  # (grace note, its offset in the voice)
        by_start.setdefault(ticks(offset), []).append(el)
    mains: dict[int, list[int]] = {}
    for i in range(first_note, len(score.notes)):
        if score.notes[i].start in by_start:
            mains.setdefault(score.notes[i].start, []).append(i)
    voice = score.notes[first_note:]
    for start, els in by_start.items():
        led = mains.get(start, [])
        if not led and any(n.start < start < n.end for n in voice):
            # before a tied note's continuation: inside a note that sounds on
            said and said.once("grace notes inside a tied note skipped")
            continue
        shortest = min((score.notes[i].duration for i in led), default=None)
        if shortest is not None and shortest < 2 * len(els):
            said and said.once("grace notes before a note too short to share skipped")
            continue
        step = GRACE_TICKS if shortest is None else min(GRACE_TICKS, shortest // (2 * len(els)))
        for k, el in enumerate(els):
            written = el.volume.velocity
            velocity = (min(max(int(written), 1), 127) if written is not None
                        else score.notes[led[0]].velocity if led else 80)
            for midi in midi_numbers(el, chord, note, percussion):
                if written is None:
                    unmarked.append(len(score.notes))
                score.notes.append(Note(midi, start + k * step, step, velocity, track))
            if said is not None:
                said.once("grace notes kept as 32nd notes taken from the time of the note "
                          "they lead to")
        taken = step * len(els)
        for i in led:
            n = score.notes[i]
            score.notes[i] = replace(n, start=n.start + taken, duration=n.duration - taken)


def lyrics_of(flat, ticks, track: int, score: Score) -> None:
    """Each note's lyric syllables as text events of kind "lyrics" at its onset, verse
    by verse with their numbers (``TextEvent.verse``), as MIDI karaoke writes them:
    "Hal-" "-le-" "-lu-" "-jah" (hyphens for the syllables of a word, read back by
    music21 as its <syllabic>)."""
    read = []
    for el in flat.notes:
        lyrics = getattr(el, "lyrics", None)
        if not lyrics:
            continue
        tick = ticks(el.offset)
        for lyric in sorted(lyrics, key=lambda ly: _verse(ly.number)):
            text = lyric.rawText
            if text and text.strip():
                read.append(TextEvent(tick, "lyrics", text, track, _verse(lyric.number)))
    score.text_events.extend(numbered_verses(read))


def _verse(number) -> int:
    """A lyric's verse from music21's number (1 where it has none)."""
    return number if isinstance(number, int) and 1 <= number <= MAX_VERSE else 1


# music21's articulation classes kept, by class name (a subclass is its own mark: a
# staccatissimo is no staccato); a detached-legato (portato) is a staccato and a tenuto.
_ARTICULATION_NAMES = {"Staccato": ("staccato",), "Staccatissimo": ("staccatissimo",),
                       "Accent": ("accent",), "StrongAccent": ("marcato",),
                       "Tenuto": ("tenuto",), "DetachedLegato": ("staccato", "tenuto")}
_ARTICULATION_CLASSES = {"staccato": "Staccato", "staccatissimo": "Staccatissimo",
                         "accent": "Accent", "marcato": "StrongAccent", "tenuto": "Tenuto"}


def articulations_of(el, said) -> tuple[str, ...]:
    """The marks (``score.ARTICULATIONS``) over a note or chord, in that order; other
    articulations (a breath mark, a doit, a bowing) are not kept, and said."""
    found: set[str] = set()
    for art in getattr(el, "articulations", ()):
        kind = type(art).__name__
        names = _ARTICULATION_NAMES.get(kind)
        if names is not None:
            found.update(names)
        elif said is not None:
            said.item("articulations not kept", art.name or kind)
    return tuple(a for a in ARTICULATIONS if a in found) if found else ()


def write_articulations(el, notes) -> None:
    """The marks of ``notes`` (one note, or the notes of a chord: every mark of any of
    them, as one chord carries them) onto music21's note or chord ``el``."""
    from music21 import articulations

    marks = {a for n in notes for a in n.articulations}
    for name in ARTICULATIONS:
        if name in marks:
            el.articulations.append(getattr(articulations, _ARTICULATION_CLASSES[name])())


def slurs_of(part, positions: dict[int, tuple[int, int]], score: Score, first_note: int,
             said) -> None:
    """The slurs of a staff as text events of kind "slur" on the voice of their first
    note: "(" at its onset, ")" at the onset of the last (a tied note's continuation
    counts as the note it continues: the onset in force there). ``positions`` maps the
    id of each written note or chord to its (track, tick); ``score.notes[first_note:]``
    are the staff's. A slur on grace notes or on notes not read is not kept, and said."""
    from music21 import spanner

    slurs = list(part.spanners.getElementsByClass(spanner.Slur)) \
        if hasattr(part, "spanners") else []
    if not slurs:
        return
    onsets: dict[int, list[int]] = {}
    for n in score.notes[first_note:]:
        onsets.setdefault(n.track, []).append(n.start)
    for starts in onsets.values():
        starts.sort()

    def onset_at(track: int, tick: int) -> int | None:
        starts = onsets.get(track, [])
        i = bisect.bisect_right(starts, tick) - 1
        return starts[i] if i >= 0 else None

    for slur in slurs:
        first, last = slur.getFirst(), slur.getLast()
        a, b = positions.get(id(first)), positions.get(id(last))
        if a is None or b is None:
            said and said.once("slurs on grace notes or on notes not read not kept")
            continue
        track = a[0]
        start, end = onset_at(track, a[1]), onset_at(track, b[1])
        if start is None or end is None or end <= start:
            continue  # a slur over one note (or back in time) slurs nothing
        score.text_events.append(TextEvent(start, "slur", "(", track))
        score.text_events.append(TextEvent(end, "slur", ")", track))


@functools.cache
def _slur_class():
    """music21's Slur, equal only to itself: music21 compares two slurs by their
    attributes (all alike), and its ``makeNotation`` looks for each note's slurs in the
    score's with ``in``, so that a piece of 3,000 slurs spent minutes comparing them."""
    from music21 import spanner

    class Slur(spanner.Slur):
        __eq__ = object.__eq__
        __hash__ = object.__hash__

    return Slur


def _write_slurs(part, marks: list[TextEvent], onsets: dict, unwritten: dict[str, int]) -> None:
    """Slurs ("(" … ")" text events of one voice, paired innermost first) as music21
    slurs from the note or chord starting at the "(" to the one sounding at the ")"."""
    if not marks:
        return
    ticks = sorted(onsets)
    open_at: list[int] = []
    for t in sorted(marks, key=lambda t: (t.tick, t.text != ")")):
        if t.text == "(":
            open_at.append(t.tick)
            continue
        if not open_at or t.text != ")":
            unwritten["slur"] = unwritten.get("slur", 0) + 1
            continue
        start = open_at.pop()
        i = bisect.bisect_right(ticks, t.tick) - 1
        first, last = onsets.get(start), onsets[ticks[i]] if i >= 0 else None
        if first is None or last is None or last is first:
            unwritten["slur"] = unwritten.get("slur", 0) + 2
            continue
        part.insert(0, _slur_class()(first, last))
    if open_at:
        unwritten["slur"] = unwritten.get("slur", 0) + len(open_at)


# The velocity of the notes after a dynamic mark (notes with their own velocity keep it).
DYNAMIC_VELOCITY = {"pppp": 8, "ppp": 20, "pp": 33, "p": 49, "mp": 64, "mf": 80, "f": 96,
                    "ff": 112, "fff": 120, "ffff": 127, "fp": 49, "sfp": 49}


def dynamics_of(flat, ticks, track: int, score: Score, unmarked: list[int]) -> None:
    """Dynamic marks kept as text events of kind "dynamic" on the staff's first voice,
    and the level of each (``DYNAMIC_VELOCITY``) given to the notes of the staff that
    follow it without a velocity of their own (``unmarked``: indexes in score.notes)."""
    from music21 import dynamics

    levels: list[tuple[int, int]] = []
    for mark in flat.getElementsByClass(dynamics.Dynamic):
        text = str(mark.value or "").strip()
        if not text:
            continue
        tick = ticks(mark.offset)
        score.text_events.append(TextEvent(tick, "dynamic", text, track))
        if text in DYNAMIC_VELOCITY:
            levels.append((tick, DYNAMIC_VELOCITY[text]))
    if not levels:
        return
    levels.sort()
    at = [t for t, _ in levels]
    for i in unmarked:
        n = score.notes[i]
        j = bisect.bisect_right(at, n.start) - 1
        if j >= 0:
            score.notes[i] = replace(n, velocity=levels[j][1])


def harmony_of(flat, ticks, track: int, score: Score) -> None:
    """Chord symbols (<harmony>) as text events of kind "chord" ("Cm7", "G7/B", "N.C.")."""
    from music21 import harmony

    for cs in flat.getElementsByClass(harmony.ChordSymbol):
        text = "N.C." if isinstance(cs, harmony.NoChord) else str(cs.figure or "").strip()
        if text:
            score.text_events.append(TextEvent(ticks(cs.offset), "chord", text, track))


def is_tempo_words(text: str) -> bool:
    """Whether words name a tempo ("Allegro", "Andante con moto", "Langsam")."""
    from music21 import tempo

    low = text.strip().lower()
    return any(low == word or low.startswith(word + " ") or low.startswith(word + ",")
               for word in tempo.defaultTempoValues)


def tempo_words_of(first, meta_ticks, score: Score) -> None:
    """Tempo words of the first part (words naming a tempo: "Allegro", "Andante con
    moto"; a metronome mark's own text) as text events of kind "tempo" for the piece.
    Other words at a metronome mark are words (:func:`words_of`): music21 does not say
    whether they shared its direction, and the writer puts a metronome mark at the start
    of every piece."""
    from music21 import expressions, tempo

    seen = set()
    for mm in first.getElementsByClass(tempo.MetronomeMark):
        if not mm.textImplicit and mm.text and str(mm.text).strip():
            seen.add((meta_ticks(mm.offset), str(mm.text).strip()))
    for te in first.getElementsByClass(expressions.TextExpression):
        if isinstance(te, expressions.RehearsalMark):
            continue
        text = str(te.content or "").strip()
        tick = meta_ticks(te.offset)
        if text and is_tempo_words(text):
            seen.add((tick, text))
    for tick, text in sorted(seen):
        score.text_events.append(TextEvent(tick, "tempo", text))


def words_of(flat, ticks, track: int, score: Score) -> None:
    """A direction's other words ("dolce", "cresc.") as text events of kind "words" on
    the staff's first voice (tempo words are the piece's: :func:`tempo_words_of`)."""
    from music21 import expressions

    tempo_words = {(t.tick, t.text) for t in score.text_events if t.kind == "tempo"}
    for te in flat.getElementsByClass(expressions.TextExpression):
        if isinstance(te, expressions.RehearsalMark):
            continue
        text = str(te.content or "").strip()
        tick = ticks(te.offset)
        at_start = (0, text) if te.offset == 0 else (tick, text)  # as meta_ticks reads it
        if text and not is_tempo_words(text) and (tick, text) not in tempo_words \
                and at_start not in tempo_words:
            score.text_events.append(TextEvent(tick, "words", text, track))


def repeats_of(first, meta_ticks, score: Score) -> None:
    """Repeat barlines of a piece read without unfolding, kept as text events of kind
    "repeat" for the piece: "|:" where a repeat starts, ":|" where it ends (":|x3" when
    played three times), so that MusicXML written from it repeats there again."""
    from music21 import bar

    for rep in first.getElementsByClass(bar.Repeat):
        tick = meta_ticks(rep.offset)
        if rep.direction == "start":
            text = "|:"
        else:
            times = rep.times
            text = ":|" if times in (None, 2) else f":|x{int(times)}"
        score.text_events.append(TextEvent(tick, "repeat", text))


def unfolded(stream, root, said, unfold: bool):
    """The piece with its repeats played out (music21's expandRepeats) when ``unfold``,
    said in one line with the bars written and played; as written otherwise (its repeat
    barlines kept: :func:`repeats_of`). A file whose repeats cannot be unfolded is read
    as written, and said."""
    from music21 import stream as m21stream

    if root.find(".//repeat") is None:
        return stream
    if not unfold:
        if said is not None:
            said.once("repeats kept written once (not unfolded)")
            _endings_not_kept(root, said)
        return stream
    parts = list(stream.parts) if len(stream.parts) else []
    written = len(parts[0].getElementsByClass(m21stream.Measure)) if parts else 0
    try:
        out = stream.expandRepeats()
    except Exception as exc:  # music21's Expander raises for repeats it cannot follow
        if said is not None:
            said.once(f"repeats left written once: they cannot be unfolded ({error_text(exc)})")
            _endings_not_kept(root, said)
        return stream
    played = len(out.parts[0].getElementsByClass(m21stream.Measure)) if len(out.parts) else 0
    if said is not None:
        said.once(f"repeats unfolded: {written:,} bars written, {played:,} played "
                  "(to keep them written once: --no-unfold, or Preferences > Repeats)")
    return out


def _endings_not_kept(root, said) -> None:
    """Repeats kept written once keep their barlines (:func:`repeats_of`) but not their
    first- and second-time endings: say how many brackets are lost."""
    endings = sum(1 for e in root.iter("ending") if e.get("type") == "start")
    if endings:
        said.once(f"{endings} first/second-time ending bracket{'s' if endings != 1 else ''} "
                  "not kept: the bars are kept, written without their brackets")


def without_restatements(score: Score) -> None:
    """An unfolded piece without the tempo, meter, key and tempo words that a repeated
    section restates (music21 copies the first bar's marks with it): an entry equal to
    the one in force changes nothing."""
    def changes(items, same):
        out = []
        for item in items:
            if not out or not same(out[-1], item):
                out.append(item)
        return out

    score.tempos = changes(score.tempos, lambda a, b: a.bpm == b.bpm)
    score.time_signatures = changes(score.time_signatures, lambda a, b: (
        a.numerator, a.denominator) == (b.numerator, b.denominator))
    score.key_signatures = changes(score.key_signatures, lambda a, b: (
        a.key, a.fifths) == (b.key, b.fifths))
    said_last = None  # the tempo words in force
    kept = []
    for t in score.text_events:
        if t.kind == "tempo" and t.track == CONDUCTOR:
            if t.text == said_last:
                continue
            said_last = t.text
        kept.append(t)
    score.text_events = kept


def tempo_words_at(score: Score) -> dict[int, str]:
    """The piece's tempo words by tick ("Allegro"), several at one tick joined."""
    out: dict[int, str] = {}
    for t in score.text_events:
        if t.kind == "tempo" and t.track == CONDUCTOR:
            out[t.tick] = f"{out[t.tick]} {t.text}" if t.tick in out else t.text
    return out


_DIRECTION_KINDS = ("dynamic", "chord", "words")


def write_marks(part, score: Score, index: int, onsets: dict, unwritten: dict[str, int]):
    """The text events of track ``index`` that notation holds, into its music21 part:
    lyrics on the note starting at their tick (verse by verse), slurs, dynamics, chord
    symbols and words as directions. A lyric with no note starting there, a slur without
    its two notes or a chord symbol music21 cannot spell is counted in ``unwritten``."""
    from music21 import dynamics, expressions, harmony, note

    _write_slurs(part, [t for t in score.text_events if t.track == index and t.kind == "slur"],
                 onsets, unwritten)
    end = score.end_tick
    last = max((t.tick for t in score.text_events if t.track == index and t.kind in
                _DIRECTION_KINDS), default=-1)
    if last >= end:  # a mark after the last note: a rest gives it a measure to sit in
        part.insert(Fraction(end, PPQ), note.Rest(quarterLength=Fraction(last - end + PPQ, PPQ)))
    for t in numbered_verses(t for t in score.text_events if t.track == index):
        at = Fraction(t.tick, PPQ)
        if t.kind == "lyrics":
            el = onsets.get(t.tick)
            if el is None or not t.text.strip():
                unwritten["lyric"] = unwritten.get("lyric", 0) + 1
                continue
            lyric = note.Lyric(number=t.verse)
            lyric.setTextAndSyllabic(t.text.strip(), applyRaw=False)
            el.lyrics.append(lyric)
        elif t.kind == "dynamic":
            part.insert(at, dynamics.Dynamic(t.text))
        elif t.kind == "chord":
            try:
                cs = harmony.NoChord() if t.text in ("N.C.", "NC") else harmony.ChordSymbol(t.text)
            except Exception:  # music21 raises several types for a figure it cannot read
                unwritten["chord symbol"] = unwritten.get("chord symbol", 0) + 1
                continue
            part.insert(at, cs)
        elif t.kind == "words":
            part.insert(at, expressions.TextExpression(t.text))


def with_repeats(data: bytes, score: Score, unwritten: dict[str, int] | None = None) -> bytes:
    """music21's MusicXML with the repeat barlines of a piece read without unfolding
    (text events of kind "repeat") written back: a forward repeat on the left of the
    measure starting at its tick, a backward one on the right of the measure ending
    there, in every part; one at no bar line is counted in ``unwritten``."""
    marks = [t for t in score.text_events if t.kind == "repeat" and t.track == CONDUCTOR]
    if not marks:
        return data
    head, _at, _rest = data.partition(b"<score-partwise")
    root = ET.fromstring(data)
    placed: set[int] = set()
    for part in root.iter("part"):
        divisions, now = 1.0, 0.0
        starts: dict[int, object] = {}
        ends: dict[int, object] = {}
        for measure in part.iter("measure"):
            starts.setdefault(round(now * PPQ / divisions), measure)
            longest = now
            for el in measure:
                if el.tag == "attributes":
                    value = parse_number((el.findtext("divisions") or "").strip())
                    if value:
                        now, longest = now * value / divisions, longest * value / divisions
                        divisions = value
                elif el.tag in ("note", "backup", "forward"):
                    if el.tag == "note" and (el.find("chord") is not None or
                                             el.find("grace") is not None):
                        continue
                    duration = parse_number((el.findtext("duration") or "0").strip()) or 0
                    now = now - duration if el.tag == "backup" else now + duration
                    longest = max(longest, now)
            now = longest
            ends[round(now * PPQ / divisions)] = measure
        for i, t in enumerate(marks):
            forward = t.text.startswith("|:")
            measure = starts.get(t.tick) if forward else ends.get(t.tick)
            if measure is None:
                continue
            placed.add(i)
            barline = ET.Element("barline", location="left" if forward else "right")
            ET.SubElement(barline, "bar-style").text = "heavy-light" if forward else "light-heavy"
            repeat = ET.SubElement(barline, "repeat", direction="forward" if forward else "backward")
            if t.text.startswith(":|x") and t.text[3:].isdigit():
                repeat.set("times", t.text[3:])
            for old in measure.findall("barline"):
                if old.get("location", "right") == barline.get("location"):
                    measure.remove(old)
            if forward:
                children = list(measure)
                at = next((i for i, c in enumerate(children)
                           if c.tag not in ("print", "attributes")), len(children))
                measure.insert(at, barline)
            else:
                measure.append(barline)
    if unwritten is not None and len(placed) < len(marks):
        unwritten["repeat barline"] = len(marks) - len(placed)
    return head + ET.tostring(root, encoding="unicode").encode("utf-8")
