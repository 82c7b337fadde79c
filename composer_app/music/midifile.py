"""Standard MIDI file read and write (the bytes in ``smf.py`` and here; mido builds the
maps' meta events and converts for the tests).

Over 500 lines on purpose: reading and writing are mirror images of one mapping (tracks
and channels, the conductor maps, text, controllers and system events in place, the
PPQ rescale), kept side by side as the MusicXML reader and writer are; the bytes of the
file format and its damage checks are apart, in ``smf.py``.

Reading accepts type 0 and 1 files: running status, several tracks and
channels, tempo, meter and key changes, note_on with velocity 0 as note_off, and
overlapping notes of the same pitch (matched first-in first-out). A note-off that finds
no note of its pitch sounding ends a note of that pitch starting later at the same tick
(music21 writes a zero-length grace note off-first; paired first-in first-out it would
hold every later note of that pitch for bars); such zero-length notes are dropped, as
zero-length notes always are, and counted in the notes. A pickup bar is kept
as written: leading silence stays, nothing is shifted. Ticks are rescaled to PPQ 480.

A damaged file (a bit flip, a truncation) is read as far as it can be and opens with one
line naming every repair (``smf.py`` says what is detected); what cannot be read as MIDI
at all is refused. What the reader changes or leaves out is said the same way (a tempo
clamped, a meter that cannot be counted, a key signature of nine sharps, zero-length
notes): ``read_midi(path, notes=[])`` appends the lines.

Writing gives a type 1 file: a conductor track (tempo, time signature, key signature,
the piece's markers and text) then one named track per voice on its own channel with its
program change, its controllers, bends, aftertouch, later program changes and text
(lyrics) where they were read.

Kept as read (``Score.channel_events``, ``Score.text_events``, ``Score.system_events``):
control changes, pitch bends, channel and key aftertouch, program changes after a
voice's first note (one before it is the voice's program), text, marker, lyrics,
cue-point and copyright meta events, and byte for byte system exclusive and every other
meta event (sequencer-specific, instrument name, port, …). A file track's text and
system events belong to its voice when it has one, else to the piece; controllers in a
file track without notes join the first voice on their channel (else make a voice of
their own).

Meta text (title, track names, markers, lyrics, text) is written as UTF-8, as DAWs write
it, and read as UTF-8, falling back to Latin-1 for older files whose bytes are not UTF-8.
"""

from __future__ import annotations

import io
import os
import struct
from collections import defaultdict, deque
from dataclasses import replace
from pathlib import Path

import mido

from .atomic import atomic_write_bytes
from .errors import FileFormatError, UserError
from .gm import DRUM_CHANNEL as GM_DRUM_CHANNEL
from .score import (
    CONDUCTOR,
    PPQ,
    ChannelEvent,
    KeySignature,
    Note,
    Score,
    SystemEvent,
    TempoChange,
    TextEvent,
    TimeSignature,
    Track,
    numbered_verses,
)
from .smf import Damage, Smf, SmfError, read_smf, track_events, vlq
from .theory import key_from_sharps
from .validate import (
    BEND_MAX,
    BEND_MIN,
    MAX_BPM,
    MAX_EVENTS,
    MAX_NOTES,
    MAX_TICK,
    MAX_TRACKS,
    MIN_BPM,
    ReadNotes,
    countable_meter,
    readable_bpm,
    validate_score,
)

__all__ = ["read_midi", "write_midi", "midi_bytes", "score_from_midifile", "score_from_bytes"]

# What a file may hold (music/validate.py): beyond it we refuse (or clamp) rather than
# exhaust memory or divide by zero later; README "Limits" states the same.
MAX_FILE_BYTES = 64 * 1024 * 1024


