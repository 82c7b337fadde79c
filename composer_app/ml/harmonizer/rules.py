"""The sampler's rules, as data: each is named, switchable, and measured in the card.

A rule is either a constraint (tokens ruled out) or a logit penalty. :class:`Rules`
holds every rule's switch and weight; :data:`NETWORK_ALONE` switches every style rule
off, which the evaluation reports beside the shipped rules. Three constraints stay on
even there, because they are the contract of a span rather than style: lower voices
in their ranges, sounding while the melody sounds, striking a new note where a free
run begins.

The functions here compute, for one step and one voice, the penalty of each candidate
token from the music already decided (the draft's past and the voices already sampled
at that step), all as (B, V) tensors so every variation is scored at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from composer_app.music import SATB_RANGES, VOICE_NAMES, Key

from .. import grid


@dataclass(frozen=True)
class Rules:
    """Switches (bool) and logit penalties (float, 0 = off) of the sampling rules."""

    voice_ranges: bool = True  # constraint: alto, tenor, bass within their SATB ranges
    sound_with_soprano: bool = True  # constraint: no lower-voice rest while the melody sounds
    strike_at_span_start: bool = True  # constraint: a free run starts with a new note
    final_tonic: bool = True  # constraint: the piece's last chord is the tonic triad
    parallels: float = 4.0  # per parallel 5th / 8ve / unison (incl. antiparallel, 8ve<->unison)
    crossing: float = 1.5  # per voice crossed (a lower voice above a higher one)
    leading_tone: float = 5.0  # the bass leaves a leading tone of a dominant chord not upward
    leading_tone_inner: float = 2.0  # the same for alto and tenor (Bach lets inner ones fall)
    seventh: float = 3.0  # the seventh of V7 leaves not downward by step
    cadence: float = 6.0  # at a phrase end: V (bass on the dominant) then I, in the cadence key
    bass_step: float = 1.5  # bonus for a bass note a step (1-2 semitones) from the last
    bass_repeat: float = 1.5  # the bass strikes its last pitch again
    bass_leap: float = 3.0  # the bass leaps a sixth, a seventh or beyond the octave
    inner_step: float = 1.0  # bonus for an alto or tenor note a step from its last
    one_moving_voice: float = 0.0  # off the beat, per other voice striking a note there too
    rising_third: float = 1.0  # a lower voice leaps up a third
    offbeat_repeat: float = 0.0  # off the beat, an alto or tenor strikes its last pitch again
    common_tone: float = 1.0  # bonus: on the beat, an alto or tenor keeps its pitch
    beat_chord: float = 2.0  # on a beat, the last voice decided leaves no triad or seventh
    offbeat_chord: float = 1.0  # the same off the beat, where a note is struck
    tenor_bass_thirds: float = 1.0  # bonus: the tenor moves with the bass in 3rds/6ths/10ths
    alto_soprano_thirds: float = 1.0  # bonus: the alto moves so with the soprano
    repair: int = 2  # last passes: resample the notes that still make parallels
    passing_tones: float = 1.0  # share of a lower voice's thirds from a beat filled in passing
    tie_repeats: float = 1.0  # share of a lower voice's off-beat restrikes of a pitch tied over
    passing_sixteenths: float = 1.0  # share of an alto or tenor fourth from a beat run in 16ths
    held_falls: float = 0.5  # share of lower-voice falling steps onto a beat held over it

    def as_dict(self) -> dict:
        return asdict(self)

    def off(self, *names: str) -> Rules:
        """A copy with the named rules switched off."""
        changes = {}
        for n in names:
            value = getattr(self, n)
            changes[n] = False if isinstance(value, bool) else type(value)(0)
        return replace(self, **changes)


STYLE_RULES = ("final_tonic", "parallels", "crossing", "leading_tone", "leading_tone_inner",
               "seventh", "cadence", "bass_step", "bass_repeat", "bass_leap", "inner_step",
               "one_moving_voice", "rising_third", "offbeat_repeat", "common_tone", "beat_chord",
               "offbeat_chord", "tenor_bass_thirds", "alto_soprano_thirds",
               "repair", "passing_tones", "tie_repeats",
               "passing_sixteenths", "held_falls")
NETWORK_ALONE = Rules().off(*STYLE_RULES)


# -- constraints -------------------------------------------------------------------------


def voice_allowed(shift: int = 0, margin: int = 0, limits: dict | None = None) -> np.ndarray:
    """(3, V) allowed tokens of alto, tenor, bass: REST, HOLD and pitches in range.

    ``limits`` (name -> (lo, hi)) overrides SATB_RANGES for some voices."""
    allowed = np.zeros((3, grid.VOCAB_SIZE), dtype=bool)
    allowed[:, grid.REST] = True
    allowed[:, grid.HOLD] = True
    for i, name in enumerate(VOICE_NAMES[1:]):
        lo, hi = (limits or {}).get(name, SATB_RANGES[name])
        for p in range(max(grid.PITCH_LO, lo + shift - margin),
                       min(grid.PITCH_HI, hi + shift + margin) + 1):
            allowed[i, grid.pitch_token(p)] = True
    return allowed


def triad_pcs(tonic: int, mode: str, picardy: bool = False) -> set[int]:
    third = 4 if mode == "major" else 3
    pcs = {tonic % 12, (tonic + third) % 12, (tonic + 7) % 12}
    if picardy and mode == "minor":
        pcs.add((tonic + 4) % 12)
    return pcs


def final_chord(melody_pc: int, key: Key, shift: int, start: int, end: int,
                steps: int) -> np.ndarray | None:
    """Tokens ruled out under the melody's last note (steps ``start``..``end``): the
    piece ends on its tonic chord, struck with that note (minor: the Picardy third
    allowed). None when the melody's last note is not in the tonic triad.

    Left to itself the sampler ended a test melody on the tonic in 3 of 8 variations."""
    tonic = (key.tonic + shift) % 12
    minor_third = (tonic + 3) % 12
    triad = triad_pcs(tonic, key.mode, picardy=melody_pc != minor_third)
    if melody_pc not in triad:
        return None
    ruled_out = np.zeros((3, steps, grid.VOCAB_SIZE), dtype=bool)
    for voice in range(3):
        pcs = {tonic} if voice == 2 else triad
        for p in range(grid.PITCH_LO, grid.PITCH_HI + 1):
            if p % 12 not in pcs:
                ruled_out[voice, start:end, grid.pitch_token(p)] = True
        ruled_out[voice, start, grid.HOLD] = True
    return ruled_out


# -- cadences ----------------------------------------------------------------------------


def cadence_key(key: Key, shift: int, last_pc: int, before_pc: int | None) -> Key | None:
    """The key of the cadence a phrase ending on ``last_pc`` (after ``before_pc``) makes
    (tonic in the frame): the home key first, then the dominant, relative and
    subdominant keys, the first whose tonic triad holds the last note and whose V7 holds
    the note before. None: no authentic cadence fits the melody."""
    home = (key.tonic + shift) % 12
    relative = (home + 9) % 12 if key.mode == "major" else (home + 3) % 12
    rel_mode = "minor" if key.mode == "major" else "major"
    for tonic, mode in ((home, key.mode), ((home + 7) % 12, "major"), (relative, rel_mode),
                        ((home + 5) % 12, key.mode)):
        if last_pc in triad_pcs(tonic, mode) and (before_pc is None
                                                 or before_pc in dominant7_pcs(tonic)):
            return Key(tonic, mode)
    return None


def dominant7_pcs(tonic: int) -> set[int]:
    return {(tonic + 7) % 12, (tonic + 11) % 12, (tonic + 2) % 12, (tonic + 5) % 12}


def cadence_bias(phrase_end_steps: list[tuple[int, int, int, int | None]], key: Key,
                 shift: int, steps: int, weight: float) -> np.ndarray:
    """(3, T, V) logit bias for an authentic cadence at each phrase end ``(pre_step,
    end_step, last_pc, before_pc)``: under the melody's note before the phrase's last
    the bass strikes the cadence key's dominant and alto and tenor take notes of its V7;
    under the last note the bass strikes the tonic and alto and tenor its triad (half
    the weight for them), with no other chord between. Bach makes 52 % of his test-split fermatas authentic cadences;
    the network alone about 19 %."""
    bias = np.zeros((3, steps, grid.VOCAB_SIZE), dtype=np.float32)
    if weight <= 0:
        return bias
    pitch_pc = (np.arange(grid.PITCH_LO, grid.PITCH_HI + 1)) % 12
    for pre, end, last_pc, before_pc in phrase_end_steps:
        ck = cadence_key(key, shift, last_pc, before_pc)
        if ck is None:
            continue
        dominant = (ck.tonic + 7) % 12
        v7, tonic_triad = dominant7_pcs(ck.tonic), triad_pcs(ck.tonic, ck.mode, True)
        first = pre if 0 <= pre < end else end
        for step in range(max(0, first), min(end + 1, steps)):
            at_end = step == end
            bass_pc, upper = (ck.tonic, tonic_triad) if at_end else (dominant, v7)
            row = bias[2, step]
            row[grid.FIRST_PITCH:][pitch_pc != bass_pc] -= weight
            if at_end or step == pre:
                row[grid.HOLD] -= weight  # struck with the melody note
            for v in (0, 1):
                inner = bias[v, step]
                inner[grid.FIRST_PITCH:][~np.isin(pitch_pc, list(upper))] -= weight / 2
    return bias


# -- penalties at one step of the draft --------------------------------------------------


def candidate_pitches() -> np.ndarray:
    """(V,) the pitch of each pitch token, -1 for the others."""
    cand = np.full(grid.VOCAB_SIZE, -1, dtype=np.int64)
    cand[grid.FIRST_PITCH:] = np.arange(grid.PITCH_LO, grid.PITCH_HI + 1)
    return cand


def _perfect_pair(d1, d2):
    """Both intervals (semitones, >= 0) are fifths, or both octaves/unisons (compound
    too): music21's parallelFifth / parallelOctave / parallelUnison and their
    antiparallel and octave<->unison kin. Works on numpy arrays and torch tensors."""
    return ((d1 % 12 == 7) & (d2 % 12 == 7)) | ((d1 % 12 == 0) & (d2 % 12 == 0))


def motion_penalty(rules: Rules, v: int, neighbour: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """(B, V) penalty of moving between ``neighbour`` (B,) pitches (-1 unknown) and each
    candidate in voice ``v``: steps favoured, bass repeats and wide bass leaps not.

    Measured on the validation split: Bach's basses move 64 % by step, 3 % repeat, 1 %
    by a sixth or seventh; the network's own 28 %, 10 % and 12 %. His alto and tenor
    move 63 % by step and 8 % by third; the network's 42 % and 23 %. His lower voices
    rise by a third 0.13-0.20 times per voice and 2-bar window, the network's (with the
    other rules) 0.41-0.44: the classifier's strongest single clue."""
    c = cand[None, :]
    known = (neighbour >= 0)[:, None] & (c >= 0)
    jump = np.abs(c - neighbour[:, None])
    step = known & (jump >= 1) & (jump <= 2)
    rise = c - neighbour[:, None]
    third_up = (known & (rise >= 3) & (rise <= 4)).astype(np.float32)
    if v != 3:
        return -rules.inner_step * step.astype(np.float32) + rules.rising_third * third_up
    pen = -rules.bass_step * step.astype(np.float32) + rules.rising_third * third_up
    pen += rules.bass_repeat * (known & (jump == 0))
    pen += rules.bass_leap * (known & (((jump >= 8) & (jump <= 11)) | (jump > 12)))
    return pen


