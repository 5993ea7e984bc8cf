"""Project files and datasets from the GUI: File > New project…, File > Delete dataset…

New project: a file name and whether to add the demo clips (off by default: a new project is
empty). Delete dataset: pick one, read what would go (clips, variants, labels, runs, variant
files) in the background, then a confirmation that repeats those numbers; the delete is an op
(mmla_app.ops.datasets) on the project's runner, so it finishes even if the dialog is closed,
and its change record reloads the window.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.ops import datasets as ops
from mmla_app.ops.op import run_job
from mmla_app.theme import ERROR_STYLE
from mmla_app.widgets.wrap_fit import grow_with_text
from mmla_core.datasets.remove import plan_removal
from mmla_core.store.catalog import list_datasets

PROJECT_FILTER = "MMLA Studio projects (*.sqlite *.sqlite3 *.db);;All files (*)"


def path_row(parent: QWidget, edit: QLineEdit, browse) -> QWidget:
    """A line edit with a Browse… button beside it."""
    row = QWidget(parent)
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(QPushButton("Browse…", row, clicked=browse))
    return row


def form_dialog(dialog: QDialog, form: QFormLayout, note: QLabel, action: str, on_accept):
    """Lay out note, form, an error line and Cancel / `action`; returns (error, action button).
    The dialog grows to show a long error whole (`grow_with_text`)."""
    error = QLabel(dialog, wordWrap=True)
    error.setStyleSheet(ERROR_STYLE)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, dialog)
    button = buttons.addButton(action, QDialogButtonBox.ButtonRole.AcceptRole)
    buttons.accepted.connect(on_accept)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    for item in (note, form, error, buttons):
        (layout.addLayout if isinstance(item, QFormLayout) else layout.addWidget)(item)
    dialog.resize(560, dialog.sizeHint().height())
    grow_with_text(dialog)
    return error, button


class NewProjectDialog(QDialog):
    """Name a new project file; `created(path, demo)` when the name is usable."""

    created = Signal(Path, bool)

    def __init__(self, folder: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New project")
        self.path_edit = QLineEdit(str(folder / "project.sqlite"), self)
        self.demo_box = QCheckBox("Add the 8 bundled demo clips (to try the app)", self)
        form = QFormLayout()
        form.addRow("Project file", path_row(self, self.path_edit, self._browse))
        form.addRow("", self.demo_box)
        note = QLabel("A project is one SQLite file: datasets, labels, runs and training jobs. "
                      "It starts empty: File > Import adds data.", self, wordWrap=True)
        self.error, self.create_button = form_dialog(self, form, note, "Create", self._create)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New project file", self.path_edit.text(),
                                              PROJECT_FILTER)
        if path:
            self.path_edit.setText(path)

    def problem(self) -> str:
        """Why the file name cannot be a new project ('' when it can)."""
        text = self.path_edit.text().strip()
        if not text:
            return "Give the project a file name."
        path = Path(text).expanduser()
        if path.exists():
            return f"{path} already exists: open it with File > Open project…"
        if path.parent.exists() and not path.parent.is_dir():
            return f"{path.parent} is not a folder."
        return ""

    def _create(self) -> None:
        problem = self.problem()
        path = Path(self.path_edit.text().strip()).expanduser()
        if not problem:
            try:   # like `mmla new`, the one place that makes a project's folder (opening never)
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                problem = f"Cannot make the folder {path.parent}: {exc.strerror or exc}."
        self.error.setText(problem)
        if not problem:
            self.created.emit(path, self.demo_box.isChecked())
            self.accept()


def _datasets(store) -> list[tuple[int, str, int]]:
    return [(int(d["id"]), d["name"], int(d["clip_count"])) for d in list_datasets(store)]


def _plan(store, dataset_id: int):
    return plan_removal(store, dataset_id)


class DeleteDatasetDialog(QDialog):
    """Pick a dataset, see what goes, confirm, delete. `deleted(summary)` after the commit."""

    deleted = Signal(str)

    def __init__(self, project, parent: QWidget | None = None):
        """`project`: the open Project (its runner outlives the dialog: a delete finishes)."""
        super().__init__(parent)
        self.setWindowTitle("Delete a dataset")
        self.project = project
        self.runner = project.runner.scope("delete_dataset")  # reads; the delete outlives us
        self.plan = None
        self.confirm_box: QMessageBox | None = None
        self.combo = QComboBox(self)
        self.combo.currentIndexChanged.connect(self._on_pick)
        self.summary = QLabel("Reading the project…", self, wordWrap=True)
        # its own line: the list read again after a delete rewrites the summary at once
        self.outcome = QLabel("", self, wordWrap=True)
        self.delete_button = QPushButton("Delete…", self, enabled=False, clicked=self._confirm)
        close = QPushButton("Close", self, clicked=self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.combo)
        layout.addWidget(self.summary)
        layout.addWidget(self.outcome)
        layout.addWidget(QLabel("The imported media folder itself is never touched; training "
                                "runs are kept (Training tab > Delete…).", self,
                                wordWrap=True, objectName="muted"))
        layout.addLayout(buttons)
        self.resize(520, self.sizeHint().height())
        grow_with_text(self)  # a long dataset name or failure is shown whole
        self._list_datasets()

    def _list_datasets(self) -> None:
        self.runner.submit(_datasets, on_success=self._on_datasets, on_error=self._on_error)

    def _on_datasets(self, rows) -> None:
        if not isValid(self):
            return
        self.combo.blockSignals(True)
        self.combo.clear()
        for dataset_id, name, clips in rows:
            self.combo.addItem(f"{name} ({clips} clips)", dataset_id)
        self.combo.blockSignals(False)
        if not rows:
            self.summary.setText("This project has no datasets.")
        self._on_pick()

    def _on_pick(self) -> None:
        self.plan = None
        self.delete_button.setEnabled(False)
        dataset_id = self.combo.currentData()
        if dataset_id is not None:
            self.summary.setText("Counting what would go…")
            self.runner.submit(_plan, dataset_id, channel="plan",
                               on_success=self._on_plan, on_error=self._on_error)

    def _on_plan(self, plan) -> None:
        if not isValid(self):
            return
        self.plan = plan
        self.summary.setText(f"Deleting <b>{plan.footprint.name}</b> removes {plan.summary()}.")
        self.delete_button.setEnabled(True)

    def _on_error(self, exc) -> None:
        if isValid(self):
            self.summary.setText(f"Could not read the project: {exc}")

    def _confirm(self) -> None:
        if self.plan is None:
            return
        box = self.confirm_box = QMessageBox(
            QMessageBox.Icon.Warning, "Delete dataset",
            f"Delete dataset “{self.plan.footprint.name}” from this project?\n\n"
            f"This removes {self.plan.summary()}. It cannot be undone.",
            QMessageBox.StandardButton.Cancel, self)
        box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(self._on_answer)
        box.open()

    def _on_answer(self, button) -> None:
        box = self.confirm_box
        if box is None or box.buttonRole(button) != QMessageBox.ButtonRole.DestructiveRole:
            return
        self.delete_button.setEnabled(False)
        self.outcome.setText(f"Deleting {self.plan.footprint.name}…")
        run_job(self.project, ops.delete_dataset(self.plan.footprint.dataset_id),
                initiator=self, on_success=self._on_deleted, on_error=self._on_delete_failed)

    def _on_deleted(self, removal) -> None:
        if not isValid(self):  # closed meanwhile: the delete went on, the window follows
            return
        message = f"Deleted dataset {removal.footprint.name}: {removal.summary()}"
        self.outcome.setText(message)
        self.deleted.emit(message)
        self._list_datasets()

    def _on_delete_failed(self, exc: Exception) -> None:
        if isValid(self):
            self.outcome.setText(f"Delete failed: {exc}")

    def done(self, result: int) -> None:
        self.runner.close()
        super().done(result)


def open_new_project(w) -> NewProjectDialog:
    """File > New project…: the window switches to the new (empty, or demo) project."""
    dialog = w.new_project_dialog = NewProjectDialog(w.db_path.parent, w)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.created.connect(lambda path, demo: w.open_database(path, demo=demo))
    dialog.open()
    return dialog


def open_delete_dataset(w) -> DeleteDatasetDialog:
    """File > Delete dataset…: the clip list reloads after a delete."""
    dialog = w.delete_dataset_dialog = DeleteDatasetDialog(w.project, w)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.deleted.connect(lambda message: w.statusBar().showMessage(message, 10000))
    dialog.deleted.connect(lambda _message: w.show_clip(None))  # the bus reloads the clips
    dialog.open()
    return dialog
