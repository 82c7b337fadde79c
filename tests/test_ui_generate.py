"""Continue and Reharmonize in the editor, with the real models from ``models/``.

pytest-qt, offscreen. Tests that run a model skip (saying which file) when its weights
are not in the models folder; the selection checks and the error path need none.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


from composer_app.music import Key, KeySignature, Note, Score, Track  # noqa: E402
from composer_app.paths import models_dir  # noqa: E402

BAR = 1920
# "Old Hundredth"-like tune in G major, quarter notes, eight bars of 4/4.
TUNE = (67, 67, 66, 64, 62, 67, 69, 71, 71, 71, 71, 69, 67, 72, 71, 69,
        67, 69, 71, 69, 67, 64, 66, 67, 69, 71, 72, 71, 69, 67, 66, 67)
WAIT_MS = 120_000  # first use imports torch and loads a model on a busy machine


def needs(name: str):
    path = models_dir() / name
    return pytest.mark.skipif(not path.is_file(),
                              reason=f"model weights {path} not present (train them first)")


needs_harmonizer = needs("harmonizer.pt")
needs_continuer = needs("continuer.pt")


def melody(bars: int = 8) -> Score:
    notes = [Note(p, i * 480, 480, 80, 0) for i, p in enumerate(TUNE[: bars * 4])]
    return Score(notes=notes, tracks=[Track("Melody", 0, 0)],
                 key_signatures=[KeySignature(0, Key(7, "major"))])


@pytest.fixture
def window(make_window):
    w = make_window(size=(1400, 900), record_play=True)
    panel = w.generation.panel
    panel.variations.setValue(2)
    panel.seed.setValue(7)
    panel.seed_lock.setChecked(True)
    panel.set_device("cpu")
    yield w
    w.generation.shutdown()


def load(window, score: Score) -> None:
    window.doc.load(score)
    window.roll.set_selection(set())


def select(window, pred) -> set[int]:
    ids = {i for i, n in window.doc.notes.items() if pred(n)}
    window.roll.set_selection(ids)
    return ids


def run(qtbot, window, action: str, outcome: str = "finished") -> None:
    gen = window.generation
    with qtbot.waitSignal(gen.jobEnded, timeout=WAIT_MS) as blocker:
        getattr(window, f"act_{action}").trigger()
    assert blocker.args == [outcome], window.warnings


def snapshot(window):
    return sorted(window.doc.score().notes, key=lambda n: (n.start, n.track, n.pitch)), \
        [t.name for t in window.doc.base.tracks], window.doc.undo_stack.count()


# -- selection checks (no model needed) ----------------------------------------------


def test_reharmonize_without_selection_says_what_to_do(window):
    load(window, melody(2))
    assert not window.generation.reharmonize()
    assert "Nothing is selected" in window.warnings[-1]
    assert window.roll.ghost_notes == []


def test_reharmonize_of_a_chord_is_refused_clearly(window):
    load(window, Score(notes=[Note(60, 0, 480), Note(64, 0, 480), Note(67, 480, 480)]))
    select(window, lambda n: True)
    assert not window.generation.reharmonize()
    assert "chordal" in window.warnings[-1] and "bar 1" in window.warnings[-1]


def test_reharmonize_of_two_voices_is_refused_clearly(window):
    load(window, Score(notes=[Note(72, 0, 480, track=0), Note(60, 480, 480, track=1)],
                       tracks=[Track("Right", 0), Track("Left", 1)]))
    select(window, lambda n: True)
    assert not window.generation.reharmonize()
    assert "2 voices" in window.warnings[-1]


def test_continue_of_an_empty_piece_is_refused(window):
    load(window, Score())
    assert not window.generation.continue_()
    assert "Nothing to continue" in window.warnings[-1]


def test_generation_actions_have_free_shortcuts(window):
    seen = {}
    for name, action in window.named_actions().items():
        for key in action.shortcuts():
            text = key.toString()
            assert text not in seen, f"{name} and {seen.get(text)} share {text}"
            seen[text] = name
    assert window.act_continue.shortcut().toString() == "Ctrl+Shift+C"
    assert window.act_reharmonize.shortcut().toString() == "Ctrl+Shift+H"


def test_the_generate_menu_names_every_entry_in_words(window):
    """The Generate menu listed the variation steps as bare "◀" and "▶": each entry says
    what it does there, while the panel's buttons keep their arrows."""
    from PySide6.QtWidgets import QToolButton

    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Generate")
    texts = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
    assert "Previous Variation" in texts and "Next Variation" in texts
    assert all(sum(c.isalpha() for c in t) >= 4 for t in texts), texts
    buttons = {b.text() for b in window.generation.panel.findChildren(QToolButton)}
    assert {"◀", "▶", "♪ Listen"} <= buttons, buttons


