"""Fermatas (phrase ends) as part of the piece: MusicXML, project files, the roll."""

from __future__ import annotations

import json

import pytest

from composer_app.music import (
    FileFormatError,
    Note,
    Score,
    TimeSignature,
    Track,
    read_musicxml,
    read_project,
    write_musicxml,
    write_project,
)
from composer_app.music import project as project_mod


def fermatas(score: Score) -> list[tuple[int, int, int, int]]:
    return sorted((n.track, n.pitch, n.start, n.duration) for n in score.notes if n.fermata)


# -- MusicXML and project files ------------------------------------------------------


def test_chorale_fermatas_survive_musicxml_project_musicxml(tmp_path):
    """bwv66.6's six soprano fermatas: MusicXML read -> project -> MusicXML -> read."""
    from music21 import corpus, expressions

    source = corpus.getWork("bach/bwv66.6")
    m21 = corpus.parse("bach/bwv66.6")
    written = sum(1 for part in m21.parts for n in part.flatten().notes
                  if any(isinstance(e, expressions.Fermata) for e in n.expressions))
    score = read_musicxml(source)
    marked = fermatas(score)
    assert len(marked) == written == 6
    assert {t for t, *_ in marked} == {0}  # the soprano's phrase ends
    assert (0, 73, 2880, 480) in marked  # C#5 on beat 3 of bar 2 (bar 1 ends in the pickup)

    project = tmp_path / "chorale.composer.json"
    write_project(score, project)
    assert json.loads(project.read_text())["version"] == 2
    reopened = read_project(project)
    assert reopened.notes == score.notes

    xml = tmp_path / "chorale.musicxml"
    write_musicxml(reopened, xml)
    assert xml.read_text().count("<fermata") == 6
    back = read_musicxml(xml)
    assert fermatas(back) == marked
    assert back.notes == score.notes


def test_fermata_on_a_note_tied_over_the_bar_line(tmp_path):
    """Exported across a bar line, the fermata goes on the last tied note (music21's
    rule); reading joins the tie and keeps it. Notes that share onset and length are
    written as one chord, and a chord has one fermata: it comes back on every pitch."""
    score = Score(notes=[Note(60, 0, 1440), Note(67, 1440, 960, fermata=True),
                         Note(64, 2400, 1440), Note(67, 2400, 1440),
                         Note(72, 2400, 1440, fermata=True), Note(60, 3840, 480)],
                  time_signatures=[TimeSignature(0, 4, 4)])
    path = tmp_path / "tied.musicxml"
    write_musicxml(score, path)
    back = read_musicxml(path)
    assert fermatas(back) == [(0, 64, 2400, 1440), (0, 67, 1440, 960), (0, 67, 2400, 1440),
                              (0, 72, 2400, 1440)]
    assert [n.moved(fermata=False) for n in back.notes] == [
        n.moved(fermata=False) for n in score.notes]


def test_fermata_written_by_another_program_on_the_tie_end(tmp_path):
    """MusicXML as notation programs write it: the fermata on the tie's second note."""
    from music21 import expressions, meter, note, stream, tie

    part = stream.Part()
    part.insert(0, meter.TimeSignature("4/4"))
    part.insert(0, note.Note("D4", quarterLength=3))
    first, last = note.Note("C5", quarterLength=1), note.Note("C5", quarterLength=1)
    first.tie, last.tie = tie.Tie("start"), tie.Tie("stop")
    last.expressions.append(expressions.Fermata())
    part.insert(3, first)
    part.insert(4, last)
    path = tmp_path / "other.musicxml"
    part.write("musicxml", fp=str(path))
    back = read_musicxml(path)
    assert [(n.pitch, n.start, n.duration, n.fermata) for n in back.notes] == [
        (62, 0, 1440, False), (72, 1440, 960, True)]


def test_project_without_fermatas_stays_version_1(tmp_path):
    """Older apps (format 1) keep opening pieces that have no fermata."""
    path = tmp_path / "plain.composer.json"
    write_project(Score(notes=[Note(60, 0, 480, locked=True)]), path)
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert data["notes"] == [[60, 0, 480, 80, 0, 1]]


def test_old_project_files_still_open(tmp_path):
    """A version-1 file (rows of six, or five, columns) opens with no fermatas."""
    path = tmp_path / "old.composer.json"
    path.write_text(json.dumps({
        "format": "composer-app-project", "version": 1, "title": "old", "ppq": 480,
        "tracks": [{"name": "Melody", "channel": 0, "program": 0}],
        "tempos": [[0, 100.0]], "time_signatures": [[0, 3, 4]], "key_signatures": [],
        "notes": [[60, 0, 480, 90, 0, 1], [62, 480, 480, 90, 0]],
    }))
    score = read_project(path)
    assert score.notes == [Note(60, 0, 480, 90, 0, locked=True), Note(62, 480, 480, 90, 0)]
    assert not any(n.fermata for n in score.notes)


def test_a_file_with_fermatas_is_refused_by_a_format_1_reader(tmp_path, monkeypatch):
    """What an older app does with it: a clear refusal, not phrase ends silently lost."""
    path = tmp_path / "new.composer.json"
    write_project(Score(notes=[Note(60, 0, 480), Note(62, 480, 480, fermata=True)]), path)
    monkeypatch.setattr(project_mod, "FORMAT_VERSION", 1)
    with pytest.raises(FileFormatError, match="newer composer_app"):
        read_project(path)


def test_midi_has_no_fermata_and_export_drops_it_quietly(tmp_path):
    from composer_app.music import read_midi, write_midi

    path = tmp_path / "f.mid"
    write_midi(Score(notes=[Note(60, 0, 480, fermata=True)], tracks=[Track()]), path)
    assert read_midi(path).notes == [Note(60, 0, 480)]


