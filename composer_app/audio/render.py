"""Offline render of a :class:`Score` to stereo audio through FluidSynth, no audio driver.

The synth is driven sample-accurately: between two events FluidSynth writes exactly the
frames that separate them, straight into a float32 buffer. After the last note-off the
release tail is rendered until it falls 60 dB below the music's peak (at most
``MAX_TAIL_S``).
The result is normalised to a peak of ``TARGET_PEAK_DBFS`` (no clipping, never
whisper-quiet), or scaled by a fixed ``gain`` when one is given.
"""

from __future__ import annotations

import logging
import math
import wave
from pathlib import Path

import numpy as np

from composer_app.music import Score, UserError
from composer_app.music.atomic import atomic_write
from composer_app.music.gm import DRUM_CHANNEL

from ._native import load_fluidsynth, write_float
from .errors import AudioUnavailable
from .events import (
    BEND,
    CLICK,
    CLICK_OFF,
    CONTROL,
    OFF,
    ON,
    audible_tracks,
    build_events,
    release,
)
from .soundfont import resolve_soundfont

__all__ = ["render_score", "render_to_wav", "MAX_TAIL_S", "TARGET_PEAK_DBFS"]

log = logging.getLogger(__name__)

MAX_TAIL_S = 4.0
TARGET_PEAK_DBFS = -1.0
_TAIL_FLOOR_DB = -60.0   # the tail ends where it is this far below the music's peak
_TAIL_BLOCK = 2048
_SYNTH_GAIN = 0.2  # FluidSynth's own gain; the mix is normalised afterwards


def render_score(score: Score, soundfont: str | Path | None = None, sample_rate: int = 44100,
                 gain: float | None = None, metronome: bool = False) -> np.ndarray:
    """Render ``score`` (audible tracks only) to int16 stereo, shape (frames, 2).

    Length: the music (``score.duration_seconds``) plus its release tail (≤ MAX_TAIL_S).
    ``gain`` None normalises the peak to TARGET_PEAK_DBFS; a number multiplies
    FluidSynth's float output (1.0 = full scale) and clips nothing (it is limited).
    Raises AudioUnavailable (no FluidSynth, no soundfont) or UserError (bad rate).
    """
    audio = _render_float(score, soundfont, sample_rate, metronome)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if gain is None:
        scale = (10 ** (TARGET_PEAK_DBFS / 20)) / peak if peak > 0 else 1.0
    else:
        scale = float(gain)
        if peak * scale > 1.0:
            log.info("fixed gain %.2f would clip; limited to the peak", scale)
            scale = (10 ** (TARGET_PEAK_DBFS / 20)) / peak
    audio *= scale * 32767.0
    np.clip(audio, -32768, 32767, out=audio)
    return np.rint(audio).astype(np.int16)


def _render_float(score: Score, soundfont, sample_rate: int, metronome: bool) -> np.ndarray:
    if not 8000 <= int(sample_rate) <= 192000:
        raise UserError(f"sample rate {sample_rate} Hz is out of range (8000-192000)")
    sample_rate = int(sample_rate)
    fs = load_fluidsynth()
    path = resolve_soundfont(soundfont)
    synth = fs.Synth(gain=_SYNTH_GAIN, samplerate=float(sample_rate))
    try:
        if synth.sfload(str(path), 1) < 0:
            raise AudioUnavailable(f"could not load soundfont {path} (not a SoundFont 2/3 file?)")
        ptr = synth.synth
        done = set()
        for i in sorted(audible_tracks(score)):
            track = score.tracks[i]
            if track.channel not in done and track.channel != DRUM_CHANNEL:
                synth.program_change(track.channel, track.program)
                done.add(track.channel)

        events = build_events(score)
        music_frames = int(math.ceil(score.duration_seconds * sample_rate))
        out = np.zeros((music_frames + int(MAX_TAIL_S * sample_rate) + _TAIL_BLOCK, 2),
                       dtype=np.float32)
        pos = 0
        sounding: dict[tuple[int, int], int] = {}
        for t, kind, ch, pitch, vel in events:
            if kind in (CLICK, CLICK_OFF) and not metronome:
                continue
            frame = min(int(round(t * sample_rate)), len(out))
            if frame > pos:
                write_float(ptr, out, pos, frame - pos)
                pos = frame
            key = (ch, pitch)
            if kind in (OFF, CLICK_OFF):
                if release(sounding, key):
                    synth.noteoff(ch, pitch)
            elif kind in (ON, CLICK):
                sounding[key] = sounding.get(key, 0) + 1
                synth.noteon(ch, pitch, vel)
            elif kind == CONTROL:
                synth.cc(ch, pitch, vel)
            elif kind == BEND:
                synth.pitch_bend(ch, vel)
        if music_frames > pos:
            write_float(ptr, out, pos, music_frames - pos)
            pos = music_frames
        # Release tail: render blocks until silent; keep up to the last audible frame.
        music_peak = float(np.max(np.abs(out[:pos]))) if pos else 0.0
        silence = max(music_peak * 10 ** (_TAIL_FLOOR_DB / 20), 1e-6)
        end = pos
        tail_limit = pos + int(MAX_TAIL_S * sample_rate)
        while pos < tail_limit:
            n = min(_TAIL_BLOCK, tail_limit - pos)
            write_float(ptr, out, pos, n)
            block = np.abs(out[pos:pos + n])
            loud = np.nonzero(block.max(axis=1) > silence)[0]
            if loud.size:
                end = pos + int(loud[-1]) + 1
            pos += n
            if not loud.size:
                break
        audio = out[:max(end, music_frames)]
        return np.ascontiguousarray(audio)
    finally:
        synth.delete()


def peak_dbfs(samples: np.ndarray) -> float:
    peak = int(np.max(np.abs(samples.astype(np.int32)))) if samples.size else 0
    return -math.inf if peak == 0 else 20 * math.log10(peak / 32767.0)


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write int16 stereo ``samples`` (frames, 2) as a 16-bit PCM WAV file, atomically."""

    def write(fh) -> None:
        with wave.open(fh, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(int(sample_rate))
            w.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())

    atomic_write(Path(path), write)


def render_to_wav(score: Score, path: str | Path, soundfont: str | Path | None = None,
                  sample_rate: int = 44100, gain: float | None = None,
                  metronome: bool = False) -> str:
    """Render ``score`` to a WAV file; returns a one-line summary for the user."""
    if not score.notes:
        raise UserError("the score has no notes to render")
    samples = render_score(score, soundfont=soundfont, sample_rate=sample_rate, gain=gain,
                           metronome=metronome)
    write_wav(path, samples, sample_rate)
    seconds = len(samples) / sample_rate
    return (f"wrote {path}: {seconds:.1f} s, {sample_rate} Hz, "
            f"peak {peak_dbfs(samples):.1f} dBFS")