# -- errors from the worker -------------------------------------------------------------


def test_missing_model_file_is_reported_and_the_score_untouched(window, qtbot, tmp_path,
                                                                 monkeypatch):
    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("COMPOSER_APP_MODELS", str(empty))
    load(window, melody(2))
    before = snapshot(window)
    select(window, lambda n: True)
    run(qtbot, window, "reharmonize", "failed")
    assert str(empty / "harmonizer.pt") in window.warnings[-1]
    assert "unchanged" in window.warnings[-1]
    run(qtbot, window, "continue", "failed")
    assert str(empty / "continuer.pt") in window.warnings[-1]
    assert snapshot(window) == before
    assert window.roll.ghost_notes == [] and not window.generation.variations


def test_a_crash_in_the_worker_is_a_message(window, qtbot):
    def broken(job, progress, cancel):
        raise RuntimeError("boom")

    window.generation.runner = broken
    load(window, melody(2))
    before = snapshot(window)
    select(window, lambda n: True)
    run(qtbot, window, "reharmonize", "failed")
    assert "RuntimeError: boom" in window.warnings[-1]
    assert snapshot(window) == before


# -- Reharmonize ----------------------------------------------------------------------


@needs_harmonizer
def test_reharmonize_accept_adds_three_voices_and_one_undo_removes_them(window, qtbot):
    load(window, melody(8))
    before = snapshot(window)
    soprano = sorted(window.doc.notes.values(), key=lambda n: n.start)
    select(window, lambda n: True)
    run(qtbot, window, "reharmonize")
    gen = window.generation
    assert len(gen.variations) == 2
    ghosts = list(window.roll.ghost_notes)
    assert ghosts and {n.track for n in ghosts} == {1, 2, 3}
    assert snapshot(window) == before  # shown, not applied
    window.act_variation_next.trigger()
    assert gen.index == 1
    window.act_variation_audition.trigger()
    score, start = window.played[-1]
    assert start == 0 and len(score.tracks) == 4
    window.act_variation_accept.trigger()

    base = window.doc.base
    assert [t.name for t in base.tracks] == ["Melody", "Alto", "Tenor", "Bass"]
    assert len({t.channel for t in base.tracks}) == 4
    after = window.doc.score()
    assert after.track_notes(0) == soprano  # the melody note for note
    for track in (1, 2, 3):
        voice = after.track_notes(track)
        assert voice and all(0 <= n.start < 8 * BAR for n in voice)
    assert window.roll.ghost_notes == [] and not gen.variations
    assert window.doc.undo_stack.count() == before[2] + 1
    window.doc.undo_stack.undo()
    assert snapshot(window)[:2] == before[:2]
    window.doc.undo_stack.redo()
    assert len(window.doc.base.tracks) == 4


@needs_harmonizer
def test_locked_notes_survive_reharmonization(window, qtbot):
    load(window, melody(4))
    select(window, lambda n: True)
    run(qtbot, window, "reharmonize")
    window.generation.accept()
    # Lock two alto notes and a bass note inside the span, then reharmonize bars 1-4.
    doc = window.doc
    alto = sorted((i for i, n in doc.notes.items() if n.track == 1),
                  key=lambda i: doc.notes[i].start)
    bass = sorted((i for i, n in doc.notes.items() if n.track == 3),
                  key=lambda i: doc.notes[i].start)
    window.roll.set_selection({alto[1], alto[3], bass[2]})
    window.roll.toggle_lock()
    locked = sorted((n for n in doc.notes.values() if n.locked), key=lambda n: n.start)
    assert len(locked) == 3
    window.generation.panel.seed.setValue(99)
    select(window, lambda n: n.track == 0)
    run(qtbot, window, "reharmonize")
    job = window.generation._job
    assert set(job.params["locked"]) == set(locked)  # handed to the model
    ghosts = window.roll.ghost_notes
    assert not any((g.pitch, g.start, g.track) == (n.pitch, n.start, n.track)
                   for g in ghosts for n in locked)  # never proposed twice
    window.generation.accept()
    after = window.doc.score().notes
    for n in locked:
        assert n in after  # still there, still locked
    # No locked note ends up doubled by a generated one in its voice.
    for n in locked:
        assert not any(m is not n and m.track == n.track and m.start == n.start and
                       m.pitch == n.pitch and not m.locked for m in after)


