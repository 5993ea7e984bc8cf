"""Labels panel > Add task…: give the clip's dataset a task to label, so its clips show that
task's buttons. A folder of clips imported without a manifest has no task at all, and without
this the curator could not label it in the window.

Pick one of MMLA's 12 tasks (or a custom task the project has), or name a new one with its
labels. The write is an op (`ops.curation.attach_task`) on the writer thread; a refusal (a name
taken with other labels, one label only) shows in the dialog, which stays open.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDialog, QFormLayout, QLabel, QLineEdit, QWidget
from shiboken6 import isValid

from mmla_app.curation.project_dialogs import form_dialog
from mmla_app.ops import curation as ops
from mmla_app.ops.op import submit
from mmla_core.tasks import Task

NEW_TASK = "New task…"
SHOWN_LABELS = 6  # labels listed in the picker before "…"


def task_choice_text(task: Task) -> str:
    labels = ", ".join(task.labels[:SHOWN_LABELS]) + (", …" if len(task.labels) > SHOWN_LABELS
                                                      else "")
    kind = "MMLA" if task.builtin else "custom"
    return f"{task.name}  ({kind}, {len(task.labels)} labels: {labels})"


class AddTaskDialog(QDialog):
    """`attached(task name)` once the task is saved on the dataset."""

    attached = Signal(str)

    def __init__(self, db_path, dataset_id: int, dataset_name: str, offered: list[Task],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Add a task to {dataset_name}")
        self.db_path, self.dataset_id = db_path, dataset_id
        self.choice = QComboBox(self)
        # the entries list labels: the closed box needs not be as wide as the longest
        self.choice.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.choice.setMinimumContentsLength(36)
        for task in offered:
            self.choice.addItem(task_choice_text(task), task.name)
        self.choice.addItem(NEW_TASK, None)
        self.name_edit = QLineEdit(self, placeholderText="e.g. Politeness")
        self.labels_edit = QLineEdit(self, placeholderText="comma-separated, e.g. polite, "
                                                           "neutral, rude")
        form = QFormLayout()
        form.addRow("Task", self.choice)
        form.addRow("Name", self.name_edit)
        form.addRow("Labels", self.labels_edit)
        self.form = form
        note = QLabel(f"Every clip of <b>{dataset_name}</b> gets this task's label buttons "
                      "(keys 1–9, 0) in the Labels panel, and its column in exports.",
                      self, wordWrap=True)
        self.error, self.add_button = form_dialog(self, form, note, "Add task", self._add)
        self.choice.currentIndexChanged.connect(self._show_new_fields)
        self._show_new_fields()
        self.choice.setFocus()

    def _new(self) -> bool:
        return self.choice.currentData() is None

    def _show_new_fields(self, _index: int = -1) -> None:
        for field in (self.name_edit, self.labels_edit):
            self.form.setRowVisible(field, self._new())
        if self._new():
            self.name_edit.setFocus()

    def _add(self) -> None:
        if self._new():
            name = self.name_edit.text().strip()
            labels = [label.strip() for label in self.labels_edit.text().split(",")]
            if not name:
                self.error.setText("Give the new task a name.")
                return
            op = ops.attach_task(self.dataset_id, name, [lab for lab in labels if lab])
        else:
            name = self.choice.currentData()
            op = ops.attach_task(self.dataset_id, name)
        self.add_button.setEnabled(False)
        self.error.setText("")
        submit(self.db_path, op, initiator=self, on_success=self._added, on_error=self._refused)

    def _added(self, name: str) -> None:
        self.attached.emit(name)
        if isValid(self):
            self.accept()

    def _refused(self, exc: Exception) -> None:
        if isValid(self):
            self.add_button.setEnabled(True)
            self.error.setText(f"Not added: {exc}")
