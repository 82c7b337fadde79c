"""Standard MIDI file read and write (through mido's file parser).

Reading accepts type 0 and 1 files: running status (mido), several tracks and
channels, tempo, meter and key changes, note_on with velocity 0 as note_off, and
overlapping notes of the same pitch (matched first-in first-out). A note-off that finds
no note of its pitch sounding ends a note of that pitch starting later at the same tick
(music21 writes a zero-length grace note off-first; paired first-in first-out it would
hold every later note of that pitch for bars); such zero-length notes are dropped, as
zero-length notes always are. A pickup bar is kept
as written: leading silence stays, nothing is shifted. Ticks are rescaled to PPQ 480.

Writing gives a type 1 file: a conductor track (tempo, time signature, key signature,
the piece's markers and text) then one named track per voice on its own channel with its
program change, its controllers, bends, aftertouch, later program changes and text
(lyrics) where they were read.

Kept as read (``Score.channel_events``, ``Score.text_events``): control changes, pitch
bends, channel and key aftertouch, program changes after a voice's first note (one
before it is the voice's program), and text, marker, lyrics, cue-point and copyright meta
events. A file track's text belongs to its voice when it has one, else to the piece;
controllers in a file track without notes join the first voice on their channel (else
make a voice of their own). Not kept: system-exclusive and other system messages,
sequencer-specific meta events.

Meta text (title, track names, markers, lyrics, text) is written as UTF-8, as DAWs write
it, and read as UTF-8, falling back to Latin-1 for older files whose bytes are not UTF-8.
mido itself reads and writes these bytes as Latin-1 (a lossless byte-for-character map),
so the conversion is done on the strings here, never through mido's process-wide charset.
"""

from __future__ import annotations

import io
import os
import struct
from collections import defaultdict, deque
from pathlib import Path

import mido

from .atomic import atomic_write_bytes
from .errors import FileFormatError, UserError
from .gm import DRUM_CHANNEL as GM_DRUM_CHANNEL
from .score import (
    CONDUCTOR,
    PPQ,
    TEXT_KINDS,
    ChannelEvent,
    KeySignature,
    Note,
    Score,
    TempoChange,
    TextEvent,
    TimeSignature,
    Track,
)
from .theory import KeyError_, key_fifths, parse_key
from .validate import MAX_BPM, MAX_EVENTS, MAX_NOTES, MIN_BPM, VALID_DENOMINATORS, validate_score

__all__ = ["read_midi", "write_midi", "midi_bytes", "score_from_midifile"]

# What a file may hold (music/validate.py): beyond it we refuse (or clamp) rather than
# exhaust memory or divide by zero later; README "Limits" states the same.
MAX_FILE_BYTES = 64 * 1024 * 1024


