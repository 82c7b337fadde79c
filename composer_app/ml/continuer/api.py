"""The public call :func:`continue_melody`: the sketch in, the rerank of candidates
(ml/motifs.py), the lower voices of a chorale sketch, Scores out."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

from composer_app.music import Key, Note, Score, UserError

from .. import motifs as motif_rules
from ..runtime import Runtime
from .tokens import (
    BOS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
    HOLD,
    MAX_BARS,
    N_SPECIAL,
    REST,
    STEP,
    STYLE_GUIDANCE,
    STYLES,
    ContinuationCancelled,
    decode_tokens,
    encode_melody,
    key_shift,
    meter_id,
    metric_position,
    style_id,
)

log = logging.getLogger(__name__)

# -- the public call -----------------------------------------------------------------------


def melody_track(score: Score) -> int:
    """The track to continue: the highest-sounding track with notes (the top line)."""
    tracks = score.tracks_with_notes()
    if len(tracks) == 1:
        return tracks[0]

    def mean_pitch(t: int) -> float:
        ns = score.track_notes(t)
        return sum(n.pitch for n in ns) / len(ns)

    return max(tracks, key=mean_pitch)


def _check_args(score: Score, bars: int, variations: int, temperature: float,
                top_p: float) -> None:
    if not score.notes:
        raise UserError("the sketch is empty: draw or load a few notes to continue")
    if not isinstance(bars, int) or bars <= 0 or bars > MAX_BARS:
        raise UserError(f"bars must be between 1 and {MAX_BARS}, not {bars}")
    if not 1 <= variations <= 16:
        raise UserError(f"variations must be between 1 and 16, not {variations}")
    if not temperature > 0 or math.isinf(temperature):
        raise UserError(f"temperature must be above 0, not {temperature}")
    if not 0 < top_p <= 1:
        raise UserError(f"top-p must be in (0, 1], not {top_p}")


def continue_melody(score: Score, bars: int, *, variations: int = 1,
                    temperature: float = DEFAULT_TEMPERATURE,
                    top_p: float = DEFAULT_TOP_P, seed: int | None = None, device: str = "auto",
                    progress: Callable[[int], None] | None = None,
                    cancel: Callable[[], bool] | None = None,
                    checkpoint: str | Path | None = None,
                    runtime: Runtime | None = None,
                    motifs: motif_rules.Motifs | None = None,
                    style: str | None = None,
                    style_guidance: float | None = None) -> list[Score]:
    """Continue the sketch's top line by ``bars`` whole bars; one score per variation.

    The continuation starts where the sketch ends (its last note-off) and stops on a bar
    line: it fills the bar the sketch ends in, then adds exactly ``bars`` whole bars (a
    sketch ending on a bar line gets exactly ``bars`` bars). Meter and key are those of
    the score where the sketch ends (key detected from the melody when the score names
    none). Every input note comes out unchanged. A four-voice sketch (a chorale) gets
    its lower voices filled by the harmonizer over the new span.

    Each variation is the best of ``motifs.candidates`` samples (some restating opening
    bars at phrase-parallel places) by :func:`composer_app.ml.motifs.score`; pass
    ``motifs=motifs.FREE_SAMPLING`` for the network alone (one sample, nothing copied).

    ``style`` (``"folk"``, the default, or ``"chorale"``: :data:`~.tokens.STYLES`) is the
    network's style input, the corpus it should sound like; weights without a style
    input ignore it. ``style_guidance`` (default: the style's in :data:`~.tokens.STYLE_GUIDANCE`; 0 = the
    network alone) steps each row under the other style too and samples from the
    style's logits pushed away from the other's.

    ``seed`` makes the output reproducible; ``progress(percent)`` is called as it goes;
    ``cancel()`` returning true raises :class:`ContinuationCancelled`. Problems the user
    can fix (empty sketch, bars outside 1-64, temperature <= 0, missing or wrong
    weights) raise :class:`UserError`.
    """
    _check_args(score, bars, variations, temperature, top_p)
    style_index = style_id(style)
    guidance = (STYLE_GUIDANCE.get(STYLES[style_index], 0.0) if style_guidance is None
                else float(style_guidance))
    if not 0 <= guidance <= 8:
        raise UserError(f"style guidance must be between 0 and 8, not {style_guidance}")
    polyphonic = len(score.tracks_with_notes()) == 4
    runtime = runtime or Runtime(device)
    continuer = runtime.continuer(checkpoint)
    if continuer.device.type == "cpu":
        runtime.apply_threads()
    track = melody_track(score)
    melody = score.track_notes(track)
    end = score.end_tick
    sig = score.time_signature_at(max(end - 1, 0))
    target_end = score.bars_after(end, bars)
    if sig.bar_ticks % STEP:
        raise UserError(f"meter {sig} is not a whole number of sixteenths; cannot continue")

    key = score.key_in_force(max(end - 1, 0), melody)
    shift = key_shift(key)
    # Prefix: from the first melody note to the sketch end, key-normalised and moved
    # by octaves into the model's comfortable range.
    first = melody[0].start
    prefix_notes = [(n.pitch + shift, n.start, n.duration) for n in melody]
    octave = octave_fit([p for p, _, _ in prefix_notes])
    prefix_notes = [(p + octave, s, d) for p, s, d in prefix_notes]
    # Grid origin: the sketch end minus whole steps, so new steps fall on the grid of
    # the sketch end; prefix onsets snap to it.
    n_prefix = max(0, int(round((end - first) / STEP)))
    origin = end - n_prefix * STEP
    prefix = encode_melody(prefix_notes, origin, end) if n_prefix else []
    prefix = prefix[-512:]  # long sketches: the last 512 steps are context enough
    origin = end - len(prefix) * STEP

    n_new = (target_end - end) // STEP
    prev_tokens = [BOS] + prefix
    prev_pos = metric_positions(score, first, [origin + i * STEP for i in range(len(prefix) + 1)])
    new_pos = metric_positions(score, first, [end + i * STEP for i in range(n_new)])
    mode = 1 if key.mode == "minor" else 0
    generator = torch.Generator(device="cpu")
    # No seed: fresh entropy, without touching torch's global generator.
    generator.manual_seed(int(seed) if seed is not None
                          else int.from_bytes(os.urandom(7), "little"))
    rules = motifs or motif_rules.MOTIFS
    if not 1 <= rules.candidates <= 64:
        raise UserError(f"candidates must be between 1 and 64, not {rules.candidates}")
    plans = _copy_plans(score, first, origin, end, target_end, prefix, rules)
    k = len(plans)
    forced = None
    if any(plans):
        forced = torch.full((variations * k, n_new), -1, dtype=torch.long)
        for c, plan in enumerate(plans):
            for _src, tgt_i, toks in plan:
                forced[c::k, tgt_i:tgt_i + len(toks)] = torch.tensor(toks)
    logprobs: list[float] = []
    rows = continuer.generate(prev_tokens, prev_pos, new_pos, meter_id(sig.numerator,
                              sig.denominator), mode, variations * k, temperature, top_p,
                              generator, progress=None if polyphonic else progress,
                              cancel=cancel, forced=forced,
                              logprobs=logprobs if k > 1 else None, style=style_index,
                              guidance=guidance)
    if k > 1:
        rows = _rerank(rows, logprobs, k, score, melody, first, end, target_end, key,
                       octave + shift, rules)
    velocity = int(round(sum(n.velocity for n in melody) / len(melody)))
    results = []
    for row in rows:
        new_notes = [
            Note(pitch=_fit_midi(p - octave - shift), start=s, duration=min(d, target_end - s),
                 velocity=velocity, track=track)
            for p, s, d in decode_tokens(row, end)
        ]
        # Notes are frozen: share them, deep-copy only the rest (a deep copy of every
        # note was 40 % of a 4-variation call).
        out = replace(score, notes=[]).copy()
        out.notes = list(score.notes) + new_notes
        out.sort()
        results.append(out)
    if polyphonic:
        results = _fill_lower_voices(results, score, track, end, target_end, seed, runtime,
                                     progress, cancel)
    return results


def _first_full_bar(score: Score, first: int) -> int:
    bar = score.bar_of(first)
    return bar if score.bar_start(bar) == first else bar + 1


def _copy_plans(score: Score, first: int, origin: int, end: int, target_end: int,
                prefix: list[int], rules: motif_rules.Motifs) -> list[list]:
    """Per candidate: ``(source step, target step, tokens)`` of the bars it restates.

    Whole bars of the primed prefix, restated at whole bars of the continuation of the
    same length (:func:`composer_app.ml.motifs.copy_plans`); a source bar that begins by
    holding a note restrikes it, so the copy stands on its own.
    """
    base = _first_full_bar(score, first)

    def whole(lo: int, hi: int) -> dict[int, tuple[int, int]]:
        out = {}
        bar = score.bar_of(lo)
        while score.bar_start(bar + 1) <= hi:
            if score.bar_start(bar) >= lo:
                out[bar - base] = (score.bar_start(bar), score.bar_start(bar + 1))
            bar += 1
        return out

    opening, new = whole(max(origin, first), end), whole(end, target_end)
    plans = []
    for plan in motif_rules.copy_plans(sorted(opening), sorted(new), rules):
        steps = []
        for src, tgt in plan:
            (s0, s1), (t0, t1) = opening[src], new[tgt]
            if s1 - s0 != t1 - t0:
                continue
            i0 = (s0 - origin) // STEP
            toks = list(prefix[i0:i0 + (s1 - s0) // STEP])
            if toks and toks[0] == HOLD:
                back = [t for t in prefix[:i0] if t != HOLD]
                toks[0] = back[-1] if back and back[-1] >= N_SPECIAL else REST
            steps.append((i0, (t0 - end) // STEP, toks))
        plans.append(steps)
    return plans


def _rerank(rows: list[list[int]], logprobs: list[float], k: int, score: Score,
            melody: list[Note], first: int, end: int, target_end: int, key: Key,
            offset: int, rules: motif_rules.Motifs) -> list[list[int]]:
    """The best of each variation's ``k`` candidate rows by the structure score."""
    opening = [(n.pitch, n.start, n.duration) for n in melody]
    open_bounds = [score.bar_start(b) for b in range(score.bar_of(first),
                                                     score.bar_of(max(end - 1, 0)) + 2)]
    bounds = [end]
    while bounds[-1] < target_end:
        bounds.append(score.next_bar_line(bounds[-1] + 1))
    base = _first_full_bar(score, first)
    phrase_ends = [t for t in bounds[1:-1]
                   if (score.bar_of(t) - base) % rules.phrase_bars == 0]
    best = []
    for v in range(len(rows) // k):
        scored = []
        for c in range(v * k, (v + 1) * k):
            notes = [(p - offset, s, min(d, target_end - s))
                     for p, s, d in decode_tokens(rows[c], end)]
            m = motif_rules.measure(opening, open_bounds, notes, bounds, key,
                                    phrase_ends=phrase_ends)
            scored.append((motif_rules.score(m, logprobs[c], rules), -c))
        best.append(rows[-max(scored)[1]])
    return best


def metric_positions(score: Score, first: int, ticks: list[int]) -> list[int]:
    """Model positions (see :func:`metric_position`) of grid steps at ``ticks``.

    Bars are counted from the first full bar at or after ``first`` (the melody's first
    note; a pickup bar is bar -1), steps from the bar line of each tick's bar.
    """
    first_bar = score.bar_of(first)
    if score.bar_start(first_bar) != first:
        first_bar += 1
    out = []
    for tick in ticks:
        bar = score.bar_of(max(tick, 0))
        out.append(metric_position((tick - score.bar_start(bar)) // STEP, bar - first_bar))
    return out


def octave_fit(pitches: list[int]) -> int:
    """Octaves (in semitones) that move the pitches' middle near the training range."""
    if not pitches:
        return 0
    middle = (min(pitches) + max(pitches)) / 2
    shift = 0
    while middle + shift < 62:
        shift += 12
    while middle + shift > 80:
        shift -= 12
    return shift


def _fit_midi(pitch: int) -> int:
    while pitch < 0:
        pitch += 12
    while pitch > 127:
        pitch -= 12
    return pitch


def _fill_lower_voices(results: list[Score], sketch: Score, track: int, start: int, end: int,
                       seed: int | None, runtime: Runtime, progress, cancel) -> list[Score]:
    """Chorale sketches: the harmonizer writes the other voices under the new top line.

    The four voices are handed over as Soprano/Alto/Tenor/Bass (by mean pitch) so the
    harmonizer hears the sketch's lower voices as context; only the notes it writes in
    ``[start, end)`` are taken back, on the sketch's own tracks.
    """
    try:
        from ..harmonizer import GenerationCancelled, harmonize
    except ImportError:
        raise UserError("this sketch has four voices; continuing it needs the harmonizer, "
                        "which is not installed") from None
    from composer_app.music import Track

    voices = sorted(sketch.tracks_with_notes(),
                    key=lambda t: -sum(n.pitch for n in sketch.track_notes(t))
                    / len(sketch.track_notes(t)))
    voices.remove(track)
    voices = [track] + voices[:3]
    to_voice = {t: v for v, t in enumerate(voices)}
    names = [Track("Soprano", 0), Track("Alto", 1), Track("Tenor", 2), Track("Bass", 3)]
    filled = []
    for i, res in enumerate(results):
        if cancel is not None and cancel():
            raise ContinuationCancelled("continuation cancelled")
        four = res.copy()
        four.tracks = names
        four.notes = [n.moved(track=to_voice[n.track]) for n in res.notes if n.track in to_voice]
        sub = None
        if progress is not None:
            def sub(p, i=i):
                progress(int((100 * i + p) / len(results)))
        try:
            out = harmonize(four, melody_track=0, start=start, end=end, variations=1,
                            seed=None if seed is None else seed + i, runtime=runtime,
                            progress=sub, cancel=cancel)[0]
        except GenerationCancelled:
            raise ContinuationCancelled("continuation cancelled") from None
        new = [n.moved(track=voices[n.track]) for n in out.notes
               if n.track in (1, 2, 3) and start <= n.start < end]
        res = res.copy()
        res.notes = res.notes + new
        res.sort()
        filled.append(res)
    return filled