_TERTIAN: np.ndarray | None = None


def tertian_table() -> np.ndarray:
    """(4096,) bool by pitch-class bitmask: the set is a triad or a seventh chord (or a
    seventh without its fifth), as :func:`music.voice_leading.chord_label` reads it."""
    global _TERTIAN
    if _TERTIAN is None:
        from composer_app.music.voice_leading import chord_label

        _TERTIAN = np.array([chord_label([60 + pc for pc in range(12) if m >> pc & 1])
                             is not None for m in range(4096)])
    return _TERTIAN


def step_penalty(rules: Rules, sound: np.ndarray, known: np.ndarray, v: int, t: int,
                 cand: np.ndarray, tonic: int, struck: np.ndarray | None = None,
                 on_beat: bool = True) -> np.ndarray:
    """(B, V) penalty of each token for voice ``v`` (1-3) at step ``t``.

    ``sound`` (B, 4, T) is the pitch sounding at each step (-1 silent or unknown),
    ``known`` (B, 4) says which voices are decided at ``t``; ``tonic`` is the key's
    tonic pitch class (in the frame); ``struck`` (B, 4) which decided voices start a
    note at ``t``, ``on_beat`` whether ``t`` is on a beat. Numpy: the arrays are tiny
    and this runs three times per step, where torch's per-call overhead would dominate."""
    b = sound.shape[0]
    pen = np.zeros((b, cand.shape[0]), dtype=np.float32)
    is_pitch = (cand >= 0)[None, :]
    prev_v = sound[:, v, t - 1] if t > 0 else np.full(b, -1)
    c = cand[None, :]
    moves = is_pitch & (c != prev_v[:, None])
    others = [u for u in range(4) if u != v]
    now_u = sound[:, others, t]  # (B, 3)
    if rules.parallels and t > 0:
        lags = [lag for lag in (1, 2) if t - lag >= 0]
        prev = sound[:, :, [t - lag for lag in lags]].transpose(2, 0, 1)  # (L, B, 4)
        pv = prev[:, :, v]  # (L, B)
        prev_u = prev[:, :, others]  # (L, B, 3)
        ok = known[None][:, :, others] & (now_u >= 0)[None] & (prev_u >= 0) & \
            (now_u[None] != prev_u) & (pv >= 0)[:, :, None]
        if ok.any():
            d1 = np.abs(pv[:, :, None] - prev_u)[..., None]  # (L, B, 3, 1)
            d2 = np.abs(c[None, None] - now_u[None, :, :, None])  # (1, B, 3, V)
            par = _perfect_pair(d1, d2) & ok[..., None] & (c != pv[:, :, None, None])
            pen += rules.parallels * (par & is_pitch).sum(axis=(0, 2))
    if rules.crossing:
        below = np.array([u > v for u in others])  # voices under v
        ok = known[:, others] & (now_u >= 0)  # (B, 3)
        crossed = np.where(below[None, :, None], c[:, None, :] < now_u[:, :, None],
                           c[:, None, :] > now_u[:, :, None])  # (B, 3, V)
        pen += rules.crossing * (crossed & ok[:, :, None] & is_pitch).sum(axis=1)
    pen += motion_penalty(rules, v, prev_v, cand)
    if v != 3 and (rules.offbeat_repeat or rules.common_tone):
        # Measured on the validation split (chord changes, i.e. any voice's onset): off
        # the beat Bach strikes an alto or tenor's last pitch again at 0.3 % of them,
        # the sampler at 7 %; on the beat he keeps the alto's pitch at 34 % (tenor 29 %),
        # the sampler at 23 % (22 %): all four voices moved at 47 % of its beat changes
        # against his 31 %, and oblique motion was the classifier's strongest clue.
        same = is_pitch & (c == prev_v[:, None]) & (prev_v >= 0)[:, None]
        pen += (rules.offbeat_repeat if not on_beat else -rules.common_tone) * same
    for weight, partner, mine in ((rules.tenor_bass_thirds, 3, 2),
                                  (rules.alto_soprano_thirds, 0, 1)):
        if weight and v == mine and t > 0:
            # Bach's tenor and bass (alto and soprano) move in parallel thirds, sixths
            # and tenths 0.59 (0.78) times per 2-bar window; the sampler's 0.33 (0.61)
            p0, p1 = sound[:, partner, t - 1], sound[:, partner, t]
            ok = known[:, partner] & (p0 >= 0) & (p1 >= 0) & (p0 != p1) & (prev_v >= 0)
            if ok.any():
                gap = np.abs(prev_v - p0) % 12
                same = (np.abs(c - p1[:, None]) % 12 == gap[:, None]) & \
                    np.isin(gap, (3, 4, 8, 9))[:, None]
                along = np.sign(c - prev_v[:, None]) == np.sign(p1 - p0)[:, None]
                pen -= weight * (ok[:, None] & same & along & moves)
    chord_weight = rules.beat_chord if on_beat else rules.offbeat_chord
    if chord_weight and known[:, others].all():
        # Bach: 87 % of beats a triad or seventh; the network with the other rules 82 %
        rest = np.zeros(b, dtype=np.int64)
        for u in others:
            rest |= np.where(now_u[:, others.index(u)] >= 0,
                             1 << (now_u[:, others.index(u)] % 12), 0)
        pitch = np.where(cand >= 0, cand, 0)
        masks = rest[:, None] | np.where(cand >= 0, 1 << (pitch % 12), 0)[None, :]
        masks[:, grid.HOLD] = rest | np.where(prev_v >= 0, 1 << (np.maximum(prev_v, 0) % 12), 0)
        bad = ~tertian_table()[masks]
        if not on_beat:  # off the beat a held note makes no new chord unless another strikes
            bad[:, grid.HOLD] &= struck[:, others].any(axis=1) if struck is not None else False
        pen += chord_weight * bad
    if rules.one_moving_voice and not on_beat and struck is not None:
        # Bach moves one voice at a time between beats (oblique motion); the network
        # moved them together: 4-5 oblique moves per pair and 2-bar window against 5-6
        others_struck = struck[:, others].sum(axis=1)
        pen += rules.one_moving_voice * others_struck[:, None] * is_pitch
    tendency = prev_v % 12 if t > 0 else None
    if t > 0 and (rules.leading_tone or rules.leading_tone_inner or rules.seventh) and \
            ((tendency == (tonic + 11) % 12) | (tendency == (tonic + 5) % 12)).any():
        chord = sound[:, :, t - 1]  # (B, 4)
        pcs = np.where(chord >= 0, chord % 12, -1)

        def has(pc: int) -> np.ndarray:
            return (pcs == pc % 12).any(axis=1)

        leading = (tonic + 11) % 12
        dominant = has(leading) & (has(tonic + 7) | has(tonic + 2))  # V, V7, vii°
        weight = rules.leading_tone if v == 3 else rules.leading_tone_inner
        if weight:
            on_lt = dominant & (prev_v >= 0) & (prev_v % 12 == leading)
            pen += weight * (moves & (c != prev_v[:, None] + 1) & on_lt[:, None])
            pen[:, grid.REST] += weight * on_lt  # a rest leaves it unresolved too
        if rules.seventh:
            v7 = has(tonic + 7) & has(leading) & has(tonic + 5)
            on_7 = v7 & (prev_v >= 0) & (prev_v % 12 == (tonic + 5) % 12)
            step_down = (c == prev_v[:, None] - 1) | (c == prev_v[:, None] - 2)
            pen += rules.seventh * (moves & ~step_down & on_7[:, None])
    return pen


