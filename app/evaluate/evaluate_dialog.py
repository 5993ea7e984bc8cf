"""Evaluate: a model (+ LoRA adapter) on a dataset split for a task, and on conflict variants.

The model runs in the project's model worker (`runtime/model_jobs.py`, shared with the Probe
tab): this window sends the request, gets its progress from the worker's poll and never waits,
so it stays responsive while a model loads for minutes; a crash of the worker is shown here and
the window stays up. The prompt template is shown and editable before running, with a live
preview on a clip of the chosen split (`evaluate_form.EvaluateForm`).

Two lines under the buttons: `status`, the run's progress and outcome (and Add model's), and
`hint`, what the form's reads say (no model yet, an adapter's training settings, a read that
failed). A reload (a change made elsewhere) writes only `hint`, so it never replaces a
finished run's summary (docs/architecture.md, the change watcher's row).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.evaluate.evaluate_form import ERROR_STYLE, EvaluateForm
from mmla_app.ops import models as model_ops
from mmla_app.ops.op import submit
from mmla_app.runtime.model_jobs import JobHandle, model_jobs
from mmla_app.runtime.project import Project
from mmla_app.widgets.form_choices import load_choices, load_dataset_info, row
from mmla_app.widgets.screen_fit import fit_resize
from mmla_app.widgets.stop_button import StopButton
from mmla_core import changes as areas
from mmla_core.eval.comparable import adapter_settings
from mmla_core.eval.compare import run_report
from mmla_core.store.verdicts import describe_record
from mmla_core.words import count

CANCEL = "Cancel run"
NO_MODEL_HINT = ("No model yet: Add model… (a local folder with safetensors weights, e.g. from "
                 "`mmla models tiny OUT --add`) or Download… one; Run is enabled once a model is "
                 "chosen.")


def load_adapter_settings(store, adapter: str, task: str | None):
    return adapter_settings(store, adapter, task)


def run_summary(store, run_id: int) -> str:
    """Runs on a worker thread: the headline metrics of a finished run, MMLA's way."""
    report = run_report(store, run_id)
    p = report.metrics.percent()
    text = (f"Run {run_id} {report.run['status']}: ACC {p['ACC']:.2f}  F1 {p['F1']:.2f}  "
            f"WF1 {p['WF1']:.2f}  WP {p['WP']:.2f} on {count(report.metrics.n, 'clip')}")
    if report.errors:
        text += f"; {count(report.errors, 'sample')} failed (see Results)"
    if report.settings.get("engine", {}).get("random_weights"):
        text += ". Random weights: these numbers are noise"
    return f"{text}.\nGold {describe_record(report.settings.get('labels'))}"


