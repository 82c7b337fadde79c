"""MusicXML read and write through music21, imported lazily (it is slow to import)."""

from __future__ import annotations

import bisect
import math
import os
import tempfile
from fractions import Fraction
from pathlib import Path

from .atomic import atomic_write_bytes
from .errors import FileFormatError, UserError
from .gm import melodic_channel
from .score import PPQ, KeySignature, Marker, Note, Score, TempoChange, TimeSignature, Track
from .theory import Key
from .validate import clamp_bpm, countable_meter, validate_score

__all__ = ["read_musicxml", "write_musicxml", "score_to_music21", "score_from_music21"]


def read_musicxml(path: str | os.PathLike) -> Score:
    """Read .musicxml/.xml/.mxl into a :class:`Score` (ties joined, chords split,
    fermatas kept as :attr:`Note.fermata`)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    from music21 import converter

    try:
        stream = converter.parse(str(path), format="musicxml", forceSource=True)
    except Exception as exc:  # music21 raises many unrelated types for bad input
        raise FileFormatError(f"{path}: not a readable MusicXML file ({_short(exc)})") from None
    score = score_from_music21(stream)
    score.title = score.title or path.name.split(".")[0]
    return validate_score(score, str(path))


def score_from_music21(stream) -> Score:
    """Convert a music21 Score/Part/Stream to our :class:`Score`."""
    from music21 import chord, key, meter, tempo
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
                score.markers.append(Marker(meta_ticks(mark.offset), str(mark.content).strip()))
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
            score.key_signatures.append(KeySignature(meta_ticks(ks.offset), k))
        for mm in first.getElementsByClass(tempo.MetronomeMark):
            bpm = mm.getQuarterBPM()
            # No tempo, zero, negative: ignored; absurd ones clamped, as in MIDI files.
            if bpm and math.isfinite(bpm) and bpm > 0:
                score.tempos.append(TempoChange(meta_ticks(mm.offset), clamp_bpm(bpm)))

    for index, part in enumerate(parts):
        name = part.partName if isinstance(part.partName, str) and part.partName else f"Part {index + 1}"
        program = 0
        instr = part.getInstrument(returnDefault=False) if hasattr(part, "getInstrument") else None
        if instr is not None and instr.midiProgram is not None and 0 <= instr.midiProgram <= 127:
            program = int(instr.midiProgram)
        score.tracks.append(Track(name=str(name), channel=melodic_channel(index),
                                  program=program))
        is_stream = isinstance(part, m21stream.Stream)
        fermatas = _fermata_ticks(part.flatten() if is_stream else part, ticks)
        flat = part.stripTies(inPlace=False).flatten() if is_stream else part
        for el in flat.notes:
            start = ticks(el.offset)
            duration = int(round(Fraction(el.quarterLength) * PPQ))
            if duration <= 0:
                continue  # grace notes carry no time
            velocity = el.volume.velocity if el.volume.velocity is not None else 80
            velocity = min(max(int(velocity), 1), 127)
            pitches = el.pitches if isinstance(el, chord.Chord) else [el.pitch]
            for p in pitches:
                midi = int(p.midi)
                score.notes.append(Note(midi, start, duration, velocity, index,
                                        fermata=_has_fermata(fermatas, midi, start, duration)))
    if not score.tracks:
        score.tracks.append(Track())
    score.tempos = _dedupe(score.tempos) or [TempoChange(0, 120.0)]
    if score.tempos[0].tick != 0:
        score.tempos.insert(0, TempoChange(0, 120.0))
    score.time_signatures = _dedupe(score.time_signatures) or [TimeSignature(0, 4, 4)]
    score.key_signatures = _dedupe(score.key_signatures)
    score.markers.sort(key=lambda m: m.tick)
    score.sort()
    return score


def _fermata_ticks(flat, ticks) -> dict[int, list[int]]:
    """MIDI pitch -> sorted onset ticks of the written notes that carry a fermata.

    Read before ties are joined: music21's ``stripTies`` keeps only the first tied note's
    expressions, but a fermata on a tied note is written (and placed by music21 itself
    on export) on the last one, the note where the phrase ends.
    """
    from music21 import chord, expressions

    found: dict[int, list[int]] = {}
    for el in flat.notes:
        if not any(isinstance(e, expressions.Fermata) for e in getattr(el, "expressions", ())):
            continue
        pitches = el.pitches if isinstance(el, chord.Chord) else [el.pitch]
        for p in pitches:
            found.setdefault(int(p.midi), []).append(ticks(el.offset))
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


def _dedupe(items):
    by_tick = {}
    for item in items:
        by_tick[item.tick] = item
    return [by_tick[t] for t in sorted(by_tick)]


def score_to_music21(score: Score):
    """Build a music21 Score: one Part per track with meter, key and tempo marks."""
    from music21 import (
        chord,
        clef,
        expressions,
        instrument,
        key,
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

    m21 = stream.Score()
    if score.title:
        m21.insert(0, metadata.Metadata(title=score.title))
    for index in range(len(score.tracks)):
        info = score.tracks[index]
        part = stream.Part(id=f"P{index + 1}")
        part.partName = info.name
        inst = instrument.instrumentFromMidiProgram(info.program) if info.program else instrument.Piano()
        inst.midiProgram = info.program
        inst.midiChannel = info.channel
        part.insert(0, inst)
        voice_clef = clefs.get(info.name.strip().lower())
        if voice_clef is not None:
            part.insert(0, voice_clef())
        for ts in score.time_signatures:
            part.insert(Fraction(ts.tick, PPQ), meter.TimeSignature(f"{ts.numerator}/{ts.denominator}"))
        for ks in score.key_signatures:
            tonic = ks.key.name.rstrip("m").replace("b", "-")
            part.insert(Fraction(ks.tick, PPQ), key.Key(tonic, ks.key.mode))
        if index == 0:
            for mk in score.markers:  # the song form's sections, as rehearsal marks
                part.insert(Fraction(mk.tick, PPQ), expressions.RehearsalMark(mk.name))
            for t in score.tempos:
                part.insert(Fraction(t.tick, PPQ), tempo.MetronomeMark(number=round(t.bpm, 3)))
        # Notes sharing onset and length become a chord; the rest go in as written. A
        # chord carries one fermata for all its notes (MusicXML has no per-note one here).
        groups: dict[tuple[int, int], list[Note]] = {}
        for n in score.notes:
            if n.track == index:
                groups.setdefault((n.start, n.duration), []).append(n)
        for (start, duration), notes in sorted(groups.items()):
            if len(notes) == 1:
                el = note.Note(notes[0].pitch)
            else:
                el = chord.Chord([n.pitch for n in notes])
            el.quarterLength = Fraction(duration, PPQ)
            el.volume.velocity = notes[0].velocity
            if any(n.fermata for n in notes):
                # music21 moves it to the last note when it splits this one at a bar line.
                el.expressions.append(expressions.Fermata())
            part.insert(Fraction(start, PPQ), el)
        m21.insert(0, part)
    return m21


def write_musicxml(score: Score, path: str | os.PathLike) -> None:
    """Write MusicXML atomically (music21 writes a temp file that we then move in)."""
    path = Path(path)
    m21 = score_to_music21(score)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "score.musicxml"
        try:
            written = m21.write("musicxml", fp=str(out), makeNotation=True)
        except Exception as exc:
            raise UserError(f"{path}: cannot be written as MusicXML ({_short(exc)})") from None
        data = Path(written).read_bytes()
    atomic_write_bytes(path, data)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