@needs_harmonizer
def test_cancel_stops_the_worker_and_leaves_the_score(window, qtbot):
    load(window, melody(8))
    window.generation.panel.variations.setValue(8)
    before = snapshot(window)
    select(window, lambda n: True)
    gen = window.generation
    with qtbot.waitSignal(gen.jobEnded, timeout=WAIT_MS) as blocker:
        with qtbot.waitSignal(gen.controller.progress, timeout=WAIT_MS):
            window.act_reharmonize.trigger()
        assert gen.cancel_button.isVisible() and window.act_generation_cancel.isEnabled()
        gen.cancel_button.click()
    assert blocker.args == ["cancelled"]
    assert not gen.busy and not gen.cancel_button.isVisible()
    assert snapshot(window) == before
    assert window.roll.ghost_notes == []


@needs_harmonizer
def test_second_request_while_running_is_refused(window, qtbot):
    load(window, melody(8))
    select(window, lambda n: True)
    gen = window.generation
    with qtbot.waitSignal(gen.jobEnded, timeout=WAIT_MS):
        window.act_reharmonize.trigger()
        assert gen.busy
        assert not gen.reharmonize()
        assert "already running" in window.statusBar().currentMessage()
        gen.cancel()


@needs_harmonizer
def test_variation_can_be_dragged_before_accepting(window, qtbot):
    from composer_app.music import read_midi
    from composer_app.ui.clip_drag import clip_mime

    load(window, melody(4))
    select(window, lambda n: True)
    run(qtbot, window, "reharmonize")
    score, name = window.generation.clip_source()
    assert name == "reharmonization 1"
    mime = clip_mime(score, name)
    back = read_midi(mime.urls()[0].toLocalFile())
    assert len(back.tracks_with_notes()) == 4
    assert len(back.notes) == len(window.roll.ghost_notes) + 16
    assert window.doc.undo_stack.count() == 0  # nothing accepted


# -- Continue -------------------------------------------------------------------------


@needs_continuer
def test_continue_adds_exactly_the_asked_bars_after_the_selection(window, qtbot):
    load(window, melody(8))
    window.generation.panel.bars.setValue(2)
    first_four = select(window, lambda n: n.start < 4 * BAR)
    later = sorted((n for n in window.doc.notes.values() if n.start >= 6 * BAR),
                   key=lambda n: n.start)
    run(qtbot, window, "continue")
    gen = window.generation
    prop = gen.proposal()
    assert prop.span == (4 * BAR, 6 * BAR)
    assert prop.add and all(4 * BAR <= n.start and n.end <= 6 * BAR for n in prop.add)
    assert any(n.start >= 5 * BAR for n in prop.add)  # the second bar is filled too
    ids = gen.accept()
    notes = window.doc.score().notes
    assert [n for n in notes if 4 * BAR <= n.start < 6 * BAR] == sorted(
        prop.add, key=lambda n: (n.start, n.track, n.pitch, n.duration))
    assert sorted((n for n in notes if n.start >= 6 * BAR), key=lambda n: n.start) == later
    assert window.roll.selection == first_four | set(ids)
    window.doc.undo_stack.undo()
    assert len([n for n in window.doc.notes.values() if 4 * BAR <= n.start < 6 * BAR]) == 8


@needs_continuer
def test_continue_without_selection_uses_the_notes_before_the_playhead(window, qtbot):
    load(window, melody(8))
    window.roll.set_playhead(2 * BAR)
    window.generation.panel.bars.setValue(1)
    run(qtbot, window, "continue")
    prop = window.generation.proposal()
    assert prop.span == (2 * BAR, 3 * BAR)
    assert window.played == []
    window.act_variation_audition.trigger()
    assert window.played[-1][1] == BAR  # from the bar before the continuation
    window.act_variation_discard.trigger()
    assert window.roll.ghost_notes == [] and window.doc.undo_stack.count() == 0


