"""Train LoRA: the launch form, a preview of the training samples, and the launch itself.

Preview renders a few samples exactly as the trainer will see them (prompt and answer), names
the label source with its per-kind counts and the clips the verdict rule left out, and runs
the store checks (`preflight.validate`: no labelled clips, one class only, labels outside the task,
clips without audio for a model that hears...) on a worker thread. Launch runs the same checks
in `control.launch` and is refused with those messages shown here; nothing is created then. A
launched job runs detached and appears in the Training tab (`launched(job_id)`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app import settings
from mmla_app.ops import training as training_ops
from mmla_app.ops.op import run_job
from mmla_app.runtime.project import Project
from mmla_app.training.training_form import TrainForm, load_splits
from mmla_app.widgets.form_choices import load_choices
from mmla_app.widgets.screen_fit import fit_resize
from mmla_core import changes as areas
from mmla_core.store.verdicts import describe_record
from mmla_core.train import control
from mmla_core.train.config import TrainConfig, TrainConfigError
from mmla_core.train.preflight import validate
from mmla_core.train.samples import labels_record, preview
from mmla_core.words import count

ERROR_STYLE = "color: #c8453b;"
OK_STYLE = "color: #2e9d5b;"
PREVIEW_SAMPLES = 4


def preview_config(store, config_dict: dict) -> dict:
    """Worker job: the store's refusals of this config and a few rendered samples."""
    config = TrainConfig.from_dict(config_dict)
    problems = list(validate(store, config))
    labels = labels_record(store, config)
    try:
        samples = preview(store, config, n=PREVIEW_SAMPLES)
    except Exception as exc:  # no sample can be built (no model, no labels): validate said why
        samples = []
        if not problems:
            problems.append(str(exc))
    return {"problems": problems, "samples": samples, "labels": labels}


def render_samples(samples) -> str:
    blocks = []
    for sample in samples:
        media = Path(sample.media_path).name if sample.media_path else "text only"
        variant = f", variant {sample.variant}" if sample.variant else ""
        blocks.append(f"── clip {sample.clip_id} · {sample.task} · {sample.split} · {media}"
                      f"{variant}\n{sample.prompt}\n⇒ {sample.answer}")
    return "\n\n".join(blocks)


