"""The MusicXML document before music21 reads it: size limits checked before unzipping
or parsing (a zip bomb, a huge file), the exact tempos kept, drum notes named as the
pitches of the GM sounds they play. Used by :mod:`.musicxml`.
"""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from .errors import FileFormatError, error_text
from .gm import DRUM_CHANNEL
from .score import (
    PPQ,
)
from .validate import (
    MAX_NOTES,
    MAX_TICK,
    MAX_TRACKS,
)

log = logging.getLogger(__name__)


# The largest MusicXML document read (music21 needs about 20 times its size in memory),
# and the highest compression ratio of a .mxl member (MusicXML compresses 10-30 times;
# a zip bomb a thousand).
MAX_XML_BYTES = 64 * 1024 * 1024
MAX_ZIP_RATIO = 200


def xml_bytes(path: Path) -> bytes:
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
            return mxl_member(path, zf)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError,
            NotImplementedError, EOFError) as exc:
        raise FileFormatError(f"{path}: not a readable MusicXML file ({error_text(exc)})") from None


def mxl_member(path: Path, zf: zipfile.ZipFile) -> bytes:
    names = [i for i in zf.infolist() if not i.filename.startswith("META-INF/")
             and i.filename.lower().endswith((".xml", ".musicxml"))]
    container = zf.NameToInfo.get("META-INF/container.xml")
    if container is not None and container.file_size <= 1 << 20:
        try:
            found = ET.fromstring(unzipped(path, zf, container)).find(".//{*}rootfile")
            if found is None:
                found = ET.fromstring(unzipped(path, zf, container)).find(".//rootfile")
            wanted = found.get("full-path") if found is not None else None
            names = [i for i in names if i.filename == wanted] or names
        except ET.ParseError:
            pass
    if not names:
        raise FileFormatError(f"{path}: a compressed MusicXML file without a score in it")
    return unzipped(path, zf, names[0])


def unzipped(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
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


def checked_root(path: Path, data: bytes):
    """The parsed document, refused when it holds more parts or notes than a Score may,
    or a part longer than the longest piece (``music/validate.py``)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise FileFormatError(f"{path}: not a readable MusicXML file ({error_text(exc)})") from None
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
                    value = parse_number(text)
                    if value is not None and value > 0:
                        divisions = value
                    continue
                if tag not in ("note", "backup", "forward"):
                    continue
                if tag == "note":
                    count += 1
                    if el.find("grace") is not None or el.find("chord") is not None:
                        continue
                duration = parse_number((el.findtext("duration") or "0").strip()) or 0
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


def parse_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def exact_tempos(root) -> None:
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
        exact, shown = parse_number(sound.get("tempo") or ""), parse_number(per_minute.text or "")
        if exact and shown and exact != shown and round(exact, 2) == round(shown, 2):
            per_minute.text = repr(exact)


SHARP_STEPS = ["C", "C", "D", "D", "E", "F", "F", "G", "G", "A", "A", "B"]
STEP_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def with_drum_pitches(root) -> None:
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
                gm = min(max(12 * (octave_n + 1) + STEP_PC.get(step, 4), 0), 127)
            first = gm if first is None else first
            index = list(note_el).index(unpitched)
            note_el.remove(unpitched)
            pitch = ET.Element("pitch")
            ET.SubElement(pitch, "step").text = SHARP_STEPS[gm % 12]
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


def midi_numbers(el, chord, note, percussion) -> list[int]:
    """The MIDI numbers a note, chord or (percussion) chord sounds; an unpitched note
    that was not rewritten as its drum sound sounds its staff position."""
    if isinstance(el, chord.Chord):
        return [int(p.midi) for p in el.pitches]
    if isinstance(el, percussion.PercussionChord):
        return [m for member in el.notes for m in midi_numbers(member, chord, note, percussion)]
    if isinstance(el, note.Unpitched):
        return [int(el.displayPitch().midi)]
    return [int(el.pitch.midi)]
