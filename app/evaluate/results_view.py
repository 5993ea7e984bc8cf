"""Results: evaluation runs side by side (zero-shot vs fine-tuned, model A vs B, audio on vs off).

Pick one run or several in the list: their metrics (MMLA's ACC / F1 / WF1 / WP, per variant type
with flips), a confusion matrix, and the samples where they disagree (one run: where it
disagrees with the gold label), each with every run's label and probability. Double-click a
sample to open its clip in the player (`clip_requested`). "Export run…" writes the selected
run's predictions as `mmla runs export` does (CSV / JSONL / Parquet / lmms-eval samples). All
queries and exports run on worker threads.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.evaluate.results_finetune import FinetuneTab
from mmla_app.runtime.change_bus import change_bus
from mmla_app.runtime.project import Project
from mmla_app.widgets.screen_fit import fit_resize
from mmla_app.widgets.tables import read_only_table, stack
from mmla_core import changes as areas
from mmla_core import words
from mmla_core.eval.compare import compare_runs, metrics_rows, run_report
from mmla_core.eval.export import export_run
from mmla_core.store.results import list_runs, run_accuracy, run_predictions
from mmla_core.store.run_owners import fail_orphan_runs
from mmla_core.store.verdicts import describe_record

# what tells runs apart first (model, task, data, split, accuracy); bookkeeping last
RUN_COLUMNS = ("Run", "Model", "Task", "Data", "Split", "ACC", "Samples", "Status", "Started")
METRIC_COLUMNS = ("run", "variant", "n", "ACC", "F1", "Precision", "Recall", "WF1", "WP", "flips",
                  "errors")  # MMLA's metric columns in eval.py's order
DISAGREEMENT_LIMIT = 2000
SELECTION_DELAY_MS = 150
# the save dialog's filters, and the export format each one asks for (None: by extension)
SELECT_HINT = "Select one run, or several to compare (Ctrl+click)."
NO_RUNS_HINT = ("No evaluation run in this project yet: Tools > Evaluate… (Ctrl+Shift+E) runs "
                "a model over a dataset's clips (or `mmla eval`), and each run shows here with "
                "its metrics, confusion matrix and mistakes.")
EXPORT_FILTERS = {"CSV (*.csv)": None, "JSON lines (*.jsonl)": None,
                  "Parquet (*.parquet)": None, "lmms-eval samples (*.jsonl)": "lmms-eval"}


def load_runs(store) -> list[dict]:
    fail_orphan_runs(store)  # a run whose process was killed shows failed, not running
    runs = [r for r in list_runs(store) if r["kind"] == "eval"]
    for run in runs:
        run["accuracy"] = run_accuracy(store, run["id"])[2]
    return runs


def load_comparison(store, run_ids: list[int]):
    """(reports, disagreements as rows): several runs compared, or one run against gold."""
    if len(run_ids) == 1:
        report = run_report(store, run_ids[0])
        return [report], _wrong_rows(store, run_ids[0])
    comparison = compare_runs(store, run_ids, limit=DISAGREEMENT_LIMIT)
    rows = [{"clip_id": d.clip_id, "external_id": d.external_id, "variant": d.variant,
             "gold": d.gold, "answers": d.answers} for d in comparison.disagreements]
    return comparison.reports, rows


def _wrong_rows(store, run_id: int) -> list[dict]:
    rows = []
    for p in run_predictions(store, run_id):
        if p["error"] or p["is_correct"]:
            continue
        scores = json.loads(p["scores_json"]) if p["scores_json"] else {}
        label = p["parsed_label"] or "unknown"
        rows.append({"clip_id": p["clip_id"], "external_id": p["external_id"],
                     "variant": p["variant"] or "original", "gold": p["gold_label"],
                     "answers": {run_id: (label, scores.get(label))}})
        if len(rows) >= DISAGREEMENT_LIMIT:
            break
    return rows


class ResultsView(QWidget):
    """Runs list | metrics, confusion matrix and disagreements of the selected runs."""

    clip_requested = Signal(int)
    runs_loaded = Signal(int)
    compared = Signal(object)  # the RunReports shown, for tests and callers

    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Results")
        fit_resize(self, 1280, 760)  # the run list shows every column beside the metrics
        self.project = project
        self.runner = project.runner.scope("results")  # reads, dropped when it closes
        self.reports: list = []
        self._pending_select: list[int] | None = None  # runs to select when the list arrives
        self.disagreement_rows: list[dict] = []
        self._build()
        self._selection_timer = QTimer(self, singleShot=True, interval=SELECTION_DELAY_MS)
        self._selection_timer.timeout.connect(self._compare_selected)
        self.runs_table.itemSelectionChanged.connect(self._selection_timer.start)
        self.reload()
        change_bus().listen(self._on_changes)
        # a window of its own, not a dialog: Esc and Ctrl+W close it like one
        for key in ("Esc", "Ctrl+W"):
            QShortcut(QKeySequence(key), self, activated=self.close)

    def _on_changes(self, changes, _initiator) -> None:
        """A run or a fine-tune finished (here or in another process): show it now."""
        if isValid(self) and changes.touches(areas.RUNS, areas.TRAINING, areas.ADAPTERS):
            self.reload()

    def _build(self) -> None:
        self.runs_table = read_only_table(RUN_COLUMNS, self)
        self.runs_table.setSelectionMode(QTableWidget.SelectionMode.ExtendedSelection)
        refresh = QPushButton("Refresh", self)
        refresh.clicked.connect(self.reload)
        self.export_button = QPushButton("Export run…", self)
        self.export_button.setToolTip("The selected run's predictions with their provenance: "
                                      "CSV, JSONL, Parquet or lmms-eval's sample log")
        self.export_button.clicked.connect(self._ask_export)
        self.status = QLabel(SELECT_HINT, self, wordWrap=True, objectName="muted")
        # its own line: a comparison that lands after an export must not wipe what the export said
        self.export_status = QLabel("", self, wordWrap=True, objectName="muted")
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.runs_table, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(refresh)
        buttons.addWidget(self.export_button)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.export_status)
        self.metrics_table = read_only_table(METRIC_COLUMNS, self)
        self.confusion_run = QComboBox(self)
        self.confusion_run.currentIndexChanged.connect(self._show_confusion)
        self.confusion_table = read_only_table((), self)
        self.disagreements = read_only_table((), self)
        self.disagreements.itemDoubleClicked.connect(self._on_double_click)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.metrics_table, "Metrics")
        self.tabs.addTab(stack(self.confusion_run, self.confusion_table), "Confusion matrix")
        self.tabs.addTab(self.disagreements, "Disagreements")
        self.finetune = FinetuneTab(self.project, self.runner, self)
        self.finetune.run_requested.connect(self._show_run)
        self.tabs.addTab(self.finetune, "Zero-shot vs fine-tuned")
        right = stack(self.status, self.tabs)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([self.width() // 2, self.width() - self.width() // 2])
        layout = QHBoxLayout(self)
        layout.addWidget(splitter)

    # --- runs ---------------------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.project.db_path

    def reload(self, select: list[int] | None = None) -> None:
        """Re-read the runs list; `select` these runs once it is in (e.g. a finished run). The
        runs asked for stay asked until a list arrives: a newer reload (the change poll seeing
        that run's commit) replaces this one on the channel and must not drop them."""
        self._reopen()
        if select is not None:
            self._pending_select = list(select)
        self.runner.submit(load_runs, channel="runs", on_success=self._on_runs,
                           on_error=self._failed)
        self.finetune.reload()

    def _on_runs(self, runs: list[dict]) -> None:
        if not isValid(self):
            return
        select, self._pending_select = self._pending_select, None
        selected = set(self.selected_runs() if select is None else select)
        self.runs_table.blockSignals(True)
        self.runs_table.setRowCount(len(runs))
        for r, run in enumerate(runs):
            acc = "" if run["accuracy"] is None else f"{run['accuracy'] * 100:.2f}"
            model = (run["model_name"] or "?") + (" + adapter" if run["adapter_path"] else "")
            cells = (run["id"], model, run["task_name"] or "", run["dataset_name"] or "?",
                     run["split"] or "all", acc,
                     f"{run['prediction_count']} / {run['total'] or '?'}", run["status"],
                     (run["started_at"] or "")[:16].replace("T", " "))
            for c, value in enumerate(cells):
                item = QTableWidgetItem(str(value))
                item.setData(Qt.ItemDataRole.UserRole, run["id"])
                if run["error"]:
                    item.setToolTip(run["error"])
                self.runs_table.setItem(r, c, item)
        self.runs_table.blockSignals(False)
        self.select_runs(sorted(selected))
        if not runs:
            self.status.setText(NO_RUNS_HINT)
        elif self.status.text() == NO_RUNS_HINT:  # the first run arrived
            self.status.setText(SELECT_HINT)
        self.export_button.setEnabled(bool(runs))
        self.runs_loaded.emit(len(runs))

    def selected_runs(self) -> list[int]:
        """The selected run ids, oldest first (the baseline on the left)."""
        rows = {index.row() for index in self.runs_table.selectedIndexes()}
        return sorted(int(self.runs_table.item(r, 0).data(Qt.ItemDataRole.UserRole))
                      for r in rows)

    def select_runs(self, run_ids: list[int]) -> None:
        """Select these runs (and compare them), e.g. after an evaluation finished."""
        self.runs_table.clearSelection()
        mode = self.runs_table.selectionMode()
        self.runs_table.setSelectionMode(QTableWidget.SelectionMode.MultiSelection)
        for r in range(self.runs_table.rowCount()):
            if int(self.runs_table.item(r, 0).data(Qt.ItemDataRole.UserRole)) in run_ids:
                self.runs_table.selectRow(r)
        self.runs_table.setSelectionMode(mode)

    def _show_run(self, run_id: int) -> None:
        """From the fine-tune table: this run's metrics, confusion matrix and mistakes."""
        self.select_runs([run_id])
        self.tabs.setCurrentWidget(self.metrics_table)

    def _compare_selected(self) -> None:
        run_ids = self.selected_runs()
        if not run_ids:
            return
        self.status.setText(f"Loading run{'s' if len(run_ids) > 1 else ''} "
                            f"{', '.join(map(str, run_ids))}…")
        self.runner.submit(load_comparison, run_ids, channel="compare",
                           on_success=self._on_comparison, on_error=self._failed)

    # --- results ------------------------------------------------------------------------------

    def _on_comparison(self, result) -> None:
        if not isValid(self):
            return

        self.reports, self.disagreement_rows = result
        _fill(self.metrics_table, METRIC_COLUMNS, metrics_rows(self.reports))
        self.confusion_run.blockSignals(True)
        self.confusion_run.clear()
        for report in self.reports:
            self.confusion_run.addItem(report.title(), report.run_id)
        self.confusion_run.blockSignals(False)
        self._show_confusion()
        self._show_disagreements()
        self.status.setText(self.status.text() + "\n" + "  ·  ".join(
            f"#{r.run_id} gold {describe_record(r.settings.get('labels'))}" for r in self.reports))
        self.compared.emit(self.reports)

    def _show_confusion(self, _index: int = -1) -> None:
        report = next((r for r in self.reports
                       if r.run_id == self.confusion_run.currentData()), None)
        table = self.confusion_table
        if report is None:
            table.setRowCount(0)
            return
        table.setColumnCount(len(report.labels))
        table.setRowCount(len(report.labels))
        table.setHorizontalHeaderLabels(report.labels)
        table.setVerticalHeaderLabels(report.labels)
        table.verticalHeader().show()
        for r, counts in enumerate(report.matrix):
            total = sum(counts) or 1
            for c, count in enumerate(counts):
                item = QTableWidgetItem(str(count) if count else "")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                share = count / total
                colour = QColor(61, 111, 182) if r == c else QColor(200, 69, 59)
                colour.setAlphaF(min(0.85, share))
                item.setBackground(QBrush(colour))
                item.setToolTip(f"gold {report.labels[r]}, predicted {report.labels[c]}: "
                                f"{count} ({share:.0%} of the row)")
                table.setItem(r, c, item)

    def _show_disagreements(self) -> None:
        run_ids = [r.run_id for r in self.reports]
        columns = ("Clip", "External id", "Variant", "Gold", *(f"Run {i}" for i in run_ids))
        rows = self.disagreement_rows
        table = self.disagreements
        table.setColumnCount(len(columns))
        table.setHorizontalHeaderLabels(list(columns))
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = [row["clip_id"], row["external_id"], row["variant"], row["gold"]]
            cells += [_answer(*row["answers"][i]) for i in run_ids]
            for c, value in enumerate(cells):
                item = QTableWidgetItem(str(value))
                item.setData(Qt.ItemDataRole.UserRole, row["clip_id"])
                if c >= 4 and row["answers"][run_ids[c - 4]][0] == row["gold"]:
                    item.setForeground(QBrush(QColor("#2e9d5b")))
                table.setItem(r, c, item)
        what = "the runs disagree" if len(run_ids) > 1 else "the run is wrong"
        capped = f" (the first {DISAGREEMENT_LIMIT})" if len(rows) >= DISAGREEMENT_LIMIT else ""
        self.status.setText(f"{words.count(len(rows), 'sample')} where {what}{capped}; "
                            "double-click one to open its clip.")

    # --- export -------------------------------------------------------------------------------

    def _ask_export(self) -> None:
        run_ids = self.selected_runs()
        if len(run_ids) != 1:
            self.export_status.setText("Select one run to export.")
            return
        path, chosen = QFileDialog.getSaveFileName(
            self, f"Export run {run_ids[0]}", f"run{run_ids[0]}.csv", ";;".join(EXPORT_FILTERS))
        if path:
            self.export_run(run_ids[0], path, EXPORT_FILTERS.get(chosen))

    def export_run(self, run_id: int, path: str, fmt: str | None = None) -> None:
        """Write the run's predictions off the GUI thread; the line under the buttons says how
        it went."""
        self.export_status.setText(f"Exporting run {run_id}…")
        self.runner.submit(export_run, run_id, path, fmt, channel="export",
                           on_success=lambda done: self._exported(run_id, path, done),
                           on_error=self._export_failed)

    def _exported(self, run_id: int, path: str, done: tuple) -> None:
        if isValid(self):
            count, fmt = done
            self.export_status.setText(f"Exported {count} predictions of run {run_id} to {path} "
                                       f"({fmt}).")

    def _export_failed(self, exc: Exception) -> None:
        if isValid(self):
            self.export_status.setText(f"Could not export: {exc}")

    def _on_double_click(self, item: QTableWidgetItem) -> None:
        self.clip_requested.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _failed(self, exc: Exception) -> None:
        if isValid(self):
            self.status.setText(f"Could not load the results: {exc}")

    def shutdown(self) -> None:
        """Stop delivering results (call it when the view is embedded and its window closes)."""
        self.runner.close()
        change_bus().forget(self._on_changes)

    def _reopen(self) -> None:
        """Shown again after a close (Tools > Results reuses the window): read and listen again."""
        if self.runner.closed:
            self.runner = self.finetune.runner = self.project.runner.scope("results")
            change_bus().listen(self._on_changes)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)


def _answer(label: str, probability: float | None) -> str:
    return label if probability is None else f"{label} ({probability:.2f})"


def _fill(table: QTableWidget, columns, rows: list[dict]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, name in enumerate(columns):
            value = row.get(name, "")
            text = f"{value:.2f}" if isinstance(value, float) else str(value)
            table.setItem(r, c, QTableWidgetItem(text))