def read_midi(path: str | os.PathLike, notes: list[str] | None = None) -> Score:
    """Read a .mid/.midi file into a :class:`Score`. Raises :class:`FileFormatError`.
    What the user should know (repairs of a damaged file, a tempo clamped) is appended
    to ``notes``, one line each."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UserError(f"{path}: file too large for a MIDI score (over 64 MB)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    said = ReadNotes()
    try:
        score = score_from_bytes(data, said)
    except FileFormatError as exc:
        raise FileFormatError(f"{path}: {exc}") from None
    score.title = score.title or path.stem
    validate_score(score, str(path))
    if notes is not None:
        notes.extend(said.lines(path.name))
    return score


def score_from_midifile(mid: mido.MidiFile) -> Score:
    """A Score of a mido MidiFile (as its bytes: one reader for everything)."""
    buf = io.BytesIO()
    mid.save(file=buf)
    return score_from_bytes(buf.getvalue())


# Channel messages kept as ChannelEvents by status nibble: (kind, whether the first data
# byte is the number).
_CHANNEL_KINDS = {0xB0: "control", 0xE0: "pitchwheel", 0xD0: "aftertouch", 0xA0: "polytouch"}
_TEXT_TYPES = {0x01: "text", 0x02: "copyright", 0x05: "lyrics", 0x06: "marker",
               0x07: "cue_marker"}
_TRACK_NAME, _END_OF_TRACK, _TEMPO, _METER, _KEY = 0x03, 0x2F, 0x51, 0x58, 0x59


def score_from_bytes(data: bytes, said: ReadNotes | None = None) -> Score:
    """A Score of a Standard MIDI File's bytes; repairs and changes are told to
    ``said``. Raises :class:`FileFormatError` (not validated: the caller does that)."""
    said = said if said is not None else ReadNotes()
    try:
        smf = read_smf(data)
    except SmfError as exc:
        raise FileFormatError(f"not a readable MIDI file ({exc})") from None
    if smf.format == 2:
        raise FileFormatError("MIDI type 2 (independent sequences) is not supported")
    if len(smf.tracks) > MAX_TRACKS:
        raise FileFormatError(f"{len(smf.tracks):,} tracks: more than {MAX_TRACKS:,}, "
                              "too many to edit")
    score = _score_from_smf(smf, said)
    for tag in smf.alien:
        said.once(f"a chunk of type {tag!r} (not MIDI) skipped")
    if smf.damage and not score.notes:  # nothing worth opening survived the damage
        first = _damage_text(smf.damage[0], score, PPQ / smf.division)
        raise FileFormatError(f"not a readable MIDI file (damaged, no notes left: {first})")
    if smf.damage:
        said.damage([_damage_text(d, score, PPQ / smf.division) for d in smf.damage])
    return score


def _damage_text(d, score: Score, scale: float) -> str:
    where = "the file" if d.track < 0 else f"track {d.track + 1}"
    if d.tick is not None and d.track >= 0:
        where += f" at bar {score.bar_of(int(round(d.tick * scale))) + 1}"
    return f"{where}: {d.what}"


def _score_from_smf(smf: Smf, said: ReadNotes) -> Score:
    scale = PPQ / smf.division
    max_file_tick = int(MAX_TICK / scale)

    tempos: dict[int, float] = {}
    meters: dict[int, TimeSignature] = {}
    keys: dict[int, KeySignature] = {}
    title = ""
    # (file track index, channel) -> voice data
    voices: dict[tuple[int, int], dict] = {}
    # file track index -> its meta text as (tick, kind, text), and its system events
    texts: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    systems: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    note_count = event_count = zero_length = orphans = hanging = 0

    def voice_of(ti: int, channel: int, programs: dict[int, int]) -> dict:
        voice = voices.get((ti, channel))
        if voice is None:
            voice = voices[(ti, channel)] = {
                "name": "", "program": programs.get(channel, 0), "notes": [], "events": [],
                "started": False}
        return voice

    for ti in range(len(smf.tracks)):
        now = 0
        track_name = ""
        programs: dict[int, int] = {}
        open_notes: dict[tuple[int, int], deque] = defaultdict(deque)
        # (channel, pitch) -> [tick, count] of note-offs that came before their note-on
        early_offs: dict[tuple[int, int], list[int]] = {}
        for now, status, a, b in track_events(smf, ti, max_file_tick):
            tick = int(round(now * scale))
            if status == 0xFF:
                if a in _TEXT_TYPES or a == _TRACK_NAME:
                    if _looks_binary(b):  # a length gone wrong swallowed events
                        smf.damage.append(Damage(ti, now, "a name or text with binary "
                                                 "bytes in it (its length may be damaged)"))
                if a in _TEXT_TYPES:
                    event_count += 1
                    if event_count > MAX_EVENTS:
                        raise FileFormatError(_TOO_MANY_EVENTS)
                    texts[ti].append(_text_event(tick, _TEXT_TYPES[a], _text(b)))
                elif a == _TRACK_NAME:
                    name = _text(b).strip()
                    track_name = track_name or name
                    if ti == 0 and not title:
                        title = name
                elif a == _TEMPO:
                    us = int.from_bytes(b, "big") if len(b) == 3 else 0
                    if us <= 0:
                        said.once("a tempo event of the wrong size or of 0 µs ignored")
                    else:
                        tempos[tick] = readable_bpm(60_000_000 / us, said)
                elif a == _METER:
                    if len(b) < 2 or b[1] > 30 or not countable_meter(b[0], 1 << b[1]):
                        shown = f"{b[0]}/{1 << b[1]}" if len(b) >= 2 and b[1] <= 30 else "?"
                        said.once(f"a meter that cannot be counted ({shown}) ignored")
                    else:
                        meters[tick] = TimeSignature(tick, b[0], 1 << b[1])
                elif a == _KEY:
                    sharps = (b[0] - 256 if b[0] > 127 else b[0]) if len(b) == 2 else 99
                    if not -7 <= sharps <= 7 or b[1] > 1:
                        said.once("a key signature that cannot be read ignored")
                    else:
                        key = key_from_sharps(sharps, b[1] == 1)
                        keys[tick] = KeySignature(tick, key,
                                                  None if sharps == key.sharps else sharps)
                elif a != _END_OF_TRACK:  # sequencer-specific, instrument, port...: kept
                    event_count += 1
                    systems[ti].append((tick, b"\xff" + bytes((a,)) + vlq(len(b)) + b))
                continue
            if a is None:  # system exclusive: kept as it is
                event_count += 1
                if event_count > MAX_EVENTS:
                    raise FileFormatError(_TOO_MANY_EVENTS)
                systems[ti].append((tick, bytes(b)))
                continue
            kind = status & 0xF0
            channel = status & 0x0F
            if kind == 0xC0:
                programs[channel] = a
                voice = voice_of(ti, channel, programs)
                if voice["started"]:  # a change of sound while the voice plays: kept
                    event_count += 1
                    voice["events"].append((tick, "program", a, 0))
                else:  # before the first note: the voice's program
                    voice["program"] = a
                continue
            name = _CHANNEL_KINDS.get(kind)
            if name is not None:
                event_count += 1
                if event_count > MAX_EVENTS:
                    raise FileFormatError(_TOO_MANY_EVENTS)
                if kind == 0xE0:
                    number, value = 0, (a | (b << 7)) - 8192
                elif kind == 0xD0:
                    number, value = 0, a
                else:
                    number, value = a, b
                voice_of(ti, channel, programs)["events"].append((tick, name, number, value))
                continue
            voice = voice_of(ti, channel, programs)
            voice["name"] = voice["name"] or track_name
            key = (channel, a)
            if kind == 0x90 and b > 0:
                voice["started"] = True
                early = early_offs.get(key)
                if early is not None and early[0] == tick and early[1] > 0:
                    early[1] -= 1  # its note-off came first: a zero-length note
                    zero_length += 1
                    continue
                open_notes[key].append((tick, b))
                note_count += 1
                if note_count > MAX_NOTES:
                    raise FileFormatError(f"more than {MAX_NOTES:,} notes: too large to edit")
            elif open_notes[key]:
                start, velocity = open_notes[key].popleft()
                if tick > start:
                    voice["notes"].append((a, start, tick - start, velocity))
                else:
                    zero_length += 1
            else:  # nothing to end yet: it may end a note that starts at this tick
                early = early_offs.get(key)
                if early is not None and early[0] == tick:
                    early[1] += 1
                else:
                    if early is not None:
                        orphans += early[1]
                    early_offs[key] = [tick, 1]
        end = int(round(now * scale))
        orphans += sum(early[1] for early in early_offs.values())
        for (channel, pitch), pending in open_notes.items():
            for start, velocity in pending:  # never released: end with the track
                hanging += 1
                if end > start:
                    voices[(ti, channel)]["notes"].append((pitch, start, end - start, velocity))
                else:
                    zero_length += 1
        for (vti, _channel), voice in voices.items():
            if vti == ti and not voice["started"] and not voice["name"]:
                voice["name"] = track_name  # a voice of controllers only
    if zero_length:
        said.once(f"{zero_length:,} note{'s' * (zero_length != 1)} of no length "
                  "(grace notes) left out")
    if hanging:
        said.once(f"{hanging:,} note{'s' * (hanging != 1)} never released, ended with "
                  f"{'their' if hanging != 1 else 'its'} track")
    if orphans:
        said.once(f"{orphans:,} note-off{'s' * (orphans != 1)} without a sounding note "
                  "ignored")

    score = Score(tracks=[], tempos=[], time_signatures=[], key_signatures=[], title=title)
    track_of: dict[tuple[int, int], int] = {}
    events_only = []
    for (ti, channel), voice in sorted(voices.items()):
        if not voice["notes"]:
            if voice["events"]:
                events_only.append(((ti, channel), voice))
            continue
        index = len(score.tracks)
        track_of[(ti, channel)] = index
        name = voice["name"] or ("Drums" if channel == GM_DRUM_CHANNEL else f"Track {index + 1}")
        shares_file_track = sum(1 for (t, _c), v in voices.items() if t == ti and v["notes"]) > 1
        if shares_file_track and voice["name"]:
            name = f"{name} (ch {channel + 1})"
        score.tracks.append(Track(name=name, channel=channel, program=voice["program"]))
        score.notes.extend(
            Note(pitch=p, start=s, duration=d, velocity=v, track=index)
            for p, s, d, v in voice["notes"]
        )
    # Controllers in a file track without notes (a set-up track: volume and pan for each
    # channel) act on the channel: they join the first voice playing it, else make a
    # voice of their own, so nothing read is lost.
    for (ti, channel), voice in events_only:
        index = next((i for i, t in enumerate(score.tracks) if t.channel == channel), None)
        if index is None:
            index = len(score.tracks)
            score.tracks.append(Track(name=voice["name"] or f"Channel {channel + 1}",
                                      channel=channel, program=voice["program"]))
        track_of[(ti, channel)] = index
    for key, voice in sorted(voices.items()):
        index = track_of.get(key)
        if index is not None:
            score.channel_events.extend(ChannelEvent(t, index, k, n, v)
                                        for t, k, n, v in voice["events"])
    # Text and system events belong to the voice of their file track when that track
    # holds one voice, else to the whole piece (the conductor track, a type 0 file's one
    # track).
    owners_of: dict[int, int] = {}
    for ti in set(texts) | set(systems):
        owners = {track_of[k] for k in track_of if k[0] == ti}
        owners_of[ti] = owners.pop() if len(owners) == 1 else CONDUCTOR
    for ti, items in sorted(texts.items()):
        score.text_events.extend(TextEvent(t, k, text, owners_of[ti]) for t, k, text in items)
    if any(t.kind == "lyrics" for t in score.text_events):
        # a voice's lyrics at one tick are its verses, in order
        score.text_events = numbered_verses(score.text_events)
    for ti, items in sorted(systems.items()):
        score.system_events.extend(SystemEvent(t, raw, owners_of[ti]) for t, raw in items)
    if not score.tracks:
        score.tracks.append(Track())
    score.tempos = [TempoChange(t, bpm) for t, bpm in sorted(tempos.items())] or [
        TempoChange(0, 120.0)
    ]
    if score.tempos[0].tick != 0:
        score.tempos.insert(0, TempoChange(0, 120.0))
    score.time_signatures = [meters[t] for t in sorted(meters)] or [TimeSignature(0, 4, 4)]
    if score.time_signatures[0].tick != 0:
        score.time_signatures.insert(0, TimeSignature(0, 4, 4))
    score.key_signatures = [keys[t] for t in sorted(keys)]
    score.sort()
    return score


def _looks_binary(raw: bytes) -> bool:
    """Text with two or more control bytes (trailing NULs, tabs and line ends aside)."""
    raw = raw.rstrip(b"\x00")
    return len(raw) > 1 and sum(1 for c in raw if c < 0x20 and c not in (9, 10, 13)) >= 2


def _text(raw: bytes) -> str:
    """Meta text: UTF-8 when its bytes are, else Latin-1 (older files)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


