"""The Probe tab when the model worker dies under its probe: the tab says what happened and
what a rerun does, the probe's run is failed in the database (none left running), and Run
probe again probes the clip in a fresh worker."""

import pytest
from PySide6.QtCore import Qt

from mmla_core.store.db import open_store

pytestmark = pytest.mark.gui


def _runs(db_path) -> dict[int, dict]:
    with open_store(db_path) as store:
        return {r["id"]: r for r in store.query("SELECT id, kind, status, error FROM runs")}


def test_worker_dying_under_a_probe_is_said_and_its_run_failed(qtbot, demo_with_fake_model,
                                                              project_of, monkeypatch):
    from mmla_app.probe.probe_panel import ProbePanel

    panel = ProbePanel(project_of(demo_with_fake_model))
    qtbot.addWidget(panel)
    panel.set_clip(1)
    qtbot.waitUntil(lambda: panel.model_combo.count() == 1 and panel.task_combo.count() == 2,
                    timeout=10_000)
    panel.task_combo.setCurrentIndex(panel.task_combo.findData("MELD"))
    for key in ("visual_focused", "audio_focused"):  # the fake engine answers one by one
        panel.prompt_boxes[key].setChecked(False)
    monkeypatch.setenv("FAKE_ENGINE_EXIT_AFTER", "2")  # the worker dies at the third cell
    try:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.run_button.isEnabled(), timeout=60_000)
        said = panel.status.text()
        assert said.startswith("Probe failed: the model worker exited unexpectedly"), said
        assert "is marked failed" in said and "probe the clip again" in said
        # two writers fail the run: the client (with the exit code, from a thread) and the
        # tab's orphan sweep (its choices reload after the crash; "the process ... is gone"),
        # in either order; the client's cause replaces the sweep's guess: wait for that
        qtbot.waitUntil(lambda: any(r["status"] == "failed" and "exit code" in (r["error"] or "")
                                    for r in _runs(demo_with_fake_model).values()),
                        timeout=10_000)
        (failed,) = _runs(demo_with_fake_model).values()
        assert failed["kind"] == "probe" and f"probe run {failed['id']}" in said
        assert "exit code 1" in failed["error"]
        qtbot.waitUntil(lambda: panel.past_combo.findData(failed["id"]) >= 0, timeout=10_000)
        monkeypatch.delenv("FAKE_ENGINE_EXIT_AFTER")
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)  # a fresh worker
        qtbot.waitUntil(lambda: panel.result is not None, timeout=60_000)
        assert len(panel.result.cells) == 6 and panel.result.run_id != failed["id"]
        statuses = {r["id"]: r["status"] for r in _runs(demo_with_fake_model).values()}
        assert statuses == {failed["id"]: "failed", panel.result.run_id: "done"}
    finally:
        panel.shutdown()


def test_stop_now_kills_a_stuck_probe_and_fails_its_run(qtbot, demo_with_fake_model,
                                                        project_of, monkeypatch, tmp_path):
    """Cancel waits for the row; Stop now, for a row that never ends, kills the worker after
    the grace period (nothing else uses it: no question) and the run is failed."""
    from mmla_app.probe.probe_panel import ProbePanel
    from mmla_app.runtime import model_jobs

    monkeypatch.setattr(model_jobs, "STOP_GRACE_S", 0.3)
    panel = ProbePanel(project_of(demo_with_fake_model))
    qtbot.addWidget(panel)
    panel.set_clip(1)
    qtbot.waitUntil(lambda: panel.model_combo.count() == 1 and panel.task_combo.count() == 2,
                    timeout=10_000)
    panel.prompt_boxes["visual_focused"].setChecked(False)
    panel.prompt_boxes["audio_focused"].setChecked(False)
    monkeypatch.setenv("FAKE_ENGINE_DELAY", "60")  # every row is stuck
    busy = tmp_path / "busy"
    monkeypatch.setenv("FAKE_ENGINE_BUSY_FILE", str(busy))
    try:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.run_id is not None and busy.exists(), timeout=30_000)
        run_id, pid = panel.run_id, panel.jobs.pid
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        assert panel.cancel_button.text() == "Stop now" and "current row" in panel.status.text()
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        assert panel.status.text().startswith("Stopping: waiting up to 0.3 s")
        qtbot.waitUntil(lambda: "was killed" in panel.status.text(), timeout=10_000)
        said = panel.status.text()
        assert said.startswith("Probe stopped: the model worker was killed.") and (
            f"Probe run {run_id} is marked failed (" in said and "Run probe again" in said), said
        assert panel.run_button.isEnabled() and panel.cancel_button.text() == "Cancel"
        assert panel.jobs.pid is None and pid is not None
        qtbot.waitUntil(lambda: _runs(demo_with_fake_model)[run_id]["status"] == "failed",
                        timeout=10_000)
        assert "stopped while it ran" in _runs(demo_with_fake_model)[run_id]["error"]
    finally:
        panel.shutdown()


def test_stop_now_asks_before_killing_another_windows_job(qtbot, demo_with_fake_model,
                                                          project_of, monkeypatch, tmp_path):
    """Another job waits on the shared worker: Stop now asks; No keeps the worker (the probe
    still ends after its row), Yes kills it and the other job is told who stopped it."""
    from PySide6.QtWidgets import QMessageBox

    from mmla_app.probe.probe_panel import ProbePanel
    from mmla_app.runtime import model_jobs

    monkeypatch.setattr(model_jobs, "STOP_GRACE_S", 0.2)
    panel = ProbePanel(project_of(demo_with_fake_model))
    qtbot.addWidget(panel)
    panel.set_clip(1)
    qtbot.waitUntil(lambda: panel.model_combo.count() == 1, timeout=10_000)
    panel.prompt_boxes["visual_focused"].setChecked(False)
    panel.prompt_boxes["audio_focused"].setChecked(False)
    busy = tmp_path / "busy"
    monkeypatch.setenv("FAKE_ENGINE_DELAY", "60")
    monkeypatch.setenv("FAKE_ENGINE_BUSY_FILE", str(busy))
    told = []
    try:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.run_id is not None and busy.exists(), timeout=30_000)
        panel.jobs.submit("model_checks", [2], model=panel.model_combo.currentData(),
                          on_event=told.append, what="the checks window's answers")
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        for answer in (QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes):
            qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)  # Stop now
            qtbot.waitUntil(lambda: panel.stopper.box is not None
                            and panel.stopper.box.isVisible(), timeout=10_000)
            assert "the checks window's answers (waiting its turn)" in panel.stopper.box.text()
            panel.stopper.box.button(answer).click()
            if answer == QMessageBox.StandardButton.No:
                assert panel.status.text().startswith("Cancelled, not stopped yet: the other")
                assert panel.cancel_button.isEnabled() and panel.job is not None
        qtbot.waitUntil(lambda: "was killed" in panel.status.text(), timeout=10_000)
        assert told and told[-1]["type"] == "crashed"
        assert told[-1]["stopped_by"] == "the Probe tab's probe of clip 1"
        assert "was waiting for it" in told[-1]["message"]
        qtbot.waitUntil(lambda: {r["status"] for r in _runs(demo_with_fake_model).values()}
                        == {"failed"}, timeout=10_000)
    finally:
        panel.shutdown()
