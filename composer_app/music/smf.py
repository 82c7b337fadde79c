"""The Standard MIDI File's byte layer for reading: chunks, delta times, running status,
and what a damaged file gets (issue 13).

A file whose header cannot be read (no ``MThd``, SMPTE time, a zero division) or that
holds no track is refused
with :class:`SmfError`. Anything else is read as far as it can be and every repair is
recorded as a :class:`Damage` (the file track, the tick where it starts, what was
wrong), which the MIDI reader turns into one line for the user:

- a track chunk whose length does not lead to the next track (a bit flip in it, a
  truncated file) is read up to the next ``MTrk`` tag or the end of the file;
- in a track, the first event that cannot be what a file holds (a data byte where a
  status byte was due, a data byte above 127, a system-common or real-time status, a
  delta time of more than four bytes, an event cut off by the end of the chunk, a time
  beyond the longest piece) ends the track there: what came before is kept, the rest is
  dropped and the number of bytes said;
- bytes after a track's end-of-track mark, a track without that mark, a header whose
  track count is not what the file holds, and unknown data between tracks are named.

Events are yielded as tuples, never as message objects: a flood of a million
controllers is a million small tuples consumed one at a time (``(tick, status, a, b)``:
a channel message's status byte and data bytes; ``(tick, 0xFF, meta type, payload)``;
``(tick, 0xF0 or 0xF7, None, the event's bytes)`` for system exclusive).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["SmfError", "Damage", "Smf", "read_smf", "track_events", "vlq"]

# Data bytes after a channel status byte (by its high nibble).
_DATA_LENGTH = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_END_OF_TRACK = 0x2F


class SmfError(Exception):
    """The file is not a Standard MIDI File that can be read at all."""


@dataclass(frozen=True)
class Damage:
    """One repair: ``track`` is the file track (0-based, -1 the file), ``tick`` where it
    starts in file ticks (None when it has no place in time), ``what`` in words."""

    track: int
    tick: int | None
    what: str


@dataclass
class Smf:
    format: int
    division: int
    data: bytes
    tracks: list[tuple[int, int]] = field(default_factory=list)  # (start, end) of each MTrk
    damage: list[Damage] = field(default_factory=list)
    alien: list[str] = field(default_factory=list)  # chunks of other types (allowed), skipped


def _is_chunk_id(tag: bytes) -> bool:
    return len(tag) == 4 and all(0x20 < b < 0x7F for b in tag)


def read_smf(data: bytes) -> Smf:
    """The header and the track chunks of ``data``; raises :class:`SmfError`."""
    if len(data) < 14 or data[:4] != b"MThd":
        raise SmfError("no MIDI header (MThd)")
    header_length = struct.unpack(">I", data[4:8])[0]
    if header_length < 6 or 8 + header_length > len(data):
        raise SmfError(f"damaged header (length {header_length})")
    fmt, n_tracks, division = struct.unpack(">HHH", data[8:14])
    if division & 0x8000:
        raise SmfError("SMPTE time (frames per second) is not supported")
    if division == 0:
        raise SmfError("bad division (0 ticks per quarter note)")
    smf = Smf(fmt, division, data)
    size = len(data)
    pos = 8 + header_length
    while pos + 8 <= size:
        tag = data[pos:pos + 4]
        if tag != b"MTrk":
            found = data.find(b"MTrk", pos)
            if _is_chunk_id(tag):  # an alien chunk (allowed; we skip it)
                length = struct.unpack(">I", data[pos + 4:pos + 8])[0]
                after = pos + 8 + length
                if after == size or data[after:after + 4] == b"MTrk":
                    smf.alien.append(tag.decode("ascii"))
                    pos = after
                    continue
            if found < 0:
                rest = data[pos:]
                if any(rest):
                    smf.damage.append(Damage(-1, None, f"{len(rest):,} bytes of unknown "
                                             "data at the end ignored"))
                return _checked_count(smf, n_tracks)
            smf.damage.append(Damage(-1, None, f"{found - pos:,} bytes of unknown data "
                                     "between tracks skipped"))
            pos = found
            continue
        index = len(smf.tracks)
        start = pos + 8
        end = start + struct.unpack(">I", data[pos + 4:pos + 8])[0]
        if not (end == size or data[end:end + 4] == b"MTrk"
                or (end + 8 <= size and _is_chunk_id(data[end:end + 4]))):
            found = data.find(b"MTrk", start)
            if found < 0 and end > size:
                smf.damage.append(Damage(index, None, "cut short (the file ends inside it)"))
                end = size
            else:
                end = found if found >= 0 else size
                smf.damage.append(Damage(index, None, "its length is wrong (read up to "
                                         + ("the next track)" if found >= 0 else "the end of the file)")))
        smf.tracks.append((start, end))
        pos = end
    if size - pos > 0 and any(data[pos:]):
        smf.damage.append(Damage(-1, None, f"{size - pos} bytes of unknown data at the end "
                                 "ignored"))
    return _checked_count(smf, n_tracks)


def _checked_count(smf: Smf, n_tracks: int) -> Smf:
    if not smf.tracks:
        raise SmfError("no track (MTrk) in it")
    if n_tracks != len(smf.tracks):
        smf.damage.append(Damage(-1, None, f"the header names {n_tracks} track"
                                 f"{'s' * (n_tracks != 1)}, the file holds {len(smf.tracks)}"))
    return smf


def track_events(smf: Smf, index: int, max_tick: int) -> Iterator[tuple]:
    """The events of track ``index`` with absolute ticks (see the module's docstring),
    up to its end-of-track mark (yielded too: its time ends the track); damage is appended to ``smf.damage``. ``max_tick`` (in
    file ticks) is the latest time an event may have."""
    data = smf.data
    pos, end = smf.tracks[index]
    tick = 0
    running = 0

    def damaged(why: str, at: int) -> None:
        left = end - at
        smf.damage.append(Damage(index, tick, f"{why}: the rest of the track "
                                 f"({left:,} byte{'s' * (left != 1)}) dropped"))

    while pos < end:
        event_start = pos
        # The delta time: at most four bytes.
        delta = 0
        for _count in range(4):
            if pos >= end:
                damaged("its last event is cut off", event_start)
                return
            byte = data[pos]
            pos += 1
            delta = (delta << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        else:
            damaged("a delta time longer than four bytes", event_start)
            return
        tick += delta
        if tick > max_tick:
            tick -= delta
            damaged(f"a delta time of {delta:,} ticks runs past the longest piece",
                    event_start)
            return
        if pos >= end:
            damaged("its last event is cut off", event_start)
            return
        status = data[pos]
        if status < 0x80:  # running status: the data starts here
            if not running:
                damaged("a data byte where a status byte was due", event_start)
                return
            status = running
        else:
            pos += 1
        if status < 0xF0:
            length = _DATA_LENGTH[status & 0xF0]
            if pos + length > end:
                damaged("its last event is cut off", event_start)
                return
            a = data[pos]
            b = data[pos + 1] if length == 2 else 0
            if a > 0x7F or b > 0x7F:
                damaged("a data byte above 127", event_start)
                return
            pos += length
            running = status
            yield tick, status, a, b
            continue
        if status == 0xFF:
            if pos >= end:
                damaged("its last event is cut off", event_start)
                return
            meta_type = data[pos]
            pos += 1
        elif status not in (0xF0, 0xF7):
            damaged(f"a system message (0x{status:02X}) that files do not hold", event_start)
            return
        length = 0
        for _count in range(4):
            if pos >= end:
                damaged("its last event is cut off", event_start)
                return
            byte = data[pos]
            pos += 1
            length = (length << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        else:
            damaged("a length longer than four bytes", event_start)
            return
        if pos + length > end:
            damaged("its last event is cut off", event_start)
            return
        payload_start = pos
        pos += length
        if status != 0xFF:
            yield tick, status, None, data[event_start + _delta_size(data, event_start):pos]
            continue
        if meta_type == _END_OF_TRACK:  # yielded for its time: where the track ends
            yield tick, 0xFF, _END_OF_TRACK, b""
            rest = end - pos
            if rest:
                smf.damage.append(Damage(index, tick, f"{rest:,} bytes after its "
                                         "end-of-track mark ignored"))
            return
        yield tick, 0xFF, meta_type, data[payload_start:pos]
    smf.damage.append(Damage(index, tick, "no end-of-track mark"))


def _delta_size(data: bytes, pos: int) -> int:
    size = 1
    while data[pos] & 0x80:
        pos += 1
        size += 1
    return size


_SMALL_VLQ = [bytes((i,)) for i in range(128)]  # most deltas and lengths: one byte


def vlq(value: int) -> bytes:
    """A variable-length quantity (delta times, lengths)."""
    if value < 128:
        return _SMALL_VLQ[value]
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))
