"""Faults: SIGKILL during editing and autosave never leaves a corrupt recovery.

A child process edits a piece (one note per edit, through the undo commands) and
autosaves after every edit, printing how many edits it made before each save. We kill
it at random moments, many times, and check that the autosave it left is readable and
holds at least every edit before the last one (at most one autosave interval lost).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("PySide6")

KILLS = int(os.environ.get("COMPOSER_APP_FAULT_KILLS", "50"))

CHILD = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QCoreApplication
    from composer_app.music import Note, Score, Track
    from composer_app.ui import commands
    from composer_app.ui.autosave import Autosaver
    from composer_app.ui.document import Document

    app = QCoreApplication([])
    # A piece with some body, so each autosave takes a moment to write.
    start = Score(notes=[Note(48 + i % 24, i * 120, 120, 80, i % 4) for i in range(3000)],
                  tracks=[Track(f"V{i}", i, 0) for i in range(4)])
    doc = Document(start)
    saver = Autosaver(doc, interval_s=3600)  # the timer never fires; saves are explicit
    edits = 0
    while True:
        commands.insert_notes(doc, [Note(60 + edits % 12, 400_000 + edits * 240, 240)], "edit")
        edits += 1
        print(edits, flush=True)
        saver.save_now()
""")


@pytest.mark.slow
def test_sigkill_during_edit_and_autosave_never_corrupts(tmp_path):
    from composer_app.ui.autosave import find_recoverable, load_recoverable

    env = dict(os.environ, COMPOSER_APP_DATA=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    rng = random.Random(7)
    corrupt, checked = [], 0
    for round_ in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-c", CHILD], env=env,
                                stdout=subprocess.PIPE, text=True)
        first = proc.stdout.readline()  # the child is editing now
        assert first.strip() == "1", first
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        rest = proc.stdout.read()
        proc.wait()
        printed = [int(x) for x in (first + rest).split()]
        edits_done = printed[-1]
        found = find_recoverable(tmp_path / "autosave")
        assert len(found) <= 1
        if not found:
            # Killed before the first autosave finished: only the first edit was at risk.
            assert edits_done <= 2, f"round {round_}: {edits_done} edits and no autosave"
            continue
        try:
            score = load_recoverable(found[0])
        except Exception as exc:  # noqa: BLE001 - any failure here is corruption
            corrupt.append(f"round {round_}: {exc}")
        else:
            recovered_edits = len(score.notes) - 3000
            # The edit being saved when the kill came may be missing; nothing older.
            assert edits_done - 1 <= recovered_edits <= edits_done, (round_, recovered_edits, edits_done)
            checked += 1
        found[0].discard()
    # A kill mid-write leaves a temp file, never read as a save; the next start clears it.
    assert list((tmp_path / "autosave").glob(".*.tmp")) == []
    assert corrupt == []
    assert checked >= KILLS // 2