@needs_harmonizer
def test_selecting_a_chorale_span_reharmonizes_under_its_soprano(window, qtbot):
    load(window, melody(4))
    select(window, lambda n: True)
    run(qtbot, window, "reharmonize")
    window.generation.accept()
    window.doc.base.tracks[0].name = "Soprano"
    soprano = window.doc.score().track_notes(0)
    outside = sorted((n for n in window.doc.notes.values() if n.start >= 2 * BAR),
                     key=lambda n: (n.start, n.track, n.pitch))
    select(window, lambda n: n.start < 2 * BAR)  # all four voices of bars 1-2
    run(qtbot, window, "reharmonize")
    window.generation.accept()
    after = window.doc.score()
    assert [t.name for t in after.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert after.track_notes(0) == soprano
    assert sorted((n for n in after.notes if n.start >= 2 * BAR),
                  key=lambda n: (n.start, n.track, n.pitch)) == outside
    assert all(after.track_notes(t) for t in (1, 2, 3))


# -- the worker's own rules ---------------------------------------------------------------


def test_gpu_out_of_memory_is_retried_on_the_cpu(monkeypatch):
    torch = pytest.importorskip("torch")
    from composer_app.ml import device as ml_device
    from composer_app.ml import harmonizer
    from composer_app.ml.runtime import Runtime
    from composer_app.ui.workers import GenerationJob, run_job

    calls = []

    def fake_harmonize(score, runtime, **params):
        calls.append(runtime.device_type)
        if runtime.device_type != "cpu":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return [score]

    monkeypatch.setattr(ml_device, "choose_device", lambda requested, notify=None:
                        torch.device("cuda" if requested == "gpu" else "cpu"))
    monkeypatch.setattr(harmonizer, "harmonize", fake_harmonize)
    runtime = Runtime()
    job = GenerationJob("harmonize", melody(1), {"device": "gpu"})
    assert run_job(job, lambda p: None, lambda: False, runtime) == [job.score]
    assert calls == ["cuda", "cpu"]
    assert job.info["device"] == "cpu" and "out of memory" in job.info["device_note"]
    # the runtime stays on the CPU (no GPU copy kept) until the device preference changes
    assert runtime.device_type == "cpu" and runtime.loaded() == []
    runtime.configure(device="cpu")
    runtime.configure(device="gpu")
    assert runtime.device_type == "cuda"


def test_opening_the_window_imports_no_model_engraver_or_checker(tmp_path):
    """Start-up stays fast: torch, music21, Verovio, the engraver and the harmony
    checker load when first needed (on the worker and analysis threads)."""
    import os
    import subprocess
    import sys

    script = ("import sys, os\n"
              "from PySide6.QtCore import QSettings\n"
              "from PySide6.QtWidgets import QApplication\n"
              "app = QApplication([])\n"
              "from composer_app.ui.main_window import MainWindow\n"
              "from composer_app.ui.settings import Settings\n"
              "w = MainWindow(Settings(QSettings(sys.argv[1], QSettings.IniFormat)))\n"
              "w.show(); app.processEvents()\n"
              "heavy = ('torch', 'music21', 'verovio', 'composer_app.music.engrave',\n"
              "         'composer_app.music.harmony_check', 'PySide6.QtSvg')\n"
              "print(sorted(m for m in heavy if m in sys.modules))\n"
              "w.doc.undo_stack.setClean()\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", COMPOSER_APP_DATA=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "s.ini")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[0] == "[]"


def test_results_for_a_piece_no_longer_open_are_dropped(window, qtbot):
    def slow(job, progress, cancel):
        import time

        time.sleep(0.3)
        return [job.score]

    window.generation.runner = slow
    load(window, melody(2))
    select(window, lambda n: True)
    with qtbot.waitSignal(window.generation.jobEnded, timeout=WAIT_MS):
        window.act_reharmonize.trigger()
        load(window, melody(1))  # File > Open of another piece meanwhile
    assert not window.generation.variations and window.roll.ghost_notes == []
    assert "dropped" in window.statusBar().currentMessage()


def test_thread_preference_reaches_the_model_call(monkeypatch):
    torch = pytest.importorskip("torch")
    import os

    from composer_app.ml import harmonizer
    from composer_app.ml.runtime import Runtime, default_threads
    from composer_app.ui import workers

    seen = []

    def fake_harmonize(score, runtime, **p):
        runtime.apply_threads()  # as the real call does before CPU work
        seen.append(torch.get_num_threads())
        return [score]

    monkeypatch.setattr(harmonizer, "harmonize", fake_harmonize)
    before = dict(os.environ)
    runtime = Runtime("cpu")
    for threads in (3, 0):
        job = workers.GenerationJob("harmonize", melody(1), {"device": "cpu"}, threads=threads)
        workers.run_job(job, lambda p: None, lambda: False, runtime)
    assert seen == [3, default_threads()]
    assert dict(os.environ) == before  # no channel through the environment


def test_opening_another_piece_clears_the_variations_on_show(window, qtbot):
    load(window, melody(2))
    select(window, lambda n: True)
    with qtbot.waitSignal(window.generation.jobEnded, timeout=WAIT_MS):
        window.act_reharmonize.trigger()
    assert window.generation.variations and window.roll.ghost_notes
    load(window, melody(1))  # File > Open (or New) of another piece
    assert not window.generation.variations and not window.roll.ghost_notes
    before = dict(window.doc.notes)
    window.generation.accept()  # Ctrl+Enter now has nothing to put in the new piece
    assert window.doc.notes == before


def test_editing_while_listening_to_a_variation_keeps_the_variation_playing(window, qtbot):
    """Alt+P plays the piece with the variation; an edit meanwhile (say, muting the
    melody to hear the new voices) must go on playing the variation, not the bare piece."""
    from composer_app.audio.backends import RecordingOutput
    from composer_app.audio.transport import Transport
    from composer_app.ui.audio_link import AudioLink

    out = RecordingOutput()
    del window.audio.play  # the fixture's stand-in: use the real link to a real transport
    assert window.audio.play.__func__ is AudioLink.play
    window.audio.output = out
    window.audio.transport = Transport(out)
    load(window, melody(2))
    select(window, lambda n: True)
    run(qtbot, window, "reharmonize")
    window.generation.audition()
    assert window.audio.is_playing
    melody_pitches = {n.pitch for n in window.doc.notes.values()}
    from composer_app.ui import commands

    commands.edit_meta(window.doc, "Mute",
                       lambda meta: setattr(meta.tracks[0], "mute", True))
    qtbot.wait(400)  # the live update runs 120 ms after an edit
    heard = window.audio.transport.score
    assert heard is not None and len(heard.tracks) == 4  # soprano + the variation's voices
    assert {n.track for n in heard.notes} == {0, 1, 2, 3}
    assert {n.pitch for n in heard.notes if n.track == 0} <= melody_pitches
    window.generation.discard()  # back to the piece itself
    qtbot.wait(50)
    assert len(window.audio.transport.score.tracks) == len(window.doc.base.tracks)
    window.stop()
    window.audio.transport.close()


@needs_harmonizer
def test_the_key_shown_as_auto_is_the_key_the_harmonizer_uses(window, qtbot):
    """One owner of the key in force (Score.key_in_force): an E-major passage after C-major
    bars, no key signature. The panel said "Auto (E major)" while the harmonizer, guessing
    from the whole melody, used E minor."""
    c = [60, 64, 67, 72, 71, 67, 65, 64, 62, 65, 69, 67, 65, 64, 62, 60]
    e = [64, 68, 71, 76, 75, 71, 69, 68, 66, 69, 73, 71, 69, 68, 66, 64]
    load(window, Score(notes=[Note(p, i * 480, 480, 80, 0) for i, p in enumerate(c + e)],
                       tracks=[Track("Melody", 0, 0)]))
    select(window, lambda n: n.start >= 16 * 480)
    window.generation._update_detected_key()
    assert window.generation.panel.key.itemText(0) == "Auto (E major)"
    run(qtbot, window, "reharmonize")
    assert {v.key_signatures[0].key.long_name for v in window.generation.variations} == {"E major"}


@needs_continuer
def test_continue_leaves_locked_notes_of_its_voice_alone(window, qtbot):
    """Locked notes in the bars Continue writes keep their time to themselves: the new
    notes stop before them and none starts under them, so the melody stays one line
    (it used to turn chordal, and Reharmonize then refused it)."""
    from composer_app.ui import proposals

    load(window, melody(8))
    locked = {i for i, n in window.doc.notes.items() if 4 * BAR + 720 <= n.start < 5 * BAR + 960}
    window.roll.set_selection(locked)
    window.roll.toggle_lock()
    locked_notes = sorted((window.doc.notes[i] for i in locked), key=lambda n: n.start)
    window.generation.panel.bars.setValue(2)
    select(window, lambda n: n.start < 4 * BAR)
    run(qtbot, window, "continue")
    gen = window.generation
    for index in range(len(gen.variations)):
        gen.select(index)
        prop = gen.proposal()
        assert prop.add
        for n in prop.add:
            assert all(n.end <= k.start or n.start >= k.end for k in locked_notes), (n, locked_notes)
    gen.accept()
    voice = sorted((n for n in window.doc.notes.values() if n.track == 0), key=lambda n: n.start)
    assert [n for n in voice if n.locked] == locked_notes
    for a, b in zip(voice, voice[1:]):
        assert b.start >= a.end, (a, b)
    span = select(window, lambda n: 4 * BAR <= n.start < 6 * BAR)
    proposals.melody_of_selection(window.doc, span)  # one line: no "chordal" refusal


# -- reading variations ---------------------------------------------------------------


def _strike_pixels(window, note) -> int:
    from composer_app.ui.piano_roll import REPLACED_STRIKE

    roll = window.roll
    image = roll.viewport().grab().toImage()
    ratio = image.devicePixelRatio()
    r = roll.note_rect(note)
    y = int(r.center().y() * ratio)
    hits = 0
    for x in range(int(max(r.left(), 0) * ratio) + 2, int(min(r.right(), roll.viewport().width())
                                                             * ratio) - 2):
        c = image.pixelColor(x, y)
        hit = abs(c.red() - REPLACED_STRIKE.red()) < 25 and c.green() < 45 and c.blue() < 45
        hits += hit
    return hits


@needs_harmonizer
def test_notes_a_variation_replaces_are_struck_through(window, qtbot):
    load(window, melody(2))
    select(window, lambda n: True)
    run(qtbot, window, "reharmonize")
    window.generation.accept()
    select(window, lambda n: n.track == 0)
    window.generation.panel.seed.setValue(8)  # (seed 7 again would write the same notes)
    run(qtbot, window, "reharmonize")
    prop = window.generation.proposal()
    again = {(n.track, n.pitch, n.start, n.duration) for n in prop.add}
    going = {i for i in prop.remove_ids if (window.doc.notes[i].track, window.doc.notes[i].pitch,
                                            window.doc.notes[i].start,
                                            window.doc.notes[i].duration) not in again}
    assert going  # (a note written again exactly stays: not struck)
    assert window.roll.replaced_ids == going
    window.roll.show_pitches([window.doc.notes[i].pitch for i in going])
    visible = [window.doc.notes[i] for i in going
               if 0 <= window.roll.note_rect(window.doc.notes[i]).top()
               and window.roll.note_rect(window.doc.notes[i]).bottom()
               < window.roll.viewport().height()
               and window.roll.note_rect(window.doc.notes[i]).right()
               < window.roll.viewport().width()]
    assert visible
    assert all(_strike_pixels(window, n) > 5 for n in visible)
    text = window.generation.panel.variation_label.text()
    assert f"{len(going)}&nbsp;replaced" in text  # the count stays with its word
    window.roll.set_selection(set())  # (a selected note's dark red fill looks struck)
    gone = [window.doc.notes[i] for i in prop.remove_ids]
    keep = [n for i, n in window.doc.notes.items() if i not in prop.remove_ids and n.track == 0
            and not any(g.pitch == n.pitch and g.start < n.end and n.start < g.end for g in gone)]
    assert keep
    assert all(_strike_pixels(window, n) == 0 for n in keep[:4])
    window.generation.discard()
    assert window.roll.replaced_ids == set()
    assert all(_strike_pixels(window, n) == 0 for n in visible)


@needs_harmonizer
def test_undoing_an_accept_brings_the_variations_back(window, qtbot):
    load(window, melody(4))
    before = snapshot(window)
    select(window, lambda n: True)
    run(qtbot, window, "reharmonize")
    gen = window.generation
    window.act_variation_next.trigger()
    second = gen.proposal().add
    window.act_variation_accept.trigger()
    assert not gen.variations
    window.doc.undo_stack.undo()
    assert snapshot(window)[:2] == before[:2]
    assert len(gen.variations) == 2 and gen.index == 1  # at the one that was accepted
    assert window.roll.ghost_notes == second
    assert window.act_variation_accept.isEnabled()
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    assert "Accept undone" in window.statusBar().currentMessage()
    # Ctrl+Shift+Z, the key a musician presses: accepted again, the variations go again
    QTest.keyClick(window.roll, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert not gen.variations and window.roll.ghost_notes == []
    # and the status bar no longer says the accept is undone
    assert "Accept undone" not in window.statusBar().currentMessage()
    assert "variation 2" in window.statusBar().currentMessage()
    window.doc.undo_stack.undo()
    window.act_variation_previous.trigger()  # try the other one without generating again
    first = gen.proposal().add
    window.act_variation_accept.trigger()
    lower = sorted((n for n in window.doc.score().notes if n.track > 0),
                   key=lambda n: (n.start, n.track, n.pitch))
    assert lower == sorted(first, key=lambda n: (n.start, n.track, n.pitch))
    assert window.doc.undo_stack.count() == before[2] + 1  # the redo branch is gone


@needs_continuer
def test_continuation_ghosts_are_scrolled_into_view(window, qtbot):
    load(window, melody(8))
    roll = window.roll
    roll.set_zoom(px_per_tick=0.3)
    roll.horizontalScrollBar().setValue(0)
    window.generation.panel.bars.setValue(2)
    select(window, lambda n: n.start < 4 * BAR)
    run(qtbot, window, "continue")
    ghosts = roll.ghost_notes
    t0, t1 = roll.visible_ticks()
    first = min(n.start for n in ghosts)
    assert t0 <= first < t1, (t0, t1, first)


def test_continue_length_takes_what_the_readme_says(window, qtbot):
    """README: 1-64 bars; the box stopped at 32, so typing 64 gave 6."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    box = window.generation.panel.bars
    box.selectAll()
    QTest.keyClicks(box, "64")
    QTest.keyClick(box, Qt.Key_Return)
    assert box.value() == 64
    assert box.minimum() == 1


def test_the_style_combo_is_saved_and_defaults_to_folk(window, make_window):
    combo = window.generation.panel.style
    assert [combo.itemData(i) for i in range(combo.count())] == ["folk", "chorale"]
    assert combo.currentText() == "Folk"  # a fresh settings file
    combo.setCurrentIndex(combo.findData("chorale"))
    assert window.settings.get("generation/style") == "chorale"
    window.settings.sync()
    again = make_window()  # the same settings file: the next start
    try:
        assert again.generation.panel.style.currentText() == "Chorale"
    finally:
        again.generation.shutdown()


@needs_continuer
def test_the_style_combo_reaches_the_model(window, qtbot):
    from composer_app.ml import continue_melody
    from composer_app.ml.runtime import Runtime
    from composer_app.ui import proposals

    load(window, melody(4))
    window.generation.panel.bars.setValue(2)
    combo = window.generation.panel.style
    shown = {}
    for style in ("chorale", "folk"):
        combo.setCurrentIndex(combo.findData(style))
        run(qtbot, window, "continue")
        shown[style] = sorted((n.pitch, n.start, n.duration)
                              for n in window.generation.proposal(0).add)
        window.act_variation_discard.trigger()
    req = proposals.continue_request(window.doc, set(), window.roll.playhead, bars=2,
                                     variations=2, seed=7, device="cpu", style="chorale")
    params = {k: v for k, v in req.params.items() if k != "device"}
    expected = continue_melody(req.score, runtime=Runtime("cpu"), **params)[0]
    assert shown["chorale"] == sorted((n.pitch, n.start, n.duration) for n in expected.notes
                                      if n.start >= req.score.end_tick)
    assert shown["chorale"] != shown["folk"]


@needs_harmonizer
def test_on_a_small_screen_the_melody_stays_in_view_over_its_new_voices(window, qtbot):
    """1280×720: the four voices of a reharmonization span more rows than the roll shows.
    The view brought to them keeps the voice being edited (the melody) in sight rather
    than centring the range and cutting the melody off at the top."""
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.roll.viewport().height() < 400)
    load(window, melody(8))
    roll = window.roll
    select(window, lambda n: True)
    run(qtbot, window, "reharmonize")
    height = roll.viewport().height()
    ghosts = roll.ghost_notes
    pitches = [n.pitch for n in ghosts] + [n.pitch for n in window.doc.notes.values()]
    assert (max(pitches) - min(pitches) + 1) * roll.key_h > height  # the case in question
    for n in window.doc.notes.values():  # every melody row is in view
        assert 0 <= roll.y_of(n.pitch) and roll.y_of(n.pitch) + roll.key_h <= height, n.pitch
    # and the new voices are shown under it, as far as they fit
    assert any(0 <= roll.y_of(n.pitch) < height for n in ghosts if n.track == 1)
