"""Agreement: pick a dataset and two or more annotators; kappa per task and per check, and the
clips they disagree on, to adjudicate (double-click one to open it in the main window).

Adjudicate from the keyboard: select a task disagreement and press a label's key (the label
pane's keys: 1..9, 0, then Ctrl / Alt); it is written as your adjudication
(`store.labels.adjudicate`, undoable with Edit > Undo like any edit), becomes the curated label
(`store.label_policy`), and the selection moves to the next disagreement.
Everything is computed on a worker thread (`eval.agreement.dataset_agreement`).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app import keymap
from mmla_app.ops import curation as ops
from mmla_app.ops.op import submit
from mmla_app.widgets.screen_fit import fit_resize
from mmla_app.widgets.tables import read_only_table
from mmla_core import changes as areas
from mmla_core.eval.agreement import annotators_for_dataset, dataset_agreement
from mmla_core.store.catalog import list_datasets, list_tasks, task_by_name, tasks_for_dataset

ALL_TASKS = "All tasks and checks"
ONE_ANNOTATOR_HINT = ("Agreement needs a second annotator on this dataset: label clips under "
                      "another name (Tools > Settings > Annotator, or `mmla label CLIP TASK LABEL "
                      "--annotator NAME`), then compare with the source labels or each other.")
RESULT_COLUMNS = ("Kind", "Task / check", "Method", "Clips", "Kappa", "Strength", "Agreement",
                  "Disagree", "Note")
TICK_HINT = "Tick two or more annotators."


def _datasets(store) -> list[tuple[int, str]]:
    return [(int(d["id"]), d["name"]) for d in list_datasets(store)]


def _dataset_choices(store, dataset_id: int) -> tuple[list[str], list[str]]:
    tasks = [task.name for _, task in tasks_for_dataset(store, dataset_id)]
    return annotators_for_dataset(store, dataset_id), tasks


def _compute(store, dataset_id: int, annotators: list[str], task: str | None):
    """(the report, {task name: (task id, labels)}) for keying adjudications."""
    report = dataset_agreement(store, dataset_id, annotators, task=task)
    tasks = {t.name: (task_by_name(store, t.name)[0], t.labels) for t in list_tasks(store)}
    return report, tasks


def _curated_text(d) -> str:
    if d.kind != "task":
        return ""
    return f"{d.curated or '—'}{' (adjudicated)' if d.adjudicated else ''}"


class AgreementDialog(QDialog):
    """Cohen's kappa for two annotators, Fleiss' for more; `clip_requested(id)` on double-click."""

    clip_requested = Signal(int)
    computed = Signal(object)  # the AgreementReport, for tests and callers
    adjudicated = Signal(int, str, str)  # clip id, task, label (once committed)

    def __init__(self, project, parent: QWidget | None = None):
        """`project`: the open Project (its runner, its bus; `annotator` adjudicates)."""
        super().__init__(parent)
        self.setWindowTitle("Inter-annotator agreement")
        fit_resize(self, 860, 620)
        self.project = project
        self.runner = project.runner.scope("agreement")  # reads, dropped when it closes
        self.db_path, self.annotator = project.db_path, project.annotator
        self.report = None
        self.task_labels: dict[str, tuple[int, tuple]] = {}
        self.dataset_combo = QComboBox(self)
        self.dataset_combo.currentIndexChanged.connect(self._on_dataset)
        self.task_combo = QComboBox(self)
        self.annotator_list = QListWidget(self)
        self.annotator_list.setMaximumHeight(110)
        self.annotator_list.itemChanged.connect(self._update_button)
        self.compute_button = QPushButton("Compute", self)
        self.compute_button.clicked.connect(self.compute)
        self.status = QLabel(self, objectName="muted", wordWrap=True)
        form = QFormLayout()
        form.addRow("Dataset", self.dataset_combo)
        form.addRow("Annotators", self.annotator_list)
        form.addRow("Scope", self.task_combo)
        self.results = read_only_table(RESULT_COLUMNS, self)
        self.disagreements = read_only_table(
            ("Clip", "External id", "Task / check", "Answers", "Curated"), self)
        self.disagreements.itemDoubleClicked.connect(self._on_double_click)
        self.disagreements.currentCellChanged.connect(self._show_keys)
        self._bind_label_keys()
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.results)
        splitter.addWidget(self.disagreements)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.compute_button)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)
        self.runner.submit(_datasets, on_success=self._on_datasets, on_error=self._failed)
        project.bus.listen(self._on_changes)
        self.finished.connect(lambda _result: project.bus.forget(self._on_changes))
        self.finished.connect(lambda _result: self.runner.close())

    def _on_changes(self, changes, initiator) -> None:
        """A label by an annotator not listed yet (the window, the CLI): list them now; our
        own adjudications add no annotator and keep the status line."""
        if isValid(self) and initiator is not self and changes.touches(areas.LABELS):
            self._on_dataset()

    # --- choices ------------------------------------------------------------------------------

    def _on_datasets(self, datasets: list[tuple[int, str]]) -> None:
        if not isValid(self):
            return
        for dataset_id, name in datasets:
            self.dataset_combo.addItem(name, dataset_id)
        if not datasets:
            self.status.setText("This project has no datasets.")

    def _on_dataset(self, _index: int = -1) -> None:
        dataset_id = self.dataset_combo.currentData()
        if dataset_id is not None:
            self.runner.submit(_dataset_choices, int(dataset_id), channel="choices",
                               on_success=self._on_choices, on_error=self._failed)

    def _on_choices(self, choices: tuple[list[str], list[str]]) -> None:
        if not isValid(self):
            return
        annotators, tasks = choices
        listed = {self.annotator_list.item(i).data(Qt.ItemDataRole.UserRole)
                  for i in range(self.annotator_list.count())}
        kept = set(self.chosen_annotators())  # a refresh keeps what the user ticked
        self.annotator_list.blockSignals(True)
        self.annotator_list.clear()
        for name in annotators:
            item = QListWidgetItem("import (source labels)" if name == "import" else name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            chosen = name in kept if name in listed else name != "import"
            item.setCheckState(Qt.CheckState.Checked if chosen else Qt.CheckState.Unchecked)
            self.annotator_list.addItem(item)
        self.annotator_list.blockSignals(False)
        scope = self.task_combo.currentData()
        self.task_combo.clear()
        self.task_combo.addItem(ALL_TASKS, None)
        for name in tasks:
            self.task_combo.addItem(name, name)
        self.task_combo.setCurrentIndex(max(self.task_combo.findData(scope), 0))
        self._update_button()

    def chosen_annotators(self) -> list[str]:
        return [self.annotator_list.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.annotator_list.count())
                if self.annotator_list.item(i).checkState() == Qt.CheckState.Checked]

    def set_annotators(self, names: list[str]) -> None:
        for i in range(self.annotator_list.count()):
            item = self.annotator_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole)
                               in names else Qt.CheckState.Unchecked)

    def _update_button(self, *_args) -> None:
        """Compute is enabled with two annotators ticked; the status line says what is missing
        (or nothing). Only its own hints are replaced: a result or a "Saved" line stays when a
        refresh of the choices (labels changed elsewhere) lands after it."""
        enough = len(self.chosen_annotators()) >= 2
        self.compute_button.setEnabled(enough)
        if enough:
            hint = ""
        elif self.annotator_list.count() < 2:  # nothing to tick: say how to get a second
            hint = ONE_ANNOTATOR_HINT
        else:
            hint = TICK_HINT
        if hint or self.status.text() in (ONE_ANNOTATOR_HINT, TICK_HINT):
            self.status.setText(hint)

    # --- results ------------------------------------------------------------------------------

    def compute(self) -> None:
        dataset_id = self.dataset_combo.currentData()
        chosen = self.chosen_annotators()
        if dataset_id is None or len(chosen) < 2:
            return
        self.status.setText("Computing…")
        self.runner.submit(_compute, int(dataset_id), chosen, self.task_combo.currentData(),
                           channel="compute", on_success=self._on_report, on_error=self._failed)

    def _on_report(self, result) -> None:
        if not isValid(self):
            return
        report, self.task_labels = result
        self.report = report
        self.results.setRowCount(len(report.rows))
        for r, row in enumerate(report.rows):
            k = row.kappa
            cells = (row.kind, row.name, k.method, k.items,
                     "—" if k.kappa is None else f"{k.kappa:.3f}", k.strength,
                     "—" if k.observed is None else f"{k.observed:.0%}", row.disagreements, k.note)
            for c, value in enumerate(cells):
                self.results.setItem(r, c, QTableWidgetItem(str(value)))
        self.disagreements.setRowCount(len(report.disagreements))
        for r, d in enumerate(report.disagreements):
            answers = ", ".join(f"{who}: {value}" for who, value in d.values.items())
            for c, value in enumerate((d.clip_id, d.external_id, d.name, answers,
                                       _curated_text(d))):
                item = QTableWidgetItem(str(value))
                item.setData(Qt.ItemDataRole.UserRole, d.clip_id)
                self.disagreements.setItem(r, c, item)
        self.status.setText(f"{len(report.disagreements)} disagreement(s) to adjudicate: "
                            "select one and press a label's key; double-click opens the clip.")
        self.computed.emit(report)

    # --- adjudication by keys -----------------------------------------------------------------

    def _bind_label_keys(self) -> None:
        bindings = keymap.current_bindings()
        for action_id, index in keymap.label_actions():
            if bindings.get(action_id):
                shortcut = QShortcut(QKeySequence(bindings[action_id]), self.disagreements)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(lambda i=index: self.adjudicate_current(i))

    def _current(self):
        row = self.disagreements.currentRow()
        if self.report is None or not 0 <= row < len(self.report.disagreements):
            return None
        return self.report.disagreements[row]

    def _show_keys(self, *_args) -> None:
        d = self._current()
        if d is None or d.kind != "task" or d.name not in self.task_labels:
            return
        bindings = keymap.current_bindings()
        keys = [f"{keymap.label_key_text(i, bindings)} {label}"
                for i, label in enumerate(self.task_labels[d.name][1])
                if keymap.label_key_text(i, bindings)]
        self.status.setText(f"Adjudicate {d.name} of clip {d.clip_id}: " + ", ".join(keys))

    def adjudicate_current(self, index: int) -> bool:
        """Settle the selected task disagreement with label `index` of its task."""
        d = self._current()
        if d is None or d.kind != "task" or d.name not in self.task_labels:
            self.status.setText("Select a task disagreement to adjudicate (a check is settled "
                                "by the clip's review).")
            return False
        if not self.annotator:
            self.status.setText("Set your annotator name (Settings) to adjudicate.")
            return False
        task_id, labels = self.task_labels[d.name]
        if not 0 <= index < len(labels):
            self.status.setText(f"{d.name} has {len(labels)} labels")
            return False
        row, label = self.disagreements.currentRow(), labels[index]
        submit(self.db_path, ops.adjudicate(d.clip_id, task_id, label, self.annotator),
               initiator=self, on_success=lambda _c: self._on_adjudicated(row, d, label),
               on_error=self._failed)
        if row + 1 < self.disagreements.rowCount():
            self.disagreements.setCurrentCell(row + 1, 0)
        return True

    def _on_adjudicated(self, row: int, d, label: str) -> None:
        if not isValid(self):
            return
        self.report.disagreements[row] = replace(d, curated=label, adjudicated=True)
        self.disagreements.item(row, 4).setText(_curated_text(self.report.disagreements[row]))
        self.status.setText(f"Saved: clip {d.clip_id} {d.name} = {label}, adjudicated by "
                            f"{self.annotator} (Edit > Undo takes it back)")
        self.adjudicated.emit(d.clip_id, d.name, label)

    def _on_double_click(self, item: QTableWidgetItem) -> None:
        self.clip_requested.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _failed(self, exc: Exception) -> None:
        if isValid(self):
            self.status.setText(f"Could not compute agreement: {exc}")