def read_midi(path: str | os.PathLike) -> Score:
    """Read a .mid/.midi file into a :class:`Score`. Raises :class:`FileFormatError`."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UserError(f"{path}: file too large for a MIDI score (over 64 MB)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        mid = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as exc:  # untrusted bytes: any parser failure is a bad file
        raise FileFormatError(f"{path}: not a readable MIDI file ({_short(exc)})") from None
    if mid.type == 2:
        raise FileFormatError(f"{path}: MIDI type 2 (independent sequences) is not supported")
    if not mid.ticks_per_beat or mid.ticks_per_beat <= 0:
        raise FileFormatError(f"{path}: bad division (ticks per beat {mid.ticks_per_beat})")
    try:
        score = score_from_midifile(mid)
    except FileFormatError as exc:
        raise FileFormatError(f"{path}: {exc}") from None
    score.title = score.title or path.stem
    return validate_score(score, str(path))


# mido's message types kept as ChannelEvents: (kind, the number's field, the value's field).
_CHANNEL_MESSAGES = {
    "control_change": ("control", "control", "value"),
    "pitchwheel": ("pitchwheel", None, "pitch"),
    "aftertouch": ("aftertouch", None, "value"),
    "polytouch": ("polytouch", "note", "value"),
}
_TEXT_META = frozenset(TEXT_KINDS)


def score_from_midifile(mid: mido.MidiFile) -> Score:
    scale = PPQ / mid.ticks_per_beat

    def to_ticks(t: int) -> int:
        return int(round(t * scale))

    tempos: dict[int, float] = {}
    meters: dict[int, TimeSignature] = {}
    keys: dict[int, KeySignature] = {}
    title = ""
    # (file track index, channel) -> voice data
    voices: dict[tuple[int, int], dict] = {}
    # file track index -> its meta text as (tick, kind, text), in order
    texts: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    note_count = event_count = 0

    def voice_of(ti: int, channel: int, programs: dict[int, int]) -> dict:
        voice = voices.get((ti, channel))
        if voice is None:
            voice = voices[(ti, channel)] = {
                "name": "", "program": programs.get(channel, 0), "notes": [], "events": [],
                "started": False}
        return voice

    for ti, track in enumerate(mid.tracks):
        now = 0
        track_name = ""
        programs: dict[int, int] = {}
        open_notes: dict[tuple[int, int], deque] = defaultdict(deque)
        # (channel, pitch) -> [tick, count] of note-offs that came before their note-on
        early_offs: dict[tuple[int, int], list[int]] = {}
        for msg in track:
            now += msg.time
            tick = to_ticks(now)
            kind = msg.type
            if msg.is_meta:
                if kind == "set_tempo" and msg.tempo > 0:
                    # Absurd tempos are clamped to a playable range.
                    tempos[tick] = min(max(mido.tempo2bpm(msg.tempo), MIN_BPM), MAX_BPM)
                elif kind == "time_signature":
                    # Meters that cannot be counted (0/x, x/3, 200/4) are ignored.
                    if 0 < msg.numerator <= 64 and msg.denominator in VALID_DENOMINATORS:
                        meters[tick] = TimeSignature(tick, msg.numerator, msg.denominator)
                elif kind == "key_signature":
                    try:
                        key = parse_key(msg.key)
                    except KeyError_:
                        continue
                    fifths = key_fifths(msg.key)  # as written: "Gb" stays G-flat
                    keys[tick] = KeySignature(tick, key,
                                              None if fifths == key.sharps else fifths)
                elif kind == "track_name":
                    name = text_from_midi(msg.name).strip()
                    track_name = track_name or name
                    if ti == 0 and not title:
                        title = name
                elif kind in _TEXT_META:
                    event_count += 1
                    if event_count > MAX_EVENTS:
                        raise FileFormatError(_TOO_MANY_EVENTS)
                    texts[ti].append((tick, kind, text_from_midi(msg.text)))
                continue
            if kind == "program_change":
                programs[msg.channel] = msg.program
                voice = voice_of(ti, msg.channel, programs)
                if voice["started"]:  # a change of sound while the voice plays: kept
                    event_count += 1
                    voice["events"].append((tick, "program", msg.program, 0))
                else:  # before the first note: the voice's program
                    voice["program"] = msg.program
                continue
            spec = _CHANNEL_MESSAGES.get(kind)
            if spec is not None:
                event_count += 1
                if event_count > MAX_EVENTS:
                    raise FileFormatError(_TOO_MANY_EVENTS)
                name, number, value = spec
                voice_of(ti, msg.channel, programs)["events"].append(
                    (tick, name, getattr(msg, number) if number else 0, getattr(msg, value)))
                continue
            if kind not in ("note_on", "note_off"):
                continue  # sysex, song position, ...: not kept
            voice = voice_of(ti, msg.channel, programs)
            voice["name"] = voice["name"] or track_name
            key = (msg.channel, msg.note)
            if kind == "note_on" and msg.velocity > 0:
                voice["started"] = True
                early = early_offs.get(key)
                if early is not None and early[0] == tick and early[1] > 0:
                    early[1] -= 1  # its note-off came first: a zero-length note
                    continue
                open_notes[key].append((tick, msg.velocity))
                note_count += 1
                if note_count > MAX_NOTES:
                    raise FileFormatError(f"more than {MAX_NOTES:,} notes: too large to edit")
            elif open_notes[key]:
                start, velocity = open_notes[key].popleft()
                if tick > start:
                    voice["notes"].append((msg.note, start, tick - start, velocity))
            else:  # nothing to end yet: it may end a note that starts at this tick
                early = early_offs.get(key)
                if early is not None and early[0] == tick:
                    early[1] += 1
                else:
                    early_offs[key] = [tick, 1]
        end = to_ticks(now)
        for (channel, pitch), pending in open_notes.items():
            for start, velocity in pending:  # never released: end with the track
                if end > start:
                    voices[(ti, channel)]["notes"].append((pitch, start, end - start, velocity))
        for (vti, _channel), voice in voices.items():
            if vti == ti and not voice["started"] and not voice["name"]:
                voice["name"] = track_name  # a voice of controllers only

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
    # Text belongs to the voice of its file track when that track holds one voice, else to
    # the whole piece (the conductor track, a type 0 file's one track).
    for ti, items in sorted(texts.items()):
        owners = {track_of[k] for k in track_of if k[0] == ti}
        owner = owners.pop() if len(owners) == 1 else CONDUCTOR
        score.text_events.extend(TextEvent(t, k, text, owner) for t, k, text in items)
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


_TOO_MANY_EVENTS = f"more than {MAX_EVENTS:,} controller or text events: too large to edit"


# Meta event type bytes of the text kinds (and the track name).
_META_TEXT_TYPE = {"text": 0x01, "copyright": 0x02, "track_name": 0x03, "lyrics": 0x05,
                   "marker": 0x06, "cue_marker": 0x07}
_END_OF_TRACK = b"\xff\x2f\x00"


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
        events.append((t.tick, 0, bytes(mido.MetaMessage(
            "set_tempo", tempo=min(t.us_per_quarter, 0xFFFFFF)).bytes())))
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
    running status as mido writes it (a meta event ends it)."""
    events.sort(key=_TICK_ORDER)
    out = bytearray()
    now = 0
    running = None
    for tick, _order, data in events:
        out += _vlq(tick - now)
        status = data[0]
        if status == 0xFF:
            running = None
            out += data
        elif status == running:
            out += data[1:]
        else:
            running = status
            out += data
        now = tick
    out += b"\x00" + _END_OF_TRACK
    return b"MTrk" + struct.pack(">I", len(out)) + bytes(out)


