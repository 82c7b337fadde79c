"""The harmonizer's public calls: :func:`harmonize` (the app) and
:func:`harmonize_melody` (the CLI).

They turn a Score and a span into a :class:`sampler.SamplingPlan` (the melody, what is
kept, phrase ends, the frame a high or low melody is moved into, the rules' constraints
and biases), run the sampler, and turn the grid back into Scores whose soprano is the
melody note for note. Cancelling raises :class:`GenerationCancelled` (a UserError).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable

import numpy as np
import torch

from composer_app.ml import GenerationCancelled
from composer_app.music import (
    SATB_RANGES,
    VOICE_NAMES,
    Key,
    KeySignature,
    Note,
    Score,
    UserError,
    parse_key,
)
from composer_app.music.score import CONDUCTOR
from composer_app.music.theory import KeyError_, scale_pitch_classes

from .. import grid
from ..runtime import Runtime
from . import rules as R
from .network import key_class
from .sampler import SamplingPlan, Schedule, sample

log = logging.getLogger(__name__)

__all__ = ["harmonize", "harmonize_melody", "GenerationCancelled", "CONTEXT_STEPS",
           "MAX_VARIATIONS", "frame_shift", "phrase_end_flags"]

CONTEXT_STEPS = 64  # grid steps of music kept on each side of a span as context
MAX_VARIATIONS = 16


def harmonize(score: Score, melody_track: int | None = None, start: int | None = None,
              end: int | None = None, locked: Iterable[Note] | None = None,
              variations: int = 1, seed: int | None = None, device: str = "auto",
              progress: Callable[[int], None] | None = None,
              cancel: Callable[[], bool] | None = None, key: Key | str | None = None,
              model_path: str | os.PathLike | None = None,
              schedule: Schedule | None = None, runtime: Runtime | None = None) -> list[Score]:
    """Alto, tenor and bass under a melody, in Bach's chorale style.

    ``melody_track`` is a 0-based track index (default: the track named Soprano, else the
    only track with notes). Only lower-voice notes with onsets in ``[start, end)`` ticks
    are generated; other notes of the tracks named Alto/Tenor/Bass and the ``locked``
    notes (default: notes marked ``locked`` on those tracks) are kept as they are and
    heard as context. Phrase ends are the melody's fermatas, or inferred from the melody
    when it has none. Returns ``variations`` four-track Scores (Soprano, Alto, Tenor,
    Bass on channels 0-3, Choir Aahs) whose soprano is the melody note for note.

    ``progress(percent)`` is called after each pass; ``cancel()`` returning True stops
    with :class:`GenerationCancelled`. Same ``seed`` and input, same output. Raises
    :class:`UserError` for input the user can fix. ``runtime`` (device, threads, loaded
    models) is the caller's; without one a runtime on ``device`` is made for this call.
    """
    if not 1 <= int(variations) <= MAX_VARIATIONS:
        raise UserError(f"variations must be between 1 and {MAX_VARIATIONS}, not {variations}")
    schedule = schedule or Schedule()
    mt = _melody_track(score, melody_track)
    melody = _top_line(score.track_notes(mt), score.tracks[mt].name)
    span_start = 0 if start is None else int(start)
    span_end = max(n.end for n in melody) if end is None else int(end)
    s0 = -(-span_start // grid.STEP_TICKS)  # first whole step in the span
    s1 = span_end // grid.STEP_TICKS if end is not None else -(-span_end // grid.STEP_TICKS)
    if s1 <= s0:
        raise UserError(f"empty span: ticks {span_start}..{span_end} hold no sixteenth to harmonize")
    if not any(n.start < span_end and n.end > span_start for n in melody):
        raise UserError(f"the span (ticks {span_start}..{span_end}) holds no melody notes")
    in_span = [n for n in melody if span_start <= n.start < span_end] or melody
    the_key = _resolve_key(score, key, in_span, span_start)
    shift = frame_shift(melody)
    if shift:
        log.info("melody outside the soprano range: harmonizing %+d semitones away", shift)

    lower_tracks = _lower_voice_tracks(score, mt)
    kept: list[list[Note]] = [[], [], []]  # existing notes that stay, per lower voice
    for i, tr in enumerate(lower_tracks):
        if tr is None:
            continue
        for n in score.track_notes(tr):
            if n.start < span_start or n.start >= span_end or n.locked:
                kept[i].append(n)
    lock_list = list(locked) if locked is not None else []
    for n in lock_list:
        i = _voice_of(n, score, lower_tracks)
        if i is not None and n not in kept[i]:
            kept[i].append(n)

    last = max([n.end for n in melody] + [n.end for k in kept for n in k] + [span_end])
    total = -(-last // grid.STEP_TICKS)
    w0 = max(0, s0 - CONTEXT_STEPS)
    w1 = min(total, s1 + CONTEXT_STEPS)
    steps = w1 - w0
    tokens = np.full((4, steps), grid.MASK, dtype=np.int64)
    tokens[0] = _row(melody, w0, steps, shift, grid.REST)
    free = np.zeros((3, steps), dtype=bool)
    span_mask = np.zeros(steps, dtype=bool)
    span_mask[s0 - w0:s1 - w0] = True
    for i in range(3):
        row = _row(kept[i], w0, steps, shift, grid.MASK)
        tokens[i + 1] = row
        free[i] = span_mask & (row == grid.MASK)
    no_hold = free & ~np.concatenate([np.zeros((3, 1), bool), free[:, :-1]], axis=1)
    ends = phrase_end_flags(melody, score)
    rules = schedule.rules
    final_key = _resolve_key(score, key, in_span, melody[-1].start)
    plan = SamplingPlan(
        tokens=tokens, free=free,
        pos=grid.bar_positions(score, steps, w0),
        fermata=_fermata_row(melody, ends, w0, steps),
        allowed=R.voice_allowed(0, limits=_frame_limits(shift)),
        key=key_class(the_key, shift),
        tonic=(the_key.tonic + shift) % 12,
        scale=scale_pitch_classes(Key((the_key.tonic + shift) % 12, the_key.mode)),
        beat_steps=max(1, score.time_signature_at(span_start).beat_ticks // grid.STEP_TICKS),
        soprano_sounds=tokens[0] != grid.REST,
        no_hold=no_hold,
        ruled_out=_final_chord(melody, final_key, shift, w0, steps, span_mask),
        bias=R.cadence_bias(_cadence_points(melody, ends, shift, w0, steps, span_mask),
                            the_key, shift, steps, rules.cadence),
    )

    runtime = runtime or Runtime(device)
    model = runtime.harmonizer(model_path)
    if next(model.parameters()).device.type == "cpu":
        runtime.apply_threads()
    gen = torch.Generator().manual_seed(int(seed) if seed is not None
                                        else int.from_bytes(os.urandom(4), "little"))
    out = sample(model, plan, int(variations), gen, schedule, progress, cancel)

    velocity = int(np.median([n.velocity for n in melody]))
    carried = _carried_events(score, mt)
    results = []
    for b in range(out.shape[0]):
        notes = [n.moved(track=0) for n in melody]
        new = []
        for i in range(3):
            notes.extend(n.moved(track=i + 1) for n in kept[i])
            allowed_steps = set(np.flatnonzero(free[i]).tolist())
            new.append(grid.row_to_notes(out[b, i + 1], i + 1, w0, velocity, allowed_steps))
        for moved in _back_from_frame(new, shift):
            notes.extend(moved)
        result = Score(notes=notes, tracks=grid.choir_tracks(),
                       tempos=list(score.tempos), time_signatures=list(score.time_signatures),
                       key_signatures=list(score.key_signatures) or [KeySignature(0, the_key)],
                       ppq=score.ppq, title=score.title, **carried)
        result.sort()
        results.append(result)
    return results


def _carried_events(score: Score, melody_track: int) -> dict:
    """The melody's own non-note events (its pedal, bends, lyrics) on the soprano track,
    and the piece's markers and text, for the four-voice result."""
    from dataclasses import replace

    return {
        "channel_events": [replace(e, track=0) for e in score.channel_events
                           if e.track == melody_track],
        "text_events": [replace(e, track=0) if e.track == melody_track else e
                        for e in score.text_events if e.track in (melody_track, CONDUCTOR)],
        "system_events": [replace(e, track=0) if e.track == melody_track else e
                          for e in score.system_events if e.track in (melody_track, CONDUCTOR)],
    }


