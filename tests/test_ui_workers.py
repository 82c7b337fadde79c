"""The model worker thread: one job at a time, cancel between sweeps, errors reported."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("PySide6")

from composer_app.music import Note, Score, UserError  # noqa: E402
from composer_app.ui.workers import GenerationController, GenerationJob  # noqa: E402


def sweeping_runner(job, progress, cancel):
    """Stands in for a sampler: ten sweeps, checks cancel between them."""
    for sweep in range(10):
        if cancel():
            raise RuntimeError("Cancelled")
        time.sleep(job.params.get("sweep_s", 0.01))
        progress((sweep + 1) * 10)
    if job.params.get("fail"):
        raise UserError("no model file: models/harmonizer.pt")
    out = job.score.copy()
    out.notes.append(Note(72, 0, 480, track=0))
    return [out]


@pytest.fixture
def controller(qtbot):
    ctl = GenerationController(runner=sweeping_runner)
    yield ctl
    ctl.shutdown()


def test_job_runs_off_the_gui_thread_and_reports(controller, qtbot):
    seen_progress = []
    controller.progress.connect(seen_progress.append)
    job = GenerationJob("harmonize", Score(notes=[Note(60, 0, 480)]))
    with qtbot.waitSignal(controller.finished, timeout=5000) as blocker:
        assert controller.submit(job)
    done_job, results = blocker.args
    assert done_job is job
    assert [n.pitch for n in results[0].notes] == [60, 72]
    assert job.score.notes == [Note(60, 0, 480)]  # the input is untouched
    assert seen_progress[-1] == 100
    assert not controller.busy


def test_second_request_is_refused_while_busy(controller, qtbot):
    slow = GenerationJob("harmonize", Score(), {"sweep_s": 0.05})
    with qtbot.waitSignal(controller.finished, timeout=5000):
        assert controller.submit(slow)
        assert controller.busy
        assert not controller.submit(GenerationJob("continue", Score()))


def test_cancel_stops_between_sweeps(controller, qtbot):
    job = GenerationJob("harmonize", Score(), {"sweep_s": 0.05})
    with qtbot.waitSignal(controller.cancelled, timeout=5000):
        controller.submit(job)
        qtbot.wait(80)
        controller.cancel()
    assert not controller.busy


def test_failure_is_reported_as_a_message(controller, qtbot):
    with qtbot.waitSignal(controller.failed, timeout=5000) as blocker:
        controller.submit(GenerationJob("harmonize", Score(), {"fail": True}))
    assert "models/harmonizer.pt" in blocker.args[1]


def test_warm_up_loads_the_real_models_on_the_worker_thread(qtbot):
    from composer_app.paths import models_dir

    if not (models_dir() / "harmonizer.pt").exists():
        pytest.skip("shipped models missing from models/")
    ctl = GenerationController()  # the real runner
    try:
        with qtbot.waitSignal(ctl.warmed, timeout=60000) as blocker:
            ctl.warm_up("cpu")
        assert blocker.args == ["cpu"]
        assert ctl.runtime.loaded() == ["continuer", "harmonizer"]  # a request finds them
    finally:
        ctl.shutdown()


def test_closing_while_a_long_uncancellable_call_runs_does_not_abort(qtbot):
    """torch's import cannot be cancelled; closing meanwhile must not destroy the running
    thread (Qt aborts the whole process for that)."""
    import gc

    from composer_app.ui import workers

    def stubborn(job, progress, cancel):
        time.sleep(0.8)  # ignores cancel, as an import does
        return [job.score]

    ctl = GenerationController(runner=stubborn)
    ctl.submit(GenerationJob("harmonize", Score()))
    qtbot.wait(50)
    ctl.shutdown(wait_ms=50)
    assert len(workers._STILL_RUNNING) == 1
    del ctl
    gc.collect()  # the controller goes; its thread must live on
    qtbot.wait(10)
    assert workers.wait_for_workers(5000)
    assert workers._STILL_RUNNING == []
