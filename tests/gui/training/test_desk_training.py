"""Training conveniences: New training… opens the dialog; the dialog remembers the last launch
per project, says which of epochs / max steps wins; the log reads as lines, not JSON; one % in
the table and the bar; Quit with a run going says it goes on."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from mmla_app import settings
from mmla_core.store.db import open_store
from mmla_core.store.jobs import create_job, update_job
from mmla_core.train.config import TrainConfig
from mmla_core.train.logtext import readable_log

pytestmark = pytest.mark.gui
WAIT = 10_000


def open_dialog(window, qtbot):
    from mmla_app.training.train_dialog import TrainDialog

    window.side_tabs.setCurrentWidget(window.training)
    qtbot.mouseClick(window.training.new_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "train_dialog", None), TrainDialog)
                    and window.train_dialog.isVisible(), timeout=5_000)
    return window.train_dialog


def test_new_training_button_opens_the_train_dialog(window, qtbot):
    open_dialog(window, qtbot).close()


def test_the_dialog_remembers_the_last_launch_of_this_project(window, qtbot, tiny_project):
    remembered = TrainConfig(name="meld-short", model="tiny", tasks=["MELD"], max_steps=7,
                             batch_size=2, learning_rate=3e-4, output_dir="/tmp/old-run")
    settings.remember_train_config(tiny_project.db_path, remembered.to_dict())
    dialog = open_dialog(window, qtbot)
    form = dialog.form
    qtbot.waitUntil(lambda: form.steps_spin.value() == 7, timeout=WAIT)
    assert form.name_edit.text() == "meld-short" and form.lr_edit.text() == "0.0003"
    assert form.output_edit.text() == ""  # a new run gets a folder of its own
    assert "Max steps wins" in form.length_note.text()
    form.steps_spin.setValue(-1)
    assert form.length_note.text().startswith("Runs 1 epoch(s)")
    dialog.close()
    assert settings.last_train_config(tiny_project.db_path.parent / "other.sqlite") is None


def test_log_lines_read_as_text_not_json():
    text = ("step 3: {\"loss\": 1.2345, \"learning_rate\": 0.0001}\n"
            "{'loss': 0.51, 'grad_norm': 2.0, 'epoch': 0.5}\n"
            "  5%|▌   | 1/20\r 10%|█   | 2/20\n"
            "Traceback (most recent call last):")
    assert readable_log(text).split("\n") == [
        "step 3: loss 1.23 · learning rate 1.0e-04", "loss 0.51 · grad norm 2 · epoch 0.5",
        " 10%|█   | 2/20", "Traceback (most recent call last):"]


def running_job(db_path, steps_done: int, total: int) -> int:
    config = TrainConfig(name="meld-sft", model="tiny", tasks=["MELD"], max_steps=total)
    with open_store(db_path) as store:
        job_id = create_job(store, "meld-sft", config.to_dict(), "")
        update_job(store, job_id, status="running", pid=os.getpid(), total_steps=total)
        with store.write() as conn:
            conn.execute("INSERT INTO training_events (job_id, step, epoch, kind, loss, at) "
                         "VALUES (?, ?, 1.0, 'train', 0.5, '2026-01-01T00:00:00.000Z')",
                         (job_id, steps_done))
    return job_id


def test_one_percent_in_table_and_bar_and_quit_says_the_run_goes_on(window, qtbot,
                                                                    tiny_project):
    job_id = running_job(tiny_project.db_path, 199, 200)  # 99.5%: 99% both, never 100%
    panel = window.training
    window.side_tabs.setCurrentWidget(panel)
    panel.poll_now(with_list=True)
    qtbot.waitUntil(lambda: panel.progress_bar.text() == "99%", timeout=WAIT)
    qtbot.waitUntil(lambda: panel.jobs_table.item(0, 3).text() == "99%", timeout=WAIT)
    window.key_actions  # noqa: B018 (menus built)
    quit_action = next(a for m in window.menuBar().actions() for a in m.menu().actions()
                       if a.text() == "&Quit")
    quit_action.trigger()
    box = window.quit_box
    assert f"#{job_id} meld-sft goes on after you quit" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.isVisible()
    with open_store(tiny_project.db_path) as store, store.write() as conn:
        conn.execute("UPDATE training_jobs SET status = 'stopped' WHERE id = ?", (job_id,))
