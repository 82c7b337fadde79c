"""Help > Listening test… (issue 17): the variations on show, blinded, rated, revealed.

pytest-qt, offscreen, with a stand-in for the models (a runner that writes each
variation's alto a different distance under the melody), so no weights are needed.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from composer_app.listening.session import BlindSession  # noqa: E402
from composer_app.music import Note, Score, Track  # noqa: E402

TUNE = (67, 67, 66, 64, 62, 67, 69, 71)
ALTO_DROP = (3, 4, 5, 7, 8, 9, 10, 12)  # variation k's alto: this far under the melody


def fake_runner(job, progress, cancel):
    melody = [n for n in job.score.notes if n.track == job.params.get("melody_track", 0)]
    out = []
    for k in range(job.params["variations"]):
        notes = [Note(n.pitch, n.start, n.duration, 80, 0) for n in melody]
        for v, drop in ((1, ALTO_DROP[k]), (2, 15), (3, 24)):
            notes += [Note(n.pitch - drop, n.start, n.duration, 80, v) for n in melody]
        out.append(Score(notes=notes, tracks=[Track(name, i, 52) for i, name in
                                              enumerate(("Soprano", "Alto", "Tenor", "Bass"))]))
    progress(100)
    return out


@pytest.fixture
def window(qtbot, make_window):
    w = make_window(record_play=True)
    w.generation.runner = fake_runner
    w.generation.panel.variations.setValue(3)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.generation.shutdown()


def _load_and_select(w):
    w.doc.load(Score(notes=[Note(p, i * 480, 480, 80, 0) for i, p in enumerate(TUNE)],
                     tracks=[Track("Melody", 0, 0)]))
    w.roll.set_selection(set(w.doc.notes))


def _dialog(w):
    from composer_app.ui.listening_dialog import ListeningDialog

    found = [d for d in w.findChildren(ListeningDialog) if d.isVisible()]
    return found[-1] if found else None


def _alto_drop(score: Score) -> int:
    tracks = [t.name for t in score.tracks]
    alto = [n for n in score.notes if tracks[n.track] == "Alto"]
    mel = {n.start: n.pitch for n in score.notes if tracks[n.track] == "Melody"}
    return mel[alto[0].start] - alto[0].pitch


def test_menu_entry_exists(window):
    texts = [a.text() for a in window.help_menu.actions()]
    assert "&Listening test…" in texts


def test_variations_blinded_rated_then_revealed(window, qtbot):
    from composer_app.ui.listening_dialog import open_listening_test

    _load_and_select(window)
    with qtbot.waitSignal(window.generation.jobEnded, timeout=20000):
        window.generation.reharmonize()
    assert len(window.generation.variations) == 3
    assert window.roll.ghost_notes
    dlg = open_listening_test(window)
    assert not window.roll.ghost_notes  # the roll would tell which variation is shown
    order = dlg.session.order
    assert sorted(order) == [0, 1, 2]
    assert all(a.text() == "" for a in dlg.answers)  # nothing said before Reveal
    # Play of version B plays the variation behind B, the passage only.
    dlg.play_buttons[1].click()
    played, start = window.played[-1]
    assert start == 0 and _alto_drop(played) == ALTO_DROP[order[1]]
    assert max(n.end for n in played.notes) <= 8 * 480
    assert not dlg.reveal_button.isEnabled()
    for pos, rating in enumerate((4, 9, 6)):
        dlg.ratings[pos].setValue(rating)
    assert dlg.reveal_button.isEnabled()
    dlg.reveal_button.click()
    assert [a.text() for a in dlg.answers] == [f"= variation {v + 1}" for v in order]
    assert f"variation {order[1] + 1} (B)" in dlg.summary.text()
    assert not dlg.ratings[0].isEnabled()
    dlg.show_buttons[1].click()
    assert window.generation.index == order[1]
    assert not dlg.isVisible()
    assert window.roll.ghost_notes  # back, of the variation chosen


def test_without_variations_it_offers_to_generate_them(window, qtbot, monkeypatch):
    _load_and_select(window)
    monkeypatch.setattr(QMessageBox, "exec", lambda self: 0)
    monkeypatch.setattr(QMessageBox, "clickedButton", lambda self: next(
        b for b in self.buttons() if b.text() == "Reharmonize"))
    from composer_app.ui.listening_dialog import open_listening_test

    with qtbot.waitSignal(window.generation.jobEnded, timeout=20000):
        assert open_listening_test(window) is None
    qtbot.waitUntil(lambda: _dialog(window) is not None, timeout=5000)
    assert len(_dialog(window).session.order) == 3


def test_session_bookkeeping():
    import random

    s = BlindSession.new(4, rng=random.Random(1))
    assert sorted(s.order) == [0, 1, 2, 3]
    for p, r in enumerate((3, 8, 8, 1)):
        s.rate(p, r)
    with pytest.raises(ValueError):
        s.rate(0, 11)
    rows = s.reveal()
    assert [r[2] for r in rows] == [8, 8, 3, 1]
    assert {(r[0], r[1]) for r in rows} == {(BlindSession.letter(p), v + 1)
                                            for p, v in enumerate(s.order)}
    with pytest.raises(RuntimeError):
        s.rate(0, 5)
    with pytest.raises(ValueError):
        BlindSession.new(1)