_TOO_MANY_EVENTS = f"more than {MAX_EVENTS:,} controller, text or system events: too large to edit"


# Meta event type bytes of the text kinds (and the track name).
_META_TEXT_TYPE = {"text": 0x01, "copyright": 0x02, "track_name": 0x03, "lyrics": 0x05,
                   "marker": 0x06, "cue_marker": 0x07,
                   # What notation files say besides notes (score.TEXT_KINDS): text
                   # events named by a prefix (_NOTATION_PREFIX), read back as that kind.
                   "dynamic": 0x01, "chord": 0x01, "tempo": 0x01, "words": 0x01,
                   "repeat": 0x01, "slur": 0x01}
# The text event of a dynamic mark, a chord symbol, tempo words, words, a repeat or a slur read
# from notation starts with its name, readable in a DAW's event list ("Chord: G7").
_NOTATION_PREFIX = {"dynamic": "Dynamic: ", "chord": "Chord: ", "tempo": "Tempo: ",
                    "words": "Words: ", "repeat": "Repeat: ", "slur": "Slur: "}
_END_OF_TRACK_BYTES = b"\xff\x2f\x00"


def midi_bytes(score: Score, tracks: list[int] | None = None) -> bytes:
    """A type 1 Standard MIDI File of ``score`` (optionally only some tracks).

    Encoded here rather than through mido's message objects (the same bytes mido
    writes): a piece with a million controllers is written in seconds, not a minute.
    """
    chunks = []
    events: list[tuple[int, int, bytes]] = []
    if score.title:
        events.append((0, -1, _meta_text("track_name", score.title)))
    for t in score.tempos or [TempoChange(0, 120.0)]:
        us = min(max(int(round(60_000_000 / min(max(t.bpm, MIN_BPM), MAX_BPM))), 1), 0xFFFFFF)
        events.append((t.tick, 0, b"\xff\x51\x03" + us.to_bytes(3, "big")))
    for ts in score.time_signatures or [TimeSignature(0)]:
        events.append((ts.tick, 1, bytes(mido.MetaMessage(
            "time_signature", numerator=ts.numerator, denominator=ts.denominator,
            clocks_per_click=24, notated_32nd_notes_per_beat=8).bytes())))
    for ks in score.key_signatures:
        events.append((ks.tick, 2, bytes(mido.MetaMessage("key_signature",
                                                          key=ks.name).bytes())))
    texts: dict[int, list[TextEvent]] = defaultdict(list)
    for t in score.text_events:
        texts[t.track].append(t)
    for t in texts.get(CONDUCTOR, ()):
        events.append((t.tick, 3, _meta_text(t.kind, t.text)))
    systems: dict[int, list[SystemEvent]] = defaultdict(list)
    for e in score.system_events:
        systems[e.track].append(e)
    for e in systems.get(CONDUCTOR, ()):  # a reset at the start before the maps
        events.append((e.tick, -0.5 if e.tick == 0 else 3, bytes(e.data)))
    chunks.append(_track_chunk(events))

    by_track: dict[int, list[ChannelEvent]] = defaultdict(list)
    for e in score.channel_events:
        by_track[e.track].append(e)
    notes_of: dict[int, list[Note]] = defaultdict(list)
    for n in score.notes:
        if n.duration > 0:
            notes_of[n.track].append(n)
    wanted = range(len(score.tracks)) if tracks is None else tracks
    for index in wanted:
        info = score.tracks[index]
        channel = info.channel & 0x0F
        timed: list[tuple[int, int, bytes]] = [
            (0, -2, _meta_text("track_name", info.name)),
            (0, -1, bytes((0xC0 | channel, info.program & 0x7F))),
        ]
        # At one tick: note-offs, then text and channel events (the pedal, a lyric, a
        # program change before the note it colours), then note-ons. A program change at
        # or before the voice's first note goes after it, where the reader keeps it as a
        # change rather than the voice's program.
        notes = notes_of.get(index, [])
        first = min((n.start for n in notes), default=None)
        for t in texts.get(index, ()):
            timed.append((t.tick, 1, _meta_text(t.kind, t.text)))
        for e in systems.get(index, ()):  # at the start: before the program change
            timed.append((e.tick, -1.5 if e.tick == 0 else 1, bytes(e.data)))
        for e in by_track.get(index, ()):
            order = 3 if e.kind == "program" and first is not None and e.tick <= first else 1
            timed.append((e.tick, order, _channel_bytes(e, channel)))
        on, off = 0x90 | channel, 0x80 | channel
        for n in notes:
            pitch = min(max(n.pitch, 0), 127)
            vel = min(max(n.velocity, 1), 127)
            # note_off sorts before note_on at the same tick so repeated notes re-strike.
            timed.append((n.start, 2, bytes((on, pitch, vel))))
            timed.append((n.end, 0, bytes((off, pitch, 0))))
        chunks.append(_track_chunk(timed))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), score.ppq)
    return header + b"".join(chunks)


