"""The model answers MMA-Bench's four alignment checks for a whole dataset, in the model worker
process (`probe.model_checks`), with progress and cancel. The answers land as the model's layer
(annotator "model:<name>", source "model") beside the curators' answers, which are never touched;
the checks panel shows them for the curator to accept or override.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.probe.probe_jobs import (
    LOADING_TEXT,
    WorkerJob,
    load_set_choices,
)
from mmla_app.runtime.project import Project
from mmla_app.widgets.form_choices import refill_keeping
from mmla_app.widgets.stop_button import CANCEL, StopButton
from mmla_app.widgets.wrap_fit import grow_with_text
from mmla_core import changes as areas
from mmla_core.probe.sets import set_clips
from mmla_core.words import count


def dataset_clips(store, dataset: str) -> list[int]:
    """Worker job: the dataset's original clips (variants left out)."""
    return set_clips(store, dataset=dataset)


NO_MODEL_TEXT = ("No model yet: Tools > Evaluate > Add model… registers one (a local folder "
                 "of safetensors weights), then Run.")


class ModelChecksDialog(QDialog):
    answered = Signal(int)  # the checks run's id

    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Model answers the checks")
        self.project = project
        self.runner = project.runner.scope("model_checks")
        self.job = WorkerJob(project.db_path, self)
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(lambda msg: self._ended(f"The checks failed: {msg}"))
        self.job.killed.connect(self._killed)
        self.dataset_combo, self.model_combo = QComboBox(self), QComboBox(self)
        self.run_button = QPushButton("Run", self, clicked=self.run)
        self.cancel_button = QPushButton(CANCEL, self, enabled=False)
        self.progress = QProgressBar(self, visible=False)
        self.status = QLabel("A model answers the four yes/no alignment checks of every clip in "
                             "the dataset, by label scoring. Curators' answers are kept; the "
                             "model's show beside them.", self, wordWrap=True)
        self.stopper = StopButton(self, self.cancel_button, self.status,
                                  handle=lambda: self.job.handle,
                                  on_killed=self.job.killed_by_stop_now,
                                  subject="checks run", step="clip")
        self.cancel_button.clicked.connect(self.stopper.press)
        form = QFormLayout()
        form.addRow("Dataset", self.dataset_combo)
        form.addRow("Model", self.model_combo)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        for part in (form, self.status, self.progress, buttons):
            (layout.addLayout if isinstance(part, QHBoxLayout | QFormLayout)
             else layout.addWidget)(part)
        layout.addStretch(1)
        self.resize(560, self.sizeHint().height())
        grow_with_text(self)  # a long status (an error, a path) is shown whole
        self.runner.submit(load_set_choices, channel="choices", on_success=self._on_choices)
        project.bus.listen(self._on_changes)

    def _on_changes(self, changes, _initiator) -> None:
        """A model, dataset or clip added elsewhere: offer it, keeping the choices made."""
        if isValid(self) and changes.touches(areas.MODELS, areas.DATASETS, areas.CLIPS):
            self.runner.submit(load_set_choices, channel="choices", on_success=self._on_choices)

    def _on_choices(self, choices: dict) -> None:
        refill_keeping(self.dataset_combo, [(d, d) for d in choices["splits"]])
        refill_keeping(self.model_combo, choices["models"])
        if not choices["models"]:
            self.status.setText(NO_MODEL_TEXT)

    def run(self) -> None:
        dataset, model = self.dataset_combo.currentData(), self.model_combo.currentData()
        if not dataset or not model:  # with no model at all, say again how to add one
            self.status.setText(NO_MODEL_TEXT if self.model_combo.count() == 0
                                else "Choose a dataset and a model first.")
            return
        if self.job.running or not self.run_button.isEnabled():
            return
        self.run_button.setEnabled(False)  # at once: a double click must not start two jobs
        self.runner.submit(dataset_clips, dataset,
                           on_success=lambda ids: self._start(ids, model),
                           on_error=lambda exc: self._ended(f"Cannot read the dataset: {exc}"))

    def _start(self, clip_ids: list[int], model: str) -> None:
        if not clip_ids:
            self._ended("That dataset has no clips.")
            return
        if not self.job.start("model_checks", clip_ids, model=model,
                              what=f"the model's check answers over "
                                   f"{count(len(clip_ids), 'clip')} (dataset checks window)"):
            return
        self._set_running(True)
        self.progress.setRange(0, len(clip_ids))
        self.progress.setValue(0)
        self.status.setText(LOADING_TEXT)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        if not self.stopper.cancelling:  # "Cancelling…" / "Stopping…" stays said
            self.status.setText(f"Answered the checks of {done} of {total} clips…")

    def _on_finished(self, event: dict) -> None:
        self._ended(f"Checks run #{event['run_id']} {event.get('status')}: the model's answers "
                    "are in the checks panel, beside yours.")
        self.answered.emit(int(event["run_id"]))

    def _killed(self, message: str) -> None:
        """Stop now (here, or another window's) killed the worker: the answers of the clips
        done before it are kept, and the checks panel shows them."""
        self._ended(f"Stopped: {message}")
        if self.job.killed_run is not None:
            self.answered.emit(self.job.killed_run)

    def _ended(self, message: str) -> None:
        self.stopper.reset()
        self._set_running(False)
        self.status.setText(message)

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.run_button.setEnabled(not running)

    def done(self, result: int) -> None:
        self.stopper.reset()
        self.job.shutdown()
        self.runner.close()
        self.project.bus.forget(self._on_changes)
        super().done(result)


def open_model_checks(window, project: Project) -> ModelChecksDialog:
    dialog = ModelChecksDialog(project, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    checks = getattr(window, "checks", None)
    if checks is not None:
        dialog.answered.connect(lambda _run: checks.refresh())
    dialog.show()
    return dialog
