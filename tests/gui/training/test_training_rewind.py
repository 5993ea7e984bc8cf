"""The Training tab after a Resume from an earlier checkpoint: the step, the progress and the
curves go back to that checkpoint's at once, then follow the new events (the core's views:
tests/core/train/test_train_resume_rewinds.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mmla_core.store import jobs, open_store
from mmla_core.train import control
from tests.support.train_jobs_helpers import project, toy_config, wait_for, wait_for_events

pytestmark = pytest.mark.gui
WAIT = 15_000
__all__ = ["project"]   # a fixture, used by name


def _stop_after(db, job_id: int, count: int) -> int:
    """Let the fake run (one step per 50 ms) log `count` events, stop it; its last step."""
    wait_for_events(db, job_id, count)
    with open_store(db) as store:
        control.request_stop(store, job_id)
    wait_for(db, job_id)
    return max(c["step"] for c in control.checkpoints(wait_for(db, job_id)))


def _loss_steps(panel) -> list[int]:
    return [int(x) for x in panel.curves.points["loss"].arrays()[0]]


def test_resume_from_an_earlier_checkpoint_rewinds_the_monitor(qtbot, make_window, project,
                                                               monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    job_id = control.launch(project, toy_config())
    early = _stop_after(project, job_id, 3)
    control.resume(project, job_id)
    late = _stop_after(project, job_id, early + 4)
    with open_store(project) as store:   # as the trainer records its best adapter's dev score
        jobs.update_job(store, job_id, best_step=late, best_eval_accuracy=0.9)
    window = make_window(project)
    window.side_tabs.setCurrentWidget(window.training)
    panel = window.training
    qtbot.waitUntil(lambda: panel.progress.step == late and panel.resume_button.isEnabled()
                    and panel.checkpoint_combo.findText(f"checkpoint-{early}") > 0,
                    timeout=WAIT)
    assert _loss_steps(panel) == list(range(1, late + 1))

    gate = tmp_path / "go"
    monkeypatch.setenv("FAKE_TRAINER_HOLD", str(gate))  # its first new step waits for the test
    panel.checkpoint_combo.setCurrentIndex(panel.checkpoint_combo.findText(
        f"checkpoint-{early}"))
    qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.progress.step == early
                    and _loss_steps(panel) == list(range(1, early + 1)), timeout=WAIT)
    assert panel.progress_label.text().startswith(f"step {early}")
    assert panel.progress.loss == pytest.approx(1.0 / early)  # the fake's loss at that step
    # the best adapter (from step `late`) is kept: the list and the monitor say its accuracy
    qtbot.waitUntil(lambda: "best dev 90.0%" in panel.throughput.text(), timeout=WAIT)
    assert panel.jobs_table.item(0, 4).text() == "90.0%"

    gate.write_text("go\n")
    qtbot.waitUntil(lambda: panel.progress.step >= early + 3, timeout=WAIT)
    steps = _loss_steps(panel)
    assert steps == list(range(1, len(steps) + 1))  # no point left from the dropped steps
    with open_store(project) as store:
        control.request_stop(store, job_id)
    qtbot.waitUntil(lambda: panel.resume_button.isEnabled(), timeout=WAIT)
