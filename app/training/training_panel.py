"""The Training tab: every LoRA job of the project, and a live monitor of the selected one.

The jobs are detached processes (`mmla_core.train.control`); this tab only reads what they
write to SQLite and to their folder, on a poll every POLL_MS off the GUI thread
(`training_poll.poll`), so it reattaches to a running job after a restart and closing the window
never stops one. The selected job shows its loss and dev curves, progress with ETA, throughput
and GPU memory, and its log tail; a failed job shows its exit code, the last log lines and, for
a CUDA out-of-memory, what to change. Stop asks the trainer to save and exit; Resume continues
a stopped or failed job (train/resumable.py's rule) from a checkpoint; Delete removes it,
saying so on its own line (`delete_line`): a poll may meanwhile show another job's progress.
The job list's table is training_jobs.py's; the curves, training_curves.py's.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.ops import training as training_ops
from mmla_app.ops.op import run_job, submit
from mmla_app.runtime.project import Project
from mmla_app.training import training_poll
from mmla_app.training.training_curves import TrainingCurves
from mmla_app.training.training_jobs import JobTable, status_colour
from mmla_app.training.training_progress import JobProgress, percent_text
from mmla_core.store.verdicts import describe_record
from mmla_core.train import control
from mmla_core.train.logtext import readable_log
from mmla_core.train.resumable import resume_refusal

POLL_MS = 500
LOG_LINES = 2000  # the log view keeps the last lines; the file has them all
HIDDEN_EVERY = 10  # a hidden tab polls every 10th tick: the list stays fresh, curves wait
LIST_EVERY = 10  # the whole job list every 10th tick (5 s); the selected job every tick
ERROR_STYLE = "color: #c8453b;"
RESUME_TIP = "Start the run again from the chosen checkpoint"


class TrainingPanel(QWidget):
    """Job list | monitor. `new_training_requested` opens the launch dialog (the window's)."""

    new_training_requested = Signal()
    polled = Signal(object)  # each poll's result, for tests and the status bar
    message = Signal(str)

    def __init__(self, project: Project, parent: QWidget | None = None, *,
                 start: bool = True):
        super().__init__(parent)
        self.project = project
        self.runner = project.runner.scope("training")  # the poll; closed with the panel
        self.jobs: list[dict] = []
        self.job_id: int | None = None
        self.after_id, self.log_offset = 0, -1
        self._monitored_run: tuple | None = None  # (job id, resumed_at) the monitor folded
        self.progress = JobProgress()
        self._ticks = 0
        self._deleting: set[int] = set()  # jobs whose files are being removed
        self._build()
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self._tick)
        if start:
            self.start()

    # --- construction -------------------------------------------------------------------------

    def _build(self) -> None:
        self.new_button = QPushButton("New training…", self)
        # a signal passed as clicked= is called like a slot and raises; connect, then re-emit
        self.new_button.clicked.connect(lambda: self.new_training_requested.emit())
        self.jobs_table = JobTable(self)
        self.jobs_table.itemSelectionChanged.connect(self._on_job_selected)
        self.title = QLabel("No training job yet: New training… (or Tools > Train LoRA…).",
                            self, wordWrap=True, objectName="clipTitle")
        self.progress_bar = QProgressBar(self, maximum=1000, textVisible=True, format="0%")
        self.progress_label = QLabel(self)
        self.throughput = QLabel(self, wordWrap=True, objectName="muted")
        self.failure = QLabel(self, wordWrap=True)
        self.failure.setStyleSheet(ERROR_STYLE)
        self.delete_line = QLabel(self, wordWrap=True, visible=False)  # no poll writes it
        self.failure.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.curves = TrainingCurves(self)
        self.log_view = QPlainTextEdit(self, readOnly=True)
        self.log_view.setFont(QFont("monospace", 8))
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.log_view.setMinimumHeight(80)
        self.log_view.setPlaceholderText(training_poll.LOG_HINT)
        self.log_view.setMaximumBlockCount(LOG_LINES)
        self.stop_button = QPushButton("Stop", self, clicked=self.stop)
        self.stop_button.setToolTip("Save a checkpoint, then end the run (resumable)")
        self.checkpoint_combo = QComboBox(self)
        self.resume_button = QPushButton("Resume", self, clicked=self.resume)
        self.delete_button = QPushButton("Delete…", self, clicked=self.confirm_delete)
        self.export_button = QPushButton("Export config…", self, clicked=self.export_config)
        self.copy_button = QPushButton("Copy command", self, clicked=self.copy_command)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(_line(self.new_button, None))
        layout.addWidget(self.jobs_table)
        for widget in (self.title, self.progress_bar, self.progress_label, self.throughput,
                       self.failure, self.delete_line):
            layout.addWidget(widget)
        layout.addWidget(self.curves, 3)
        layout.addWidget(self.log_view, 1)
        layout.addLayout(_line(self.stop_button, self.resume_button, self.checkpoint_combo))
        layout.addLayout(_line(self.delete_button, self.export_button, self.copy_button))
        self._show_job(None)

    # --- context ------------------------------------------------------------------------------

    def start(self) -> None:
        """Poll from now on; the window calls it once the project is open (and migrated: a
        poll racing the migration of a new file could fail it)."""
        self.timer.start()
        self.poll_now()

    @property
    def db_path(self) -> Path:
        return self.project.db_path

    def set_context(self, _db_path: str | Path, _annotator: str = "") -> None:
        """The project switched files (the Project's runner follows it, dropping this one's
        results): forget its jobs; polling waits for `start()`."""
        self.timer.stop()
        self.jobs, self.job_id = [], None
        self._deleting.clear()  # ids of the other project's jobs
        self._show_deleting()
        self.jobs_table.forget()
        self._show_job(None)

    def shutdown(self) -> None:
        """The window closes: stop polling. The jobs themselves run on (they are detached)."""
        self.timer.stop()
        self.runner.close()

    # --- polling ------------------------------------------------------------------------------

    def _tick(self) -> None:
        self._ticks += 1
        if self.isVisible() or self._ticks % HIDDEN_EVERY == 0:
            self.poll_now(with_list=self._ticks % LIST_EVERY == 0)

    def poll_now(self, with_list: bool = True) -> None:
        self.runner.submit(training_poll.poll_project, str(self.db_path), self.job_id,
                           self.after_id, self.log_offset, with_list, channel="poll",
                           with_store=False, on_success=self._on_poll,
                           on_error=self._on_poll_error)

    def _on_poll(self, result: dict) -> None:
        if not isValid(self):
            return
        current = result["job_id"] == self.job_id and self.job_id is not None
        if current and self._rewound(result["job"]):
            current = False  # the monitor starts over: the next poll reads from the first event
            QTimer.singleShot(0, self.poll_now)
        if current and result["after_id"] <= self.after_id:  # not a poll from before a reset
            events = [e for e in result["events"] if e["id"] > self.after_id]
            if events:
                self.after_id = events[-1]["id"]
                self.curves.add_events(events)
                self.progress.add(events)
        if result["jobs"] is not None:
            self._fill_jobs(result["jobs"])
        elif current and result["job"] is not None:
            self._fill_jobs([self._merged(j, result["job"]) if j["id"] == self.job_id else j
                             for j in self.jobs])
        if current:
            self._show_monitor(result)
        self.polled.emit(result)

    def _rewound(self, job: dict | None) -> bool:
        """True (and the monitor reset) when the job was resumed since the monitor began: the
        resume dropped the events past its checkpoint, so the curves and the step go back to
        that checkpoint's, and new events may reuse the dropped ones' ids."""
        if job is None:
            return False
        run = (int(job["id"]), job.get("resumed_at"))
        if self._monitored_run is None:
            self._monitored_run = run
        if run == self._monitored_run:
            return False
        self._reset_monitor()
        self._monitored_run = run
        return True

    def _merged(self, listed: dict, fresh: dict) -> dict:
        """The selected job's fresh row, with the list's figures brought up to date by the
        events this poll folded (its own row has no last step; best dev may be unset yet)."""
        job = {**listed, **fresh, "last_step": max(int(listed.get("last_step") or 0),
                                                   self.progress.step)}
        job["best_eval_accuracy"] = (fresh.get("best_eval_accuracy")
                                     or self.progress.best_dev_accuracy
                                     or listed.get("best_eval_accuracy"))
        return job

    def _on_poll_error(self, exc: Exception) -> None:
        if isValid(self):
            self.throughput.setText(f"Could not read the training jobs: {exc}")

    # --- job list -----------------------------------------------------------------------------

    def _fill_jobs(self, jobs: list[dict]) -> None:
        self.jobs = jobs
        self.jobs_table.fill(jobs, self.job_id)
        shown = [j for j in jobs if int(j["id"]) not in self._deleting]
        if self.current_job() is None and shown:
            self.job_id = int(shown[0]["id"])  # reattach: the newest job is shown at once
            self._reset_monitor()
            QTimer.singleShot(0, self.poll_now)
            self.jobs_table.select_job(self.job_id)
        self._update_buttons()

    def select_job(self, job_id: int) -> None:
        """Show this job (e.g. one just launched) and poll it now."""
        self.job_id = int(job_id)
        self._reset_monitor()
        self.jobs_table.select_job(self.job_id)
        self.poll_now()

    def _on_job_selected(self) -> None:
        job_id = self.jobs_table.selected_job_id()
        if job_id is not None and job_id != self.job_id:
            self.select_job(job_id)

    def current_job(self) -> dict | None:
        return next((j for j in self.jobs if int(j["id"]) == self.job_id), None)

    def active_jobs(self) -> list[dict]:
        """Runs still going (as of the last poll): they outlive the window."""
        return [j for j in self.jobs if j["status"] in training_poll.ACTIVE]

    # --- monitor ------------------------------------------------------------------------------

    def _reset_monitor(self) -> None:
        self.after_id, self.log_offset = 0, -1
        self._monitored_run = None
        self.curves.clear()
        job = self.current_job()
        self.progress = JobProgress.for_job(job)
        self.curves.set_planned_steps(self.progress.planned_steps)
        self.log_view.clear()
        self.checkpoint_combo.clear()
        self._show_job(job)

    def _show_monitor(self, result: dict) -> None:
        job = self.current_job()
        self._show_job(job)
        if job is not None and job.get("total_steps") != self.progress.total_steps:
            self.progress.total_steps = job.get("total_steps") or None
            self.curves.set_planned_steps(self.progress.planned_steps)
        fraction = self.progress.fraction
        if job is not None and job["status"] == "done":
            fraction = 1.0
        self.progress_bar.setValue(round((fraction or 0.0) * 1000))
        self.progress_bar.setFormat(percent_text(fraction) or "0%")
        if job is not None and fraction is not None:  # the row says what the bar says
            self.jobs_table.show_percent(int(job["id"]), fraction)
        finished = job is not None and job["status"] not in training_poll.ACTIVE
        self.progress_label.setText(self.progress.progress_text(finished))
        if job is not None and job.get("best_eval_accuracy") is not None:  # the adapter's, as
            self.progress.best_dev_accuracy = max(  # the list says (kept through a rewind)
                job["best_eval_accuracy"], self.progress.best_dev_accuracy or 0.0)
        self.throughput.setText(self.progress.throughput_text())
        self._show_failure(job, result.get("advice"))
        self.log_view.setPlaceholderText(training_poll.log_hint(job, result))
        if result["log_offset"] != self.log_offset or result["log"]:
            if result["log_offset"] < self.log_offset or self.log_offset < 0:
                self.log_view.clear()  # a first read, or the log was replaced
            self.log_offset = result["log_offset"]
            if result["log"]:
                self.log_view.appendPlainText(readable_log(result["log"]).rstrip("\n"))
        self._fill_checkpoints(result["checkpoints"])

    def _show_job(self, job: dict | None) -> None:
        self.progress_bar.setVisible(job is not None)  # no job: no empty "0%" bar
        if job is None:
            self.title.setText("No training job yet: New training… (or Tools > Train LoRA…).")
            self.progress_bar.setValue(0)
            self.progress_label.setText("")
            self.throughput.setText("")
            self.failure.hide()
        else:
            config = job["config"]
            tasks = ", ".join(config.get("tasks", []))
            colour = status_colour(job["status"])
            self.title.setText(f"#{job['id']} {job['name']} · <span style='color:{colour}'>"
                               f"{job['status']}</span><br><small>{config.get('model', '?')} · "
                               f"{config.get('mode', 'sft').upper()} · {tasks}<br>"
                               f"{html.escape(control.describe_starts(job))}<br>"
                               f"{html.escape(_labels_line(job))}</small>")
        self._update_buttons()

    def _show_failure(self, job: dict | None, advice: str | None) -> None:
        if job is None or job["status"] != "failed":
            self.failure.hide()
            return
        code = job.get("exit_code")
        lines = [f"The trainer failed (exit code {code})." if code is not None else
                 "The run failed: its process ended without recording an exit code."]
        tail = (job.get("stderr_tail") or "").strip().splitlines()[-3:]
        lines += tail
        if advice:
            lines.append(advice)
        self.failure.setText("\n".join(lines))
        self.failure.show()

    def _fill_checkpoints(self, checkpoints: list[dict]) -> None:
        wanted = [("latest checkpoint", None)] + [
            (f"checkpoint-{c['step']}", str(c["path"])) for c in checkpoints]
        current = [(self.checkpoint_combo.itemText(i), self.checkpoint_combo.itemData(i))
                   for i in range(self.checkpoint_combo.count())]
        if wanted != current:
            keep = self.checkpoint_combo.currentData()
            self.checkpoint_combo.clear()
            for text, path in wanted:
                self.checkpoint_combo.addItem(text, path)
            self.checkpoint_combo.setCurrentIndex(max(self.checkpoint_combo.findData(keep), 0))

    def _update_buttons(self) -> None:
        job = self.current_job()
        status = job["status"] if job else None
        self.stop_button.setEnabled(status in ("created", "running"))
        refusal = resume_refusal(job) if job else ""  # the rule `mmla train resume` keeps
        for widget in (self.resume_button, self.checkpoint_combo):
            widget.setEnabled(refusal is None)
        self.resume_button.setToolTip(refusal or RESUME_TIP)
        self.delete_button.setEnabled(job is not None and status not in training_poll.ACTIVE)
        for button in (self.export_button, self.copy_button):
            button.setEnabled(job is not None)

    # --- actions ------------------------------------------------------------------------------

    def stop(self) -> None:
        if self.job_id is None:
            return
        self.stop_button.setEnabled(False)
        self.message.emit(f"Stopping job {self.job_id}: it saves a checkpoint, then ends.")
        submit(self.db_path, training_ops.stop(self.job_id), initiator=self,
               on_success=lambda _r: self._poll_if_open(), on_error=self._action_failed)

    def resume(self) -> None:
        if self.job_id is None:
            return
        self.resume_button.setEnabled(False)
        run_job(self.project,
                training_ops.resume(self.job_id, self.checkpoint_combo.currentData()),
                initiator=self, on_success=self._resumed, on_error=self._action_failed)

    def _resumed(self, note: str | None) -> None:
        """Say when the newest checkpoint was cut short by a kill (skipped), then refresh."""
        if not isValid(self):
            return
        if note:
            self.message.emit(f"Job {self.job_id} resumed: {note}.")
        self.poll_now()

    def confirm_delete(self) -> None:
        job = self.current_job()
        if job is None:
            return
        self.delete_box = QMessageBox(
            QMessageBox.Icon.Question, "Delete training job",
            f"Delete job #{job['id']} {job['name']}, its events, checkpoints and adapter "
            f"({job.get('output_dir') or 'no folder'})?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        self.delete_box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.delete_box.accepted.connect(lambda: self.delete(int(job["id"])))
        self.delete_box.open()  # window-modal, never blocks the event loop

    def delete(self, job_id: int) -> None:
        if job_id == self.job_id:
            self.job_id = None
            self._reset_monitor()
        # On the project's Runner (its own Store), not the writer thread: removing gigabytes of
        # checkpoints must not hold up label keypresses queued behind it.
        self._deleting.add(job_id)
        self._show_deleting()
        self.message.emit(f"Deleting training job #{job_id}…")
        run_job(self.project, training_ops.delete(job_id), initiator=self,
                on_success=lambda note: self._deleted(job_id, note=note),
                on_error=lambda exc: self._deleted(job_id, exc))

    def _deleted(self, job_id: int, exc: Exception | None = None,
                 note: str | None = None) -> None:
        if not isValid(self):
            return
        self._deleting.discard(job_id)
        if exc is not None:
            self._show_deleting(f"Job #{job_id} was not deleted: {exc}", error=True)
            self._action_failed(exc)
            return
        said = f"Deleted training job #{job_id}" + (f"; {note}." if note else ".")
        self._show_deleting(said)
        self.message.emit(said)
        self.poll_now()

    def _show_deleting(self, outcome: str = "", error: bool = False) -> None:
        """The delete line: the jobs being deleted, else the last delete's outcome (none:
        hidden). Its own line: a poll showing another job's progress never hides it."""
        ids = sorted(self._deleting)
        text = (f"Deleting {', '.join(f'job #{i}' for i in ids)} and "
                f"{'its' if len(ids) == 1 else 'their'} files…") if ids else outcome
        self.delete_line.setText(text)
        self.delete_line.setStyleSheet(ERROR_STYLE if error and not ids else "")
        self.delete_line.setVisible(bool(text))

    def export_config(self) -> None:
        job = self.current_job()
        if job is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export training config",
                                              f"{job['name']}.yaml", "YAML (*.yaml *.yml)")
        if path:
            config, lines = control.export_config(job, self.db_path, path)
            Path(path).write_text(config.to_yaml(), encoding="utf-8")
            self.message.emit(f"Saved {path}: run it with `{lines['single']}`")

    def copy_command(self) -> None:
        job = self.current_job()
        if job is None:
            return
        yaml_path = str(Path(job.get("output_dir") or ".") / "config.yaml")
        _, lines = control.export_config(job, self.db_path, yaml_path)
        QGuiApplication.clipboard().setText(lines["single"])
        self.message.emit("Command line copied.")

    def _poll_if_open(self) -> None:
        if isValid(self):
            self.poll_now()

    def _action_failed(self, exc: Exception) -> None:
        if isValid(self):
            self.failure.setText(str(exc))
            self.failure.show()
            self.message.emit(str(exc))
            self.poll_now()


def _line(*widgets) -> QHBoxLayout:
    """A row of widgets; None is a stretch."""
    line = QHBoxLayout()
    for widget in widgets:
        if widget is None:
            line.addStretch(1)
        else:
            line.addWidget(widget, 1 if isinstance(widget, QComboBox) else 0)
    return line


def _labels_line(job: dict) -> str:
    """What the job trained on: label source, per-kind counts, clips left out (m006)."""
    return describe_record(json.loads(job.get("labels_json") or "null"))
