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
other, and the round-trip tests read them as one.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from .atomic import atomic_write_bytes
from .errors import Cancelled, FileFormatError, UserError
from .gm import DRUM_CHANNEL, drum_name, melodic_channel
from .notation import DEFAULT_GRID, MAX_NOTATION_BARS, notation_copy
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
from .theory import Key
from .validate import (
    MAX_NOTES,
    MAX_TICK,
    MAX_TRACKS,
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
    root = _checked_root(path, _xml_bytes(path))
    tell(0.05, "parsing the parts")

    try:
        _with_drum_pitches(root)
        _exact_tempos(root)
        importer = _importer(tell, root)
        importer.xmlRootToScore(root, importer.stream)
        stream = importer.stream
        if stream.metadata is not None and stream.metadata.movementName is None:
            stream.metadata.movementName = path.name  # as music21 reads a file
        written = stream
        stream = _unfolded(stream, root, said, unfold)
    except Cancelled:
        raise
    except Exception as exc:  # music21 raises many unrelated types for bad input
        raise FileFormatError(f"{path}: not a readable MusicXML file ({_short(exc)})") from None
    score = score_from_music21(stream, said, progress=_scaled(tell, 0.8, 1.0))
    if stream is not written:
        _without_restatements(score)
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
    part (0.05-0.8 of the whole reading, since ties are joined here: :func:`_tied_notes`)."""
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


# The largest MusicXML document read (music21 needs about 20 times its size in memory),
# and the highest compression ratio of a .mxl member (MusicXML compresses 10-30 times;
# a zip bomb a thousand).
MAX_XML_BYTES = 64 * 1024 * 1024
MAX_ZIP_RATIO = 200


def _xml_bytes(path: Path) -> bytes:
    """The MusicXML document of ``path`` (the root file of a .mxl), read within the
    limits; raises :class:`FileFormatError`."""
    try:
        size = path.stat().st_size
        if not zipfile.is_zipfile(path):
            if size > MAX_XML_BYTES:
                raise FileFormatError(f"{path}: {size / 2**20:,.0f} MB: larger than the "
                                      f"{MAX_XML_BYTES // 2**20} MB a MusicXML file may be")
            return path.read_bytes()
        with zipfile.ZipFile(path) as zf:
            return _mxl_member(path, zf)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError,
            NotImplementedError, EOFError) as exc:
        raise FileFormatError(f"{path}: not a readable MusicXML file ({_short(exc)})") from None


def _mxl_member(path: Path, zf: zipfile.ZipFile) -> bytes:
    names = [i for i in zf.infolist() if not i.filename.startswith("META-INF/")
             and i.filename.lower().endswith((".xml", ".musicxml"))]
    container = zf.NameToInfo.get("META-INF/container.xml")
    if container is not None and container.file_size <= 1 << 20:
        try:
            found = ET.fromstring(_unzipped(path, zf, container)).find(".//{*}rootfile")
            if found is None:
                found = ET.fromstring(_unzipped(path, zf, container)).find(".//rootfile")
            wanted = found.get("full-path") if found is not None else None
            names = [i for i in names if i.filename == wanted] or names
        except ET.ParseError:
            pass
    if not names:
        raise FileFormatError(f"{path}: a compressed MusicXML file without a score in it")
    return _unzipped(path, zf, names[0])


def _unzipped(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, refused before unzipping when its declared size or its ratio
    is beyond the limits, and cut off at the limit whatever the header declared."""
    if info.file_size > MAX_XML_BYTES:
        raise FileFormatError(
            f"{path}: {info.filename} unzips to {info.file_size / 2**20:,.0f} MB: larger "
            f"than the {MAX_XML_BYTES // 2**20} MB a MusicXML file may be")
    if info.file_size > 1 << 20 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
        raise FileFormatError(
            f"{path}: {info.filename} unzips {info.file_size // max(info.compress_size, 1):,} "
            f"times larger than it is (a zip bomb?); MusicXML compresses at most "
            f"{MAX_ZIP_RATIO} times")
    with zf.open(info) as member:
        data = member.read(MAX_XML_BYTES + 1)
    if len(data) > MAX_XML_BYTES:
        raise FileFormatError(f"{path}: {info.filename} unzips to more than its declared "
                              f"size and the {MAX_XML_BYTES // 2**20} MB limit")
    return data


def _checked_root(path: Path, data: bytes):
    """The parsed document, refused when it holds more parts or notes than a Score may,
    or a part longer than the longest piece (``music/validate.py``)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise FileFormatError(f"{path}: not a readable MusicXML file ({_short(exc)})") from None
    if root.tag != "score-partwise":
        raise FileFormatError(f"{path}: not a readable MusicXML file (the root is "
                              f"<{root.tag[:40]}>, not <score-partwise>)")
    parts = root.findall("part")
    if len(parts) > MAX_TRACKS:
        raise FileFormatError(f"{path}: {len(parts):,} parts: more than {MAX_TRACKS:,}, "
                              "too many to edit")
    count = 0
    for part in parts:
        divisions = 1
        now = longest = 0
        for measure in part.iter("measure"):
            for el in measure:
                tag = el.tag
                if tag == "attributes":
                    text = (el.findtext("divisions") or "").strip()
                    value = _number(text)
                    if value is not None and value > 0:
                        divisions = value
                    continue
                if tag not in ("note", "backup", "forward"):
                    continue
                if tag == "note":
                    count += 1
                    if el.find("grace") is not None or el.find("chord") is not None:
                        continue
                duration = _number((el.findtext("duration") or "0").strip()) or 0
                now = max(0, now - duration) if tag == "backup" else now + duration
                longest = max(longest, now)
                if longest / divisions * PPQ > MAX_TICK:
                    raise FileFormatError(
                        f"{path}: part {part.get('id', '?')!s:.20} lasts more than "
                        f"{MAX_TICK // PPQ:,} quarter notes by measure "
                        f"{measure.get('number', '?')!s:.10} (a <duration> of "
                        f"{duration:,.0f}): longer than the longest piece (24 hours at 120 bpm)")
        if count > MAX_NOTES:
            raise FileFormatError(f"{path}: more than {MAX_NOTES:,} notes: too large to edit")
    return root


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _exact_tempos(root) -> None:
    """A tempo mark shown rounded (``<per-minute>97.3``) whose ``<sound tempo>`` holds
    the exact tempo (as we write it) is read as the exact one: music21 reads only the
    shown number."""
    for direction in root.iter("direction"):
        sound = direction.find("sound")
        per_minute = direction.find(".//metronome/per-minute")
        unit = (direction.findtext(".//metronome/beat-unit") or "").strip()
        if sound is None or per_minute is None or unit != "quarter" or \
                direction.find(".//metronome/beat-unit-dot") is not None:
            continue
        exact, shown = _number(sound.get("tempo") or ""), _number(per_minute.text or "")
        if exact and shown and exact != shown and round(exact, 2) == round(shown, 2):
            per_minute.text = repr(exact)


_SHARP_STEPS = ["C", "C", "D", "D", "E", "F", "F", "G", "G", "A", "A", "B"]
_STEP_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def _with_drum_pitches(root) -> None:
    """Rewrites the document ``root``: every unpitched note written as the pitch of its
    GM drum note, and each such part's first ``<midi-instrument>`` a snare drum (so
    music21 gives the part a percussion instrument)."""
    if root.find(".//unpitched") is None:
        return
    score_parts = {sp.get("id"): sp for sp in root.iter("score-part")}
    for part in root.iter("part"):
        score_part = score_parts.get(part.get("id"))
        sounds: dict[str | None, int] = {}
        if score_part is not None:
            for mi in score_part.iter("midi-instrument"):
                text = (mi.findtext("midi-unpitched") or "").strip()
                if text.isdigit() and 1 <= int(text) <= 128:
                    sounds[mi.get("id")] = int(text) - 1
        only = next(iter(set(sounds.values()))) if len(set(sounds.values())) == 1 else None
        first = None  # whether the part has unpitched notes
        for note_el in part.iter("note"):
            unpitched = note_el.find("unpitched")
            if unpitched is None:
                continue
            inst = note_el.find("instrument")
            gm = sounds.get(inst.get("id")) if inst is not None else None
            if gm is None:
                gm = only
            if gm is None:  # no sound named: the staff position as a pitch
                step = (unpitched.findtext("display-step") or "E").strip().upper()
                octave = (unpitched.findtext("display-octave") or "4").strip()
                octave_n = int(octave) if octave.lstrip("-").isdigit() else 4
                gm = min(max(12 * (octave_n + 1) + _STEP_PC.get(step, 4), 0), 127)
            first = gm if first is None else first
            index = list(note_el).index(unpitched)
            note_el.remove(unpitched)
            pitch = ET.Element("pitch")
            ET.SubElement(pitch, "step").text = _SHARP_STEPS[gm % 12]
            if gm % 12 in (1, 3, 6, 8, 10):
                ET.SubElement(pitch, "alter").text = "1"
            ET.SubElement(pitch, "octave").text = str(gm // 12 - 1)
            note_el.insert(index, pitch)
        if first is not None and score_part is not None:
            # The part's first MIDI instrument becomes a snare drum (GM 38, 1-based 39),
            # which music21 reads as a percussion instrument: the mark of a drum part.
            mi = score_part.find("midi-instrument")
            mark = ET.Element("midi-instrument", id=f"{part.get('id')}-drums")
            ET.SubElement(mark, "midi-channel").text = str(DRUM_CHANNEL + 1)
            ET.SubElement(mark, "midi-unpitched").text = "39"
            children = list(score_part)
            score_part.insert(children.index(mi) if mi is not None else len(children), mark)


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
            if isinstance(ks, key.Key):
                k = Key(ks.tonic.pitchClass, "minor" if ks.mode == "minor" else "major")
            else:
                k = Key((ks.sharps * 7) % 12, "major")
            # The signature as written (six flats stay G-flat, not F-sharp).
            fifths = ks.sharps if isinstance(ks.sharps, int) and -7 <= ks.sharps <= 7 else None
            score.key_signatures.append(KeySignature(
                meta_ticks(ks.offset), k, None if fifths == k.sharps else fifths))
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
        _tempo_words_of(first, meta_ticks, score)
        _repeats_of(first, meta_ticks, score)

    for index, part in enumerate(parts):
        if progress is not None:
            progress(index / len(parts), f"converting part {index + 1} of {len(parts)}")
        name = part.partName if isinstance(part.partName, str) and part.partName else f"Part {index + 1}"
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
        first_track = len(score.tracks)
        unmarked: list[int] = []  # score.notes indexes of notes without a written velocity
        # Voices of one staff become voices (tracks) of the app: "Flute", "Flute voice 2"
        # (a drum staff's voices, hands and feet, stay one kit).
        voices = [(1, part)] if drums else _voices_of(part)
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
            graces = []
            first_note = len(score.notes)
            tied = _tied_notes(voice, voice_flat) if is_stream else _untied_notes(voice)
            for el, offset, length in tied:
                if isinstance(el, harmony.ChordSymbol):
                    continue  # a chord symbol: _harmony_of
                if el.duration.isGrace:
                    graces.append((el, offset))
                    continue
                start = ticks(offset)
                duration = int(round(Fraction(length) * PPQ))
                if duration <= 0:
                    continue
                written = el.volume.velocity
                velocity = min(max(int(written), 1), 127) if written is not None else 80
                for midi in _midi_numbers(el, chord, note, percussion):
                    if written is None:
                        unmarked.append(len(score.notes))
                    score.notes.append(Note(midi, start, duration, velocity, track,
                                            fermata=_has_fermata(fermatas, midi, start, duration)))
            _grace_notes(graces, ticks, track, score, said, first_note, unmarked)
            _lyrics_of(voice_flat, ticks, track, score)
        # Marks written for the staff (not for one voice) go to its first voice.
        if marks is None:
            marks = part.flatten() if is_stream else part
        _dynamics_of(marks, ticks, first_track, score, unmarked)
        _harmony_of(marks, ticks, first_track, score)
        _words_of(marks, ticks, first_track, score)
    if not score.tracks:
        score.tracks.append(Track())
    score.tempos = _dedupe(score.tempos) or [TempoChange(0, 120.0)]
    if score.tempos[0].tick != 0:
        score.tempos.insert(0, TempoChange(0, 120.0))
    score.time_signatures = _dedupe(score.time_signatures) or [TimeSignature(0, 4, 4)]
    score.key_signatures = _dedupe(score.key_signatures)
    score.sort()
    return score


# What notation says besides notes (issue 13), read by one helper each and called from
# score_from_music21: voices of a staff, grace notes, lyrics, dynamics, chord symbols,
# tempo words and other words, repeats. Each becomes notes or Score.text_events
# (score.TEXT_KINDS) that score_to_music21 writes back.

def _voices_of(part) -> list[tuple[int, object]]:
    """The voices of a staff as (number, stream of its notes at their offsets in the
    part), numbered in the order they first appear: ``[(1, part)]`` when no measure
    holds two voices. Notes written outside a voice belong to the first; chord symbols
    belong to the staff (:func:`_harmony_of`) and are left out."""
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


def _grace_notes(graces, ticks, track: int, score: Score, said, first_note: int,
                 unmarked: list[int]) -> None:
    """Grace notes kept as short notes (a 32nd each, at most half the note they lead
    to) taken from the start of the note(s) of the voice they lead to, which start that
    much later; said once with how many. ``score.notes[first_note:]`` are the voice's."""
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
    for start, els in by_start.items():
        led = mains.get(start, [])
        shortest = min((score.notes[i].duration for i in led), default=None)
        if shortest is not None and shortest < 2 * len(els):
            said and said.once("grace notes before a note too short to share skipped")
            continue
        step = GRACE_TICKS if shortest is None else min(GRACE_TICKS, shortest // (2 * len(els)))
        for k, el in enumerate(els):
            written = el.volume.velocity
            velocity = (min(max(int(written), 1), 127) if written is not None
                        else score.notes[led[0]].velocity if led else 80)
            for midi in _midi_numbers(el, chord, note, percussion):
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


def _lyrics_of(flat, ticks, track: int, score: Score) -> None:
    """Each note's lyric syllables as text events of kind "lyrics" at its onset, verse
    by verse, as MIDI karaoke writes them: "Hal-" "-le-" "-lu-" "-jah" (hyphens for
    the syllables of a word, read back by music21 as its <syllabic>)."""
    for el in flat.notes:
        lyrics = getattr(el, "lyrics", None)
        if not lyrics:
            continue
        tick = ticks(el.offset)
        for lyric in sorted(lyrics, key=lambda ly: ly.number or 0):
            text = lyric.rawText
            if text and text.strip():
                score.text_events.append(TextEvent(tick, "lyrics", text, track))


# The velocity of the notes after a dynamic mark (notes with their own velocity keep it).
DYNAMIC_VELOCITY = {"pppp": 8, "ppp": 20, "pp": 33, "p": 49, "mp": 64, "mf": 80, "f": 96,
                    "ff": 112, "fff": 120, "ffff": 127, "fp": 49, "sfp": 49}


def _dynamics_of(flat, ticks, track: int, score: Score, unmarked: list[int]) -> None:
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


def _harmony_of(flat, ticks, track: int, score: Score) -> None:
    """Chord symbols (<harmony>) as text events of kind "chord" ("Cm7", "G7/B", "N.C.")."""
    from music21 import harmony

    for cs in flat.getElementsByClass(harmony.ChordSymbol):
        text = "N.C." if isinstance(cs, harmony.NoChord) else str(cs.figure or "").strip()
        if text:
            score.text_events.append(TextEvent(ticks(cs.offset), "chord", text, track))


def _is_tempo_words(text: str) -> bool:
    """Whether words name a tempo ("Allegro", "Andante con moto", "Langsam")."""
    from music21 import tempo

    low = text.strip().lower()
    return any(low == word or low.startswith(word + " ") or low.startswith(word + ",")
               for word in tempo.defaultTempoValues)


def _tempo_words_of(first, meta_ticks, score: Score) -> None:
    """Tempo words of the first part (words naming a tempo: "Allegro", "Andante con
    moto"; a metronome mark's own text) as text events of kind "tempo" for the piece.
    Other words at a metronome mark are words (:func:`_words_of`): music21 does not say
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
        if text and _is_tempo_words(text):
            seen.add((tick, text))
    for tick, text in sorted(seen):
        score.text_events.append(TextEvent(tick, "tempo", text))


def _words_of(flat, ticks, track: int, score: Score) -> None:
    """A direction's other words ("dolce", "cresc.") as text events of kind "words" on
    the staff's first voice (tempo words are the piece's: :func:`_tempo_words_of`)."""
    from music21 import expressions

    tempo_words = {(t.tick, t.text) for t in score.text_events if t.kind == "tempo"}
    for te in flat.getElementsByClass(expressions.TextExpression):
        if isinstance(te, expressions.RehearsalMark):
            continue
        text = str(te.content or "").strip()
        tick = ticks(te.offset)
        at_start = (0, text) if te.offset == 0 else (tick, text)  # as meta_ticks reads it
        if text and not _is_tempo_words(text) and (tick, text) not in tempo_words \
                and at_start not in tempo_words:
            score.text_events.append(TextEvent(tick, "words", text, track))


def _repeats_of(first, meta_ticks, score: Score) -> None:
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


def _unfolded(stream, root, said, unfold: bool):
    """The piece with its repeats played out (music21's expandRepeats) when ``unfold``,
    said in one line with the bars written and played; as written otherwise (its repeat
    barlines kept: :func:`_repeats_of`). A file whose repeats cannot be unfolded is read
    as written, and said."""
    from music21 import stream as m21stream

    if root.find(".//repeat") is None:
        return stream
    if not unfold:
        if said is not None:
            said.once("repeats kept written once (not unfolded)")
        return stream
    parts = list(stream.parts) if len(stream.parts) else []
    written = len(parts[0].getElementsByClass(m21stream.Measure)) if parts else 0
    try:
        out = stream.expandRepeats()
    except Exception as exc:  # music21's Expander raises for repeats it cannot follow
        if said is not None:
            said.once(f"repeats left written once: they cannot be unfolded ({_short(exc)})")
        return stream
    played = len(out.parts[0].getElementsByClass(m21stream.Measure)) if len(out.parts) else 0
    if said is not None:
        said.once(f"repeats unfolded: {written:,} bars written, {played:,} played "
                  "(to keep them written once: --no-unfold, or Preferences > Repeats)")
    return out


def _without_restatements(score: Score) -> None:
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
def _untied_notes(flat):
    return [(el, el.offset, el.quarterLength) for el in flat.notes]


def _tied_notes(part, flat=None) -> list:
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
        return _untied_notes(part.stripTies(inPlace=False).flatten())
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
        for midi in _midi_numbers(el, chord, note, percussion):
            found.setdefault(midi, []).append(ticks(el.offset))
    for onsets in found.values():
        onsets.sort()
    return found


def _midi_numbers(el, chord, note, percussion) -> list[int]:
    """The MIDI numbers a note, chord or (percussion) chord sounds; an unpitched note
    that was not rewritten as its drum sound sounds its staff position."""
    if isinstance(el, chord.Chord):
        return [int(p.midi) for p in el.pitches]
    if isinstance(el, percussion.PercussionChord):
        return [m for member in el.notes for m in _midi_numbers(member, chord, note, percussion)]
    if isinstance(el, note.Unpitched):
        return [int(el.displayPitch().midi)]
    return [int(el.pitch.midi)]


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
    marks read from notation (lyrics, dynamics, chord symbols, words: _write_marks);
    what could not be written is counted in ``unwritten`` (name -> how many)."""
    from music21 import (
        chord,
        clef,
        expressions,
        instrument,
        key,
        metadata,
        meter,
        note,
        percussion,
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
    voiced = []  # the parts whose overlapping notes are in voices (_insert_voiced)
    if score.title:
        m21.insert(0, metadata.Metadata(title=score.title))
    for index in range(len(score.tracks)):
        info = score.tracks[index]
        part = stream.Part(id=f"P{index + 1}")
        part.partName = info.name
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
        if index == 0:
            for mk in score.markers:  # the song form's sections, as rehearsal marks
                part.insert(Fraction(mk.tick, PPQ), expressions.RehearsalMark(mk.text))
            words = _tempo_words_at(score)
            for t in score.tempos:
                part.insert(Fraction(t.tick, PPQ), tempo.MetronomeMark(
                    text=words.pop(t.tick, None), number=_shown_bpm(t.bpm), numberSounding=t.bpm))
            for tick, text in words.items():  # tempo words without a tempo change there
                if tick >= score.end_tick:  # no measure there
                    unwritten["tempo words"] = unwritten.get("tempo words", 0) + 1
                    continue
                part.insert(Fraction(tick, PPQ), expressions.TextExpression(text))
        # Notes sharing onset and length become a chord; the rest go in as written. A
        # chord carries one fermata for all its notes (MusicXML has no per-note one here).
        placed = []  # (offset, note or chord) in music21's order: by onset, then length
        groups: dict[tuple[int, int], list[Note]] = {}
        for n in score.notes:
            if n.track == index:
                groups.setdefault((n.start, n.duration), []).append(n)
        onsets: dict[int, object] = {}  # the first note or chord at each onset
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
            placed.append((Fraction(start, PPQ), el))
            onsets.setdefault(start, el)
        if _insert_voiced(part, placed, stream):
            voiced.append(part)
        _write_marks(part, score, index, onsets, unwritten)
        if getattr(inst, "transposition", None) is not None and inst.transposition.semitones:
            # Our notes sound; a transposing instrument's part is written transposed
            # (and says so in <transpose>), so that it reads back at sounding pitch.
            part.atSoundingPitch = True
            part.toWrittenPitch(inPlace=True)
        m21.insert(0, part)
    # The voices' gaps filled with rests to the end of the score, as music21's exporter
    # fills a part (with hidden rests it then drops) before its makeVoices fills them.
    end = m21.highestTime
    for part in voiced:
        part.makeRests(refStreamOrTimeRange=[0.0, end], fillGaps=True, inPlace=True,
                       timeRangeFromBarDuration=True)
        part.removeByClass("Rest")
    return m21


def _tempo_words_at(score: Score) -> dict[int, str]:
    """The piece's tempo words by tick ("Allegro"), several at one tick joined."""
    out: dict[int, str] = {}
    for t in score.text_events:
        if t.kind == "tempo" and t.track == CONDUCTOR:
            out[t.tick] = f"{out[t.tick]} {t.text}" if t.tick in out else t.text
    return out


_DIRECTION_KINDS = ("dynamic", "chord", "words")


def _write_marks(part, score: Score, index: int, onsets: dict, unwritten: dict[str, int]):
    """The text events of track ``index`` that notation holds, into its music21 part:
    lyrics on the note starting at their tick (verse by verse), dynamics, chord symbols
    and words as directions. A lyric with no note starting there, or a chord symbol
    music21 cannot spell, is counted in ``unwritten``."""
    from music21 import dynamics, expressions, harmony, note

    verses: dict[int, int] = {}
    end = score.end_tick
    last = max((t.tick for t in score.text_events if t.track == index and t.kind in
                _DIRECTION_KINDS), default=-1)
    if last >= end:  # a mark after the last note: a rest gives it a measure to sit in
        part.insert(Fraction(end, PPQ), note.Rest(quarterLength=Fraction(last - end + PPQ, PPQ)))
    for t in score.text_events:
        if t.track != index:
            continue
        at = Fraction(t.tick, PPQ)
        if t.kind == "lyrics":
            el = onsets.get(t.tick)
            if el is None or not t.text.strip():
                unwritten["lyric"] = unwritten.get("lyric", 0) + 1
                continue
            verses[t.tick] = verses.get(t.tick, 0) + 1
            lyric = note.Lyric(number=verses[t.tick])
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


def _with_repeats(data: bytes, score: Score, unwritten: dict[str, int] | None = None) -> bytes:
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
                    value = _number((el.findtext("divisions") or "").strip())
                    if value:
                        now, longest = now * value / divisions, longest * value / divisions
                        divisions = value
                elif el.tag in ("note", "backup", "forward"):
                    if el.tag == "note" and (el.find("chord") is not None or
                                             el.find("grace") is not None):
                        continue
                    duration = _number((el.findtext("duration") or "0").strip()) or 0
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


def _insert_voiced(part, placed, stream) -> bool:
    """Insert ``placed`` (offset, note or chord; sorted as music21 sorts them) into
    ``part``, overlapping notes in voices: what music21's ``makeVoices`` makes of them
    when it notates the part (the first voice whose last note has ended takes each note),
    in linear time; whether it made voices (their gaps are then filled with rests by
    the caller, to the end of the score). music21's own pairwise overlap search and a
    re-measured voice per note took 327 of the 564 s op. 132's export took (profiled);
    ``makeNotation`` then finds the voices made and leaves them."""
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
    if len(ends) <= 1:  # nothing overlaps: no voices, as music21 leaves it
        for offset, el in placed:
            part.insert(offset, el)
        return False
    voices = [stream.Voice() for _ in ends]
    for (offset, el), v in zip(placed, voice_of):
        voices[v].insert(offset, el)
    for voice in voices:
        part.insert(0, voice)
    return True


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
    step, octave = _DRUM_DISPLAY.get(gm, (_SHARP_STEPS[gm % 12], gm // 12 - 1))
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
    repeats are written (:func:`_write_marks`, :func:`_with_repeats`); controllers,
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
            raise UserError(f"{path}: cannot be written as MusicXML ({_short(exc)})") from None
        # Spelled on a fine grid yet music21 could not write it: the notation grid then.
        written, quantized = notation_copy(score, grid, triplets, force=True)
        unwritten = {}
        try:
            data = _musicxml_bytes(written, unwritten)
        except Exception as exc2:
            raise UserError(f"{path}: cannot be written as MusicXML ({_short(exc2)})") from None
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
_NOTATION_KINDS = ("lyrics", "dynamic", "chord", "tempo", "words", "repeat")


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
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "score.musicxml"
        written = m21.write("musicxml", fp=str(out), makeNotation=True)
        return _with_repeats(_name_drum_sounds(Path(written).read_bytes()), score, unwritten)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
