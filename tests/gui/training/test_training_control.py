"""Job control from the GUI with a fake trainer (tests/support/fake_trainer.py, one event per
50 ms): launch, the window closed and reopened with the run going, Stop, Resume from a checkpoint,
Delete."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from mmla_app.actions import open_train_dialog
from mmla_core.store.db import open_store
from mmla_core.store.results import add_model
from mmla_core.train.control import shown_time
from tests.support.fake_supervisor import use_fake_trainer
from tests.support.train_fixtures import TOY_TASK, add_toy_dataset, toy_text_model

pytestmark = pytest.mark.gui
WAIT = 15_000
__all__ = ["toy_text_model"]  # the session fixture, shared with the other training tests


@pytest.fixture
def fake_project(tmp_path, monkeypatch, toy_text_model):
    """The toy project with a real tiny model (so the launch checks pass) and the fake trainer."""
    use_fake_trainer(monkeypatch)
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    path = tmp_path / "toy.sqlite"
    with open_store(path) as store:
        add_toy_dataset(store, media=False)
        add_model(store, "tiny-text", "text_lm", str(toy_text_model))
    return path


def status(db_path, job_id) -> str | None:
    with open_store(db_path) as store:
        return store.scalar("SELECT status FROM training_jobs WHERE id = ?", (job_id,))


def starts(db_path, job_id) -> tuple:
    """(started_at, resumed_at) of the job's row."""
    with open_store(db_path) as store:
        return tuple(store.conn.execute("SELECT started_at, resumed_at FROM training_jobs "
                                        "WHERE id = ?", (job_id,)).fetchone())


def launch(qtbot, window) -> int:
    """Tools > Train LoRA…, the toy task on the CPU, Launch."""
    open_train_dialog(window)
    dialog = window.train_dialog
    qtbot.waitUntil(lambda: dialog.form.task_list.count() > 0, timeout=WAIT)
    dialog.form.device_combo.setCurrentText("cpu")
    assert dialog.form.config().tasks == [TOY_TASK]
    with qtbot.waitSignal(dialog.launched, timeout=WAIT) as launched:
        qtbot.mouseClick(dialog.launch_button, Qt.MouseButton.LeftButton)
    dialog.close()
    return launched.args[0]


def test_stop_resume_delete_and_reattach_after_closing_the_window(qtbot, make_window,
                                                                   fake_project):
    window = make_window(fake_project)
    job_id = launch(qtbot, window)
    panel = window.training
    qtbot.waitUntil(lambda: panel.curves.point_count("loss") >= 3, timeout=WAIT)
    window.close()  # the run goes on without the window
    assert status(fake_project, job_id) == "running"
    window = make_window(fake_project)
    window.side_tabs.setCurrentWidget(window.training)
    panel = window.training
    qtbot.waitUntil(lambda: panel.job_id == job_id and panel.stop_button.isEnabled(),
                    timeout=WAIT)
    qtbot.waitUntil(lambda: panel.curves.point_count("loss") >= 5, timeout=WAIT)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status(fake_project, job_id) == "stopped", timeout=WAIT)
    qtbot.waitUntil(lambda: panel.resume_button.isEnabled()
                    and panel.checkpoint_combo.count() == 2, timeout=WAIT)
    stopped_at = panel.progress.step
    assert panel.checkpoint_combo.itemText(1) == f"checkpoint-{stopped_at}"
    assert "fake trainer: stopped" in panel.log_view.toPlainText()
    started, never = starts(fake_project, job_id)
    assert started and never is None and "resumed" not in panel.title.text()
    panel.checkpoint_combo.setCurrentIndex(1)
    qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.progress.step > stopped_at + 2, timeout=WAIT)
    assert "--resume" in panel.log_view.toPlainText()  # the fake trainer echoes its arguments
    assert starts(fake_project, job_id)[0] == started  # the job keeps its first start
    qtbot.waitUntil(lambda: "resumed once" in panel.title.text(), timeout=WAIT)
    assert f"started {shown_time(started)}" in panel.title.text()
    assert f"from checkpoint-{stopped_at} (step {stopped_at})" in panel.title.text()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.delete_button.isEnabled(), timeout=WAIT)
    output = Path(panel.current_job()["output_dir"])
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    panel.delete_box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: panel.jobs_table.rowCount() == 0, timeout=WAIT)
    assert status(fake_project, job_id) is None and not output.exists()
