"""The harmonizer's sampler: the one-step draft network, the rules as data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from composer_app.ml import grid
from composer_app.ml.harmonizer import (
    NETWORK_ALONE,
    STYLE_RULES,
    Draft,
    Harmonizer,
    HarmonizerConfig,
    Rules,
)
from composer_app.ml.harmonizer.rules import (
    cadence_bias,
    cadence_key,
    candidate_pitches,
    step_penalty,
)
from composer_app.music import Key


def test_draft_gives_the_whole_sequence_logits_step_by_step():
    torch.manual_seed(0)
    model = Harmonizer(HarmonizerConfig(hidden=24, token_dim=8, meta_dim=8)).eval()
    steps = 20
    tokens = torch.randint(grid.FIRST_PITCH, grid.VOCAB_SIZE, (2, 4, steps))
    tokens[:, :, 1::2] = grid.HOLD
    pos = torch.arange(steps).remainder(16)[None].repeat(2, 1)
    ferm = torch.zeros(2, steps, dtype=torch.long)
    key = torch.tensor([0, 7])
    start = tokens.clone()
    start[:, 1:] = grid.MASK
    with torch.no_grad():
        draft = Draft(model, start, pos, ferm, key)
        draft.prime(tokens, 3)
        for t in range(3, steps):
            now = tokens[:, :, t].clone()
            now[:, 1:] = grid.MASK
            seen = tokens.clone()
            seen[:, 1:, t:] = grid.MASK  # the past decided, this step and the future not
            whole = model(seen, pos, ferm, key)[:, :, t]
            assert torch.allclose(draft.logits(now, t), whole, atol=1e-5)
            draft.advance(tokens[:, :, t], t)


def test_network_alone_switches_every_style_rule_off_and_nothing_else():
    for name in STYLE_RULES:
        assert not getattr(NETWORK_ALONE, name), name
    assert NETWORK_ALONE.voice_ranges and NETWORK_ALONE.sound_with_soprano
    assert Rules().off("cadence").cadence == 0 and Rules().off("cadence").parallels > 0
    assert set(Rules().as_dict()) >= set(STYLE_RULES)


def _sound(*voices):
    """(1, 4, T) sounding pitches from four lists (soprano first)."""
    return np.array([voices], dtype=np.int64)


def _pen(rules, sound, v, t, known=(True, True, True, True), tonic=0):
    return step_penalty(rules, sound, np.array([known]), v, t, candidate_pitches(), tonic)[0]


def _tok(p):
    return grid.pitch_token(p)


ONLY = dict.fromkeys(STYLE_RULES, 0)


def test_parallel_fifths_octaves_and_unisons_are_penalised_into_the_step():
    rules = Rules(**{**ONLY, "parallels": 4.0})
    # soprano D5 -> E5; bass G3 -> ? : A3 would make parallel octaves... use fifths
    sound = _sound([74, 76], [67, 69], [60, 60], [55, -1])
    pen = _pen(rules, sound, 3, 1, known=(True, True, True, False))
    assert pen[_tok(57)] >= 4  # G3->A3 under D5->E5: parallel fifths (compound)
    assert pen[_tok(59)] == 0  # G3->B3: a sixth, fine
    assert pen[_tok(45)] >= 4  # antiparallel (contrary) fifths count too
    assert pen[grid.HOLD] == 0  # the bass staying does not move in parallel
    sound = _sound([72, 74], [60, 62], [48, 48], [48, -1])  # alto C4->D4 over bass C3->?
    pen = _pen(rules, sound, 3, 1)
    assert pen[_tok(50)] >= 4 and pen[_tok(62)] >= 4  # octaves, and octave -> unison


def test_leading_tone_and_seventh_must_resolve():
    rules = Rules(**{**ONLY, "leading_tone": 3.0, "seventh": 3.0})
    # G7 in C: soprano F5 (the seventh)... bass B2 (the leading tone) goes where?
    sound = _sound([77, 76], [67, 67], [62, 60], [47, -1])
    pen = _pen(rules, sound, 3, 1, known=(True, True, True, False))
    assert pen[_tok(48)] == 0  # B -> C rises: resolved
    assert pen[_tok(43)] >= 3 and pen[_tok(45)] >= 3  # falls or leaps: unresolved
    assert pen[grid.HOLD] == 0  # held on: not yet judged
    # the seventh (F4 in the alto) falls by step
    sound = _sound([74, 72], [65, -1], [59, 60], [43, 48])
    pen = _pen(rules, sound, 1, 1, known=(True, False, True, True))
    assert pen[_tok(64)] == 0 and pen[_tok(67)] >= 3


def test_bass_motion_rules_favour_steps_over_repeats_and_wide_leaps():
    rules = Rules(**{**ONLY, "bass_step": 1.0, "bass_repeat": 2.0, "bass_leap": 2.0})
    sound = _sound([72, 72], [67, 67], [64, 64], [48, -1])
    pen = _pen(rules, sound, 3, 1, known=(True, True, True, False))
    assert pen[_tok(50)] < 0 < pen[_tok(48)]  # a step is favoured, a repeat not
    assert pen[_tok(57)] > 0 and pen[_tok(55)] == 0  # a sixth is a leap, a fifth is fine


def test_rising_thirds_and_voices_striking_together_off_the_beat_cost():
    rules = Rules(**{**ONLY, "rising_third": 1.0, "one_moving_voice": 1.0})
    sound = _sound([72, 72], [64, -1], [60, 60], [48, 48])
    struck = np.array([[False, False, True, False]])  # the tenor strikes a note here
    cand = candidate_pitches()
    off = step_penalty(rules, sound, np.array([[True, False, True, True]]), 1, 1, cand, 0,
                       struck, on_beat=False)[0]
    on = step_penalty(rules, sound, np.array([[True, False, True, True]]), 1, 1, cand, 0,
                      struck, on_beat=True)[0]
    assert on[_tok(67)] == 1.0 and on[_tok(61)] == 0 and on[_tok(62)] == 0  # E -> G rises a third
    assert off[_tok(62)] == 1.0 and off[grid.HOLD] == 0  # off the beat, holding is free


def test_an_inner_voice_keeps_common_tones_on_the_beat_and_does_not_restrike_between():
    rules = Rules(**{**ONLY, "offbeat_repeat": 2.0, "common_tone": 1.0})
    sound = _sound([72, 74], [67, -1], [64, 65], [48, 50])  # alto G4, then ?
    known = np.array([[True, False, True, True]])
    cand = candidate_pitches()
    off = step_penalty(rules, sound, known, 1, 1, cand, 0, on_beat=False)[0]
    on = step_penalty(rules, sound, known, 1, 1, cand, 0, on_beat=True)[0]
    assert off[_tok(67)] == 2.0 and off[grid.HOLD] == 0 and off[_tok(69)] == 0
    assert on[_tok(67)] == -1.0 and on[_tok(69)] == 0  # G kept: a common tone
    bass = step_penalty(rules, sound, np.array([[True, True, True, False]]), 3, 1, cand, 0,
                        on_beat=False)[0]
    assert not bass.any()  # the bass has its own repeat rule


def test_beat_chord_rule_wants_a_triad_or_seventh_on_the_beat():
    rules = Rules(**{**ONLY, "beat_chord": 2.0})
    sound = _sound([72, 72], [64, -1], [55, 55], [48, 48])  # C5, ?, G3, C3
    known = np.array([[True, False, True, True]])
    cand = candidate_pitches()
    on = step_penalty(rules, sound, known, 1, 1, cand, 0, on_beat=True)[0]
    off = step_penalty(rules, sound, known, 1, 1, cand, 0, on_beat=False)[0]
    assert on[_tok(64)] == 0 and on[_tok(63)] == 0  # E or Eb: C major or C minor
    assert on[_tok(62)] == 2.0 and on[_tok(65)] == 2.0  # D or F: no triad
    assert on[grid.HOLD] == 0  # holding the E keeps the triad
    assert not off.any()  # between beats, passing notes are free


def test_cadence_key_and_bias_follow_the_melody():
    c_major = Key(0, "major")
    assert cadence_key(c_major, 0, 0, 2).tonic == 0  # D -> C: in C
    assert cadence_key(c_major, 0, 7, 6).tonic == 7  # F# -> G: in G
    assert cadence_key(Key(9, "minor"), 0, 0, 11).tonic == 9  # A minor, B -> C: in A minor
    assert cadence_key(Key(9, "minor"), 0, 0, 5).tonic == 0  # F -> C: in the relative C
    bias = cadence_bias([(4, 8, 0, 2)], c_major, 0, 12, 3.0)
    assert bias[2, 4, _tok(43)] == 0 and bias[2, 4, _tok(48)] < 0  # G in the bass first
    assert bias[2, 8, _tok(48)] == 0 and bias[2, 8, _tok(50)] < 0  # then C
    assert bias[2, 8, grid.HOLD] < 0  # struck with the melody's last note
    assert not bias[:, :4].any() and not cadence_bias([(4, 8, 0, 2)], c_major, 0, 12, 0).any()


@pytest.mark.parametrize("rule, voices", [
    ("parallels", ([74, 76], [67, 69], [60, 60], [55, -1])),  # fifths G3->A3 under D5->E5
    ("leading_tone", ([77, 76], [67, 67], [62, 60], [47, -1])),  # the bass on B of G7
    ("bass_leap", ([77, 76], [67, 67], [62, 60], [47, -1])),
])
def test_a_rule_costs_where_it_applies_and_nothing_once_switched_off(rule, voices):
    only = Rules(**{**ONLY, rule: getattr(Rules(), rule)})
    sound = _sound(*voices)
    assert _pen(only, sound, 3, 1, known=(True, True, True, False)).any()
    off = _pen(only.off(rule), sound, 3, 1, known=(True, True, True, False))
    assert not off.any() and np.isfinite(off).all()


def _row(*notes, steps=16):
    """A token row from (start, pitch) onsets, holding until the next."""
    row = np.full(steps, grid.HOLD)
    for start, pitch in notes:
        row[start] = _tok(pitch)
    return row


def _figuration(name, tokens, share=1.0, free=None, fermata=None):
    """One of the sampler's figuration passes on one 4/4 C major variation (every entry
    free unless said, ``draw()`` always 0)."""
    from composer_app.ml.harmonizer import rules
    from composer_app.music.theory import scale_pitch_classes

    steps = tokens.shape[-1]
    free = np.ones((3, steps), bool) if free is None else free
    fermata = np.zeros(steps, np.int8) if fermata is None else fermata
    pos = np.arange(steps) % 16
    if name in ("tie_repeats", "held_falls"):
        return getattr(rules, name)(tokens[None], free, pos, fermata, 4, share,
                                    lambda: 0.0)[0]
    allowed = np.ones((3, grid.VOCAB_SIZE), bool)
    return getattr(rules, name)(tokens[None], free, pos, fermata, allowed,
                                scale_pitch_classes(Key(0, "major")), 4, share,
                                lambda: 0.0)[0]


def _passing(tokens, **kw):
    return _figuration("passing_tones", tokens, **kw)


def test_passing_tones_fill_a_lower_voice_third_an_eighth_before_the_next_note():
    # C major: S E5 held; A C4 -> E4 over two beats (a third); T G3; B C3
    tokens = np.stack([_row((0, 76), (8, 76)), _row((0, 60), (8, 64)),
                       _row((0, 55), (8, 55)), _row((0, 48), (8, 48))])
    out = _passing(tokens)
    assert out[1, 6] == _tok(62)  # D4 struck on the eighth before the E
    assert (np.delete(out, 6, axis=1) == np.delete(tokens, 6, axis=1)).all()
    assert (out[[0, 2, 3]] == tokens[[0, 2, 3]]).all()  # the soprano and the others kept
    assert (_passing(tokens, share=0.0) == tokens).all()  # switched off: nothing changes


def test_passing_tones_never_make_parallels_nor_touch_given_notes_or_phrase_ends():
    # T C3 -> E3 over a bass G2 -> A2: a passing D3 makes the fifth G2-D3, and then the
    # fifth A2-E3 in similar motion: parallel fifths, so the third stays a leap
    tokens = np.stack([_row((0, 76), (8, 79)), _row((0, 67), (8, 67)),
                       _row((0, 48), (8, 52)), _row((0, 43), (8, 45))])
    assert (_passing(tokens)[2] == tokens[2]).all()
    free_bass = _row((0, 43), (8, 41))  # with the bass falling to F2 instead it is filled
    fine = np.stack([tokens[0], tokens[1], tokens[2], free_bass])
    assert _passing(fine)[2, 6] == _tok(50)
    ok = np.stack([_row((0, 76), (8, 76)), _row((0, 60), (8, 64)),
                   _row((0, 55), (8, 55)), _row((0, 48), (8, 48))])
    given = np.ones((3, 16), bool)
    given[0, 6] = False  # the alto there is the user's (locked): not free
    assert (_passing(ok, free=given) == ok).all()
    end = np.zeros(16, np.int8)
    end[8:] = 1  # the E ends a phrase: its approach is the cadence's, not figuration's
    assert (_passing(ok, fermata=end) == ok).all()


def _tie(tokens, **kw):
    return _figuration("tie_repeats", tokens, **kw)


def test_tie_repeats_hold_a_lower_voice_note_struck_again_off_the_beat():
    # the alto strikes C4 on beat 1 and again on its second eighth: one C4 held a quarter
    tokens = np.stack([_row((0, 76), (4, 74), (8, 72)), _row((0, 60), (2, 60), (4, 62)),
                       _row((0, 55), (4, 55), (8, 57)), _row((0, 48), (4, 43), (8, 45))])
    out = _tie(tokens)
    assert out[1, 2] == grid.HOLD
    assert (np.delete(out, 2, axis=1) == np.delete(tokens, 2, axis=1)).all()
    assert (out[[0, 2, 3]] == tokens[[0, 2, 3]]).all()  # the melody and the others kept
    # the tenor's G3 struck again on beat 2 after a quarter is Bach's common tone: kept
    assert out[2, 4] == _tok(55)
    assert (_tie(tokens, share=0.0) == tokens).all()  # switched off: nothing changes


def test_tie_repeats_leave_given_notes_and_phrase_ends_alone():
    tokens = np.stack([_row((0, 76), (4, 74)), _row((0, 60), (2, 60), (4, 62)),
                       _row((0, 55)), _row((0, 48))])
    given = np.ones((3, 16), bool)
    given[0, 2] = False  # the user's alto there (locked): not free
    assert (_tie(tokens, free=given) == tokens).all()
    end = np.zeros(16, np.int8)
    end[2:4] = 1  # a phrase ends on the restruck note
    assert (_tie(tokens, fermata=end) == tokens).all()


def _sixteenths(tokens, **kw):
    return _figuration("passing_sixteenths", tokens, **kw)


def test_passing_sixteenths_run_an_alto_fourth_in_the_eighth_before_the_next_note():
    # C major: S E5 held; A C4 -> F4 over two beats (a fourth); T G3; B C3 -> F2
    tokens = np.stack([_row((0, 76)), _row((0, 60), (8, 65)),
                       _row((0, 55)), _row((0, 48), (8, 41))])
    out = _sixteenths(tokens)
    assert out[1, 6] == _tok(62) and out[1, 7] == _tok(64)  # D4, E4 as sixteenths
    assert (np.delete(out, [6, 7], axis=1) == np.delete(tokens, [6, 7], axis=1)).all()
    assert (out[[0, 2, 3]] == tokens[[0, 2, 3]]).all()  # the bass's fourth stays a leap
    assert (_sixteenths(tokens, share=0.0) == tokens).all()
    end = np.zeros(16, np.int8)
    end[8:] = 1  # the F ends a phrase: left alone
    assert (_sixteenths(tokens, fermata=end) == tokens).all()
    given = np.ones((3, 16), bool)
    given[0, 7] = False  # the user's alto there (locked)
    assert (_sixteenths(tokens, free=given) == tokens).all()


def _held(tokens, **kw):
    return _figuration("held_falls", tokens, **kw)


def test_held_falls_hold_a_lower_voice_over_the_beat_where_the_chord_stays_a_chord():
    # C major, I -> V: S E5 -> D5; A G4 -> F4 (a falling step onto beat 2); T C4 -> B3;
    # B C3 -> G2. G4 held over beat 2 sounds G2 B3 G4 D5, a G major chord: the F4
    # comes an eighth later
    tokens = np.stack([_row((0, 76), (4, 74)), _row((0, 67), (4, 65)),
                       _row((0, 60), (4, 59)), _row((0, 48), (4, 43))])
    out = _held(tokens)
    assert out[1, 4] == grid.HOLD and out[1, 6] == _tok(65)
    assert (np.delete(out, [4, 6], axis=1) == np.delete(tokens, [4, 6], axis=1)).all()
    assert (out[[0, 2, 3]] == tokens[[0, 2, 3]]).all()  # the melody and the others kept
    assert (_held(tokens, share=0.0) == tokens).all()
    end = np.zeros(16, np.int8)
    end[4:] = 1  # the F4 ends a phrase: left alone
    assert (_held(tokens, fermata=end) == tokens).all()
    given = np.ones((3, 16), bool)
    given[0, 6] = False  # the user's alto there (locked)
    assert (_held(tokens, free=given) == tokens).all()


def test_held_falls_leave_a_dissonance_a_rising_step_and_a_short_note_alone():
    # A A4 -> G4 over G2 B3 D5: A4 held would sound G B D A, no triad or seventh
    dissonant = np.stack([_row((0, 77), (4, 74)), _row((0, 69), (4, 67)),
                          _row((0, 62), (4, 59)), _row((0, 50), (4, 43))])
    assert (_held(dissonant) == dissonant).all()
    rising = np.stack([_row((0, 76), (4, 74)), _row((0, 65), (4, 67)),
                       _row((0, 60), (4, 59)), _row((0, 48), (4, 43))])
    assert (_held(rising) == rising).all()
    short = np.stack([_row((0, 76), (4, 74)), _row((0, 67), (4, 65), (6, 62)),
                      _row((0, 60), (4, 59)), _row((0, 48), (4, 43))])
    assert (_held(short) == short).all()  # the F4 lasts an eighth: nothing to delay into


def test_off_beat_chords_and_parallel_thirds_shape_the_step_penalty():
    from composer_app.ml.harmonizer import rules as r

    cand = r.candidate_pitches()
    only = Rules(**{**ONLY, "offbeat_chord": 2.0})
    # off the beat the alto strikes over C3 E3 (bass, tenor) and G5 (soprano): E4 or C4
    # keep a C major chord, D4 makes none
    sound = _sound([79, 79], [64, -1], [52, 52], [48, 48])
    known = np.array([[True, True, True, True]])
    known[0, 1] = False
    struck = np.array([[False, False, False, False]])
    pen = r.step_penalty(only, sound, known, 1, 1, cand, 0, struck, on_beat=False)[0]
    assert pen[_tok(62)] > pen[_tok(64)] == pen[_tok(60)] == 0
    assert pen[grid.HOLD] == 0  # nothing else struck: holding makes no new chord
    assert not r.step_penalty(only.off("offbeat_chord"), sound, known, 1, 1, cand, 0,
                              struck, on_beat=False).any()
    # the bass falls C3 -> B2 under a tenor E3 (a major third above): D#3 moves with it
    # in parallel major thirds; D3 (a minor third) or a rise earn nothing
    thirds = Rules(**{**ONLY, "tenor_bass_thirds": 1.0})
    sound = _sound([76, 76], [67, 67], [52, -1], [48, 47])
    known = np.array([[True, True, False, True]])
    pen = r.step_penalty(thirds, sound, known, 2, 1, cand, 0)[0]
    assert pen[_tok(51)] == -1.0  # E3 over C3 -> D#3 over B2: parallel major thirds
    assert pen[_tok(50)] == 0 and pen[_tok(53)] == 0  # another third, or the other way
    assert pen[grid.HOLD] == 0