def harmonize_melody(score: Score, track: int | None = None, key: str | None = None,
                     variations: int = 1, seed: int | None = None, device: str = "auto",
                     progress: Callable[[int], None] | None = None,
                     cancel: Callable[[], bool] | None = None,
                     runtime: Runtime | None = None) -> list[Score]:
    """The CLI's call: ``track`` is 1-based as ``composer-app info`` lists tracks."""
    if track is not None:
        if not 1 <= track <= len(score.tracks):
            raise UserError(f"--track {track}: the file has tracks 1..{len(score.tracks)}")
        track -= 1
    return harmonize(score, melody_track=track, key=key, variations=variations, seed=seed,
                     device=device, progress=progress, cancel=cancel, runtime=runtime)


# -- the frame: a melody outside the soprano range ----------------------------------------


def frame_shift(melody: list[Note]) -> int:
    """Semitones that bring the melody into the soprano range (0 when it is in it);
    whole octaves are preferred so the key stays."""
    lo, hi = min(n.pitch for n in melody), max(n.pitch for n in melody)
    s_lo, s_hi = SATB_RANGES["Soprano"]
    if hi - lo > 36:
        raise UserError(f"the melody spans {hi - lo} semitones (from MIDI {lo} to {hi}); "
                        "a singable melody spans at most three octaves")
    if s_lo <= lo and hi <= s_hi:
        return 0

    def cost(k: int):
        over = max(0, s_lo - (lo + k)) + max(0, (hi + k) - s_hi)
        return (over, k % 12 != 0, abs(k))

    best = min(range(-60, 61), key=cost)
    bass_lo, alto_hi = SATB_RANGES["Bass"][0], SATB_RANGES["Alto"][1]
    if lo + best < grid.PITCH_LO or hi + best > grid.PITCH_HI or \
            bass_lo - best < 0 or alto_hi - best > 127:
        raise UserError(f"the melody's range (MIDI {lo}..{hi}) is too extreme to harmonize")
    return best