def _track_chunk(events: list[tuple[int, int, bytes]]) -> bytes:
    """An MTrk chunk of (tick, order at that tick, message bytes), stably sorted, with
    running status as mido writes it (a meta or system exclusive event ends it)."""
    events.sort(key=_TICK_ORDER)
    out = bytearray()
    now = 0
    running = None
    for tick, _order, data in events:
        out += vlq(tick - now)
        status = data[0]
        if status >= 0xF0:
            running = None
            out += data
        elif status == running:
            out += data[1:]
        else:
            running = status
            out += data
        now = tick
    out += b"\x00" + _END_OF_TRACK_BYTES
    return b"MTrk" + struct.pack(">I", len(out)) + bytes(out)


def _TICK_ORDER(event):
    return event[0], event[1]




def _text_event(tick: int, kind: str, text: str) -> tuple[int, str, str]:
    """(tick, kind, text) of a meta text event; a text event naming a notation mark
    (_NOTATION_PREFIX) is that mark."""
    if kind == "text":
        for mark, prefix in _NOTATION_PREFIX.items():
            if text.startswith(prefix):
                return tick, mark, text[len(prefix):]
    return tick, kind, text


def _meta_text(kind: str, text: str) -> bytes:
    data = (_NOTATION_PREFIX.get(kind, "") + text).encode("utf-8", "replace")
    return bytes((0xFF, _META_TEXT_TYPE[kind])) + vlq(len(data)) + data


