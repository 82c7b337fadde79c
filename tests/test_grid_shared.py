"""One grid for both models and for training (issue 14).

The harmonizer's rows, the continuer's tokens and the training corpus's grid are built
by one rule (:func:`composer_app.ml.grid.note_spans`). Pinned against what the shipped
checkpoints were trained on: the chorale cache that training reads, and the continuer's
own checkpoint vocabulary.
"""

from __future__ import annotations

import numpy as np
import pytest

from composer_app.ml import grid
from composer_app.music import Note, load_score

C = pytest.importorskip("composer_app.ml.continuer")


def _as_continuer(row: np.ndarray) -> list[str]:
    """A harmonizer row in words, to compare with continuer tokens."""
    out = []
    for tok in row:
        out.append("rest" if tok == grid.REST else "hold" if tok == grid.HOLD
                   else str(grid.token_pitch(int(tok))))
    return out


def _continuer_words(tokens: list[int]) -> list[str]:
    return ["rest" if t == C.REST else "hold" if t == C.HOLD else str(C.token_pitch(t))
            for t in tokens]


def test_both_models_put_an_off_grid_line_on_the_same_steps():
    # A played-in line: onsets off the grid, two of them exactly half a step off
    # (tick 60 went to step 1 in the harmonizer's grid and step 0 in the continuer's),
    # two notes landing on one step, an overlap, a note shorter than a step.
    line = [(60, 60, 400), (62, 470, 250), (64, 700, 30), (67, 900, 600),
            (65, 1020, 100), (72, 1500, 60), (71, 1530, 500), (69, 2100, 240)]
    steps = 20
    row = grid.notes_to_row([Note(p, s, d) for p, s, d in line], steps)
    tokens = C.encode_melody(line, 0, steps * grid.STEP_TICKS)
    assert _as_continuer(row) == _continuer_words(tokens)
    assert row[1] == grid.pitch_token(60) and row[0] == grid.REST  # half a step rounds up
    assert tokens[1] == C.pitch_token(60)


def test_an_ornament_shorter_than_a_step_never_hides_the_note_it_leads_to():
    # F#-G 32nds before a quarter E: G's onset rounds onto E's step, and G is higher
    turn = [(66, 1080, 60), (67, 1140, 60), (64, 1200, 480)]
    assert grid.note_spans(turn, 16) == [(9, 10, 66), (10, 14, 64)]
    # two real notes on one step: the highest still wins (the top of a chord)
    assert grid.note_spans([(60, 0, 480), (64, 0, 480)], 8) == [(0, 4, 64)]


def test_a_grid_origin_moves_every_step_alike():
    line = [(60, 300, 240), (62, 540, 120), (64, 660, 480)]
    shifted = [(p, s + 1000, d) for p, s, d in line]
    assert grid.note_spans(line, 16) == grid.note_spans(shifted, 16, origin=1000)
    assert C.encode_melody(line, 0, 16 * 120) == C.encode_melody(shifted, 1000, 1000 + 16 * 120)


# bwv432 ends a turn with two 32nds, the second landing on the next quarter's step
@pytest.mark.parametrize("name", ["bwv66.6", "bwv26.6", "bwv145.5", "bwv2.6", "bwv432"])
def test_the_runtime_grid_of_a_chorale_file_is_the_grid_the_harmonizer_was_trained_on(name):
    """A chorale opened in the app (a file → MusicXML reader → Score → grid) gives the
    same tokens and bar positions as the training corpus (music21's corpus object → the
    same reader → grid, from its first note)."""
    corpus = pytest.importorskip("music21.corpus")
    from composer_app.training.chorales import parse_chorale

    trained = parse_chorale(name)
    assert not isinstance(trained, str), trained
    # Written once, as the corpus trains: the app unfolds a file's repeats by default
    # (bwv2.6 has them), a choice before the grid that this test is not about.
    score = load_score(str(corpus.getWork(f"bach/{name}")), unfold=False)
    first = min(n.start for n in score.notes) // grid.STEP_TICKS  # a pickup's padding
    steps = trained.tokens.shape[1]
    assert np.array_equal(grid.score_to_grid(score, first + steps)[:, first:], trained.tokens)
    assert np.array_equal(grid.bar_positions(score, steps, first), trained.pos)


def test_the_continuer_checkpoint_agrees_with_the_grid():
    from composer_app.paths import models_dir

    path = models_dir() / "continuer.pt"
    if not path.is_file():
        pytest.skip("continuer weights missing")
    vocab = C.read_checkpoint(path)["vocabulary"]
    assert vocab["step_ticks"] == grid.STEP_TICKS == C.STEP