def _residual(shift: int) -> int:
    """The part of a frame shift that is not whole octaves (-6..5)."""
    return (shift + 6) % 12 - 6


MIN_FRAME_RANGE = 9  # semitones a voice keeps in the frame when it is to move with the melody


def frame_moves(shift: int) -> dict[str, int]:
    """Semitones each lower voice moves from the frame back to the music: the shift's
    non-octave part, plus whole octaves with the melody where the voice's range allows.

    A high melody (moved down into the frame) takes alto and tenor up with it, the bass
    keeps its register; a low one takes the bass and tenor down, the alto only with the
    tenor. A voice that moves gets a frame range narrow enough (at least
    ``MIN_FRAME_RANGE``) for every note to land in its SATB range after the move.
    Before, every voice moved with the melody: a high folk tune left 8.6 % of its
    lower-voice notes out of range; keeping every voice in the frame instead left a
    high melody two octaves above its alto."""
    r = _residual(shift)
    octaves = (shift - r) // 12  # the frame moved the melody by this many octaves
    moves = {name: -r for name in VOICE_NAMES[1:]}
    if octaves == 0:
        return moves
    movers = ("Alto", "Tenor") if octaves < 0 else ("Bass", "Tenor", "Alto")
    for name in movers:
        lo, hi = SATB_RANGES[name]
        for k in range(abs(octaves), 0, -1):
            m = -r - 12 * k * (1 if octaves > 0 else -1)
            if min(hi, hi - m) - max(lo, lo - m) >= MIN_FRAME_RANGE:
                moves[name] = m
                break
        else:
            break  # the voices after it stay too, keeping the order
    return moves


def _frame_limits(shift: int) -> dict:
    """Lower-voice ranges inside the frame: every note lands in its SATB range after
    the voice's move (:func:`frame_moves`)."""
    out = {}
    for name, m in frame_moves(shift).items():
        lo, hi = SATB_RANGES[name]
        out[name] = (max(lo, lo - m), min(hi, hi - m))
    return out


def _back_from_frame(voices: list[list[Note]], shift: int) -> list[list[Note]]:
    """Alto, tenor, bass moved from the frame back to the music (:func:`frame_moves`)."""
    moves = frame_moves(shift)
    return [[n.moved(pitch=n.pitch + moves[name]) for n in v]
            for v, name in zip(voices, VOICE_NAMES[1:], strict=True)]


# -- phrase ends and cadences --------------------------------------------------------------


def phrase_end_flags(melody: list[Note], score: Score) -> list[bool]:
    """One flag per melody note: a phrase ends there (its fermata, or inferred)."""
    from composer_app.ml.phrases import phrase_ends

    return list(phrase_ends(melody, score))


def _fermata_row(melody: list[Note], ends: list[bool], first_step: int, steps: int) -> np.ndarray:
    ferm = np.zeros(steps, dtype=np.int64)
    for n, end in zip(melody, ends, strict=False):
        if end:
            s = grid.step_of(n.start) - first_step
            e = max(s + 1, grid.step_of(n.end) - first_step)
            ferm[max(0, s):max(0, min(steps, e))] = 1
    return ferm


