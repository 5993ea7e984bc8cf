"""Stop now in the Evaluate window while the Probe tab has a probe on the same model worker
(one per project): the evaluation's own request is cancelled first, and the worker, with the
probe in it, is killed only when the evaluation does not stop within the grace period, after
asking. The fake engine runs in a real worker process (`fake_engines`); FAKE_ENGINE_DELAY makes
each predicted clip slow."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from mmla_app.evaluate.evaluate_dialog import EvaluateDialog
from mmla_app.probe.probe_panel import ProbePanel
from mmla_app.runtime import model_jobs
from mmla_core.store.db import open_store

pytestmark = pytest.mark.gui
WAIT = 30_000


@pytest.fixture
def probe_and_evaluate(qtbot, demo_with_fake_model, project_of):
    """The Probe tab on clip 1 (one question, two rows: the fake engine scores prompts one by
    one) and the Evaluate window, on one project."""
    panel = ProbePanel(project_of(demo_with_fake_model))
    qtbot.addWidget(panel)
    panel.set_clip(1)
    dialog = EvaluateDialog(panel.project)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: panel.task_combo.count() > 0 and dialog.form.valid, timeout=WAIT)
    panel.task_combo.setCurrentIndex(panel.task_combo.findData("MELD"))
    for key, box in panel.options.prompt_boxes.items():
        box.setChecked(key == "visual_focused")
    for key, box in panel.options.scenario_boxes.items():
        box.setChecked(key in ("aligned", "frames_zeroed"))
    yield panel, dialog
    panel.shutdown()
    dialog.done(0)


def _start_both(qtbot, panel, dialog) -> int:
    """The evaluation first (one clip a batch), the probe queued behind it; the worker's pid."""
    request = {**dialog.form.eval_request(), "task": "MELD", "split": "test", "batch_size": 1}
    dialog.run_request(request)
    qtbot.waitUntil(lambda: dialog.run_id is not None, timeout=WAIT)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert panel.jobs is dialog.jobs and dialog.jobs.pid is not None
    return dialog.jobs.pid


def _run_status(db_path, run_id) -> str:
    with open_store(db_path) as store:
        return store.scalar("SELECT status FROM runs WHERE id = ?", (run_id,))


def test_stop_now_cancels_the_evaluation_and_the_probe_finishes(
        qtbot, probe_and_evaluate, demo_with_fake_model, monkeypatch):
    monkeypatch.setenv("FAKE_ENGINE_DELAY", "0.5")
    panel, dialog = probe_and_evaluate
    pid = _start_both(qtbot, panel, dialog)
    run_id = dialog.run_id
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)  # Stop now
    assert "waiting up to 5 s" in dialog.status.text()
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT)
    assert f"Run {run_id} cancelled" in dialog.status.text()
    assert "Resume finishes the run" in dialog.status.text()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=WAIT)
    assert len(panel.result.cells) == 2 and panel.result.status == "done"
    assert panel.status.text() == "2 of 2 cells"  # shown, not stopped
    assert dialog.jobs.pid == pid and dialog.jobs.client.alive  # the same worker, never killed
    assert _run_status(demo_with_fake_model, run_id) == "cancelled"
    assert dialog.kill_box is None


def test_a_stuck_evaluation_is_killed_only_after_asking_and_the_probe_is_told(
        qtbot, probe_and_evaluate, demo_with_fake_model, monkeypatch):
    monkeypatch.setenv("FAKE_ENGINE_DELAY", "4")  # one clip outlasts the grace period
    monkeypatch.setattr(model_jobs, "STOP_GRACE_S", 0.2)
    panel, dialog = probe_and_evaluate
    pid = _start_both(qtbot, panel, dialog)
    run_id = dialog.run_id
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)  # Stop now
    qtbot.waitUntil(lambda: dialog.kill_box is not None and dialog.kill_box.isVisible(),
                    timeout=WAIT)
    assert "the Probe tab's probe of clip 1 (waiting its turn)" in dialog.kill_box.text()
    dialog.kill_box.button(QMessageBox.StandardButton.No).click()
    assert "Cancelled, not stopped yet" in dialog.status.text()
    assert dialog.running and dialog.jobs.pid == pid and dialog.cancel_button.isEnabled()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)  # Stop now, again
    qtbot.waitUntil(lambda: dialog.kill_box is not None and dialog.kill_box.isVisible(),
                    timeout=WAIT)
    dialog.kill_box.button(QMessageBox.StandardButton.Yes).click()
    assert not dialog.running and "the model worker was killed" in dialog.status.text()
    said = panel.status.text()
    assert said.startswith("Probe stopped: the Evaluate window's evaluation "
                           f"(run {run_id}) did not stop within 0.2 s of Stop now")
    assert "the Probe tab's probe of clip 1 was waiting for it" in said
    assert "ended with it. Nothing of it was written: probe the clip again" in said
    assert "Run probe again" in said and panel.run_button.isEnabled()
    qtbot.waitUntil(lambda: _run_status(demo_with_fake_model, run_id) == "failed",
                    timeout=WAIT)  # resumable from its last batch