def _channel_bytes(e: ChannelEvent, channel: int) -> bytes:
    number = min(max(e.number, 0), 127)
    if e.kind == "pitchwheel":  # clamped into MIDI's range (clamped_in_midi says so)
        value = min(max(e.value, BEND_MIN), BEND_MAX) + 8192
        return bytes((0xE0 | channel, value & 0x7F, value >> 7))
    value = min(max(e.value, 0), 127)
    if e.kind == "control":
        return bytes((0xB0 | channel, number, value))
    if e.kind == "aftertouch":
        return bytes((0xD0 | channel, value))
    if e.kind == "polytouch":
        return bytes((0xA0 | channel, number, value))
    return bytes((0xC0 | channel, number))


def text_to_midi(text: str) -> str:
    """``text`` as the string whose Latin-1 bytes (what mido writes) are its UTF-8."""
    return text.encode("utf-8", "replace").decode("latin-1")


def text_from_midi(raw: str) -> str:
    """Meta text mido read as Latin-1: its bytes as UTF-8 when they are, else Latin-1."""
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:  # not UTF-8 (an older file's Latin-1), or not mido's Latin-1
        return raw


def write_midi(score: Score, path: str | os.PathLike,
               tracks: list[int] | None = None) -> list[str]:
    """Write a type 1 MIDI file atomically: a failure leaves no partial file. Returns
    what the user should know, one line each: what MIDI cannot hold was clamped into its
    range; the marks on notes it has no place for (fermatas, articulations) were not
    written."""
    atomic_write_bytes(Path(path), midi_bytes(score, tracks))
    clamped = clamped_in_midi(score)
    lines = [f"{Path(path).name}: {clamped}"] if clamped else []
    unheld = unheld_in_midi(score, tracks)
    if unheld:
        lines.append(f"{Path(path).name}: MIDI has no place for {unheld}: not written (save "
                     "as MusicXML or a project to keep them)")
    return lines


