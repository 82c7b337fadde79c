"""Rendering, levelling, blinding and writing a listening-test kit.

A kit is a folder::

    OUT_DIR/answer-key.json   the sealed key (keep it; do not send it)
    OUT_DIR/kit/index.html    the page listeners open (offline, no server)
    OUT_DIR/kit/clips/*.wav   the clips, under random names

Each pair is one passage in two versions: the original and one system's version of the
same melody (a few pairs may be on the page a second time, ``repeats``). Both clips are rendered with the same instrument and tempo (:mod:`.passage`),
cut to the same number of frames (the passage, then a fixed tail faded out), and scaled
to the same RMS level, the level of the whole kit (lowered together if a clip would
otherwise peak above :data:`PEAK_CEILING_DBFS`). Which clip is A, the names of the files
and their time stamps come from the operating system's random source, never from the
seed (the seed picks the music only), so nothing in the kit folder tells them apart.
"""

from __future__ import annotations

import io
import math
import os
import secrets
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from composer_app import __version__
from composer_app.music import PPQ, Note, Score, TempoChange, Track, UserError
from composer_app.music.atomic import atomic_write_bytes
from composer_app.music.gm import MELODIC_CHANNELS

from . import key as K
from .page import page_html
from .passage import INSTRUMENT, TEMPO_BPM, PairSpec

SAMPLE_RATE = 44100
GAP_S = 1.0  # silence between clips in the one rendering (their tails end before)
TAIL_S = 1.0  # after the passage's last bar line: the release, faded out over FADE_S
FADE_S = 0.5
TARGET_RMS_DBFS = -20.0
PEAK_CEILING_DBFS = -1.0
CLIP_STAMP = 1_577_836_800  # every clip's mtime (2020-01-01): write order leaks nothing
ORIGINAL = "original"
LETTERS = "AB"


def rms_dbfs(x: np.ndarray) -> float:
    r = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    return -math.inf if r == 0 else 20 * math.log10(r)


def peak_dbfs(x: np.ndarray) -> float:
    p = float(np.max(np.abs(x))) if x.size else 0.0
    return -math.inf if p == 0 else 20 * math.log10(p)


