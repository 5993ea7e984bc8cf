"""Stop now in the probe-set and model-checks dialogs (the Probe tab's and the Evaluate window's
semantics, `widgets.stop_button.StopButton`): Cancel waits for the current row or clip; Stop now,
for one that never ends, kills the shared model worker after the grace period, at once when
nothing else uses it and after asking otherwise. The killed job's run is failed with its reason
and what it wrote before stays. The fake engine runs in a real worker process; the second clip
of the set is stuck (FAKE_ENGINE_SLOW_CLIPS), the first ends at once."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from mmla_app.runtime import model_jobs
from mmla_core.demo import DEMO_NAME
from mmla_core.probe.sets import set_clips
from mmla_core.store.db import open_store

pytestmark = pytest.mark.gui
WAIT = 30_000


@pytest.fixture
def stuck_on_second_clip(demo_with_fake_model, monkeypatch, tmp_path):
    """The demo's clips; predicting the second takes a minute. Returns (clips, busy file: it
    exists once the stuck prediction started)."""
    monkeypatch.setattr(model_jobs, "STOP_GRACE_S", 0.2)
    with open_store(demo_with_fake_model) as store:
        clips = set_clips(store, dataset=DEMO_NAME)
    busy = tmp_path / "busy"
    monkeypatch.setenv("FAKE_ENGINE_DELAY", "60")
    monkeypatch.setenv("FAKE_ENGINE_SLOW_CLIPS", str(clips[1]))
    monkeypatch.setenv("FAKE_ENGINE_BUSY_FILE", str(busy))
    return clips, busy


def _runs(db_path) -> list[dict]:
    with open_store(db_path) as store:
        return store.query("SELECT r.id, r.kind, r.status, r.error, count(p.id) AS rows "
                           "FROM runs r LEFT JOIN predictions p ON p.run_id = r.id "
                           "GROUP BY r.id ORDER BY r.id")


def _press_cancel_then_stop_now(qtbot, dialog, step: str) -> None:
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.text() == "Stop now"
    assert dialog.status.text().startswith(f"Cancelling after the current {step}")
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert dialog.status.text().startswith("Stopping: waiting up to 0.2 s")
    assert not dialog.cancel_button.isEnabled()


def test_stop_now_in_the_set_dialog_kills_the_stuck_probe_and_keeps_the_finished_one(
        qtbot, demo_with_fake_model, stuck_on_second_clip, project_of):
    from mmla_app.probe.probe_set_dialog import ProbeSetDialog

    clips, busy = stuck_on_second_clip
    dialog = ProbeSetDialog(project_of(demo_with_fake_model), listed=clips[:2], task="MELD")
    qtbot.addWidget(dialog)
    try:
        qtbot.waitUntil(lambda: dialog.model_combo.count() == 1, timeout=WAIT)
        assert dialog.listed_radio.isChecked()
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(busy.exists, timeout=WAIT)  # the first clip probed, the second stuck
        pid = dialog.job.jobs.pid
        _press_cancel_then_stop_now(qtbot, dialog, "row")
        qtbot.waitUntil(lambda: "probed" in dialog.status.text(), timeout=WAIT)  # the table
        said = dialog.status.text()
        # the kill marks the stuck run failed from a thread of its own (the GUI never waits
        # on the database), so the table can be read before that write lands
        qtbot.waitUntil(lambda: [r["status"] for r in _runs(demo_with_fake_model)]
                        == ["done", "failed"], timeout=WAIT)
        done, failed = _runs(demo_with_fake_model)
        assert said.startswith("Stopped: the model worker was killed. "
                               f"Probe run {failed['id']} is marked failed"), said
        assert "Run the missing probes" in said
        assert said.endswith("2 clips in the set: 1 probed, 1 without a probe."), said
        assert dialog.cancel_button.text() == "Cancel" and not dialog.cancel_button.isEnabled()
        assert dialog.run_button.isEnabled() and dialog.progress.isHidden()
        assert pid is not None and dialog.job.jobs.pid is None  # killed; the next run starts one
        assert (done["kind"], done["status"]) == ("probe", "done") and done["rows"] > 0
        assert (failed["kind"], failed["status"]) == ("probe", "failed")
        assert "stopped while it ran" in failed["error"]
        assert dialog.table.item(0, 0).text() == "1"  # the finished probe is in the table
    finally:
        dialog.done(0)


def test_stop_now_in_the_checks_dialog_asks_and_keeps_the_answers_given(
        qtbot, demo_with_fake_model, stuck_on_second_clip, project_of):
    """The set window's probes wait on the worker: Stop now asks; No keeps the worker (the run
    still ends after its clip), Yes kills it and the set window says who stopped it. The first
    clip's answers stay, the human ones too."""
    from mmla_app.probe.probe_checks_dialog import ModelChecksDialog
    from mmla_app.probe.probe_set_dialog import ProbeSetDialog
    from mmla_core.store.labels import set_check_answer

    clips, busy = stuck_on_second_clip
    first = clips[0]
    with open_store(demo_with_fake_model) as store:
        set_check_answer(store, first, "visual_only", "no", "alice")
    project = project_of(demo_with_fake_model)
    dialog, other = ModelChecksDialog(project), ProbeSetDialog(project, listed=[first],
                                                                task="MELD")
    qtbot.addWidget(dialog)
    qtbot.addWidget(other)
    answered = []
    dialog.answered.connect(answered.append)
    try:
        qtbot.waitUntil(lambda: dialog.model_combo.count() == 1
                        and other.model_combo.count() == 1, timeout=WAIT)
        dialog.dataset_combo.setCurrentIndex(dialog.dataset_combo.findData(DEMO_NAME))
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(busy.exists, timeout=WAIT)
        qtbot.mouseClick(other.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: other.job.running, timeout=WAIT)
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        for answer in (QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes):
            qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)  # Stop now
            qtbot.waitUntil(lambda: dialog.stopper.box is not None
                            and dialog.stopper.box.isVisible(), timeout=WAIT)
            text = dialog.stopper.box.text()
            assert text.startswith("The checks run did not stop within 0.2 s")
            assert "the set window's probes of MELD over 1 clip (waiting its turn)" in text
            dialog.stopper.box.button(answer).click()
            if answer == QMessageBox.StandardButton.No:
                assert dialog.status.text() == ("Cancelled, not stopped yet: the other jobs keep "
                                                "the worker; it ends after its current clip.")
                assert dialog.cancel_button.isEnabled() and dialog.job.running
        said = dialog.status.text()
        (run,) = _runs(demo_with_fake_model)
        assert said.startswith(f"Stopped: the model worker was killed. Checks run {run['id']} "
                               "is marked failed (the answers it saved are kept)"), said
        assert other.status.text().startswith(
            f"Stopped: the model's check answers over {len(clips)} clips (dataset checks "
            "window) did not stop within 0.2 s of Stop now"), other.status.text()
        assert "was waiting for it" in other.status.text() and other.run_button.isEnabled()
        assert answered == [run["id"]] and dialog.run_button.isEnabled()
        qtbot.waitUntil(lambda: _runs(demo_with_fake_model)[0]["status"] == "failed",
                        timeout=WAIT)
        assert "stopped while it ran" in _runs(demo_with_fake_model)[0]["error"]
        with open_store(demo_with_fake_model) as store:
            model = store.query("SELECT clip_id FROM check_answers WHERE source = 'model'")
            human = store.query("SELECT clip_id, answer FROM check_answers "
                                "WHERE source = 'human'")
        assert sorted({r["clip_id"] for r in model}) == [first] and len(model) == 4
        assert human == [{"clip_id": first, "answer": "no"}]
    finally:
        dialog.done(0)
        other.done(0)