def unheld_in_midi(score: Score, tracks: list[int] | None = None) -> str:
    """What of the voices written MIDI has no place for, in words ("" for none): the
    marks on notes ("3 fermata, 12 staccato, 2 accent marks") and the verse numbers of
    lyrics that would not read back as theirs (a verse 2 where a note has no verse 1).
    Slurs, lyrics, dynamics and the other notation marks travel as text events."""
    counts: dict[str, int] = {}
    for n in score.notes:
        if tracks is not None and n.track not in tracks:
            continue
        if n.fermata:
            counts["fermata"] = counts.get("fermata", 0) + 1
        for a in n.articulations:
            counts[a] = counts.get(a, 0) + 1
    said = [", ".join(f"{n:,} {name}" for name, n in counts.items()) + " marks"] if counts else []
    # MIDI has no verse numbers: the reader numbers a voice's lyrics at one tick in
    # order (numbered_verses of unnumbered ones), so a verse 2 without a verse 1 there
    # would read back as verse 1.
    lyrics = [t for t in score.text_events
              if t.kind == "lyrics" and (tracks is None or t.track in tracks)]
    read_back = numbered_verses(replace(t, verse=1) for t in lyrics)
    renumbered = sum(t.verse != r.verse for t, r in zip(lyrics, read_back))
    if renumbered:
        said.append(f"{renumbered:,} lyric verse numbers")
    return ", ".join(said)


def clamped_in_midi(score: Score) -> str:
    """What :func:`midi_bytes` writes clamped into MIDI's ranges, in words ("" for
    nothing): tempos beyond MIN_BPM..MAX_BPM, bends beyond -8192..8191, pitches, values."""
    said = ReadNotes()
    for t in score.tempos:
        if not MIN_BPM <= t.bpm <= MAX_BPM:
            said.once(f"tempo {t.bpm:.6g} bpm written as {min(max(t.bpm, MIN_BPM), MAX_BPM):.4g}")
    for e in score.channel_events:
        low, high = (BEND_MIN, BEND_MAX) if e.kind == "pitchwheel" else (0, 127)
        if not low <= e.value <= high or not 0 <= e.number <= 127:
            said.once(f"{'pitch bend' if e.kind == 'pitchwheel' else e.kind} values beyond "
                      f"{low}..{high} clamped")
    if any(not 0 <= n.pitch <= 127 for n in score.notes):
        said.once("pitches beyond 0-127 clamped")
    lines = said.lines("")
    return lines[0][2:] if lines else ""

