"""MusicXML read and write through music21, imported lazily (it is slow to import).

Percussion: MusicXML writes a drum note as ``<unpitched>`` (a staff position) that names
its sound through ``<instrument id>`` → ``<midi-unpitched>`` (1-based GM key) in the part
list. music21 keeps only the staff position, so before parsing we rewrite each unpitched
note as the pitch of the GM note it plays (its instrument's, else the part's one drum
sound, else its staff position read as a pitch); the part becomes a track on the GM
percussion channel. Writing does the reverse: a track on that channel is a percussion
part whose notes name one ``<midi-instrument>`` per drum sound.

Over 500 lines on purpose: the reader and the writer are mirror images over the same
music21 objects and the same conventions (pickup padding, drums, transposing parts,
spelled keys, rehearsal marks); kept side by side so a change to one is seen against the
other, and the round-trip tests read them as one. What is apart: the document before
music21 (:mod:`.musicxml_input`: size limits, exact tempos, drum pitches), what notation
says besides notes (:mod:`.notation_marks`: voices, grace notes, lyrics, dynamics, chord
symbols, words, repeats, read and written) and music21's two quadratic steps done in
linear time (:mod:`.m21_fast`).
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from .atomic import atomic_write_bytes
from .errors import Cancelled, FileFormatError, UserError, error_text
from .gm import DRUM_CHANNEL, drum_name, melodic_channel
from .m21_fast import (
    insert_staff_voices,
    insert_voiced,
    musicxml_bytes,
    tied_notes,
    untied_notes,
)
from .musicxml_input import (
    SHARP_STEPS,
    checked_root,
    exact_tempos,
    midi_numbers,
    with_drum_pitches,
    xml_bytes,
)
from .notation import DEFAULT_GRID, MAX_NOTATION_BARS, notation_copy
from .notation_marks import (
    articulations_of,
    dynamics_of,
    grace_notes,
    harmony_of,
    lyrics_of,
    repeats_of,
    slurs_of,
    tempo_words_at,
    tempo_words_of,
    unfolded,
    voices_of,
    with_repeats,
    without_restatements,
    words_of,
    write_articulations,
    write_marks,
)
from .score import (
    CONDUCTOR,
    PPQ,
    SUSTAIN,
    KeySignature,
    Note,
    Score,
    TempoChange,
    TextEvent,
    TimeSignature,
    Track,
)
from .theory import Key, key_from_sharps
from .validate import (
    ReadNotes,
    countable_meter,
    readable_bpm,
    validate_score,
)

__all__ = ["read_musicxml", "write_musicxml", "score_to_music21", "score_from_music21"]

log = logging.getLogger(__name__)


def read_musicxml(path: str | os.PathLike, notes: list[str] | None = None,
                  unfold: bool = True, progress: Progress | None = None) -> Score:
    """Read .musicxml/.xml/.mxl into a :class:`Score` (ties joined, chords split,
    fermatas kept as :attr:`Note.fermata`; lyrics, dynamics, chord symbols, tempo words
    and words as text events, a staff's voices as tracks, grace notes as short notes).
    Repeats are played out when ``unfold`` (the default), else kept written once with
    their barlines. What the user should know (a tempo clamped, repeats unfolded, grace
    notes kept) is appended to ``notes``. ``progress(fraction, what)`` is told how far
    the reading is (after the document, after each part parsed and each part
    converted); it may raise :class:`Cancelled` to stop, which passes through.

    The document is read, unzipped and parsed here, under the limits of
    ``music/validate.py`` checked before anything large is allocated: a ``.mxl`` member's
    declared size and compression ratio before it is unzipped (and the unzipping stopped
    at the limit whatever the header says), then parts, notes and the length of each part
    (its durations over its divisions) on the XML tree before music21 builds a note.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    said = ReadNotes()
    tell = progress or (lambda fraction, what: None)
    tell(0.0, "reading the file")
    root = checked_root(path, xml_bytes(path))
    tell(0.05, "parsing the parts")

    try:
        with_drum_pitches(root)
        exact_tempos(root)
        importer = _importer(tell, root)
        importer.xmlRootToScore(root, importer.stream)
        stream = importer.stream
        if stream.metadata is not None and stream.metadata.movementName is None:
            stream.metadata.movementName = path.name  # as music21 reads a file
        written = stream
        stream = unfolded(stream, root, said, unfold)
    except Cancelled:
        raise
    except Exception as exc:  # music21 raises many unrelated types for bad input
        raise FileFormatError(f"{path}: not a readable MusicXML file ({error_text(exc)})") from None
    score = score_from_music21(stream, said, progress=_scaled(tell, 0.8, 1.0))
    if stream is not written:
        without_restatements(score)
    score.title = score.title or path.name.split(".")[0]
    validate_score(score, str(path))
    if notes is not None:
        notes.extend(said.lines(path.name))
    return score


Progress = Callable[[float, str], None]


def _scaled(tell: Progress, low: float, high: float) -> Progress:
    """``tell`` for a stage that runs from ``low`` to ``high`` of the whole reading."""
    return lambda fraction, what: tell(low + (high - low) * fraction, what)


def _importer(tell: Progress, root):
    """music21's MusicXML importer, telling ``tell`` as it parses the measures of each
    part (0.05-0.8 of the whole reading, since ties are joined here: :func:`tied_notes`)."""
    from music21.musicxml import xmlToM21

    parts = root.findall("part")
    total = max(sum(1 for p in parts for _ in p.iterfind("measure")), 1)
    done = [0]

    class PartParser(xmlToM21.PartParser):
        def xmlMeasureToMeasure(self, mxMeasure):  # noqa: N802, N803 (music21's names)
            done[0] += 1
            if done[0] % 50 == 0:
                tell(0.05 + 0.75 * done[0] / total, f"parsed {done[0]:,} of {total:,} measures")
            return super().xmlMeasureToMeasure(mxMeasure)

    class Importer(xmlToM21.MusicXMLImporter):
        def xmlPartToPart(self, mxPart, mxScorePart):  # noqa: N802, N803
            # music21's own, with the parser above
            parser = PartParser(mxPart, mxScorePart=mxScorePart, parent=self)
            parser.parse()
            return parser.stream if parser.appendToScoreAfterParse is True else None

    return Importer()


def score_from_music21(stream, said: ReadNotes | None = None,
                       progress: Progress | None = None) -> Score:
    """Convert a music21 Score/Part/Stream to our :class:`Score`; tempos clamped or
    ignored are told to ``said``, ``progress(fraction, what)`` after each part."""
    from music21 import chord, harmony, instrument, key, meter, note, percussion, tempo
    from music21 import stream as m21stream

    parts = list(stream.parts) if hasattr(stream, "parts") and len(stream.parts) else [stream]
    score = Score(tracks=[], tempos=[], time_signatures=[], key_signatures=[])
    md = getattr(stream, "metadata", None)
    if md is not None and md.title:
        score.title = str(md.title)

    # A pickup (anacrusis) is kept as written, as the MIDI reader keeps it: its notes end
    # a silent first bar, so the first full measure starts on a bar line.
    pad = _pickup_padding(parts[0]) if parts else Fraction(0)

    def ticks(offset) -> int:
        return int(round((Fraction(offset) + pad) * PPQ))

    def meta_ticks(offset) -> int:  # what is written at the start applies from tick 0
        return 0 if Fraction(offset) == 0 else ticks(offset)

    first = parts[0].flatten() if parts else None
    if first is not None:
        from music21 import expressions

        for mark in first.getElementsByClass(expressions.RehearsalMark):
            if str(mark.content or "").strip():
                score.text_events.append(TextEvent(meta_ticks(mark.offset), "marker",
                                                   str(mark.content).strip()))
        for ts in first.getElementsByClass(meter.TimeSignature):
            # Meters that cannot be counted (0/x, x/3, 200/4) are ignored, as in MIDI files.
            if countable_meter(ts.numerator, ts.denominator):
                tick = meta_ticks(ts.offset)
                score.time_signatures.append(TimeSignature(tick, ts.numerator, ts.denominator))
        for ks in first.getElementsByClass((key.Key, key.KeySignature)):
            score.key_signatures.append(_key_signature(ks, meta_ticks(ks.offset), said))
        for mm in first.getElementsByClass(tempo.MetronomeMark):
            bpm = mm.getQuarterBPM()
            # No tempo, zero, negative: ignored; absurd ones clamped, as in MIDI files.
            if bpm and math.isfinite(bpm) and bpm > 0:
                score.tempos.append(TempoChange(meta_ticks(mm.offset), readable_bpm(bpm, said)))
            elif bpm is not None and said is not None:
                said.once(f"a tempo of {bpm} bpm ignored")

    if parts:
        score.time_signatures.extend(_short_bars(parts[0], ticks))

    if parts:
        tempo_words_of(first, meta_ticks, score)
        repeats_of(first, meta_ticks, score)

    for index, part in enumerate(parts):
        if progress is not None:
            progress(index / len(parts), f"converting part {index + 1} of {len(parts)}")
        staff = re.search(r"-Staff(\d+)$", str(part.id)) if isinstance(
            part, m21stream.PartStaff) else None
        staff_no = int(staff.group(1)) if staff is not None else 1
        name = part.partName if isinstance(part.partName, str) and part.partName \
            else f"Part {index + 2 - staff_no}"
        name = re.sub(r"\s*[\r\n]+\s*", " ", name)  # a track's name is one line ("Long Staff Name")
        if staff_no > 1:  # a piano's lower staff
            name = f"{name} staff {staff_no}"
        program = 0
        instr = part.getInstrument(returnDefault=False) if hasattr(part, "getInstrument") else None
        if instr is not None and instr.midiProgram is not None and 0 <= instr.midiProgram <= 127:
            program = int(instr.midiProgram)
        drums = isinstance(instr, instrument.UnpitchedPercussion) or (
            instr is not None and instr.midiChannel == DRUM_CHANNEL)
        if drums:
            program = 0
        is_stream = isinstance(part, m21stream.Stream)
        if is_stream and _written_transposed(part, instr):
            # A B-flat clarinet's part is written a tone above what sounds: the notes
            # are kept at sounding pitch, as MIDI and the roll have them.
            part = part.toSoundingPitch(inPlace=False)
        first_track, part_notes = len(score.tracks), len(score.notes)
        positions: dict[int, tuple[int, int]] = {}  # id of a written note -> (track, tick)
        unmarked: list[int] = []  # score.notes indexes of notes without a written velocity
        # Voices of one staff become voices (tracks) of the app: "Flute", "Flute voice 2"
        # (a drum staff's voices, hands and feet, stay one kit).
        voices = [(1, part)] if drums else voices_of(part)
        marks = None  # the staff's flat stream, for its dynamics, chord symbols and words
        for number, voice in voices:
            track = len(score.tracks)
            score.tracks.append(Track(
                name=str(name) if number == 1 else f"{name} voice {number}", program=program,
                channel=DRUM_CHANNEL if drums else melodic_channel(track)))
            voice_flat = voice.flatten() if is_stream else voice
            if voice is part:
                marks = voice_flat
            fermatas = _fermata_ticks(voice_flat, ticks)
            for el in voice_flat.notes:  # where each written note is, for its slurs
                if not el.duration.isGrace:
                    positions[id(el)] = (track, ticks(el.offset))
            graces = []
            first_note = len(score.notes)
            tied = tied_notes(voice, voice_flat) if is_stream else untied_notes(voice)
            for el, offset, length in tied:
                if isinstance(el, harmony.ChordSymbol):
                    continue  # a chord symbol: harmony_of
                if el.duration.isGrace:
                    graces.append((el, offset))
                    continue
                start = ticks(offset)
                duration = int(round(Fraction(length) * PPQ))
                if duration <= 0:
                    continue
                written = el.volume.velocity
                velocity = min(max(int(written), 1), 127) if written is not None else 80
                arts = articulations_of(el, said)
                for midi in midi_numbers(el, chord, note, percussion):
                    if written is None:
                        unmarked.append(len(score.notes))
                    score.notes.append(Note(midi, start, duration, velocity, track,
                                            fermata=_has_fermata(fermatas, midi, start, duration),
                                            articulations=arts))
            grace_notes(graces, ticks, track, score, said, first_note, unmarked)
            lyrics_of(voice_flat, ticks, track, score)
        # Marks written for the staff (not for one voice) go to its first voice.
        if marks is None:
            marks = part.flatten() if is_stream else part
        slurs_of(part, positions, score, part_notes, said)
        dynamics_of(marks, ticks, first_track, score, unmarked)
        harmony_of(marks, ticks, first_track, score)
        words_of(marks, ticks, first_track, score)
    if not score.tracks:
        score.tracks.append(Track())
    score.tempos = _dedupe(score.tempos) or [TempoChange(0, 120.0)]
    if score.tempos[0].tick != 0:
        score.tempos.insert(0, TempoChange(0, 120.0))
    score.time_signatures = _dedupe(score.time_signatures) or [TimeSignature(0, 4, 4)]
    score.key_signatures = _dedupe(score.key_signatures)
    score.sort()
    return score


# Church modes by their third: a minor one is read as the minor key of its signature.
_MINOR_MODES = ("minor", "dorian", "phrygian", "aeolian", "locrian")


def _key_signature(ks, tick: int, said: ReadNotes | None) -> KeySignature:
    """music21's key or key signature as ours. A church mode (E dorian) is read as the
    major or minor key of its signature (B minor), a signature that is not one of the
    usual ones (F♯ A♭ B♭, microtones) as the usual one that alters the same steps
    most alike; each said once. The signature is kept as written where the key is
    usually spelled otherwise (six flats stay G♭, not F♯)."""
    from music21 import key

    sharps = ks.sharps
    if not isinstance(sharps, int):
        if said is not None:
            said.once("key signatures that are not a usual one (F♯ A♭ B♭, microtones) "
                      "read as the nearest usual one")
        return KeySignature(tick, key_from_sharps(_nearest_signature(ks.alteredPitches)))
    mode = ks.mode if isinstance(ks, key.Key) else None
    if mode in ("major", "minor"):
        k = Key(ks.tonic.pitchClass, mode)
    elif mode is not None and -7 <= sharps <= 7:
        k = key_from_sharps(sharps, mode in _MINOR_MODES)
        if said is not None:
            said.once("church-mode keys read as the major or minor key of their signature "
                      "(E dorian as B minor, G lydian as D major)")
    else:
        k = Key((sharps * 7) % 12, "major")
    fifths = sharps if -7 <= sharps <= 7 else None
    return KeySignature(tick, k, None if fifths == k.sharps else fifths)


def _nearest_signature(altered) -> int:
    """The usual signature (sharps > 0, flats < 0) that alters the seven steps most like
    ``altered`` (music21 pitches, each step's alteration; the rest natural), the one
    with fewer accidentals on a tie."""
    wanted = {"C": 0.0, "D": 0.0, "E": 0.0, "F": 0.0, "G": 0.0, "A": 0.0, "B": 0.0}
    for p in altered:
        wanted[p.step] = float(p.accidental.alter) if p.accidental is not None else 0.0
    sharp_order, flat_order = "FCGDAEB", "BEADGCF"

    def alike(fifths: int) -> int:
        steps = sharp_order[:fifths] if fifths > 0 else flat_order[:-fifths]
        sign = 1.0 if fifths > 0 else -1.0
        return sum((sign if step in steps else 0.0) == alter for step, alter in wanted.items())

    return max(range(-7, 8), key=lambda f: (alike(f), -abs(f)))


def _written_transposed(part, instr) -> bool:
    """Whether ``part`` is written at a transposing instrument's written pitch."""
    if part.atSoundingPitch is True:
        return False
    transposition = getattr(instr, "transposition", None)
    return transposition is not None and transposition.semitones != 0


def _fermata_ticks(flat, ticks) -> dict[int, list[int]]:
    """MIDI pitch -> sorted onset ticks of the written notes that carry a fermata.

    Read before ties are joined: music21's ``stripTies`` keeps only the first tied note's
    expressions, but a fermata on a tied note is written (and placed by music21 itself
    on export) on the last one, the note where the phrase ends.
    """
    from music21 import chord, expressions, note, percussion

    found: dict[int, list[int]] = {}
    for el in flat.notes:
        if not any(isinstance(e, expressions.Fermata) for e in getattr(el, "expressions", ())):
            continue
        for midi in midi_numbers(el, chord, note, percussion):
            found.setdefault(midi, []).append(ticks(el.offset))
    for onsets in found.values():
        onsets.sort()
    return found


def _has_fermata(fermatas: dict[int, list[int]], pitch: int, start: int, duration: int) -> bool:
    """Whether a written fermata of ``pitch`` falls inside the joined note [start, end)."""
    onsets = fermatas.get(pitch)
    if not onsets:
        return False
    i = bisect.bisect_left(onsets, start)
    return i < len(onsets) and onsets[i] < start + duration


def _pickup_padding(part) -> Fraction:
    """Quarter notes missing from an incomplete first measure (0 when there is none)."""
    from music21 import stream as m21stream

    measures = part.getElementsByClass(m21stream.Measure) if hasattr(part, "getElementsByClass") else []
    if not measures:
        return Fraction(0)
    pad = measures[0].paddingLeft or 0
    return Fraction(pad).limit_denominator(960) if pad > 0 else Fraction(0)


def _short_bars(part, ticks) -> list[TimeSignature]:
    """Meters for the short measures inside a piece that no bar line of the meter in
    force would give: a pickup after a meter change mid-piece (bwv304: one beat, then
    3/4) becomes a bar of its own length, and the meter comes back after it, as a
    notation program writes it to MIDI. A bar split in two by a repeat sign (3 + 1
    beats of a 4/4 bar) is one bar of the meter and is left alone, and so are the
    first measure (the pickup, :func:`_pickup_padding`) and the last."""
    from music21 import stream as m21stream

    if not hasattr(part, "getElementsByClass"):
        return []
    measures = list(part.getElementsByClass(m21stream.Measure))
    out: list[TimeSignature] = []
    meter, run, run_start = None, Fraction(0), None
    for i, m in enumerate(measures):
        if m.timeSignature is not None:
            meter, run, run_start = m.timeSignature, Fraction(0), None
        if meter is None or i == 0:
            continue
        bar = Fraction(meter.barDuration.quarterLength).limit_denominator(960)
        length = Fraction(m.duration.quarterLength).limit_denominator(960)
        if length >= bar or i == len(measures) - 1:
            run, run_start = Fraction(0), None
            continue
        if run_start is None:
            run_start = m.offset
        run += length
        if run == bar:  # completed: a bar split by a repeat
            run, run_start = Fraction(0), None
            continue
        following = measures[i + 1]
        if run + Fraction(following.duration.quarterLength).limit_denominator(960) <= bar \
                and following.timeSignature is None:
            continue  # the bar may still be completed by the next measure
        den = meter.denominator
        while (run * den / 4).denominator != 1 and den < 64:
            den *= 2
        num = int(run * den / 4)
        if (run * den / 4).denominator == 1 and countable_meter(num, den):
            out.append(TimeSignature(ticks(run_start), num, den))
            if following.timeSignature is None:
                out.append(TimeSignature(ticks(following.offset), meter.numerator,
                                         meter.denominator))
        run, run_start = Fraction(0), None
    return out


def _dedupe(items):
    by_tick = {}
    for item in items:
        by_tick[item.tick] = item
    return [by_tick[t] for t in sorted(by_tick)]


def score_to_music21(score: Score, unwritten: dict[str, int] | None = None):
    """Build a music21 Score: one Part per track with meter, key and tempo marks, and the
    marks read from notation (lyrics, dynamics, chord symbols, words: write_marks);
    what could not be written is counted in ``unwritten`` (name -> how many)."""
    from music21 import (
        clef,
        expressions,
        instrument,
        key,
        layout,
        metadata,
        meter,
        note,
        stream,
        tempo,
    )

    # The chorale voices by name get their usual clefs; the tenor reads in the
    # treble clef an octave down (music21 alone would pick a plain treble or bass).
    clefs = {"soprano": clef.TrebleClef, "alto": clef.TrebleClef,
             "tenor": clef.Treble8vbClef, "bass": clef.BassClef}

    if unwritten is None:
        unwritten = {}
    m21 = stream.Score()
    voiced = []  # the parts whose overlapping notes are in voices (insert_voiced)
    if score.title:
        m21.insert(0, metadata.Metadata(title=score.title))
    all_staves = staves(score)
    joined = _staves_of_parts(score, all_staves)  # staff number -> its part's staves
    for number, staff in enumerate(all_staves):
        info = score.tracks[staff[0]]
        # A part of several staves (a piano's) is written as music21's PartStaffs in a
        # StaffGroup, which its exporter joins into one <part> with <staves>.
        part = (stream.PartStaff if number in joined else stream.Part)(id=f"P{number + 1}")
        part.partName = score.tracks[all_staves[joined[number][0]][0]].name \
            if number in joined else info.name
        drums = info.channel == DRUM_CHANNEL
        if drums:
            inst = instrument.UnpitchedPercussion()
        else:
            inst = (instrument.instrumentFromMidiProgram(info.program) if info.program
                    else instrument.Piano())
            inst.midiProgram = info.program
        inst.midiChannel = info.channel
        part.insert(0, inst)
        voice_clef = clef.PercussionClef if drums else clefs.get(info.name.strip().lower())
        if voice_clef is not None:
            part.insert(0, voice_clef())
        for ts in score.time_signatures:
            part.insert(Fraction(ts.tick, PPQ), meter.TimeSignature(f"{ts.numerator}/{ts.denominator}"))
        for ks in score.key_signatures:
            tonic = ks.name.rstrip("m").replace("b", "-")
            part.insert(Fraction(ks.tick, PPQ), key.Key(tonic, ks.key.mode))
        if number == 0:
            for mk in score.markers:  # the song form's sections, as rehearsal marks
                part.insert(Fraction(mk.tick, PPQ), expressions.RehearsalMark(mk.text))
            words = tempo_words_at(score)
            for t in score.tempos:
                part.insert(Fraction(t.tick, PPQ), tempo.MetronomeMark(
                    text=words.pop(t.tick, None), number=_shown_bpm(t.bpm), numberSounding=t.bpm))
            for tick, text in words.items():  # tempo words without a tempo change there
                if tick >= score.end_tick:  # no measure there
                    unwritten["tempo words"] = unwritten.get("tempo words", 0) + 1
                    continue
                part.insert(Fraction(tick, PPQ), expressions.TextExpression(text))
        placed = [_placed(score, index, drums) for index in staff]
        if len(staff) > 1:  # the app's voices of one staff: its voices
            insert_staff_voices(part, [p for p, _onsets in placed], stream)
            voiced.append(part)
        elif insert_voiced(part, placed[0][0], stream):
            voiced.append(part)
        for index, (_p, onsets) in zip(staff, placed):
            write_marks(part, score, index, onsets, unwritten)
        if getattr(inst, "transposition", None) is not None and inst.transposition.semitones:
            # Our notes sound; a transposing instrument's part is written transposed
            # (and says so in <transpose>), so that it reads back at sounding pitch.
            part.atSoundingPitch = True
            part.toWrittenPitch(inPlace=True)
        m21.insert(0, part)
        if number in joined and joined[number][-1] == number:
            m21.insert(0, layout.StaffGroup([p for p in m21.parts if p.id in {
                f"P{k + 1}" for k in joined[number]}], symbol="brace"))
    # The last bar completed with a rest: music21 ends a part where its last note ends,
    # and a piece of one short bar would read back as a pickup, its notes moved. Rests
    # reach the repeat barlines kept after the last note too (a forward one starts a bar).
    last_tick = max([score.end_tick] + [
        t.tick if t.text.startswith(":|") else score.bar_start(score.bar_of(t.tick) + 1)
        for t in score.text_events if t.kind == "repeat" and t.track == CONDUCTOR])
    end = max(Fraction(m21.highestTime).limit_denominator(PPQ * 16),
              Fraction(score.next_bar_line(last_tick), PPQ))
    for part in m21.parts:
        last = Fraction(part.highestTime).limit_denominator(PPQ * 16)
        if part not in voiced and last < end:
            part.insert(last, note.Rest(quarterLength=end - last))
    # The voices' gaps filled with rests to the end of the score, as music21's exporter
    # fills a part (with hidden rests it then drops) before its makeVoices fills them.
    for part in voiced:
        part.makeRests(refStreamOrTimeRange=[0.0, end], fillGaps=True, inPlace=True,
                       timeRangeFromBarDuration=True)
        part.removeByClass("Rest")
    return m21


def staves(score: Score) -> list[list[int]]:
    """The tracks by the staff they are written on: each track its own, save the voices
    the reader made of one staff ("Flute", then "Flute voice 2", "Flute voice 3" right
    after it, of the same program; not drums), which share their first voice's staff."""
    out: list[list[int]] = []
    for index, info in enumerate(score.tracks):
        if out:
            first = score.tracks[out[-1][0]]
            if (info.name == f"{first.name} voice {len(out[-1]) + 1}"
                    and info.program == first.program
                    and DRUM_CHANNEL not in (info.channel, first.channel)):
                out[-1].append(index)
                continue
        out.append([index])
    return out


def _staves_of_parts(score: Score, all_staves: list[list[int]]) -> dict[int, list[int]]:
    """The staves (numbers in ``all_staves``) written as one part of several staves,
    as the reader names a piano's: "Piano", then "Piano staff 2" right after it (and
    its voices), of the same program, not drums; each such staff number -> the numbers
    of its part's staves."""
    out: dict[int, list[int]] = {}
    run: list[int] = []
    for number, staff in enumerate(all_staves + [[-1]]):
        info = score.tracks[staff[0]] if staff[0] >= 0 else None
        first = score.tracks[all_staves[run[0]][0]] if run else None
        if (info is not None and first is not None
                and info.name == f"{first.name} staff {len(run) + 1}"
                and info.program == first.program
                and DRUM_CHANNEL not in (info.channel, first.channel)):
            run.append(number)
            continue
        if len(run) > 1:
            out.update({k: run for k in run})
        run = [number]
    return out


def _placed(score: Score, index: int, drums: bool):
    """Track ``index``'s notes as music21 notes and chords: (the (offset, element) list
    in music21's order: by onset, then length; the first element at each onset tick).
    Notes sharing onset and length become a chord; the rest go in as written. A chord
    carries one fermata for all its notes (MusicXML has no per-note one here)."""
    from music21 import chord, expressions, note, percussion

    placed = []
    groups: dict[tuple[int, int], list[Note]] = {}
    for n in score.notes:
        if n.track == index:
            groups.setdefault((n.start, n.duration), []).append(n)
    onsets: dict[int, object] = {}
    for (start, duration), notes in sorted(groups.items()):
        if drums:
            members = [_drum_note(n.pitch, note) for n in notes]
            el = members[0] if len(members) == 1 else percussion.PercussionChord(members)
        elif len(notes) == 1:
            el = note.Note(notes[0].pitch)
        else:
            el = chord.Chord([n.pitch for n in notes])
        el.quarterLength = Fraction(duration, PPQ)
        el.volume.velocity = notes[0].velocity
        if any(n.fermata for n in notes):
            # music21 moves it to the last note when it splits this one at a bar line.
            el.expressions.append(expressions.Fermata())
        write_articulations(el, notes)  # kept on the first, where they are read
        placed.append((Fraction(start, PPQ), el))
        onsets.setdefault(start, el)
    return placed, onsets


def _shown_bpm(bpm: float):
    """The tempo a reader sees (``<per-minute>``): whole, else to two decimals; the
    exact tempo travels in ``<sound tempo>`` (every MIDI tempo reads back exactly)."""
    shown = round(bpm, 2)
    return int(shown) if shown == int(shown) else shown


# Where a drum sound sits on a five-line percussion staff, as drum notation commonly
# places it (kick in the bottom space, snare on the third space, cymbals above); other
# sounds sit at their pitch's letter. Only the look: the sound travels in <instrument>.
_DRUM_DISPLAY = {
    35: ("E", 4), 36: ("F", 4), 37: ("C", 5), 38: ("C", 5), 39: ("D", 5), 40: ("C", 5),
    41: ("A", 4), 42: ("G", 5), 43: ("A", 4), 44: ("D", 4), 45: ("B", 4), 46: ("G", 5),
    47: ("D", 5), 48: ("E", 5), 49: ("A", 5), 50: ("F", 5), 51: ("F", 5), 52: ("A", 5),
    53: ("F", 5), 54: ("E", 5), 55: ("A", 5), 56: ("E", 5), 57: ("A", 5), 59: ("F", 5),
}
# The colour that marks a drum note in music21's output until _name_drum_sounds
# replaces it by the <instrument> of its sound (music21 writes no per-note instrument).
_DRUM_MARK = "#D0D0"


def _drum_note(gm: int, note):
    step, octave = _DRUM_DISPLAY.get(gm, (SHARP_STEPS[gm % 12], gm // 12 - 1))
    el = note.Unpitched()
    el.displayStep, el.displayOctave = step, min(max(octave, 0), 9)
    el.style.color = f"{_DRUM_MARK}{gm:02X}"
    return el


def _name_drum_sounds(data: bytes) -> bytes:
    """music21's MusicXML with each marked drum note naming its GM sound: one
    score-instrument and midi-instrument (channel 10, midi-unpitched) per sound used."""
    if _DRUM_MARK.encode() not in data.upper():
        return data
    head, at, _rest = data.partition(b"<score-partwise")
    root = ET.fromstring(data)
    score_parts = {sp.get("id"): sp for sp in root.iter("score-part")}
    for part in root.iter("part"):
        pid = part.get("id")
        used: list[int] = []
        for note_el in part.iter("note"):
            color = (note_el.get("color") or "").upper()
            if not color.startswith(_DRUM_MARK) or note_el.find("unpitched") is None:
                continue
            gm = int(color[len(_DRUM_MARK):], 16)
            for el in note_el.iter():
                if (el.get("color") or "").upper() == color:
                    del el.attrib["color"]
            if gm not in used:
                used.append(gm)
            children = list(note_el)
            after = max(i for i, c in enumerate(children) if c.tag in ("duration", "tie",
                                                                          "unpitched", "chord"))
            note_el.insert(after + 1, ET.Element("instrument", id=f"{pid}-X{gm}"))
        score_part = score_parts.get(pid)
        if not used or score_part is None:
            continue
        for old in score_part.findall("score-instrument") + score_part.findall("midi-instrument"):
            score_part.remove(old)
        children = list(score_part)
        at_ = max((i for i, c in enumerate(children)
                   if c.tag in ("part-name", "part-name-display", "part-abbreviation",
                                "part-abbreviation-display", "group")), default=-1) + 1
        for gm in reversed(sorted(used)):
            mi = ET.Element("midi-instrument", id=f"{pid}-X{gm}")
            ET.SubElement(mi, "midi-channel").text = str(DRUM_CHANNEL + 1)
            ET.SubElement(mi, "midi-unpitched").text = str(gm + 1)
            score_part.insert(at_, mi)
        for gm in reversed(sorted(used)):
            si = ET.Element("score-instrument", id=f"{pid}-X{gm}")
            ET.SubElement(si, "instrument-name").text = drum_name(gm)
            score_part.insert(at_, si)
    return head + ET.tostring(root, encoding="unicode").encode("utf-8")


def write_musicxml(score: Score, path: str | os.PathLike, grid: int = DEFAULT_GRID,
                   triplets: bool = True) -> list[str]:
    """Write MusicXML atomically (music21 writes a temp file that we then move in).

    Music off a notatable grid (a performance) is written quantized to ``grid`` (1/16
    by default; ``triplets`` allows the triplet grid a level up), the notation only: the
    score is not changed. Lyrics, dynamics, chord symbols, tempo words, words and kept
    repeats are written (:func:`write_marks`, :func:`with_repeats`); controllers,
    bends and MIDI text are not. Returns the notes for the user, one line
    each (what was quantized, what was not written), which the CLI prints and the log
    keeps."""
    path = Path(path)
    notes: list[str] = []
    bars = score.length_bars
    if bars > MAX_NOTATION_BARS:  # music21's notation time and memory grow with the bars
        raise UserError(f"{path}: {bars:,} bars is longer than MusicXML is written here "
                        f"(at most {MAX_NOTATION_BARS:,} bars); save as MIDI or a project")
    written, quantized = notation_copy(score, grid, triplets)
    unwritten: dict[str, int] = {}
    try:
        data = _musicxml_bytes(written, unwritten)
    except Exception as exc:
        if quantized is not None:
            raise UserError(f"{path}: cannot be written as MusicXML ({error_text(exc)})") from None
        # Spelled on a fine grid yet music21 could not write it: the notation grid then.
        written, quantized = notation_copy(score, grid, triplets, force=True)
        unwritten = {}
        try:
            data = _musicxml_bytes(written, unwritten)
        except Exception as exc2:
            raise UserError(f"{path}: cannot be written as MusicXML ({error_text(exc2)})") from None
    if quantized is not None:
        notes.append(f"{path.name}: {quantized}")
    dropped = dropped_events(score, unwritten)
    if dropped:
        notes.append(f"{path.name}: MusicXML here does not hold everything: not written "
                     f"{dropped} (save as MIDI or a project to keep them)")
    atomic_write_bytes(path, data)
    for line in notes:
        log.info("%s", line)
    return notes


_EVENT_NAMES = {"pitchwheel": "pitch bend", "aftertouch": "aftertouch",
                "polytouch": "key aftertouch", "program": "program change", "text": "text",
                "marker": "marker", "lyrics": "lyric", "cue_marker": "cue point",
                "copyright": "copyright notice"}


# Text events MusicXML holds (score_to_music21 writes them; markers apart, below).
_NOTATION_KINDS = ("lyrics", "dynamic", "chord", "tempo", "words", "repeat", "slur")


def dropped_events(score: Score, unwritten: dict[str, int] | None = None) -> str:
    """What of ``score`` MusicXML does not hold, in words ("" for nothing): "156 sustain
    pedal, 40 other controller, 3,339 pitch bend, 79 marker events". Lyrics, dynamics,
    chord symbols, words and repeats are written, save those the writer counted in
    ``unwritten`` (a lyric where no note starts)."""
    counts: dict[str, int] = dict(unwritten or {})
    for e in score.channel_events:
        if e.kind == "control":
            name = "sustain pedal" if e.number == SUSTAIN else "other controller"
        else:
            name = _EVENT_NAMES[e.kind]
        counts[name] = counts.get(name, 0) + 1
    for t in score.text_events:
        if t.kind == "marker" and t.track == CONDUCTOR and t.tick < score.end_tick:
            continue  # written, as rehearsal marks (one after the last note has no measure)
        if t.kind in _NOTATION_KINDS:
            continue  # written (or counted in unwritten)
        counts[_EVENT_NAMES[t.kind]] = counts.get(_EVENT_NAMES[t.kind], 0) + 1
    for e in score.system_events:
        name = "system exclusive" if e.data[:1] in (b"\xf0", b"\xf7") else "other meta"
        counts[name] = counts.get(name, 0) + 1
    if not counts:
        return ""
    return ", ".join(f"{n:,} {name}" for name, n in counts.items()) + " events"


def _musicxml_bytes(score: Score, unwritten: dict[str, int] | None = None) -> bytes:
    m21 = score_to_music21(score, unwritten)
    return with_repeats(_name_drum_sounds(musicxml_bytes(m21)), score, unwritten)
