"""The continuer's style input (issue 15): Folk / Chorale, with the shipped weights.

The style changes what is sampled for the same seed; on a few test-split openings of
each corpus, each style's continuations are classified (a bar classifier fitted on a
small sample of the train split's real bars) as that style more often than not; the
CLI's ``--style`` and song form reach the model.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("music21")

from composer_app.cli import main  # noqa: E402
from composer_app.ml import STYLES  # noqa: E402
from composer_app.ml import continuer as C  # noqa: E402
from composer_app.ml.runtime import Runtime  # noqa: E402
from composer_app.music import (  # noqa: E402
    Key,
    KeySignature,
    Note,
    Score,
    Track,
    UserError,
    load_score,
    write_midi,
)

SHIPPED = C.default_checkpoint()
pytestmark = pytest.mark.skipif(not SHIPPED.exists(), reason="models/continuer.pt missing")

TUNE = Score(notes=[Note(p, i * 480, 480, 80, 0) for i, p in enumerate(
    (67, 67, 66, 64, 62, 67, 69, 71, 71, 71, 71, 69, 67, 72, 71, 69))], tracks=[Track("M")],
    key_signatures=[KeySignature(0, Key(7, "major"))])


def new_notes(score: Score, after: int) -> list[tuple[int, int, int]]:
    return [(n.pitch, n.start, n.duration) for n in score.notes if n.start >= after]


@pytest.fixture(scope="module")
def runtime():
    return Runtime("cpu")


def test_the_shipped_continuer_has_a_style_input():
    model = C.load_continuer(device="cpu").model
    assert model.config.style_dim > 0 and model.style_emb.num_embeddings == len(STYLES)


def test_the_style_changes_the_output_for_the_same_seed(runtime):
    def run(style):
        return [new_notes(s, TUNE.end_tick) for s in C.continue_melody(
            TUNE, 4, variations=3, seed=11, runtime=runtime, style=style)]

    folk, chorale = run("folk"), run("chorale")
    assert folk == run("folk") and chorale == run("chorale")  # seeds still reproduce
    assert folk != chorale
    assert run(None) == folk  # folk is the default


def test_the_style_changes_the_network_alone_too(runtime):
    # Without the rerank and without guidance: the style input of the network itself.
    from composer_app.ml.motifs import FREE_SAMPLING

    def run(style):
        return [new_notes(s, TUNE.end_tick) for s in C.continue_melody(
            TUNE, 4, variations=4, seed=5, runtime=runtime, style=style,
            motifs=FREE_SAMPLING, style_guidance=0)]

    assert run("folk") != run("chorale")


def test_an_unknown_style_is_one_clear_message(runtime):
    with pytest.raises(UserError, match="style 'jazz'.*folk, chorale"):
        C.continue_melody(TUNE, 2, seed=1, runtime=runtime, style="jazz")
    from composer_app.ml.song import song_form

    with pytest.raises(UserError, match="style"):
        song_form(TUNE, "AB", 4, seed=1, runtime=runtime, style="jazz")


def test_each_style_is_classified_as_its_own_more_often_than_not(runtime):
    from composer_app.training import melody_style as MS

    data = MS.sample_data(train_folk=60, train_chorale=16, test_each=4)
    clf = MS.fit(data)
    assert clf.heldout["balanced_accuracy_percent"] > 70  # it tells real bars apart
    result = MS.evaluate_styles(data=data, seeds=2, folk_openings=4, chorale_openings=4,
                                runtime=runtime, classifier=clf)
    own = result["own_style_percent"]
    assert own["folk"] > 50 and own["chorale"] > 50, result["by_opening"]


def test_cli_style_flag_reaches_the_model(tmp_path, runtime):
    src = tmp_path / "tune.mid"
    write_midi(TUNE, src)
    got = {}
    for style in STYLES:
        out = tmp_path / f"{style}.mid"
        assert main(["continue", str(src), "-o", str(out), "--bars", "4", "--seed", "3",
                     "--device", "cpu", "--style", style]) == 0
        got[style] = new_notes(load_score(out), TUNE.end_tick)
        expected = C.continue_melody(load_score(src), 4, seed=3, runtime=runtime, style=style)
        assert got[style] == new_notes(expected[0], TUNE.end_tick)
    assert got["folk"] != got["chorale"]


def test_cli_refuses_an_unknown_style(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["continue", "x.mid", "-o", str(tmp_path / "y.mid"), "--bars", "1",
              "--style", "jazz"])
    assert exc.value.code == 2
    assert "invalid choice: 'jazz'" in capsys.readouterr().err


def test_song_style_reaches_the_model(tmp_path):
    src = tmp_path / "tune.mid"
    write_midi(TUNE, src)
    songs = {}
    for style in STYLES:
        out = tmp_path / f"song-{style}.mid"
        assert main(["song", str(src), "-o", str(out), "--form", "AB", "--section-bars", "4",
                     "--seed", "2", "--device", "cpu", "--style", style]) == 0
        songs[style] = new_notes(load_score(out), 4 * 1920)
    assert songs["folk"] and songs["chorale"] and songs["folk"] != songs["chorale"]
