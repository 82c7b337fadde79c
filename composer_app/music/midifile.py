"""Standard MIDI file read and write (through mido's file parser).

Reading accepts type 0 and 1 files: running status (mido), several tracks and
channels, tempo, meter and key changes, note_on with velocity 0 as note_off, and
overlapping notes of the same pitch (matched first-in first-out). A note-off that finds
no note of its pitch sounding ends a note of that pitch starting later at the same tick
(music21 writes a zero-length grace note off-first; paired first-in first-out it would
hold every later note of that pitch for bars); such zero-length notes are dropped, as
zero-length notes always are. A pickup bar is kept
as written: leading silence stays, nothing is shifted. Ticks are rescaled to PPQ 480.

Writing gives a type 1 file: a conductor track (tempo, time signature, key signature)
then one named track per voice on its own channel with its program change.

Meta text (title, track names, markers, lyrics, text) is written as UTF-8, as DAWs write
it, and read as UTF-8, falling back to Latin-1 for older files whose bytes are not UTF-8.
mido itself reads and writes these bytes as Latin-1 (a lossless byte-for-character map),
so the conversion is done on the strings here, never through mido's process-wide charset.
"""

from __future__ import annotations

import io
import os
from collections import defaultdict, deque
from pathlib import Path

import mido

from .atomic import atomic_write_bytes
from .errors import FileFormatError, UserError
from .gm import DRUM_CHANNEL as GM_DRUM_CHANNEL
from .score import PPQ, KeySignature, Note, Score, TempoChange, TimeSignature, Track
from .theory import Key, KeyError_, parse_key
from .validate import MAX_BPM, MAX_NOTES, MIN_BPM, VALID_DENOMINATORS, validate_score

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


def score_from_midifile(mid: mido.MidiFile) -> Score:
    scale = PPQ / mid.ticks_per_beat

    def to_ticks(t: int) -> int:
        return int(round(t * scale))

    tempos: dict[int, float] = {}
    meters: dict[int, TimeSignature] = {}
    keys: dict[int, Key] = {}
    title = ""
    # (file track index, channel) -> voice data
    voices: dict[tuple[int, int], dict] = {}
    note_count = 0

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
            if msg.is_meta:
                if msg.type == "set_tempo" and msg.tempo > 0:
                    # Absurd tempos are clamped to a playable range.
                    tempos[tick] = min(max(mido.tempo2bpm(msg.tempo), MIN_BPM), MAX_BPM)
                elif msg.type == "time_signature":
                    # Meters that cannot be counted (0/x, x/3, 200/4) are ignored.
                    if 0 < msg.numerator <= 64 and msg.denominator in VALID_DENOMINATORS:
                        meters[tick] = TimeSignature(tick, msg.numerator, msg.denominator)
                elif msg.type == "key_signature":
                    try:
                        keys[tick] = parse_key(msg.key)
                    except KeyError_:
                        pass
                elif msg.type == "track_name":
                    name = text_from_midi(msg.name).strip()
                    track_name = track_name or name
                    if ti == 0 and not title:
                        title = name
                continue
            if msg.type == "program_change":
                programs[msg.channel] = msg.program
                if (ti, msg.channel) in voices and not voices[(ti, msg.channel)]["notes"]:
                    voices[(ti, msg.channel)]["program"] = msg.program
                continue
            if msg.type not in ("note_on", "note_off"):
                continue
            voice = voices.setdefault(
                (ti, msg.channel),
                {"name": "", "program": programs.get(msg.channel, 0), "notes": []},
            )
            voice["name"] = voice["name"] or track_name
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
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

    score = Score(tracks=[], tempos=[], time_signatures=[], key_signatures=[], title=title)
    for (ti, channel), voice in sorted(voices.items()):
        if not voice["notes"]:
            continue
        index = len(score.tracks)
        name = voice["name"] or ("Drums" if channel == GM_DRUM_CHANNEL else f"Track {index + 1}")
        shares_file_track = sum(1 for (t, _c), v in voices.items() if t == ti and v["notes"]) > 1
        if shares_file_track and voice["name"]:
            name = f"{name} (ch {channel + 1})"
        score.tracks.append(Track(name=name, channel=channel, program=voice["program"]))
        score.notes.extend(
            Note(pitch=p, start=s, duration=d, velocity=v, track=index)
            for p, s, d, v in voice["notes"]
        )
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
    score.key_signatures = [KeySignature(t, k) for t, k in sorted(keys.items())]
    score.sort()
    return score


def midi_file(score: Score, tracks: list[int] | None = None) -> mido.MidiFile:
    """Build a type 1 :class:`mido.MidiFile` from ``score`` (optionally only some tracks)."""
    mid = mido.MidiFile(type=1, ticks_per_beat=score.ppq)
    conductor = mido.MidiTrack()
    events: list[tuple[int, int, mido.MetaMessage]] = []
    if score.title:
        conductor.append(mido.MetaMessage("track_name", name=text_to_midi(score.title), time=0))
    for t in score.tempos or [TempoChange(0, 120.0)]:
        events.append((t.tick, 0, mido.MetaMessage("set_tempo", tempo=min(t.us_per_quarter, 0xFFFFFF))))
    for ts in score.time_signatures or [TimeSignature(0)]:
        events.append((ts.tick, 1, mido.MetaMessage(
            "time_signature", numerator=ts.numerator, denominator=ts.denominator,
            clocks_per_click=24, notated_32nd_notes_per_beat=8)))
    for ks in score.key_signatures:
        events.append((ks.tick, 2, mido.MetaMessage("key_signature", key=ks.key.name)))
    _append_timed(conductor, sorted(events, key=lambda e: (e[0], e[1])))
    conductor.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.append(conductor)

    wanted = range(len(score.tracks)) if tracks is None else tracks
    for index in wanted:
        info = score.tracks[index]
        channel = info.channel & 0x0F
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=text_to_midi(info.name), time=0))
        track.append(mido.Message("program_change", channel=channel, program=info.program & 0x7F, time=0))
        timed: list[tuple[int, int, mido.Message]] = []
        for n in score.notes:
            if n.track != index or n.duration <= 0:
                continue
            pitch = min(max(n.pitch, 0), 127)
            vel = min(max(n.velocity, 1), 127)
            # note_off sorts before note_on at the same tick so repeated notes re-strike.
            timed.append((n.start, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=vel)))
            timed.append((n.end, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
        timed.sort(key=lambda e: (e[0], e[1]))
        _append_timed(track, timed)
        track.append(mido.MetaMessage("end_of_track", time=0))
        mid.tracks.append(track)
    return mid


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


def _append_timed(track: mido.MidiTrack, events) -> None:
    now = 0
    for tick, _order, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick


def midi_bytes(score: Score, tracks: list[int] | None = None) -> bytes:
    buf = io.BytesIO()
    midi_file(score, tracks).save(file=buf)
    return buf.getvalue()


def write_midi(score: Score, path: str | os.PathLike, tracks: list[int] | None = None) -> None:
    """Write a type 1 MIDI file atomically: a failure leaves no partial file."""
    atomic_write_bytes(Path(path), midi_bytes(score, tracks))

