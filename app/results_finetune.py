"""The Results window's "Zero-shot vs fine-tuned" tab: MMLA's table per task, every run by kind,
and the config diff of two runs picked in the list (H2O LLM Studio's "compare experiments").

Top: one line per (task, model, split) with the best ACC / F1 of the zero-shot, SFT, IT and
alignment runs. Below: every evaluation run by task and kind; select two (Ctrl+click) to see
what differs in their configs (evaluation settings and the training config behind an adapter).
Double-click a run to open it in the window's metrics, confusion matrix and disagreements.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.tables import read_only_table, stack

SUMMARY_KINDS = ("zero-shot", "SFT", "IT", "alignment")
SUMMARY_COLUMNS = ("Task", "Model", "Split", *SUMMARY_KINDS)
RUN_COLUMNS = ("Task", "Kind", "Run", "Model", "Training job", "Data", "Status", "n", "ACC", "F1")
DIFF_COLUMNS = ("Setting", "Run A", "Run B")


def load_finetune(store) -> tuple[list, list[dict]]:
    """Worker job: (every run's row, MMLA's best-by-kind table)."""
    from mmla_core.eval.finetune_compare import best_by_kind, finetune_rows

    rows = finetune_rows(store)
    return rows, best_by_kind(rows)


def load_diff(store, run_a: int, run_b: int) -> list[tuple]:
    from mmla_core.eval.finetune_compare import config_diff

    return config_diff(store, run_a, run_b)


def _score(row) -> str:
    if row is None or row.accuracy is None:
        return ""
    return f"{row.accuracy:.2f} / {row.macro_f1:.2f}  (#{row.run_id})"


class FinetuneTab(QWidget):
    run_requested = Signal(int)  # double-click: show this run in the window's other tabs
    loaded = Signal(int)
    diffed = Signal(list)

    def __init__(self, runner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.rows: list = []
        self.summary = read_only_table(SUMMARY_COLUMNS, self)
        self.summary.setToolTip("Best ACC / macro-F1 of each kind (MMLA's x100), run id")
        self.runs = read_only_table(RUN_COLUMNS, self)
        self.runs.setSelectionMode(QTableWidget.SelectionMode.ExtendedSelection)
        self.runs.itemSelectionChanged.connect(self._diff_selected)
        self.runs.itemDoubleClicked.connect(
            lambda item: self.run_requested.emit(int(item.data(Qt.ItemDataRole.UserRole))))
        self.diff = read_only_table(DIFF_COLUMNS, self)
        self.hint = QLabel("Select two runs to compare their configs.", self,
                           objectName="muted", wordWrap=True)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        for widget in (self.summary, self.runs, stack(self.hint, self.diff)):
            splitter.addWidget(widget)
        splitter.setSizes([140, 300, 220])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def reload(self) -> None:
        self.runner.submit(load_finetune, channel="finetune", on_success=self._on_loaded,
                           on_error=self._failed)

    def _on_loaded(self, result) -> None:
        if not isValid(self):
            return
        self.rows, summary = result
        _fill(self.summary, [[line["task"], line["model"], line["split"],
                              *(_score(line.get(kind)) for kind in SUMMARY_KINDS)]
                             for line in summary])
        _fill(self.runs, [[r.task, r.kind, r.run_id, r.model,
                           f"#{r.job_id} {r.job_name}" if r.job_id else "", f"{r.dataset} / "
                           f"{r.split}", r.status, r.n,
                           "" if r.accuracy is None else f"{r.accuracy:.2f}",
                           "" if r.macro_f1 is None else f"{r.macro_f1:.2f}"]
                          for r in self.rows], [r.run_id for r in self.rows])
        self.loaded.emit(len(self.rows))

    def select_pair(self, run_a: int, run_b: int) -> None:
        self.runs.clearSelection()
        mode = self.runs.selectionMode()
        self.runs.setSelectionMode(QTableWidget.SelectionMode.MultiSelection)
        for r, row in enumerate(self.rows):
            if row.run_id in (run_a, run_b):
                self.runs.selectRow(r)
        self.runs.setSelectionMode(mode)

    def _diff_selected(self) -> None:
        picked = sorted({self.rows[index.row()].run_id for index in self.runs.selectedIndexes()})
        if len(picked) != 2:
            self.hint.setText("Select two runs to compare their configs.")
            self.diff.setRowCount(0)
            return
        self.hint.setText(f"Run A = #{picked[0]}, run B = #{picked[1]}: settings that differ")
        self.runner.submit(load_diff, *picked, channel="finetune_diff",
                           on_success=self._on_diff, on_error=self._failed)

    def _on_diff(self, diff: list[tuple]) -> None:
        if not isValid(self):
            return
        _fill(self.diff, [[key, _text(a), _text(b)] for key, a, b in diff])
        if not diff:
            self.hint.setText(self.hint.text() + ": none")
        self.diffed.emit(diff)

    def _failed(self, exc: Exception) -> None:
        if isValid(self):
            self.hint.setText(f"Could not load the comparison: {exc}")


def _text(value) -> str:
    return "—" if value is None else str(value)


def _fill(table: QTableWidget, rows: list[list], run_ids: list[int] | None = None) -> None:
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, value in enumerate(cells):
            item = QTableWidgetItem(str(value))
            if run_ids is not None:
                item.setData(Qt.ItemDataRole.UserRole, run_ids[r])
            table.setItem(r, c, item)