def _TICK_ORDER(event):
    return event[0], event[1]


_SMALL_VLQ = [bytes((i,)) for i in range(128)]


def _vlq(value: int) -> bytes:
    if value < 128:
        return _SMALL_VLQ[value]
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _meta_text(kind: str, text: str) -> bytes:
    data = text.encode("utf-8", "replace")
    return bytes((0xFF, _META_TEXT_TYPE[kind])) + _vlq(len(data)) + data


def _channel_bytes(e: ChannelEvent, channel: int) -> bytes:
    if e.kind == "control":
        return bytes((0xB0 | channel, e.number, e.value))
    if e.kind == "pitchwheel":
        value = e.value + 8192
        return bytes((0xE0 | channel, value & 0x7F, value >> 7))
    if e.kind == "aftertouch":
        return bytes((0xD0 | channel, e.value))
    if e.kind == "polytouch":
        return bytes((0xA0 | channel, e.number, e.value))
    return bytes((0xC0 | channel, e.number))


def text_to_midi(text: str) -> str:
    """``text`` as the string whose Latin-1 bytes (what mido writes) are its UTF-8."""
    return text.encode("utf-8", "replace").decode("latin-1")


def text_from_midi(raw: str) -> str:
    """Meta text mido read as Latin-1: its bytes as UTF-8 when they are, else Latin-1."""
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:  # not UTF-8 (an older file's Latin-1), or not mido's Latin-1
        return raw


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def write_midi(score: Score, path: str | os.PathLike, tracks: list[int] | None = None) -> None:
    """Write a type 1 MIDI file atomically: a failure leaves no partial file."""
    atomic_write_bytes(Path(path), midi_bytes(score, tracks))