# -- the roll ------------------------------------------------------------------------


@pytest.fixture
def window(make_window):
    w = make_window(size=(1200, 800))
    w.roll.horizontalScrollBar().setValue(0)
    w.roll.center_on_pitch(64)
    return w


def tune() -> Score:
    return Score(notes=[Note(60, 0, 480), Note(62, 480, 480), Note(64, 960, 960),
                        Note(48, 0, 1920, track=1)],
                 tracks=[Track("Soprano", 0), Track("Bass", 1)])


def test_f_marks_and_unmarks_fermatas_and_undo_restores_exactly(window):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    window.doc.load(tune())
    roll, stack = window.roll, window.doc.undo_stack
    original = window.doc.score().notes
    last = [i for i, n in window.doc.notes.items() if n.pitch == 64]
    roll.set_selection(last)
    roll.setFocus()
    QTest.keyClick(roll, Qt.Key_F)
    assert fermatas(window.doc.score()) == [(0, 64, 960, 960)]
    assert window.isWindowModified()
    assert "Fermata marked" in window.statusBar().currentMessage()

    # A selection with one marked note marks them all; pressing again unmarks all.
    both = [i for i, n in window.doc.notes.items() if n.pitch in (62, 64)]
    roll.set_selection(both)
    roll.edit_actions["fermata"].trigger()
    assert fermatas(window.doc.score()) == [(0, 62, 480, 480), (0, 64, 960, 960)]
    roll.edit_actions["fermata"].trigger()
    assert fermatas(window.doc.score()) == []
    assert [stack.text(i) for i in range(stack.count())] == [
        "Mark fermata", "Mark fermata", "Remove fermata"]

    stack.undo()
    assert fermatas(window.doc.score()) == [(0, 62, 480, 480), (0, 64, 960, 960)]
    while stack.canUndo():
        stack.undo()
    assert window.doc.score().notes == original
    while stack.canRedo():
        stack.redo()
    assert fermatas(window.doc.score()) == []
    assert [n.moved(fermata=False) for n in window.doc.score().notes] == original


def test_fermata_with_nothing_selected_changes_nothing(window):
    window.doc.load(tune())
    before = window.doc.score().notes
    window.roll.set_selection(set())
    window.roll.edit_actions["fermata"].trigger()
    assert window.doc.score().notes == before
    assert window.doc.undo_stack.count() == 0
    assert not window.isWindowModified()
    assert "select the note" in window.statusBar().currentMessage()
    assert window.warnings == []


def test_fermata_action_is_in_the_edit_menu_with_its_own_key(window):
    action = window.named_actions()["edit_fermata"]
    assert action.shortcut().toString() == "F"
    edit = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    assert action in edit.actions()
    clashes = [name for name, a in window.named_actions().items()
               if a is not action and any(k.toString() == "F" for k in a.shortcuts())]
    assert clashes == []


def test_fermata_sign_is_drawn_above_its_note(window):
    """Dark ink appears just above a marked note, at the default zoom and zoomed far
    out in both directions; an unmarked note has nothing there."""
    from composer_app.ui import roll_marks

    window.doc.load(Score(notes=[Note(64, 960, 480)]))
    roll = window.roll
    (note_id,) = window.doc.notes

    def ink_above() -> int:
        box = roll_marks.sign_box(roll.note_rect(window.doc.notes[note_id]), roll.key_h)
        image = roll.viewport().grab().toImage()
        ratio = image.devicePixelRatio()
        dark = 0
        for x in range(int(box.left()), int(box.right()) + 1):
            for y in range(int(box.top()), int(box.bottom()) + 1):
                c = image.pixelColor(int(x * ratio), int(y * ratio))
                dark += c.lightness() < 90
        return dark

    assert ink_above() == 0
    roll.set_selection({note_id})
    roll.toggle_fermata()
    roll.set_selection(set())
    assert ink_above() > 10
    roll.set_zoom(px_per_tick=0.01, key_h=5)
    roll.show_pitches([64])
    assert ink_above() > 10
    roll.set_zoom(px_per_tick=1.5, key_h=40)
    roll.horizontalScrollBar().setValue(int(900 * roll.px_per_tick))
    roll.show_pitches([64, 66])
    assert ink_above() > 10


def test_fermata_is_saved_in_the_project_and_exported_to_musicxml(window, tmp_path):
    window.doc.load(tune())
    roll = window.roll
    roll.set_selection([i for i, n in window.doc.notes.items() if n.pitch == 64])
    roll.toggle_fermata()
    project = tmp_path / "tune.composer.json"
    assert window.save_to(str(project))
    assert window.open_path(str(project))
    assert fermatas(window.doc.score()) == [(0, 64, 960, 960)]
    xml = tmp_path / "tune.musicxml"
    assert window.export_musicxml(str(xml))
    assert fermatas(read_musicxml(xml)) == [(0, 64, 960, 960)]


def test_copy_paste_and_duplicate_keep_the_fermata(window):
    """Unlike the lock (a constraint for one generation), a fermata belongs to the
    phrase: a copied phrase ending still ends a phrase."""
    window.doc.load(Score(notes=[Note(60, 0, 480), Note(64, 480, 480, fermata=True)]))
    roll = window.roll
    roll.select_all()
    roll.copy()
    roll.set_playhead(1920)
    roll.paste()
    roll.duplicate()
    assert fermatas(window.doc.score()) == [(0, 64, 480, 480), (0, 64, 2400, 480),
                                            (0, 64, 3360, 480)]