class EvaluateDialog(QDialog):
    """Set up and run an evaluation in the worker process; emits `run_finished(run_id)`."""

    run_started = Signal(int)
    run_finished = Signal(int)
    message = Signal(str)

    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Evaluate")
        fit_resize(self, 720, 780)
        self.project = project
        self.runner = project.runner.scope("evaluate")  # reads, dropped when we close
        self.jobs = model_jobs(project.db_path)  # the project's model worker, shared with Probe
        self.client: JobHandle | None = None  # the running evaluation's request
        self.run_id: int | None = None
        self._hint_outdated = False
        self.form = EvaluateForm(project, self)
        self.form.dataset_changed.connect(self._on_dataset)
        self.form.adapter_changed.connect(self._on_adapter)
        self.form.add_model_requested.connect(self.add_model)
        self.form.valid_changed.connect(self._update_buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        self._build_run_controls(layout)
        self._refresh_choices()
        project.bus.listen(self._on_changes)
        app = QCoreApplication.instance()
        if app is not None:  # the app quitting with a run going: leave it marked resumable
            app.aboutToQuit.connect(self._on_quit)

    def _build_run_controls(self, layout: QVBoxLayout) -> None:
        self.run_button = QPushButton("Run", self, default=True, enabled=False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton(CANCEL, self, enabled=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_combo = QComboBox(self)
        self.resume_button = QPushButton("Resume", self, enabled=False)
        self.resume_button.clicked.connect(lambda: self.resume(self.resume_combo.currentData()))
        self.progress = QProgressBar(self)
        self.progress.hide()  # shown from the first run on: an empty bar said nothing
        self.status = QLabel(self, wordWrap=True)
        self.hint = QLabel(self, wordWrap=True, visible=False)
        layout.addWidget(row(self.run_button, self.cancel_button, QLabel("Unfinished runs:"),
                             self.resume_combo, self.resume_button))
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.hint)
        # Cancel, then Stop now: the Probe tab's and the set windows' button (widgets)
        self.stopper = StopButton(self, self.cancel_button, self.status,
                                  handle=lambda: self.client, on_killed=self._killed,
                                  subject="evaluation", step="batch", cancel=CANCEL)

    # --- choices ------------------------------------------------------------------------------

    def _refresh_choices(self, select_model: str | None = None) -> None:
        self.runner.submit(load_choices, channel="choices",
                           on_success=lambda c: self._on_choices(c, select_model),
                           on_error=self._read_failed)

    def _on_changes(self, changes, initiator) -> None:
        """A model registered, a run ended or labels changed elsewhere (the CLI, the Probe tab,
        another window): offer it now; the choices made here are kept (a label source the
        project lost stays chosen, marked)."""
        if initiator is not self and isValid(self) and changes.touches(
                areas.MODELS, areas.RUNS, areas.LABELS, areas.DATASETS):
            self._refresh_choices()

    def _on_choices(self, choices: dict, select_model: str | None = None) -> None:
        if not isValid(self):
            return
        self.form.set_choices(choices)
        if select_model:
            self.form.select_model(select_model)
        if not choices["models"]:
            self._hint(NO_MODEL_HINT)
        elif self._hint_outdated:   # the models are back, the reads work again
            self._hint("")
        picked = self.resume_combo.currentData()  # a reload puts the newest first: keep it
        self.resume_combo.clear()
        for run in choices["unfinished"]:
            self.resume_combo.addItem(f"#{run['id']} {run['task'] or ''} ({run['status']})",
                                      run["id"])
        self.resume_combo.setCurrentIndex(max(self.resume_combo.findData(picked), 0))
        self._update_buttons()

    def _on_dataset(self, dataset_id: int) -> None:
        self.runner.submit(load_dataset_info, dataset_id, channel="dataset",
                           on_success=self._on_dataset_info, on_error=self._read_failed)

    def _on_adapter(self, adapter: str) -> None:
        """An adapter trained here: default to the inference settings its training used."""
        if adapter:
            self.runner.submit(load_adapter_settings, adapter, self.form.task_combo.currentData(),
                               channel="adapter", on_success=self._on_adapter_settings,
                               on_error=self._read_failed)

    def _on_adapter_settings(self, found) -> None:
        if isValid(self) and found:
            self._hint(self.form.apply_training_settings(found), outdated=False)

    def _on_dataset_info(self, info: dict) -> None:
        if isValid(self):
            self.form.set_dataset_info(info)

    def add_model(self, folder: str) -> None:
        """Check the folder (its files only, no torch) and register it, on the writer thread;
        the Probe tab and the other model lists offer it at once (the op's MODELS change)."""
        self._show(f"Checking {folder}…")
        submit(self.project.db_path, model_ops.add_model_folder(folder), initiator=self,
               on_success=self._on_model_added, on_error=self._failed)

    def _on_model_added(self, name: str) -> None:
        if isValid(self):
            self._show(f"Model {name} added.")
            self._refresh_choices(select_model=name)

    # --- running ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.client is not None and self.client.running

    def _update_buttons(self, *_args) -> None:
        self.run_button.setEnabled(self.form.valid and not self.running)
        self.resume_button.setEnabled(self.resume_combo.count() > 0 and not self.running)
        self.cancel_button.setEnabled(self.running and not self.stopper.stop_now.stopping)

    def start(self) -> None:
        self._submit(self.form.eval_request(), "Starting the model worker…")

    def run_request(self, request: dict, text: str = "Starting the model worker…") -> None:
        """Run a request made elsewhere (e.g. Results' comparable zero-shot re-run)."""
        self._submit(request, text)

    def resume(self, run_id: int | None) -> None:
        if run_id is not None:
            self._submit({"resume": int(run_id)}, f"Resuming run {run_id}…")

    def _submit(self, request: dict, text: str) -> None:
        if self.running or self.jobs is None:
            self._show("An evaluation is running here: wait for it, or cancel it first.")
            return
        self.run_id = None
        self.client = self.jobs.submit("evaluate", on_event=self.on_event,
                                       what="the Evaluate window's evaluation", **request)
        self.progress.setRange(0, 0)  # busy until the first progress event
        self.progress.show()
        self._show(text)
        self._update_buttons()

    def cancel(self) -> None:
        """First press: stop after the current batch. Second press: Stop now (cancel this
        window's own request, give it STOP_GRACE_S to end; the worker, the project's, maybe
        running another window's job, is killed only if it does not)."""
        if self.running:
            self.stopper.press()

    @property
    def kill_box(self):
        """The open "kill the model worker?" question, or None."""
        return self.stopper.box

    def _killed(self) -> None:
        fate = self.client.fate() if self.client else ""   # its run, what is kept, Resume
        self._ended(f"Stopped: the model worker was killed. {fate}")

    def _ended(self, text: str, error: bool = False) -> None:
        self.client = None
        self.stopper.reset()
        self.progress.setRange(0, max(self.progress.maximum(), 1))
        self._show(text, error)
        self._update_buttons()
        self._refresh_choices()

    def on_event(self, event: dict) -> None:
        """An event of this window's evaluation (model_jobs routes them by request)."""
        kind = event["type"]
        if kind == "progress":
            self._on_progress(event)
        elif kind == "finished":
            self._on_finished(event)
        elif kind == "error":
            self._ended(f"Could not run: {event['message']}", error=True)
        elif kind == "crashed":  # the next run starts a fresh worker
            self._ended(event["message"], error=True)

    def _on_progress(self, event: dict) -> None:
        if self.run_id != event["run_id"]:
            self.run_id = event["run_id"]
            self.client.what = f"the Evaluate window's evaluation (run {self.run_id})"
            self.run_started.emit(self.run_id)
        if event["stage"] == "loading":
            self._show(f"Run {self.run_id}: loading the model…")
            return
        self.progress.setRange(0, max(event["total"], 1))
        self.progress.setValue(event["done"])
        errors = f", {event['errors']} failed" if event["errors"] else ""
        if event["stage"] == "running" and not self.stopper.cancelling:
            self._show(f"Run {self.run_id}: {event['done']} of {event['total']} samples{errors}")

    def _on_finished(self, event: dict) -> None:
        run_id, status = event["run_id"], event["status"]
        detail = f": {event['error']}" if event["error"] else ""
        if status == "cancelled":
            detail += ". The predictions so far are saved: Resume finishes the run"
        self._ended(f"Run {run_id} {status}{detail}", error=status == "failed")
        if status == "done":
            self.runner.submit(run_summary, run_id, on_success=self._on_summary,
                               on_error=self._failed)
        self.run_finished.emit(run_id)

    def _on_summary(self, text: str) -> None:
        if isValid(self):
            self._show(text)
            self.message.emit(text)

    def _show(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if error else "")

    def _failed(self, exc: Exception) -> None:
        if isValid(self):
            self._show(str(exc), error=True)

    def _hint(self, text: str, error: bool = False, outdated: bool = True) -> None:
        """The form's line; `outdated`: cleared by the next reload that has models."""
        self.hint.setText(text)
        self.hint.setStyleSheet(ERROR_STYLE if error else "")
        self.hint.setVisible(bool(text))
        self._hint_outdated = outdated and bool(text)

    def _read_failed(self, exc: Exception) -> None:
        """A background read of the form's choices failed: said on the form's line."""
        if isValid(self):
            self._hint(str(exc), error=True)

    def _on_quit(self) -> None:
        if isValid(self):
            self._stop_worker(wait_s=2.0, quitting=True)

    def _stop_worker(self, wait_s: float = 0.0, quitting: bool = False) -> None:
        """A running evaluation is killed (resumable) unless another window's job shares the
        worker: then it is cancelled and ends after its batch. An idle worker, shared with the
        Probe tab, keeps its model for the tab's next probe."""
        if self.running and self.jobs.others(self.client) and not quitting:
            self.client.cancel()
            self.client.detach()
        elif self.running:
            self.jobs.stop_now(wait_s, "the app quit while this job ran" if quitting else
                               "the Evaluate window closed while its evaluation ran")
        self.client = None
        if self.jobs is not None:
            self.jobs.release()
            self.jobs = None

    def done(self, result: int) -> None:
        """Closing stops a running evaluation without waiting; it stays resumable."""
        self._stop_worker()
        self.stopper.reset()
        self.runner.close()
        self.project.bus.forget(self._on_changes)
        self.form.adapter_picker.shutdown()
        super().done(result)