class TrainDialog(QDialog):
    """Set up, preview and launch a LoRA fine-tune; emits `launched(job_id)`."""

    launched = Signal(int)
    previewed = Signal(object)  # {"problems", "samples"}
    refused = Signal(list)  # the problems that refused a launch

    @property
    def db_path(self) -> Path:
        return self.project.db_path

    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Train LoRA")
        fit_resize(self, 1100, 840)
        self.project = project
        self.runner = project.runner.scope("train")  # reads, dropped when we close
        self.yaml_path: str | None = None
        self.form = TrainForm(self)
        self.form.dataset_changed.connect(self._load_splits)
        self.form.changed.connect(self._mark_stale)
        self.form.mismatches.connect(self._show_mismatches)
        self.form.gone.connect(self._show_gone)
        self._restored = False  # the last launch's settings fill the form once, at opening
        self._build()
        self._load_choices()
        project.bus.listen(self._on_changes)

    def _build(self) -> None:
        scroll = QScrollArea(self, widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        scroll.setWidget(self.form)
        scroll.setMinimumWidth(470)
        self.problems = QLabel(self, wordWrap=True)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.samples_view = QPlainTextEdit(self, readOnly=True)
        self.samples_view.setPlaceholderText(
            "Preview shows a few training samples (prompt and answer) as the trainer renders "
            "them, and what would refuse the launch.")
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QLabel("<b>Samples</b>", self))
        self.labels_line = QLabel(self, wordWrap=True, objectName="muted")
        right_layout.addWidget(self.labels_line)
        right_layout.addWidget(self.samples_view, 1)
        right_layout.addWidget(self.problems)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(scroll)
        splitter.addWidget(right)
        splitter.setSizes([520, 580])
        self.load_button = QPushButton("Load YAML…", self, clicked=self.load_yaml)
        self.save_button = QPushButton("Save YAML…", self, clicked=self.save_yaml)
        self.copy_button = QPushButton("Copy command line", self, clicked=self.copy_command)
        self.preview_button = QPushButton("Preview", self, clicked=self.preview)
        self.launch_button = QPushButton("Launch", self, clicked=self.launch, default=True)
        close = QPushButton("Close", self, clicked=self.close)
        self.status = QLabel(self, wordWrap=True, objectName="muted")
        buttons = QHBoxLayout()
        for widget in (self.load_button, self.save_button, self.copy_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        for widget in (self.preview_button, self.launch_button, close):
            buttons.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    # --- choices ------------------------------------------------------------------------------

    def _load_choices(self) -> None:
        self.runner.submit(load_choices, channel="choices", on_success=self._on_choices,
                           on_error=self._failed)

    def _on_changes(self, changes, initiator) -> None:
        """A model or dataset added or removed elsewhere (the Evaluate window, `mmla models
        add`, an import): the lists follow; what the person set or chose here stays."""
        if initiator is not self and isValid(self) and changes.touches(areas.MODELS,
                                                                       areas.DATASETS):
            self._load_choices()

    def _on_choices(self, choices: dict) -> None:
        if not isValid(self):
            return
        self.form.set_choices(choices)
        if not self._restored:
            self._restored = True
            self._restore_last()
        if not choices["models"]:
            self._show_problems(["No model registered yet: Tools > Evaluate > Add model… "
                                 "(or `mmla models tiny OUT --add`)."])

    def _restore_last(self) -> None:
        """The settings of the last launch in this project (its output folder left empty: a
        new run gets its own), unless a YAML was loaded meanwhile."""
        last = settings.last_train_config(self.db_path)
        if last is None or self.yaml_path is not None:
            return
        try:
            config = TrainConfig.from_dict({**last, "output_dir": ""})
        except TrainConfigError:
            return  # an older release's settings this one refuses: start from the defaults
        self.form.set_config(config)
        self.status.setText("The settings of the last training launched in this project.")

    def _load_splits(self, dataset: str | None) -> None:
        self.runner.submit(load_splits, dataset, channel="splits",
                           on_success=lambda info: isValid(self) and self.form.set_splits(info),
                           on_error=self._failed)

    # --- preview and launch -------------------------------------------------------------------

    def _form_config(self):
        """The form's config, or None after showing why it cannot be built."""
        try:
            return self.form.config()
        except TrainConfigError as exc:
            self._show_problems(exc.problems)
            return None

    def preview(self) -> None:
        config = self._form_config()
        if config is None:
            return
        self.status.setText("Building the samples…")
        self.runner.submit(preview_config, config.to_dict(), channel="preview",
                           on_success=self._on_preview, on_error=self._failed)

    def _on_preview(self, result: dict) -> None:
        if not isValid(self):
            return
        self.samples_view.setPlainText(render_samples(result["samples"]))
        self.labels_line.setText(describe_record(result.get("labels")))
        self._show_problems(result["problems"])
        self.status.setText(f"{count(len(result['samples']), 'sample')} shown.")
        self.previewed.emit(result)

    def launch(self) -> None:
        config = self._form_config()
        if config is None:
            return
        self.launch_button.setEnabled(False)
        settings.remember_train_config(self.db_path, config.to_dict())
        self.status.setText(f"Checking and launching {config.name}…")
        # spawns the trainer: on the project's runner, so it ends (and the Training tab hears of
        # it) even when this dialog closes first
        run_job(self.project, training_ops.launch(config.to_dict()),
                initiator=self, on_success=self._on_launched,
                on_error=self._on_launch_error)

    def _on_launched(self, job_id: int) -> None:
        if not isValid(self):
            return
        self.launch_button.setEnabled(True)
        self.status.setText(f"Launched job {job_id}: it runs on its own, even if you close "
                            "the app. Watch it in the Training tab.")
        self.launched.emit(int(job_id))

    def _on_launch_error(self, exc: Exception) -> None:
        if not isValid(self):
            return
        self.launch_button.setEnabled(True)
        problems = getattr(exc, "problems", None) or [str(exc)]
        self._show_problems(problems, refused=True)
        self.refused.emit(problems)

    def _show_problems(self, problems: list[str], refused: bool = False) -> None:
        if not problems:
            self.problems.setStyleSheet(OK_STYLE)
            self.problems.setText("Ready to launch: no problem found.")
            return
        head = "Launch refused. Fix:" if refused else "To fix before launch:"
        self.problems.setStyleSheet(ERROR_STYLE)
        self.problems.setText(head + "\n" + "\n".join(f"• {p}" for p in problems))
        self.status.setText("")

    def _show_gone(self, gone: list[str]) -> None:
        """Chosen here, removed elsewhere: said, kept chosen, never swapped for another."""
        self._show_problems([f"{what[:1].upper()}{what[1:]} (removed outside this window); "
                             "it is still chosen here: choose another" for what in gone])

    def _show_mismatches(self, mismatches: list[str]) -> None:
        """A loaded config the form could not show as it is: say what differs."""
        if mismatches:
            self._show_problems([f"The loaded config's {m}" for m in mismatches])

    def _mark_stale(self) -> None:
        if self.problems.text():
            self.problems.setStyleSheet("color: #8a8f98;")

    def _failed(self, exc: Exception) -> None:
        if isValid(self):
            self._show_problems([str(exc)])

    # --- YAML and command line ----------------------------------------------------------------

    def save_yaml(self) -> None:
        config = self._form_config()
        if config is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save training config",
                                              self.yaml_path or f"{config.name}.yaml",
                                              "YAML (*.yaml *.yml)")
        if not path:
            return
        try:
            Path(path).write_text(config.to_yaml(), encoding="utf-8")
        except OSError as exc:
            self._show_problems([f"Cannot write {path}: {exc.strerror or exc}"])
            return
        self.yaml_path = path
        self.status.setText(f"Saved {path}.")

    def load_yaml(self, path: str | None = None) -> None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Load training config", "",
                                                  "YAML (*.yaml *.yml);;All files (*)")
        if not path:
            return
        try:
            config = TrainConfig.from_yaml(Path(path).read_text(encoding="utf-8"))
        except (OSError, TrainConfigError) as exc:
            self._show_problems([f"{path}: {exc}"])
            return
        self.yaml_path = path
        self.form.set_config(config)
        self.status.setText(f"Loaded {path}.")

    def copy_command(self) -> None:
        config = self._form_config()
        if config is None:
            return

        _, lines = control.export_config(config, self.db_path,
                                         self.yaml_path or f"{config.name}.yaml")
        line = lines["single"]
        QGuiApplication.clipboard().setText(line)
        self.status.setText(f"Copied: {line}  (Save YAML… writes the file it reads)")

    def _shutdown(self) -> None:
        """Stop reading and listening (idempotent)."""
        self.project.bus.forget(self._on_changes)
        self.runner.close()

    def done(self, result: int) -> None:  # Close, Esc
        self._shutdown()
        super().done(result)

    def closeEvent(self, event) -> None:  # the window's close button, even when hidden
        self._shutdown()
        super().closeEvent(event)
