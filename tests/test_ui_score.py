"""The score view (Verovio), chord labels and the harmony checker in the editor."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("verovio")


from composer_app.music import Note, Score, Track  # noqa: E402
from composer_app.music.engrave import engrave, score_to_mei  # noqa: E402


def _bwv66():
    from music21 import corpus

    from composer_app.music import load_score

    return load_score(str(corpus.getWork("bach/bwv66.6")))


@pytest.fixture(scope="module")
def chorale():
    return _bwv66()


@pytest.fixture
def window(make_window):
    w = make_window(size=(1400, 900), record_play=True)
    yield w
    w.score.shutdown()


def _wait_engraved(qtbot, window, timeout=20000):
    a = window.score.analysis
    qtbot.waitUntil(lambda: not a.busy and a.last is not None and a.last.engraving is not None,
                    timeout=timeout)
    return a.last


def test_the_chorale_engraves_satb_on_two_staves_with_its_measures_and_notes(chorale):
    eng = engrave(chorale)
    assert eng.chorale and eng.staves == 2 and not eng.notes_lost
    svg = "".join(eng.svgs)
    staves_per_measure = {len(re.findall(r'class="staff"', m))
                          for m in re.split(r'class="measure"', svg)[1:]}
    assert staves_per_measure == {2}
    assert len(re.findall(r'class="measure"', svg)) == chorale.length_bars == 10
    # every note of the piece is engraved once (a note tied over a bar line is one note
    # whose first written part carries its id)
    heads = set(re.findall(r'<g id="(n\d+)" class="note"', svg))
    assert heads == {f"n{i}" for i in range(len(chorale.notes))}
    assert len(re.findall(r'class="fermata"', svg)) >= 6  # the soprano's phrase ends
    assert 'class="keySig"' in svg and 'class="meterSig"' in svg and 'class="tempo"' in svg


def test_non_chorale_gets_a_staff_per_voice_with_clefs_and_says_what_it_cannot_show():
    s = Score(tracks=[Track("Flute"), Track("Cello")])
    s.notes = [Note(79, 0, 480, track=0), Note(40, 0, 960, track=1),
               Note(81, 480, 160, track=0), Note(83, 640, 160, track=0)]  # a triplet
    mei = score_to_mei(s)
    assert not mei.chorale and mei.staves == 2
    assert 'clef.shape="G"' in mei.mei and 'clef.shape="F"' in mei.mei
    assert any("1/32 grid" in t for t in mei.notes_lost)
    long = Score(notes=[Note(60, i * 1920, 1920) for i in range(10_000)])
    assert any("only the first" in t for t in score_to_mei(long).notes_lost)


def test_score_view_follows_the_piece_and_a_click_selects_the_note(qtbot, window, chorale):
    window.doc.load(chorale)
    res = _wait_engraved(qtbot, window)
    view = window.score.view
    assert len(res.note_rects) == len(window.doc.notes)
    nid = sorted(window.doc.notes, key=lambda i: window.doc.notes[i].start)[8]
    rect = view.note_scene_rect(nid)
    head = rect.center()
    assert view.note_at(head) == nid
    pos = view.view.mapFromScene(head)
    from PySide6.QtCore import Qt

    qtbot.mouseClick(view.view.viewport(), Qt.LeftButton, pos=pos)
    assert window.roll.selection == {nid}
    # an edit reaches the view, debounced, rendered on the worker thread
    before = res.serial
    window.roll.set_selection({nid})
    window.roll.edit_actions["up"].trigger()
    res = _wait_engraved(qtbot, window)
    assert res.serial > before
    # the playhead's bar is highlighted
    window.roll.set_playhead(1920 * 3 + 10)
    window.transport.update_position()
    assert view._bar_item is not None and view._bar_item.isVisible()


def test_bad_input_is_said_and_the_editor_keeps_working(qtbot, window):
    window.doc.load(Score(notes=[Note(60, i * 1920, 1920) for i in range(10_000)]))
    res = _wait_engraved(qtbot, window, timeout=60000)
    assert "only the first" in window.score.view.status.text()
    assert res.engraving is not None


def test_export_svg_and_pdf(window, chorale, tmp_path):
    window.doc.load(chorale)
    assert window.export_score_svg(str(tmp_path / "s.svg"))
    assert (tmp_path / "s.svg").read_text().count('class="measure"') == 10
    assert window.export_score_pdf(str(tmp_path / "s.pdf"))
    assert (tmp_path / "s.pdf").read_bytes()[:5] == b"%PDF-"


def test_the_reading_runs_on_the_worker_thread_and_the_gui_keeps_going(qtbot, window, chorale,
                                                                      monkeypatch):
    import threading
    import time

    from composer_app.ui import analysis

    seen = []
    real = analysis.analyse

    def slow(*args, **kw):
        seen.append(threading.get_ident())
        time.sleep(0.5)  # a long engraving: the GUI thread must not wait for it
        return real(*args, **kw)

    monkeypatch.setattr(analysis, "analyse", slow)
    window.doc.load(chorale)
    window.score.refresh(now=True)
    t0 = time.perf_counter()
    qtbot.wait(50)  # the event loop runs while the worker sleeps
    assert time.perf_counter() - t0 < 0.4
    _wait_engraved(qtbot, window)
    assert seen and threading.get_ident() not in seen


def test_the_chord_lane_shows_the_numerals_and_symbols_on_request(qtbot, window, chorale):
    from composer_app.music.harmony_check import chord_labels

    window.doc.load(chorale)
    res = _wait_engraved(qtbot, window)
    lane = window.roll.chord_lane
    assert [m.roman for m in lane.marks] == [m.roman for m in chord_labels(chorale)]
    window.roll.set_zoom(0.4)  # room for every label
    visible = [m.roman for m in lane.marks if -40 <= lane.roll.x_of(m.tick) <= lane.width()]
    assert [t for _, t in lane.shown()] == visible and len(visible) >= 2
    svg = "".join(res.engraving.svgs)
    assert svg.count('class="harm"') == len(lane.marks)  # under the score's staves too
    window.act_chord_symbols.setChecked(True)
    assert lane.shown()[0][1] == next(m.symbol for m in lane.marks
                                      if lane.roll.x_of(m.tick) >= -40)
    res = _wait_engraved(qtbot, window)
    assert res.serial > 0 and window.score.analysis.symbols
    window.act_chord_lane.setChecked(False)
    assert lane.isHidden()


def test_a_piece_not_in_four_parts_has_no_labels_and_says_why(qtbot, window):
    window.doc.load(Score(notes=[Note(60, 0, 480), Note(64, 480, 480)]))
    _wait_engraved(qtbot, window)
    assert window.roll.chord_lane.marks == [] and "four-part" in window.roll.chord_lane.note


def _exercise() -> Score:
    """I -> ii in root position, everything rising: parallel fifths (alto-bass) and
    octaves (soprano-bass), in C major; then I again, voiced well (tests/test_harmony_check)."""
    from composer_app.music import Key, KeySignature

    chords = [(72, 67, 64, 48), (74, 69, 65, 50)]
    notes = [Note(p, i * 480, 480, 80, v) for i, ch in enumerate(chords) for v, p in enumerate(ch)]
    return Score(notes=notes, tracks=[Track(n, i) for i, n in enumerate(
        ("Soprano", "Alto", "Tenor", "Bass"))], key_signatures=[KeySignature(0, Key(0))])


def test_the_checker_lists_the_findings_marks_them_and_a_click_goes_there(qtbot, window):
    from composer_app.music import voice_leading as vl
    from composer_app.music.harmony_check import check_score

    piece = _exercise()
    window.doc.load(piece)
    res = _wait_engraved(qtbot, window)
    panel = window.score.checker
    expected = check_score(piece)
    assert sorted(i.kind for i in expected) == sorted(
        [vl.PARALLEL_FIFTHS, vl.PARALLEL_OCTAVES])
    texts = panel.texts()
    assert len(texts) == len(expected)
    for text, issue in zip(texts, expected, strict=True):
        assert f"bar {issue.bar}, beat {issue.beat}: {issue.kind}" in text
        assert issue.explanation in text
    # marked on the roll (one bracket per finding) and in red in the score
    assert len(window.roll.findings) == len(expected)
    mei = res.engraving.mei
    assert mei.count('color="#d0302a"') >= 4
    # a click on the parallel fifths selects the alto's and bass's notes of both chords
    k = [i.kind for i in expected].index(vl.PARALLEL_FIFTHS)
    item = panel.list.item(k)
    rect = panel.list.visualItemRect(item)
    from PySide6.QtCore import Qt

    qtbot.mouseClick(panel.list.viewport(), Qt.LeftButton, pos=rect.center())
    chosen = {(n.track, n.start) for i, n in window.doc.notes.items() if i in window.roll.selection}
    assert chosen == {(1, 0), (3, 0), (1, 480), (3, 480)}
    assert window.roll.current_finding == k


def test_the_checker_says_it_reads_four_part_writing(qtbot, window):
    window.doc.load(Score(notes=[Note(60, 0, 480), Note(64, 480, 480)]))
    _wait_engraved(qtbot, window)
    assert "reads four-part writing" in window.score.checker.summary.text()
    assert window.score.checker.texts() == [] and window.roll.findings == []


def test_suggest_reharmonizes_the_findings_span_under_the_soprano(qtbot, window):
    from composer_app.music import voice_leading as vl

    window.doc.load(_exercise())
    res = _wait_engraved(qtbot, window)
    asked = []
    window.generation.reharmonize = lambda: asked.append(set(window.roll.selection)) or True
    panel = window.score.checker
    k = [i.kind for i in res.issues].index(vl.PARALLEL_OCTAVES)
    assert not panel.suggest.isEnabled()
    panel.list.setCurrentRow(k)
    panel._clicked(panel.list.item(k))
    assert panel.suggest.isEnabled()
    panel.suggest.click()
    notes = window.doc.notes
    # the octaves arrive on beat 2: the span is beats 1-2, the soprano's two notes
    assert asked and {(notes[i].track, notes[i].start) for i in asked[0]} == {(0, 0), (0, 480)}
