"""Generate > Song Form… and Regenerate section in the editor, with the real models
(pytest-qt, offscreen): the song is one undo step, its sections lie on bar lines as
markers, repeated letters are note-identical, bad input is said in the dialog with the
piece untouched, and regenerating a section changes that section only."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


from composer_app.music import Key, KeySignature, Note, Score, Track  # noqa: E402
from composer_app.paths import models_dir  # noqa: E402

BAR = 1920
TUNE = (67, 67, 66, 64, 62, 67, 69, 71, 71, 71, 71, 69, 67, 72, 71, 69)
WAIT_MS = 120_000
needs_continuer = pytest.mark.skipif(not (models_dir() / "continuer.pt").is_file(),
                                     reason="models/continuer.pt not present")
needs_both = pytest.mark.skipif(not (models_dir() / "harmonizer.pt").is_file()
                                or not (models_dir() / "continuer.pt").is_file(),
                                reason="models/harmonizer.pt or continuer.pt not present")


def sketch(bars: int = 4) -> Score:
    notes = [Note(p, i * 480, 480, 80, 0) for i, p in enumerate(TUNE[: bars * 4])]
    return Score(notes=notes, tracks=[Track("Melody", 0, 0)],
                 key_signatures=[KeySignature(0, Key(7, "major"))])


@pytest.fixture
def window(make_window):
    w = make_window(size=(1400, 900))
    w.generation.panel.set_device("cpu")
    w.generation.panel.variations.setValue(2)
    w.generation.panel.seed.setValue(5)
    w.generation.panel.seed_lock.setChecked(True)
    yield w
    w.generation.shutdown()


def dialog(window, letters="AABA", bars=4, seed=3, **checks):
    window.act_song_form.trigger()
    d = window.generation.song_dialog
    d.letters.setText(letters)
    d.bars.setValue(bars)
    d.seed.setValue(seed)
    for name, on in checks.items():
        getattr(d, name).setChecked(on)
    return d


def write(qtbot, window, d, outcome="finished"):
    with qtbot.waitSignal(window.generation.jobEnded, timeout=WAIT_MS) as blocker:
        assert d.start(), d.message.text()
    assert blocker.args == [outcome], d.message.text()


def section(score: Score, k: int, bars: int, track: int = 0) -> list[tuple]:
    lo, hi = k * bars * BAR, (k + 1) * bars * BAR
    return [(n.pitch, n.start - lo, n.duration) for n in score.notes
            if n.track == track and lo <= n.start < hi]


def state(window):
    s = window.doc.score()
    return s.notes, [(m.tick, m.text) for m in s.markers], [t.name for t in s.tracks]


def test_bad_input_is_said_in_the_dialog_and_the_piece_stays(window, qtbot):
    window.doc.load(Score(tracks=[Track("Melody", 0)]))
    d = dialog(window, "ABAB")
    assert "sketch is empty" in d.message.text() and not d.write_button.isEnabled()
    assert not d.start()
    window.doc.load(sketch())
    for letters, bars, said in [("AB1", 4, "string of letters"), ("", 4, "form is empty"),
                                ("ABAB", 0, "1 to 64 bars, not 0"),
                                ("ABAB", 500, "1 to 64 bars, not 500"),
                                ("A" * 30, 4, "at most 26"), ("ABAB", 2, "longer than")]:
        d.letters.setText(letters)
        d.bars.setValue(bars)
        assert said in d.message.text(), (letters, bars, d.message.text())
        assert not d.write_button.isEnabled() and not d.start()
    d.letters.setText("ABC")
    d.bars.setValue(4)
    d.related.setText("A=C")
    assert "relative must come first" in d.message.text()
    d.related.setText("")
    assert d.message.text() == "" and d.write_button.isEnabled()
    assert "section A" in d.sketch_label.text()
    assert "(16 notes of Melody, 4 bars)" in d.sketch_label.text()
    # one note selected: that note is the sketch, said in the singular
    d.reject()
    window.roll.set_selection({min(window.doc.notes)})
    d = dialog(window, "ABC")
    assert "(1 note of Melody, 1 bar)" in d.sketch_label.text(), d.sketch_label.text()
    d.reject()
    window.roll.set_selection(set())
    d = dialog(window, "ABC")
    # a preset fills the letters (and a second verse's relative)
    d.preset.setCurrentIndex(0)
    assert (d.letters.text(), d.related.text()) == ("ABCBDB", "C=A")
    d.letters.setText("aaba")
    assert d.preset.currentIndex() == 1 and d.related.text() == ""
    assert window.doc.undo_stack.count() == 0


@needs_continuer
def test_the_song_is_one_undo_step_on_bar_lines_with_repeats_note_identical(window, qtbot):
    window.doc.load(sketch())
    before = state(window)
    d = dialog(window, "AABA", 4, seed=3)
    write(qtbot, window, d)
    assert not d.isVisible()
    song = window.doc.score()
    assert [(m.tick, m.text) for m in song.markers] == [(0, "A"), (4 * BAR, "A"),
                                                        (8 * BAR, "B"), (12 * BAR, "A")]
    assert window.doc.undo_stack.count() == 1
    a = section(song, 0, 4)
    assert a == [(n.pitch, n.start, n.duration) for n in sketch().notes]  # the sketch is A
    assert section(song, 1, 4) == section(song, 3, 4) == a
    assert section(song, 2, 4) and section(song, 2, 4) != a
    for n in song.notes:  # nothing sounds across a section's end
        assert n.end <= (n.start // (4 * BAR) + 1) * 4 * BAR
    assert max(n.end for n in song.notes) <= 16 * BAR
    assert [m.text for _, m in window.roll.ruler.marker_rects()] == list("AABA")
    window.doc.undo_stack.undo()
    assert state(window) == before
    window.doc.undo_stack.redo()
    assert window.doc.score().notes == song.notes


@needs_both
def test_the_song_with_reharmonize_fills_four_voices_in_one_step(window, qtbot):
    window.doc.load(sketch(2))
    d = dialog(window, "AB", 2, seed=1, reharmonize=True)
    write(qtbot, window, d)
    song = window.doc.score()
    assert [t.name for t in song.tracks] == ["Melody", "Alto", "Tenor", "Bass"]
    assert all(song.track_notes(t) for t in range(4))
    assert section(song, 0, 2) == [(n.pitch, n.start, n.duration) for n in sketch(2).notes]
    assert window.doc.undo_stack.count() == 1
    window.doc.undo_stack.undo()
    assert [t.name for t in window.doc.base.tracks] == ["Melody"]
    assert window.doc.score().notes == sketch(2).notes


@needs_continuer
def test_regenerate_a_section_from_its_marker_changes_only_that_section(window, qtbot):
    window.doc.load(sketch())
    write(qtbot, window, dialog(window, "ABCB", 4, seed=2))
    song = window.doc.score()
    ruler = window.roll.ruler
    rect, marker = next((r, m) for r, m in ruler.marker_rects() if m.tick == 8 * BAR)
    assert marker.text == "C"
    menu = ruler.context_menu(rect.center().x(), rect.center().y())
    regen = next(a for a in menu.actions() if a.text().startswith("Regenerate section"))
    with qtbot.waitSignal(window.generation.jobEnded, timeout=WAIT_MS) as blocker:
        regen.trigger()
    assert blocker.args == ["finished"], window.warnings
    gen = window.generation
    assert len(gen.variations) == 2
    ghosts = window.roll.ghost_notes
    assert ghosts and all(8 * BAR <= n.start < 12 * BAR and n.end <= 12 * BAR for n in ghosts)
    gen.accept()
    assert window.doc.undo_stack.count() == 2
    after = window.doc.score()
    assert section(after, 2, 4) and section(after, 2, 4) != section(song, 2, 4)
    for k in (0, 1, 3):
        assert section(after, k, 4) == section(song, k, 4)
    assert after.markers == song.markers
    window.doc.undo_stack.undo()
    assert window.doc.score().notes == song.notes
    # the first section has nothing before it: said, nothing changes
    window.roll.set_playhead(100)
    gen.discard(quiet=True)
    with qtbot.waitSignal(gen.jobEnded, timeout=WAIT_MS) as blocker:
        window.act_regenerate_section.trigger()
    assert blocker.args == ["failed"]
    assert "no music before this section" in window.warnings[-1]
    assert window.doc.score().notes == song.notes


def test_regenerate_section_without_markers_says_how_to_make_them(window):
    window.doc.load(sketch())
    assert not window.generation.regenerate_here()
    assert "no marker" in window.warnings[-1]


@needs_continuer
def test_cancel_while_the_song_is_written_leaves_the_piece(window, qtbot):
    window.doc.load(sketch())
    before = state(window)
    d = dialog(window, "ABCBDB", 8, seed=4)
    with qtbot.waitSignal(window.generation.jobEnded, timeout=WAIT_MS):
        assert d.start()
        assert d.progress_bar.isVisible() and not d.write_button.isEnabled()
        d.reject()  # Cancel (or Escape) while it runs: stop, then close
        assert d.isVisible() and d.message.text() == "Cancelling…"
    assert not d.isVisible()
    assert state(window) == before and window.doc.undo_stack.count() == 0


def test_the_song_and_a_section_are_written_in_the_panels_style(window, qtbot):
    window.doc.load(sketch())
    panel = window.generation.panel
    panel.style.setCurrentIndex(panel.style.findData("chorale"))
    assert dialog(window, "AABA", 4).request().params["style"] == "chorale"
    window.generation.song_dialog.reject()
    seen = []
    window.generation.runner = lambda job, progress, cancel: seen.append(job) or [job.score]
    window.doc.base.set_markers([(0, "A"), (4 * BAR, "B")])
    with qtbot.waitSignal(window.generation.jobEnded, timeout=WAIT_MS):
        assert window.generation.regenerate_section(window.doc.base.markers[1])
    assert seen[0].kind == "section" and seen[0].params["style"] == "chorale"