def _cadence_points(melody: list[Note], ends: list[bool], shift: int, first_step: int,
                    steps: int, span_mask: np.ndarray) -> list[tuple]:
    """(pre_step, end_step, last_pc, before_pc) of each phrase end inside the span."""
    out = []
    for i, (n, end) in enumerate(zip(melody, ends, strict=False)):
        if not end:
            continue
        s = grid.step_of(n.start) - first_step
        if not 0 <= s < steps or not span_mask[s]:
            continue
        before = melody[i - 1] if i > 0 and melody[i - 1].end >= n.start - grid.STEP_TICKS else None
        pre = grid.step_of(before.start) - first_step if before is not None else -1
        out.append((pre, s, (n.pitch + shift) % 12,
                    (before.pitch + shift) % 12 if before is not None else None))
    return out


def _final_chord(melody: list[Note], key: Key, shift: int, first_step: int, steps: int,
                 span_mask: np.ndarray) -> np.ndarray | None:
    last = melody[-1]
    s = grid.step_of(last.start) - first_step
    e = min(steps, max(s + 1, grid.step_of(last.end) - first_step))
    if not 0 <= s < steps or not span_mask[s]:
        return None
    return R.final_chord((last.pitch + shift) % 12, key, shift, s, e, steps)


# -- helpers -----------------------------------------------------------------------------


def _melody_track(score: Score, requested: int | None) -> int:
    with_notes = score.tracks_with_notes()
    if requested is not None:
        if not 0 <= requested < len(score.tracks):
            raise UserError(f"melody track {requested + 1} does not exist "
                            f"(the score has {len(score.tracks)} tracks)")
        if requested not in with_notes:
            raise UserError(f"track {requested + 1} ({score.tracks[requested].name}) has no notes")
        return requested
    if not with_notes:
        raise UserError("no melody: the score has no notes")
    if len(with_notes) == 1:
        return with_notes[0]
    for i in with_notes:
        if score.tracks[i].name.strip().lower() == "soprano":
            return i
    listed = ", ".join(f"{i + 1}: {score.tracks[i].name or 'unnamed'}" for i in with_notes)
    raise UserError(f"several tracks have notes ({listed}); choose the melody with --track")


def _top_line(notes: list[Note], name: str) -> list[Note]:
    """The notes themselves when monophonic; else the highest line, and say so."""
    notes = sorted(notes, key=lambda n: (n.start, -n.pitch))
    if all(a.end <= b.start for a, b in zip(notes, notes[1:], strict=False)):
        return notes
    tops: list[Note] = []
    for n in notes:
        if tops and tops[-1].start == n.start:
            continue  # a lower note of the same chord
        if tops and tops[-1].end > n.start:
            prev = tops[-1]
            if prev.pitch > n.pitch and prev.end >= n.end:
                continue  # under a longer, higher note
            tops[-1] = prev.moved(duration=n.start - prev.start)
        tops.append(n)
    log.warning("the melody track %s has several notes at once; using its top line (%d of %d notes)",
                name or "", len(tops), len(notes))
    return tops


def _resolve_key(score: Score, key, melody: list[Note], tick: int) -> Key:
    if isinstance(key, Key):
        return key
    if key:
        try:
            return parse_key(key)
        except KeyError_ as exc:
            raise UserError(str(exc)) from None
    return score.key_in_force(tick, melody)


def _lower_voice_tracks(score: Score, melody_track: int) -> list[int | None]:
    tracks = score.voice_tracks(melody_track)
    return [tracks.get(voice) for voice in VOICE_NAMES[1:]]


def _voice_of(note: Note, score: Score, lower_tracks: list[int | None]) -> int | None:
    if note.track in lower_tracks:
        return lower_tracks.index(note.track)
    centres = [sum(SATB_RANGES[v]) / 2 for v in VOICE_NAMES[1:]]
    return int(np.argmin([abs(note.pitch - c) for c in centres]))


def _row(notes: list[Note], first_step: int, steps: int, shift: int, fill: int) -> np.ndarray:
    """A voice's token row over the window, pitches moved by ``shift``."""
    offset = first_step * grid.STEP_TICKS
    moved = []
    for n in notes:
        s, e = n.start - offset, n.end - offset
        if e <= 0 or s >= steps * grid.STEP_TICKS:
            continue
        s = max(0, s)
        pitch = min(grid.PITCH_HI, max(grid.PITCH_LO, n.pitch + shift))
        moved.append(Note(pitch, s, max(1, e - s)))
    return grid.notes_to_row(moved, steps, fill)
