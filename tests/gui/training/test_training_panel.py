"""The Training tab on jobs written straight into the project DB (a fake trainer's writes):
reattach, live curves and progress from polled events, a failed OOM job's advice, Stop."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mmla_app.training.training_panel import RESUME_TIP, TrainingPanel
from mmla_core.store.db import open_store
from mmla_core.store.jobs import get_job, update_job
from mmla_core.train.config import TrainConfig
from mmla_core.train.resumable import resume_refusal
from tests.support.train_jobs_helpers import make_job

pytestmark = pytest.mark.gui
WAIT = 10_000
OOM_TAIL = ("Traceback (most recent call last):\n  File \"trainer.py\", line 9, in step\n"
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has "
            "a total capacity of 23.6 GiB")


def write_events(db_path, job_id, steps) -> None:
    """Train events every step, an eval every 5th, stamped one second apart (a known ETA)."""
    columns = ("step", "epoch", "kind", "loss", "eval_loss", "eval_accuracy", "learning_rate",
               "samples_per_s", "tokens_per_s", "gpu_mem_mb", "at")
    rows = []
    for step in steps:
        at = f"2026-01-01T00:00:{step:02d}.000Z"
        rows.append((step, step / 20, "train", 2.0 / step, None, None, 1e-4, 3.5, 900.0, 2048.0,
                     at))
        if step % 5 == 0:
            rows.append((step, step / 20, "eval", None, 1.5 / step, step / 25, *[None] * 4, at))
    with open_store(db_path) as store, store.write() as conn:
        conn.executemany(f"INSERT INTO training_events (job_id, {', '.join(columns)}) VALUES "
                         f"({job_id}, {', '.join('?' * len(columns))})", rows)


@pytest.fixture
def panel_on(qtbot, project_of):
    panels = []

    def make(db_path) -> TrainingPanel:
        panel = TrainingPanel(project_of(db_path))
        qtbot.addWidget(panel)
        panel.resize(420, 820)
        panel.show()
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.shutdown()


def test_window_opened_after_a_job_started_shows_it_running(make_window, tiny_project, qtbot):
    job_id = make_job(tiny_project.db_path, name="already-going")
    window = make_window(tiny_project.db_path)
    window.side_tabs.setCurrentWidget(window.training)
    panel = window.training
    qtbot.waitUntil(lambda: panel.jobs_table.rowCount() == 1, timeout=WAIT)
    assert panel.job_id == job_id
    assert panel.jobs_table.item(0, 1).text() == "already-going"
    assert panel.jobs_table.item(0, 2).text() == "running"
    assert "running" in panel.title.text()
    assert panel.stop_button.isEnabled() and not panel.delete_button.isEnabled()


def test_events_written_by_the_trainer_become_curve_points_and_progress(
        panel_on, tiny_project, qtbot):
    job_id = make_job(tiny_project.db_path)
    panel = panel_on(tiny_project.db_path)
    qtbot.waitUntil(lambda: panel.job_id == job_id, timeout=WAIT)
    write_events(tiny_project.db_path, job_id, range(1, 6))
    qtbot.waitUntil(lambda: panel.curves.point_count("loss") == 5, timeout=WAIT)
    assert panel.curves.point_count("eval_accuracy") == 1
    write_events(tiny_project.db_path, job_id, range(6, 11))  # the next polls only add these
    qtbot.waitUntil(lambda: panel.curves.point_count("loss") == 10, timeout=WAIT)
    assert list(panel.curves.points["loss"].arrays()[0]) == list(range(1, 11))
    assert panel.curves.point_count("eval_loss") == 2
    assert panel.progress_bar.value() == 500  # step 10 of max_steps 20
    assert "step 10/20" in panel.progress_label.text()
    assert "0:09 elapsed, 0:10 left" in panel.progress_label.text()  # 45% took 9 s
    assert "3.50 samples/s" in panel.throughput.text()
    assert "GPU 2.0 GiB" in panel.throughput.text()
    assert "best dev 40.0%" in panel.throughput.text()
    qtbot.waitUntil(lambda: panel.jobs_table.item(0, 3).text() == "50%", timeout=WAIT)
    assert panel.jobs_table.item(0, 4).text() == "40.0%"


def test_failed_job_shows_exit_code_last_lines_and_oom_advice(panel_on, tiny_project, qtbot):
    make_job(tiny_project.db_path, status="failed", exit_code=1, stderr_tail=OOM_TAIL)
    panel = panel_on(tiny_project.db_path)
    qtbot.waitUntil(lambda: panel.failure.isVisible(), timeout=WAIT)
    text = panel.failure.text()
    assert "exit code 1" in text
    assert "CUDA out of memory" in text
    assert "batch size 4 -> 2" in text  # advice computed from the job's own config
    assert "frames 8 -> 4" in text
    assert panel.resume_button.isEnabled() and panel.delete_button.isEnabled()
    assert not panel.stop_button.isEnabled()


def test_resume_follows_the_core_rule_and_says_why_not(panel_on, tiny_project, qtbot):
    """A done job: Resume disabled, its tooltip the refusal `mmla train resume` prints
    (train/resumable.py, tests/core/train/test_train_resume_rule.py); stopped: enabled."""
    job_id = make_job(tiny_project.db_path, status="done")
    panel = panel_on(tiny_project.db_path)
    qtbot.waitUntil(lambda: panel.job_id == job_id and panel.delete_button.isEnabled(),
                    timeout=WAIT)
    with open_store(tiny_project.db_path) as store:
        refusal = resume_refusal(get_job(store, job_id))
    assert "is done" in refusal and "launch a new job with more epochs" in refusal
    assert not panel.resume_button.isEnabled() and not panel.checkpoint_combo.isEnabled()
    assert panel.resume_button.toolTip() == refusal
    with open_store(tiny_project.db_path) as store:
        update_job(store, job_id, status="stopped")
    qtbot.waitUntil(lambda: panel.resume_button.isEnabled(), timeout=WAIT)
    assert panel.resume_button.toolTip() == RESUME_TIP and panel.checkpoint_combo.isEnabled()


def test_stop_marks_the_job_stopping_in_the_database(panel_on, tiny_project, qtbot):
    job_id = make_job(tiny_project.db_path)
    panel = panel_on(tiny_project.db_path)
    qtbot.waitUntil(lambda: panel.stop_button.isEnabled(), timeout=WAIT)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)

    def status() -> str:
        with open_store(tiny_project.db_path) as store:
            return store.scalar("SELECT status FROM training_jobs WHERE id = ?", (job_id,))

    qtbot.waitUntil(lambda: status() == "stopping", timeout=WAIT)
    qtbot.waitUntil(lambda: panel.jobs_table.item(0, 2).text() == "stopping", timeout=WAIT)


def test_closing_the_window_leaves_the_job_running(make_window, tiny_project, qtbot):
    job_id = make_job(tiny_project.db_path)
    window = make_window(tiny_project.db_path)
    qtbot.waitUntil(lambda: window.training.jobs_table.rowCount() == 1, timeout=WAIT)
    window.close()
    with open_store(tiny_project.db_path) as store:
        assert store.scalar("SELECT status FROM training_jobs WHERE id = ?",
                            (job_id,)) == "running"


def test_polling_another_project_closes_the_old_projects_connection(tmp_path):
    import sqlite3

    from mmla_app.training import training_poll

    first, second = str(tmp_path / "a.sqlite"), str(tmp_path / "b.sqlite")
    assert training_poll.poll_project(first, None, 0)["jobs"] == []
    old = training_poll._thread_store(first)
    assert training_poll._thread_store(first) is old  # kept between polls of one project
    assert training_poll.poll_project(second, None, 0)["jobs"] == []
    with pytest.raises(sqlite3.ProgrammingError):
        old.conn.execute("SELECT 1")  # closed: the old .sqlite is no longer held open
    training_poll._thread_store(second).close()
    training_poll._THREAD.held = None


def test_delete_never_holds_up_the_writes_queued_behind_it(panel_on, tiny_project, qtbot,
                                                           monkeypatch):
    import threading

    from PySide6.QtWidgets import QMessageBox

    from mmla_app.runtime.write_queue import submit_write
    from mmla_core.train import control

    job_id = make_job(tiny_project.db_path, status="stopped")
    removing, real_delete = threading.Event(), control.delete

    def slow_delete(store, job, *args):
        removing.wait(10)  # gigabytes of checkpoints
        return real_delete(store, job, *args)

    monkeypatch.setattr(control, "delete", slow_delete)
    panel = panel_on(tiny_project.db_path)
    messages: list[str] = []
    panel.message.connect(messages.append)
    qtbot.waitUntil(lambda: panel.delete_button.isEnabled(), timeout=WAIT)
    try:
        qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
        panel.delete_box.button(QMessageBox.StandardButton.Yes).click()
        assert panel.delete_line.text() == f"Deleting job #{job_id} and its files…"
        written = []
        submit_write(tiny_project.db_path, lambda store: 1, on_success=written.append)
        qtbot.waitUntil(lambda: written == [1], timeout=WAIT)  # a label keypress, say
        with qtbot.waitSignal(panel.polled, timeout=WAIT):  # a poll answered after this one
            panel.poll_now()
        assert panel.job_id is None  # the job being deleted is not shown again meanwhile
    finally:
        removing.set()
    # the delete's own end clears the line (a timer poll may list no job before it lands)
    qtbot.waitUntil(lambda: any(m.startswith(f"Deleted training job #{job_id}")
                                for m in messages), timeout=WAIT)
    qtbot.waitUntil(lambda: panel.jobs_table.rowCount() == 0, timeout=WAIT)
    assert panel.progress_label.text() == ""
    assert panel.delete_line.text() == f"Deleted training job #{job_id}."
    with open_store(tiny_project.db_path) as store:
        assert store.scalar("SELECT count(*) FROM training_jobs WHERE id = ?", (job_id,)) == 0


def test_a_poll_that_shows_another_job_keeps_the_deleting_line(panel_on, tiny_project, qtbot,
                                                                monkeypatch):
    """Other jobs exist while a delete runs: a poll shows the newest of them (its progress
    line), and "Deleting job #N…" stays on its own line until the delete ends."""
    import threading

    from PySide6.QtWidgets import QMessageBox

    from mmla_core.train import control

    other = make_job(tiny_project.db_path, name="kept", status="stopped")
    write_events(tiny_project.db_path, other, range(1, 11))
    doomed = make_job(tiny_project.db_path, name="doomed", status="stopped")
    removing, real_delete = threading.Event(), control.delete

    def slow_delete(store, job, *args):
        removing.wait(10)
        return real_delete(store, job, *args)

    monkeypatch.setattr(control, "delete", slow_delete)
    panel = panel_on(tiny_project.db_path)
    qtbot.waitUntil(lambda: panel.job_id == doomed and panel.delete_button.isEnabled(),
                    timeout=WAIT)
    try:
        qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
        panel.delete_box.button(QMessageBox.StandardButton.Yes).click()
        panel.poll_now()   # the list: the newest job left is shown, and polled
        qtbot.waitUntil(lambda: panel.job_id == other and "step 10" in
                        panel.progress_label.text(), timeout=WAIT)
        assert panel.delete_line.text() == f"Deleting job #{doomed} and its files…"
        assert panel.delete_line.isVisible()
    finally:
        removing.set()
    qtbot.waitUntil(lambda: panel.delete_line.text() == f"Deleted training job #{doomed}.",
                    timeout=WAIT)
    assert panel.job_id == other


def test_deleting_a_job_whose_folder_is_not_this_projects_says_it_was_left(
        panel_on, tiny_project, qtbot, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    other = tmp_path / "original" / "proj.train" / "1-run"   # a copied database points here
    (other / "adapter").mkdir(parents=True)
    (other / "train.log").write_text("the original's run\n")
    job_id = make_job(tiny_project.db_path, status="stopped", output_dir=str(other))
    panel = panel_on(tiny_project.db_path)
    messages: list[str] = []
    panel.message.connect(messages.append)
    qtbot.waitUntil(lambda: panel.delete_button.isEnabled(), timeout=WAIT)
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    panel.delete_box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: any(m.startswith(f"Deleted training job #{job_id}")
                                for m in messages), timeout=WAIT)
    assert f"its folder {other} was left" in messages[-1]
    assert "outside this project's folder" in messages[-1]
    assert (other / "train.log").read_text() == "the original's run\n"
    assert (other / "adapter").is_dir()
    with open_store(tiny_project.db_path) as store:
        assert store.scalar("SELECT count(*) FROM training_jobs WHERE id = ?", (job_id,)) == 0


def _timed_events(steps_and_seconds):
    from datetime import UTC, datetime

    return [{"kind": "train", "step": step,
             "at": datetime.fromtimestamp(1_767_225_600 + s, UTC).isoformat()}
            for step, s in steps_and_seconds]


def test_a_day_paused_counts_neither_in_elapsed_nor_in_the_eta():
    from mmla_app.training.training_progress import JobProgress

    progress = JobProgress(max_steps=20)
    day = 86_400
    progress.add(_timed_events([(step, 10 * step) for step in range(1, 11)]))
    assert progress.elapsed_s == 90 and progress.eta_s == 100  # 10 s a step, 10 steps left
    progress.add(_timed_events([(step, day + 10 * step) for step in range(10, 16)]))
    assert progress.elapsed_s == 90 + 50  # the day stopped is left out
    assert progress.eta_s == 50  # still 10 s a step, 5 steps left


def test_a_resume_from_an_earlier_checkpoint_starts_a_new_stretch():
    from mmla_app.training.training_progress import JobProgress

    progress = JobProgress(max_steps=20)
    progress.add(_timed_events([(step, 10 * step) for step in range(1, 11)]))
    progress.add(_timed_events([(step, 200 + 10 * step) for step in range(9, 13)]))
    assert progress.step == 12
    assert progress.elapsed_s == 90 + 30  # the 200 s restart and the redone steps' gap left out
    assert progress.eta_s == pytest.approx(80)  # 120 s for 12 steps' worth, 8 left


def test_a_slow_model_and_a_long_evaluation_are_not_pauses():
    from mmla_app.training.training_progress import JobProgress

    progress = JobProgress(max_steps=100)  # 40 s a step, an event every 10 steps
    progress.add(_timed_events([(step, 40 * step) for step in (10, 20, 30)]))
    progress.add(_timed_events([(30, 40 * 30 + 600)]))  # a 10-minute dev evaluation
    assert progress.elapsed_s == 800 + 600


def test_export_and_copy_name_this_project_database(panel_on, tiny_project, qtbot, tmp_path,
                                                    monkeypatch):
    from PySide6.QtGui import QGuiApplication

    from mmla_app.training import training_panel

    make_job(tiny_project.db_path, status="done", output_dir=str(tmp_path / "run"))
    panel = panel_on(tiny_project.db_path)
    qtbot.waitUntil(lambda: panel.copy_button.isEnabled(), timeout=WAIT)
    db = tiny_project.db_path.resolve()
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == \
        f"python -m mmla_core.train {tmp_path / 'run' / 'config.yaml'} --db {db}"
    target = tmp_path / "exported.yaml"
    monkeypatch.setattr(training_panel.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(target), ""))
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    exported = TrainConfig.from_yaml(target.read_text())
    assert exported.output_dir == "" and exported.name == "meld-sft"


def test_a_finished_job_whose_log_is_gone_says_where_it_looked(panel_on, tiny_project, qtbot,
                                                                tmp_path):
    """A run folder moved or deleted (by hand, or `mmla train rm` on a copy of the project):
    the log pane says so, with the path, instead of 'the log appears here'."""
    gone = tmp_path / "moved-away" / "1-meld-sft"
    make_job(tiny_project.db_path, status="done", exit_code=0, output_dir=str(gone))
    panel = panel_on(tiny_project.db_path)
    qtbot.waitUntil(lambda: "No train.log" in panel.log_view.placeholderText(), timeout=WAIT)
    assert str(gone / "train.log") in panel.log_view.placeholderText()
    gone.mkdir(parents=True)
    (gone / "train.log").write_text("step 1: loss 2.0\n")
    panel.select_job(panel.job_id)  # shown again: the log is read
    qtbot.waitUntil(lambda: "loss 2.0" in panel.log_view.toPlainText(), timeout=WAIT)
