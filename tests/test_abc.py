"""ABC notation (issue 15): books, tunes by number, repeats, pickups, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("music21")

from composer_app.cli import main  # noqa: E402
from composer_app.music import FileFormatError, UserError, load_score  # noqa: E402
from composer_app.music.abc import abc_tunes, read_abc  # noqa: E402


def corpus_book() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus" / "oneills1850" / "0001-0050.abc"


def test_a_corpus_book_opens_with_the_tune_chosen():
    book = corpus_book()
    tunes = abc_tunes(book)
    assert len(tunes) == 50 and tunes[1].number == 2 and tunes[1].title == "Fare You Well"
    score = load_score(book, tune=2)
    assert score.title == "Fare You Well"
    assert score.key.name == "D"
    assert (score.time_signatures[0].numerator, score.time_signatures[0].denominator) == (2, 4)
    # the pickup (two sixteenths, f-g) ends the silent first bar
    assert score.notes[0].start == 960 - 240 and score.notes[0].pitch == 78
    assert load_score(book).title == "The Enchanted Valley"  # no tune: the first


def test_repeats_unfold_and_endings_are_taken_in_turn(tmp_path):
    path = tmp_path / "rep.abc"
    path.write_text("X:1\nT:Repeat\nM:3/4\nL:1/8\nK:D\n"
                    "A2|:d2 f2 a2|g2 e2 c2|1 d4 A2:|2 d6||\n|:f2 f2 f2|e6:|\n")
    score = read_abc(path)
    eighths = [(n.pitch, n.start // 240, n.duration // 240) for n in score.notes]
    assert eighths[0] == (69, 4, 2)  # pickup A
    assert eighths[7:9] == [(74, 18, 4), (69, 22, 2)]  # first ending
    assert eighths[15] == (74, 36, 6)  # second ending
    assert [p for p, _, _ in eighths[16:]] == [78, 78, 78, 76] * 2
    assert score.length_bars == 11


@pytest.mark.parametrize("text, message", [
    ("T:no tunes\nM:4/4\nabc|\n", "no tunes"),
    ("X:1\nT:b\nM:7/x\nL:1/8\nK:G\nGABc|\n", "meter"),
    ("X:1\nT:b\nM:4/4\nL:3/7\nK:G\nGABc|\n", "unit length"),
    ("X:1\nT:b\nM:4/4\nL:1/8\nGABc|\n", "no K: line"),
    ("X:1\nT:b\nM:4/4\nL:1/8\nK:G\n", "no notes"),
])
def test_bad_abc_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.abc"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=message):
        load_score(path)


def test_a_missing_tune_number_lists_the_book(tmp_path, capsys):
    with pytest.raises(UserError, match="no tune X:99 .the file holds 1 to 50"):
        load_score(corpus_book(), tune=99)
    with pytest.raises(UserError, match="only ABC files"):
        load_score(tmp_path / "x.mid", tune=1)


def test_cli_reads_abc_with_tune(tmp_path, capsys):
    out = tmp_path / "t.mid"
    assert main(["export", str(corpus_book()), "--tune", "3", "-o", str(out)]) == 0
    assert load_score(out).notes
    assert main(["info", str(corpus_book())]) == 0
    assert "holds 50 tunes" in capsys.readouterr().err
