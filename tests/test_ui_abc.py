"""ABC files in the editor (issue 15): File > Open reads .abc; a book of several tunes
asks which tune (the chooser lists numbers and titles), a single tune opens directly, a
book without tunes or with a broken header is said and the open piece stays."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("music21")

from PySide6.QtCore import Qt  # noqa: E402

from composer_app.music import Note, Score, load_score  # noqa: E402
from composer_app.music.abc import abc_tunes  # noqa: E402
from composer_app.ui.file_controller import OPEN_FILTER  # noqa: E402
from composer_app.ui.tune_chooser import TuneChooser  # noqa: E402


def essen_book() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus" / "essenFolksong" / "ballad10.abc"


@pytest.fixture
def window(make_window):
    w = make_window(size=(1200, 800))
    return w


def chooser(answer):
    asked = []

    def choose(path, tunes):
        asked.append((Path(path).name, [(t.number, t.title) for t in tunes]))
        return answer
    choose.asked = asked
    return choose


def keep(window) -> list[Note]:
    window.doc.load(Score(notes=[Note(60, 0, 480)]))
    return window.doc.score().notes


def test_a_corpus_book_opens_with_the_tune_chosen(window):
    book = essen_book()
    window.files.choose_tune = chooser(4)
    assert window.open_path(str(book))
    [(name, listed)] = window.files.choose_tune.asked
    assert name == "ballad10.abc" and len(listed) == 107
    assert listed[3] == (4, "Braut - Werbung (Hildesage)")
    want = load_score(book, tune=4)
    score = window.doc.score()
    assert score.title == "Braut - Werbung (Hildesage)"
    assert [(n.pitch, n.start, n.duration) for n in score.notes] == \
        [(n.pitch, n.start, n.duration) for n in want.notes]
    assert str(score.time_signatures[0]) == "2/4" and score.key.name == "Bb"
    assert window.doc.undo_stack.count() == 0 and window.doc.path.endswith("ballad10.abc")
    assert "*.abc" in OPEN_FILTER


def test_cancelling_the_chooser_keeps_the_piece(window):
    before = keep(window)
    window.files.choose_tune = chooser(None)
    assert not window.open_path(str(essen_book()))
    assert window.doc.score().notes == before and not window.warnings


def test_a_single_tune_opens_directly(window, tmp_path):
    path = tmp_path / "one.abc"
    path.write_text("X:7\nT:Just One\nM:3/4\nL:1/8\nK:D\nd2 f2 a2|g2 e2 c2|d6|]\n")
    window.files.choose_tune = chooser(1)
    assert window.open_path(str(path))
    assert window.files.choose_tune.asked == []
    assert window.doc.base.title == "Just One" and len(window.doc.notes) == 7


@pytest.mark.parametrize("text, said", [
    ("T:no tunes here\nM:4/4\nabc|\n", "no tunes"),
    ("X:1\nT:b\nM:7/x\nL:1/8\nK:G\nGABc|\n", "meter 'M:7/x' is not ABC"),
    ("X:1\nT:b\nM:4/4\nL:1/8\nGABc|\n", "no K: line"),
])
def test_a_book_without_tunes_or_with_broken_headers_is_said(window, tmp_path, text, said):
    before = keep(window)
    path = tmp_path / "bad.abc"
    path.write_text(text)
    window.files.choose_tune = chooser(1)
    assert not window.open_path(str(path))
    assert said in window.warnings[-1]
    assert window.doc.score().notes == before


def test_the_chooser_lists_numbers_and_titles_and_filters(qtbot):
    tunes = abc_tunes(essen_book())
    d = TuneChooser(None, "ballad10.abc", tunes)
    qtbot.addWidget(d)
    assert d.list.count() == 107
    assert d.list.item(0).text() == "X:\u2007\u20071   Das juengere Hildebrandslied"
    assert d.chosen() == 1
    d.filter.setText("meererin")
    shown = [d.list.item(r) for r in range(d.list.count()) if not d.list.item(r).isHidden()]
    assert [i.data(Qt.UserRole) for i in shown] == [t.number for t in tunes
                                                    if "meererin" in t.title.lower()]
    assert d.chosen() == shown[0].data(Qt.UserRole)
    d.filter.setText("x:12")
    assert d.chosen() == 12
    d.filter.setText("no such tune at all")
    assert d.chosen() is None and not d.open_button.isEnabled()


def test_the_chooser_is_driven_by_typing_a_title_arrows_and_enter(qtbot):
    """A book of hundreds of tunes: the title typed goes into the filter at once, ↓ and ↑
    step through the tunes shown (and skip the hidden ones), Enter opens the one chosen."""
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QDialog

    tunes = abc_tunes(essen_book())
    d = TuneChooser(None, "ballad10.abc", tunes)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    d.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)
    QTest.keyClicks(QApplication.focusWidget(), "meererin")
    assert d.filter.text() == "meererin"
    wanted = [t.number for t in tunes if "meererin" in t.title.lower()]
    assert len(wanted) >= 2 and d.chosen() == wanted[0]
    QTest.keyClick(QApplication.focusWidget(), Qt.Key_Down)
    assert d.chosen() == wanted[1]
    QTest.keyClick(QApplication.focusWidget(), Qt.Key_Up)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key_Up)  # at the first shown: stays
    assert d.chosen() == wanted[0]
    QTest.keyClick(QApplication.focusWidget(), Qt.Key_Down)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key_Return)
    assert d.result() == QDialog.Accepted and d.chosen() == wanted[1]
