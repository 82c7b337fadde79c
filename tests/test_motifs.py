"""Motivic memory (issue 15): the structure measures, the copy path and the rerank."""

from __future__ import annotations

import pytest

from composer_app.ml import motifs as MO
from composer_app.music import Key, KeySignature, Note, Score

BAR = 1920


def test_measures_see_exact_bar_repeats_shapes_and_the_ending():
    opening = [(60, 0, 480), (62, 480, 480), (64, 960, 480), (65, 1440, 480),
               (67, BAR, 1920)]
    # bar 1 restated exactly, then a bar of new notes ending on the tonic
    cont = [(60, 2 * BAR, 480), (62, 2 * BAR + 480, 480), (64, 2 * BAR + 960, 480),
            (65, 2 * BAR + 1440, 480), (71, 3 * BAR, 960), (72, 3 * BAR + 960, 960)]
    m = MO.measure(opening, [0, BAR, 2 * BAR], cont, [2 * BAR, 3 * BAR, 4 * BAR],
                   Key(0, "major"))
    assert m["bar_repeats"] == 0.5
    assert m["shape_reuse"] == pytest.approx(1 / 3)  # (2,2,1) of (2,2,1),(2,1,6),(1,6,1)
    assert m["in_key"] == 1.0 and m["ends_tonic"] == 1.0 and m["ends_stable"] == 1.0
    assert m["distinct_lengths"] == 2 and m["ends_on_bar_line"] == 1.0
    assert m["pc_entropy"] > 2 and m["n_phrase_ends"] == 0


def test_a_note_cut_at_the_bar_line_still_counts_as_a_repeat():
    opening = [(60, 0, 2400)]
    cont = [(60, BAR, 1920)]
    m = MO.measure(opening, [0, BAR], cont, [BAR, 2 * BAR], Key(0, "major"))
    assert m["bar_repeats"] == 1.0


def test_copy_plans_restate_a_phrase_earlier():
    rules = MO.MOTIFS
    plans = MO.copy_plans([0, 1, 2, 3], [4, 5, 6, 7], rules)
    assert len(plans) == rules.candidates
    assert plans.count([]) == rules.candidates - rules.copy_head - rules.copy_two
    assert [(0, 4)] in plans and [(0, 4), (1, 5)] in plans
    # nothing a phrase earlier: every candidate samples freely
    assert MO.copy_plans([0, 1], [2, 3], rules) == [[]] * rules.candidates
    assert MO.copy_plans([0], [4], MO.FREE_SAMPLING) == [[]]


torch = pytest.importorskip("torch")
from composer_app.ml import continuer as C  # noqa: E402

needs_model = pytest.mark.skipif(not C.default_checkpoint().exists(),
                                 reason="shipped continuer missing")


def folk_sketch() -> Score:
    bars = [[(67, 0, 480), (71, 480, 480), (74, 960, 720), (72, 1680, 240)],
            [(71, 0, 480), (69, 480, 240), (67, 720, 240), (69, 960, 960)],
            [(71, 0, 240), (72, 240, 240), (74, 480, 480), (76, 960, 480), (74, 1440, 480)],
            [(72, 0, 480), (71, 480, 480), (69, 960, 960)]]
    notes = [Note(p, b * BAR + s, d) for b, bar in enumerate(bars) for p, s, d in bar]
    return Score(notes=notes, key_signatures=[KeySignature(0, Key(7, "major"))])


@needs_model
def test_reranked_continuations_reuse_the_opening_and_reproduce():
    score = folk_sketch()
    a = C.continue_melody(score, 4, variations=4, seed=5)
    b = C.continue_melody(score, 4, variations=4, seed=5)
    assert [s.notes for s in a] == [s.notes for s in b]
    opening = [(n.pitch, n.start, n.duration) for n in score.notes]
    repeats = 0
    for res in a:
        assert res.notes[:len(score.notes)] == score.notes
        new = [(n.pitch, n.start, n.duration) for n in res.notes if n.start >= 4 * BAR]
        assert max(s + d for _, s, d in new) <= 8 * BAR
        m = MO.measure(opening, [0, BAR, 2 * BAR, 3 * BAR, 4 * BAR], new,
                       [4 * BAR + i * BAR for i in range(5)], Key(7, "major"))
        repeats += m["bar_repeats"] > 0
    assert repeats >= 1


@needs_model
def test_free_sampling_is_the_network_alone():
    score = folk_sketch()
    free = C.continue_melody(score, 2, variations=2, seed=3, motifs=MO.FREE_SAMPLING)
    assert len(free) == 2 and all(len(s.notes) > len(score.notes) for s in free)
    with pytest.raises(C.UserError):
        C.continue_melody(score, 2, motifs=MO.Motifs(candidates=0))


def test_phrase_ends_inside_a_continuation_are_measured():
    cont = [(62, 0, 1920), (60, BAR, 1920)]  # D before the phrase end at BAR, then C
    m = MO.measure([(60, 0, 480)] * 4, [0, BAR], cont, [0, BAR, 2 * BAR], Key(0, "major"),
                   phrase_ends=[BAR])
    assert m["n_phrase_ends"] == 1 and m["phrase_ends_stable"] == 0.0
    m = MO.measure([], [0], cont, [0, BAR, 2 * BAR], Key(7, "major"), phrase_ends=[BAR])
    assert m["phrase_ends_stable"] == 1.0  # D is G major's fifth
