"""Export from the GUI: labels + check answers + verdicts to CSV / JSONL, one ELAN .eaf per clip,
or clips to LLaMA-Factory. The export is an op (mmla_app.ops.exports) on the project's runner:
it finishes even if the dialog is closed; files are written atomically, so a failed export
never leaves half a file behind. Which labels and clips: the `LabelChoice` row
(curated labels, rejected clips left out by default, as the CLI); the summary names the label
source, the per-kind counts and the clips each rule left out. The choices follow the project
(the ChangeBus: a dataset imported or removed, a label source gone, a model registered while
the dialog is open) and keep what the person chose: a chosen one the project lost stays chosen,
marked "(no longer in the project)", and the status line says so.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.ops import exports as ops
from mmla_app.ops.op import run_job
from mmla_app.widgets.form_choices import refill_keeping
from mmla_app.widgets.label_choice import GONE, LabelChoice, label_annotators
from mmla_core import changes as areas
from mmla_core.store.catalog import list_datasets, list_tasks
from mmla_core.store.results import model_names

# (key, shown name, writes a folder?)
FORMATS = (
    ("csv", "Labels, checks and verdicts (CSV)", False),
    ("jsonl", "Labels, checks and verdicts (JSONL)", False),
    ("eaf", "ELAN .eaf, one per clip (folder)", True),
    ("llamafactory", "Clips to LLaMA-Factory (folder)", True),
    ("mmla", "Clips in MMLA's layout: TSVs + video/ (folder)", True),
)
DEFAULT_SPLITS = {"llamafactory": "train,dev", "mmla": "train,dev,test"}
MODES = ("video", "video_audio", "text")


def _choices(store) -> tuple[list[tuple[int, str]], list[str], list[str], list[str]]:
    return ([(int(d["id"]), d["name"]) for d in list_datasets(store)],
            [t.name for t in list_tasks(store)], label_annotators(store), model_names(store))


def _refilled(combo: QComboBox, items: list[tuple[str, object]], what: str) -> str | None:
    """`refill_keeping`, and the line naming a chosen item the project lost."""
    if not refill_keeping(combo, items):
        return None
    return f"{what} {combo.currentText().removesuffix(GONE)!r} is no longer in the project"


class ExportDialog(QDialog):
    """Pick a dataset, a format and a target; Export runs in the background."""

    exported = Signal(str)  # the summary line
    failed = Signal(str)

    def __init__(self, project, parent: QWidget | None = None):
        """`project`: the open Project (its runner outlives the dialog: an export finishes)."""
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.project = project
        self.runner = project.runner.scope("export")  # reads; the export itself outlives us
        self.annotator = project.annotator
        self.exporting = False
        self._build()
        self._on_format()
        self._load_choices()
        project.bus.listen(self._on_changes)

    def _load_choices(self) -> None:
        self.runner.submit(_choices, channel="choices", on_success=self._on_choices,
                           on_error=self._on_failed)

    def _on_changes(self, changes, _initiator) -> None:
        """A dataset imported or removed, labels changed, a model registered elsewhere."""
        if isValid(self) and changes.touches(areas.DATASETS, areas.LABELS, areas.MODELS):
            self._load_choices()

    def _build(self) -> None:
        self.dataset_combo = QComboBox(self)
        self.format_combo = QComboBox(self)
        for key, text, _folder in FORMATS:
            self.format_combo.addItem(text, key)
        self.format_combo.currentIndexChanged.connect(self._on_format)
        self.target_edit = QLineEdit(self, minimumWidth=380)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        target = QHBoxLayout()
        target.addWidget(self.target_edit, 1)
        target.addWidget(browse)
        self.mine_box = QCheckBox(f"Only my work ({self.annotator})", self)
        self.task_combo = QComboBox(self)
        self.mode_combo = QComboBox(self)
        self.mode_combo.addItems(MODES)
        self.splits_edit = QLineEdit("train,dev", self)
        self.tokens_combo = QComboBox(self)  # whose tokenizer counts the longest sample
        self.tokens_combo.addItem("estimate (no model)", None)
        self.label_choice = LabelChoice(self)
        self.form = QFormLayout()
        self.form.addRow("Dataset", self.dataset_combo)
        self.form.addRow("Format", self.format_combo)
        self.form.addRow("Save to", target)
        self.form.addRow("", self.mine_box)
        self.form.addRow("Task", self.task_combo)
        self.form.addRow("Inputs", self.mode_combo)
        self.form.addRow("Splits", self.splits_edit)
        self.form.addRow("Count tokens with", self.tokens_combo)
        self.form.addRow("Labels", self.label_choice)
        self.export_button = QPushButton("Export", self, default=True)
        self.export_button.clicked.connect(self.start_export)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(QPushButton("Close", self, clicked=self.close))
        self.status = QLabel(self, wordWrap=True, objectName="muted")
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        # the dialog is as tall as its rows: no gap when a format hides some of them
        layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetFixedSize)

    def _on_choices(self, choices) -> None:
        if not isValid(self):
            return
        datasets, tasks, annotators, models = choices
        self.label_choice.set_annotators(annotators)  # it marks and says a lost source itself
        lost = [_refilled(self.tokens_combo, [("estimate (no model)", None)]
                          + [(name, name) for name in models], "Model"),
                _refilled(self.dataset_combo, [(name, dataset_id)
                                               for dataset_id, name in datasets], "Dataset"),
                _refilled(self.task_combo, [(name, name) for name in tasks], "Task")]
        lines = [line for line in lost if line]
        if lines or self.status.text().endswith("no longer in the project."):
            self.status.setText(". ".join(lines) + ("." if lines else ""))
        self.export_button.setEnabled(bool(datasets) and not self.exporting)

    def fmt(self) -> str:
        return self.format_combo.currentData()

    def _on_format(self, _index: int = -1) -> None:
        fmt = self.fmt()
        for widget in (self.mode_combo, self.tokens_combo):
            self.form.setRowVisible(widget, fmt == "llamafactory")
        for widget in (self.task_combo, self.splits_edit):
            self.form.setRowVisible(widget, fmt in DEFAULT_SPLITS)
        if fmt in DEFAULT_SPLITS and self.splits_edit.text() in DEFAULT_SPLITS.values():
            self.splits_edit.setText(DEFAULT_SPLITS[fmt])  # a default, not a person's choice
        self.form.setRowVisible(self.mine_box, fmt == "eaf")

    def _browse(self) -> None:
        folder = {k: f for k, _, f in FORMATS}[self.fmt()]
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Export to folder")
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export to file", "",
                                                  f"{self.fmt().upper()} (*.{self.fmt()})")
        if path:
            self.target_edit.setText(path)

    def start_export(self) -> None:
        target, dataset_id = self.target_edit.text().strip(), self.dataset_combo.currentData()
        if not target or dataset_id is None:
            self.status.setText("Choose a dataset and where to save.")
            return
        if self.dataset_combo.currentText().endswith(GONE):
            self.status.setText(f"Dataset {self.dataset_combo.currentText().removesuffix(GONE)!r}"
                                " is no longer in the project: choose another.")
            return
        options = {"task": self.task_combo.currentText(), "mode": self.mode_combo.currentText(),
                   "splits": self.splits_edit.text(),
                   "annotator": self.annotator if self.mine_box.isChecked() else None,
                   "selection": self.label_choice.selection(),
                   "tokenizer": self.tokens_combo.currentData()}
        self.exporting = True
        self.export_button.setEnabled(False)
        self.status.setText("Exporting…")
        run_job(self.project, ops.export(self.fmt(), target, int(dataset_id), options),
                initiator=self, on_success=self._on_done, on_error=self._on_failed)

    def done(self, result: int) -> None:
        self.project.bus.forget(self._on_changes)
        self.runner.close()
        super().done(result)

    def _on_done(self, summary: str) -> None:
        if isValid(self):
            self.exporting = False
            self.export_button.setEnabled(True)
            self.status.setText(summary)
            self.exported.emit(summary)

    def _on_failed(self, exc: Exception) -> None:
        if isValid(self):
            self.exporting = False
            self.export_button.setEnabled(True)
            self.status.setText(f"Export failed: {exc}")
            self.failed.emit(str(exc))