# -- penalties over the whole sequence (refinement and repair passes) -------------------


def _sounding(tokens: torch.Tensor) -> torch.Tensor:
    """(B, 4, T) pitch sounding at each step; -1 for rests and unknown (masked) steps."""
    steps = tokens.shape[-1]
    idx = torch.arange(steps, device=tokens.device).expand_as(tokens)
    last = torch.where(tokens != grid.HOLD, idx, torch.zeros_like(idx)).cummax(dim=-1).values
    head = tokens.gather(-1, last)
    return torch.where(head >= grid.FIRST_PITCH, head - grid.FIRST_PITCH + grid.PITCH_LO,
                       torch.full_like(head, -1))


def _is_parallel(a1, a2, b1, b2) -> torch.Tensor:
    """Both voices move and keep a (compound) fifth, octave or unison, or go between
    octave and unison: music21's VoiceLeadingQuartet parallel/antiparallel motion,
    on semitones."""
    known = (a1 >= 0) & (a2 >= 0) & (b1 >= 0) & (b2 >= 0)
    moved = (a1 != a2) & (b1 != b2)
    d1, d2 = (a1 - b1).abs(), (a2 - b2).abs()
    return known & moved & _perfect_pair(d1, d2)


def parallel_counts(tokens: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """(N, V): for each chosen lower-voice entry (``chosen`` is (B, 3, T) bool, N of them
    set) and each candidate pitch token, how many parallel fifths/octaves a note starting
    there with that pitch would make with the other voices as they stand, into it and
    out of it, a sixteenth and an eighth away. Non-pitch tokens and unknown (masked)
    neighbours count nothing."""
    b, _, steps = tokens.shape
    bi, vi, ti = chosen.nonzero(as_tuple=True)
    n = bi.numel()
    sound = _sounding(tokens)  # (B, 4, T)
    cand = torch.full((1, grid.VOCAB_SIZE), -1, dtype=torch.long, device=tokens.device)
    cand[0, grid.FIRST_PITCH:] = torch.arange(grid.PITCH_LO, grid.PITCH_HI + 1, device=tokens.device)
    count = torch.zeros(n, grid.VOCAB_SIZE, dtype=torch.float32, device=tokens.device)
    if n == 0:
        return count
    rows = torch.arange(n, device=tokens.device)
    v = vi + 1
    other = (torch.arange(4, device=tokens.device)[None, :] != v[:, None])[:, :, None]  # (N, 4, 1)
    now = sound[bi, :, ti]  # (N, 4)
    held = torch.ones(n, dtype=torch.bool, device=tokens.device)
    for lag in (1, 2):
        t_prev, t_next = ti - lag, ti + lag
        prev = sound[bi, :, t_prev.clamp(min=0)]
        prev[t_prev < 0] = -1
        nxt = sound[bi, :, t_next.clamp(max=steps - 1)]
        nxt[t_next >= steps] = -1
        # the note itself lasts while HOLDs follow: then it does not move on yet
        held = held & (tokens[bi, v, (ti + lag).clamp(max=steps - 1)] == grid.HOLD) & (t_next < steps)
        v_prev = prev[rows, v][:, None, None]
        v_next = torch.where(held, torch.full_like(ti, -1), nxt[rows, v])[:, None, None]
        into = _is_parallel(v_prev, cand[:, None], prev[:, :, None], now[:, :, None])  # (N, 4, V)
        out_of = _is_parallel(cand[:, None], v_next, now[:, :, None], nxt[:, :, None])
        count += (into & other).sum(dim=1).float() + (out_of & other).sum(dim=1).float()
    return count


def spread(chosen: torch.Tensor, generator: torch.Generator, reach: int = 2) -> torch.Tensor:
    """A random subset of ``chosen`` (B, 3, T) with no two entries within ``reach`` steps
    of each other in any voice, so each is resampled knowing its neighbours."""
    prio = torch.rand(chosen.shape, generator=generator).to(chosen.device)
    prio = torch.where(chosen, prio, torch.full_like(prio, -1.0))
    per_step = prio.max(dim=1).values  # (B, T)
    window = torch.nn.functional.max_pool1d(per_step[:, None], 2 * reach + 1, stride=1,
                                            padding=reach)[:, 0]
    return chosen & (prio == window[:, None, :])


def current_parallels(tokens: torch.Tensor, among: torch.Tensor) -> torch.Tensor:
    """(B, 3, T) bool: entries of ``among`` whose note onset makes a parallel."""
    counts = parallel_counts(tokens, among)
    current = tokens[:, 1:][among]
    bad = counts.gather(1, current[:, None]).squeeze(1) > 0
    out = torch.zeros_like(among)
    out[among] = bad
    return out


# -- figuration ------------------------------------------------------------------------


def passing_tones(tokens: np.ndarray, free: np.ndarray, pos: np.ndarray, fermata: np.ndarray,
                  allowed: np.ndarray, scale: frozenset[int], beat_steps: int, share: float,
                  draw) -> np.ndarray:
    """(B, 4, T) tokens with some lower-voice thirds filled by a passing eighth.

    Bach's alto, tenor and bass move by step and one at a time far more than the network
    does (oblique motion per 2-bar window 5.4 against 3.8, thirds 1.7x as often): where a
    lower voice leaps a third from a note struck on a beat and held at least a quarter,
    the one scale tone between is struck an eighth before the next note, with ``draw()``
    (a uniform 0-1 number) below ``share``. Only free entries change, and only when
    no other lower voice strikes there, no parallel or crossing results with any voice
    on either side, the tone is in the voice's range, and neither note ends a phrase.
    """
    from composer_app.music.voice_leading import motion_findings

    out = tokens.copy()
    for b in range(out.shape[0]):
        sound = grid.sounding(out[b])
        for v in (1, 2, 3):
            onsets = np.flatnonzero(out[b, v] >= grid.FIRST_PITCH)
            for a, nxt in zip(onsets, onsets[1:]):
                m = int(nxt) - 2
                if (nxt - a < 4 or (nxt - a) % 2 or pos[a] % beat_steps or fermata[m]
                        or fermata[nxt] or not free[v - 1, m] or out[b, v, m] != grid.HOLD):
                    continue
                p1, p2 = int(sound[v, a]), int(sound[v, nxt])
                if abs(p2 - p1) not in (3, 4):
                    continue
                between = [q for q in range(min(p1, p2) + 1, max(p1, p2)) if q % 12 in scale]
                if len(between) != 1 or not allowed[v - 1, grid.pitch_token(between[0])]:
                    continue
                q = between[0]
                if any(out[b, u, m] >= grid.FIRST_PITCH for u in (1, 2, 3) if u != v):
                    continue
                ok = True
                for u in range(4):
                    if u == v:
                        continue
                    before, at, after = int(sound[u, m - 1]), int(sound[u, m]), int(sound[u, nxt])
                    if min(before, at, after) < 0 or (u < v and q > at) or (u > v and q < at) \
                            or motion_findings(p1, q, before, at) or motion_findings(q, p2, at, after):
                        ok = False
                        break
                if ok and draw() < share:
                    out[b, v, m] = grid.pitch_token(q)
                    sound[v, m:nxt] = q
    return out


def tie_repeats(tokens: np.ndarray, free: np.ndarray, pos: np.ndarray, fermata: np.ndarray,
                beat_steps: int, share: float, draw) -> np.ndarray:
    """(B, 4, T) tokens with lower-voice restrikes of the same pitch off the beat tied.

    Measured on the validation split: Bach's alto and tenor strike their last pitch
    again on a beat (a common tone, 150-175 times per 1,000 beats) and almost never off
    it (once per 2,000 beats); the sampler did so off the beat 36 times per 1,000 (the
    network prefers a restruck eighth to a held quarter, and the ``offbeat_repeat``
    penalty did not move it). Such a restrike becomes a held note, with ``draw()`` below
    ``share``; only free entries change, never on a phrase end. On the validation split
    (4 seeds) the classifier fell from 76.8 to 74.1 %.
    """
    out = tokens.copy()
    for b in range(out.shape[0]):
        sound = grid.sounding(out[b])
        for v in (1, 2, 3):
            for n in np.flatnonzero(out[b, v, 1:] >= grid.FIRST_PITCH) + 1:
                if (sound[v, n - 1] != sound[v, n] or sound[v, n] < 0 or pos[n] % beat_steps == 0
                        or fermata[n] or fermata[n - 1] or not free[v - 1, n]):
                    continue
                if draw() < share:
                    out[b, v, n] = grid.HOLD
    return out


def passing_sixteenths(tokens: np.ndarray, free: np.ndarray, pos: np.ndarray,
                       fermata: np.ndarray, allowed: np.ndarray, scale: frozenset[int],
                       beat_steps: int, share: float, draw) -> np.ndarray:
    """(B, 4, T) tokens with some alto and tenor fourths run through in sixteenths.

    Bach's alto and tenor move in sixteenths (validation split: 0.16 and 0.27 sixteenth
    notes per 2-bar window, test split 0.6; the sampler's 0.01-0.07), most often as the
    eighth-and-two-sixteenths figure that runs through a fourth: where an alto or tenor
    leaps a fourth from a note struck on a beat and held at least a quarter, the two
    scale tones between are struck as sixteenths in the eighth before the next note,
    with ``draw()`` below ``share``, under the same conditions as :func:`passing_tones`
    (free entries, no other lower voice striking there, no parallel or crossing, in
    range, no phrase end). The bass is left out: in all voices the bass's sixteenths
    went from Bach's 0.02 per window to 0.15. On the validation split (4 seeds, with
    ``tie_repeats``) the classifier fell from 74.1 to 72.6 %."""
    from composer_app.music.voice_leading import motion_findings

    out = tokens.copy()
    for b in range(out.shape[0]):
        sound = grid.sounding(out[b])
        for v in (1, 2):  # alto and tenor: Bach's bass moves in eighths
            onsets = np.flatnonzero(out[b, v] >= grid.FIRST_PITCH)
            for a, nxt in zip(onsets, onsets[1:]):
                m = int(nxt) - 2
                if (nxt - a < 4 or (nxt - a) % 2 or pos[a] % beat_steps or fermata[m:nxt + 1].any()
                        or not free[v - 1, m:nxt].all() or (out[b, v, m:nxt] != grid.HOLD).any()):
                    continue
                p1, p2 = int(sound[v, a]), int(sound[v, nxt])
                if abs(p2 - p1) != 5:
                    continue
                between = [q for q in range(min(p1, p2) + 1, max(p1, p2)) if q % 12 in scale]
                if len(between) != 2 or not all(allowed[v - 1, grid.pitch_token(q)]
                                                for q in between):
                    continue
                q1, q2 = between if p2 > p1 else between[::-1]
                if any(out[b, u, t] >= grid.FIRST_PITCH for u in (1, 2, 3) if u != v
                       for t in (m, m + 1)):
                    continue
                path = [(p1, q1, m - 1, m), (q1, q2, m, m + 1), (q2, p2, m + 1, int(nxt))]
                ok = True
                for u in range(4):
                    if u == v:
                        continue
                    for x, y, t0, t1 in path:
                        o0, o1 = int(sound[u, t0]), int(sound[u, t1])
                        if (min(o0, o1) < 0 or (u < v and y > o1 and t1 != nxt)
                                or (u > v and y < o1 and t1 != nxt)
                                or motion_findings(x, y, o0, o1)):
                            ok = False
                            break
                    if not ok:
                        break
                if ok and draw() < share:
                    out[b, v, m] = grid.pitch_token(q1)
                    out[b, v, m + 1] = grid.pitch_token(q2)
                    sound[v, m] = q1
                    sound[v, m + 1:nxt] = q2
    return out


def held_falls(tokens: np.ndarray, free: np.ndarray, pos: np.ndarray, fermata: np.ndarray,
               beat_steps: int, share: float, draw) -> np.ndarray:
    """(B, 4, T) tokens with some lower-voice falling steps onto a beat held over it.

    Measured on the validation split: over a beat where the melody strikes, Bach's
    alto, tenor or bass holds its note 130 times per 1,000 beats and then almost always
    falls a step; the sampler held 50 times, and left by leap as often. Where a lower
    voice falls a step onto a beat and the new note lasts at least a beat, the old note
    is held over the beat and the step comes half a beat later (an eighth in 4/4), with
    ``draw()`` below ``share``: only when the held note still makes a triad or seventh
    chord there (Bach's dissonant suspensions, tried too, raised the classifier's chord
    clue), no other lower voice strikes in the delay, no voice is crossed, the delayed
    step makes no parallel, the entries are free and no phrase ends there."""
    from composer_app.music.voice_leading import motion_findings

    table = tertian_table()
    delay = max(1, beat_steps // 2)
    out = tokens.copy()
    steps = out.shape[-1]
    for b in range(out.shape[0]):
        sound = grid.sounding(out[b])
        for v in (1, 2, 3):
            onsets = np.flatnonzero(out[b, v] >= grid.FIRST_PITCH)
            for n in onsets[1:]:
                n = int(n)
                r = n + delay
                if (pos[n] % beat_steps or n + 2 * delay > steps or fermata[n:r + 1].any()
                        or not free[v - 1, n:r + 1].all()
                        or (out[b, v, n + 1:n + 2 * delay] != grid.HOLD).any()):
                    continue
                x, y = int(sound[v, n - 1]), int(sound[v, n])
                if x < 0 or x - y not in (1, 2):
                    continue
                if any(out[b, u, n + 1:r + 1].max() >= grid.FIRST_PITCH for u in (1, 2, 3)
                       if u != v):
                    continue
                at = [int(sound[u, n]) for u in range(4)]
                if min(at) < 0 or any((u < v and x > at[u]) or (u > v and x < at[u])
                                      for u in range(4) if u != v):
                    continue
                mask = 1 << (x % 12)
                for u in range(4):
                    if u != v:
                        mask |= 1 << (at[u] % 12)
                if not table[mask]:
                    continue
                if any(motion_findings(x, y, int(sound[u, r - 1]), int(sound[u, r]))
                       for u in range(4) if u != v):
                    continue
                if draw() < share:
                    out[b, v, n] = grid.HOLD
                    out[b, v, r] = grid.pitch_token(y)
                    sound[v, n:r] = x
    return out