def render_clips(scores: list[Score], frames: list[int], soundfont,
                 sample_rate: int) -> list[np.ndarray]:
    """Each of ``scores`` through FluidSynth as float64 mono of exactly its ``frames``:
    cut or padded with silence, the last FADE_S faded out.

    One synth renders them all, one after another with GAP_S of silence between (a
    soundfont loads once; a clip's tail has died away long before the next begins).
    """
    from composer_app.audio.render import render_score

    tick_s = 60.0 / (TEMPO_BPM * PPQ)
    voices = max(len(s.tracks) for s in scores)
    whole = Score(notes=[], tracks=[Track(f"voice {i + 1}", MELODIC_CHANNELS[i], INSTRUMENT)
                                    for i in range(voices)],
                  tempos=[TempoChange(0, TEMPO_BPM)])
    starts, tick = [], 0
    for s, n in zip(scores, frames, strict=True):
        starts.append(tick)
        whole.notes += [Note(x.pitch, tick + x.start * PPQ // s.ppq,
                             max(1, x.duration * PPQ // s.ppq), x.velocity, x.track)
                        for x in s.notes]
        tick += int(math.ceil((n / sample_rate + GAP_S) / tick_s))
    whole.sort()
    if not whole.notes:
        return [np.zeros(n) for n in frames]
    stereo = render_score(whole, soundfont=soundfont, sample_rate=sample_rate, gain=1.0)
    mono = stereo.astype(np.float64).mean(axis=1) / 32768.0
    out = []
    for t, n in zip(starts, frames):
        a = int(round(t * tick_s * sample_rate))
        clip = np.zeros(n)
        piece = mono[a:a + n]
        clip[:len(piece)] = piece
        fade = min(n, int(FADE_S * sample_rate))
        if fade:
            clip[n - fade:] *= np.linspace(1.0, 0.0, fade)
        out.append(clip)
    return out


def clip_frames(pair: PairSpec, sample_rate: int) -> int:
    """Frames of both clips of a pair: the passage (to its last bar line), the tail."""
    music_s = pair.original.tick_to_seconds(pair.length)
    return int(math.ceil(music_s * sample_rate)) + int(TAIL_S * sample_rate)


def level(clips: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    """All clips scaled to one RMS level: TARGET_RMS_DBFS, or lower so that no clip peaks
    above PEAK_CEILING_DBFS. Returns the clips and the level."""
    crest = max((peak_dbfs(c) - rms_dbfs(c) for c in clips if c.any()), default=0.0)
    target = min(TARGET_RMS_DBFS, PEAK_CEILING_DBFS - crest)
    out = []
    for c in clips:
        r = rms_dbfs(c)
        out.append(c * 10 ** ((target - r) / 20) if math.isfinite(r) else c)
    return out, target


def wav_bytes(mono: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM mono WAV, nothing but the fmt and data chunks."""
    pcm = np.clip(np.rint(mono * 32767.0), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def prepare_out_dir(out_dir: str | os.PathLike) -> Path:
    """A new or empty folder for the kit; refuse to write over anything (a kit already
    sent to listeners must keep its key)."""
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise UserError(f"{out}: is a file; give a folder for the kit")
        if any(out.iterdir()):
            raise UserError(f"{out}: folder is not empty; give a new folder for the kit "
                            "(an old kit's answer key is never overwritten)")
    elif not out.parent.is_dir():
        raise UserError(f"{out}: folder {out.parent} does not exist")
    if not os.access(out if out.exists() else out.parent, os.W_OK):
        raise UserError(f"{out}: not writable")
    return out


def make_kit(out_dir: str | os.PathLike, pairs: list[PairSpec], settings: dict,
             soundfont=None, sample_rate: int = SAMPLE_RATE,
             progress: Callable[[int, int], None] | None = None, repeats: int = 0) -> dict:
    """Render, level, blind and write the kit; returns the sealed key's JSON.

    ``repeats`` of the pairs (drawn at random) are on the page twice; the key's entry of
    the second one says ``repeat_of``, and scoring uses it for consistency only.

    ``settings`` (seed, source, systems, seconds…) is recorded in the key as it is.
    """
    from composer_app.audio.soundfont import resolve_soundfont

    out = prepare_out_dir(out_dir)
    if not pairs:
        raise UserError("no pairs to make a kit of")
    if not 0 <= repeats <= len(pairs):
        raise UserError(f"repeats must be between 0 and the number of pairs ({len(pairs)})")
    soundfont = resolve_soundfont(soundfont)  # before any work: say what to install
    t0 = time.perf_counter()
    scores, frames = [], []
    for p in pairs:
        n = clip_frames(p, sample_rate)
        scores += [p.original, p.version]
        frames += [n, n]
    leveled, target = level(render_clips(scores, frames, soundfont, sample_rate))
    if progress:
        progress(len(pairs), len(pairs))

    rng = secrets.SystemRandom()
    # Entries of the page: every pair once, and `repeats` of them a second time (the same
    # audio under new names, A/B drawn again) to see how consistent each listener is.
    entries = [(i, False) for i in range(len(pairs))] + \
        [(i, True) for i in rng.sample(range(len(pairs)), repeats)]
    rng.shuffle(entries)  # the page's pair order (each listener's page shuffles it again)
    number = {e: shown + 1 for shown, e in enumerate(entries)}
    names = set()
    while len(names) < 2 * len(entries):
        names.add(secrets.token_hex(8))
    names = list(names)
    rng.shuffle(names)
    files: dict[str, bytes] = {}
    key_pairs, page_pairs = [], []
    for i, again in entries:
        p = pairs[i]
        labelled = [(ORIGINAL, leveled[2 * i]), (p.system, leveled[2 * i + 1])]
        if rng.random() < 0.5:
            labelled.reverse()
        clips = {}
        for letter, (label, audio) in zip(LETTERS, labelled):
            name = names.pop()
            files[f"{name}.wav"] = wav_bytes(audio, sample_rate)
            clips[letter] = {"file": f"{name}.wav", "label": label,
                             "rms_dbfs": round(rms_dbfs(audio), 3)}
        entry = {"pair": number[(i, again)], "passage": p.passage, "bars": list(p.bars),
                 "system": p.system, "clips": clips,
                 "seconds": round(len(labelled[0][1]) / sample_rate, 3)}
        if again:
            entry["repeat_of"] = number[(i, False)]
        key_pairs.append(entry)
        page_pairs.append([clips[letter]["file"] for letter in LETTERS])
    content = {
        "salt": K.new_salt(),
        "made_by": f"composer-app {__version__}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": settings,
        "rendition": {"instrument_program": INSTRUMENT, "tempo_bpm": TEMPO_BPM,
                      "sample_rate": sample_rate, "channels": 1, "tail_s": TAIL_S,
                      "rms_dbfs": round(target, 3), "soundfont": Path(soundfont).name},
        "pairs": key_pairs,
    }
    kit_id = K.digest(content)[:K.ID_CHARS]
    clips_dir = out / "kit" / "clips"
    clips_dir.mkdir(parents=True, exist_ok=True)
    for name in sorted(files):  # alphabetical = random: write order tells nothing
        atomic_write_bytes(clips_dir / name, files[name])
        os.utime(clips_dir / name, (CLIP_STAMP, CLIP_STAMP))
    atomic_write_bytes(out / "kit" / "index.html",
                       page_html(kit_id, page_pairs).encode("utf-8"))
    sealed = K.write_key(out / K.KEY_NAME, content)
    assert sealed["kit_id"] == kit_id
    sealed["render_s"] = time.perf_counter() - t0
    return sealed
