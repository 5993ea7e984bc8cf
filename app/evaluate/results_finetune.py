"""The Results window's "Zero-shot vs fine-tuned" tab: MMLA's table per task, every run by kind,
and the config diff of two runs picked in the list (H2O LLM Studio's "compare experiments").

Top: one line per (task, model, split) with the best ACC / F1 of the zero-shot, SFT, IT and
alignment runs. Below: every evaluation run by task and kind; select two (Ctrl+click) to see
what differs in their configs (evaluation settings and the training config behind an adapter).
Double-click a run to open it in the window's metrics, confusion matrix and disagreements.

A fine-tuned best run whose inference settings or label source differ from the zero-shot best's
(`eval.comparable`) is marked with "!" and named on the flags line; select its line and
"Re-run zero-shot with these settings" evaluates the zero-shot side again with the fine-tuned
run's settings (an Evaluate window runs it; `mmla runs finetune` prints the command instead).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.evaluate.evaluate_dialog import EvaluateDialog
from mmla_app.runtime.project import Project
from mmla_app.runtime.runner import RunnerScope
from mmla_app.widgets.tables import read_only_table, stack
from mmla_core.eval.comparable import describe_differences, zero_shot_rerun
from mmla_core.eval.finetune_compare import best_by_kind, config_diff, finetune_rows

SUMMARY_KINDS = ("zero-shot", "SFT", "IT", "alignment")
SUMMARY_COLUMNS = ("Task", "Model", "Split", *SUMMARY_KINDS)
RUN_COLUMNS = ("Task", "Kind", "Run", "Model", "Training job", "Data", "Status", "n", "ACC", "F1")
DIFF_COLUMNS = ("Setting", "Run A", "Run B")


def load_finetune(store) -> tuple[list, list[dict]]:
    """Worker job: (every run's row, MMLA's best-by-kind table)."""
    rows = finetune_rows(store)
    return rows, best_by_kind(rows)


def load_rerun(store, zero_run: int, tuned_run: int) -> dict:
    return zero_shot_rerun(store, zero_run, tuned_run)


def flag_lines(summary: list[dict]) -> list[str]:
    """One line per fine-tuned best run whose settings differ from the zero-shot best's."""
    # each difference reads "zero-shot value vs tuned value": name the runs in that order,
    # in the words of `mmla runs finetune`
    return [f"{line['task']} zero-shot run {line['zero-shot'].run_id} vs {kind} run "
            f"{line[kind].run_id}: {describe_differences(diff)}"
            for line in summary for kind, diff in line.get("differs", {}).items()]


def load_diff(store, run_a: int, run_b: int) -> list[tuple]:
    return config_diff(store, run_a, run_b)


NO_RUNS_TEXT = ("No zero-shot or fine-tuned run yet. MMLA's table fills in here, one line per "
                "task and model: a zero-shot run from Tools > Evaluate…, a fine-tuned one from "
                "Tools > Train LoRA… (or Evaluate… with its adapter).")


def _score(row) -> str:
    if row is None or row.accuracy is None:
        return ""
    return f"{row.accuracy:.2f} / {row.macro_f1:.2f}  (#{row.run_id})"


class FinetuneTab(QWidget):
    run_requested = Signal(int)  # double-click: show this run in the window's other tabs
    loaded = Signal(int)
    diffed = Signal(list)
    rerun_started = Signal(dict)  # the run_evaluation request sent to an Evaluate window

    def __init__(self, project: Project, runner: RunnerScope, parent: QWidget | None = None):
        super().__init__(parent)
        self.project, self.runner = project, runner  # the Results view's reads
        self.rows: list = []
        self.lines: list[dict] = []
        self.flags = QLabel("", self, objectName="muted", wordWrap=True)
        self.rerun_button = QPushButton("Re-run zero-shot with these settings", self,
                                        enabled=False, clicked=self.rerun_selected)
        self.rerun_button.setToolTip("Evaluate the zero-shot side again with the selected line's "
                                     "fine-tuned run settings (frames, max pixels, prompt form, "
                                     "labels), so the two are comparable")
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
        self.summary.itemSelectionChanged.connect(self._on_summary_selected)
        for widget in (stack(self.summary, self.flags, self.rerun_button), self.runs,
                       stack(self.hint, self.diff)):
            splitter.addWidget(widget)
        splitter.setSizes([140, 300, 220])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def reload(self) -> None:
        self.runner.submit(load_finetune, channel="finetune", on_success=self._on_loaded,
                           on_error=self._failed)

    def _on_loaded(self, result) -> None:
        """Fill both tables. A reload (a run landed) may add rows above the ones picked: the
        runs and the summary line the person picked stay picked, not the row numbers."""
        if not isValid(self):
            return
        picked_runs = self._picked_runs()
        picked_lines = {_line_key(self.lines[index.row()])
                        for index in self.summary.selectedIndexes()
                        if index.row() < len(self.lines)}
        self.rows, summary = result
        self.lines = summary
        _fill(self.summary, [[line["task"], line["model"], line["split"],
                              *(_score(line.get(kind)) + (" !" if kind in line.get("differs", {})
                                                          else "") for kind in SUMMARY_KINDS)]
                             for line in summary])
        flags = flag_lines(summary)
        self.flags.setText(NO_RUNS_TEXT if not self.rows else "" if not flags else
                           "! Settings differ, not comparable as they are:\n" + "\n".join(flags))
        _fill(self.runs, [[r.task, r.kind, r.run_id, r.model,
                           f"#{r.job_id} {r.job_name}" if r.job_id else "", f"{r.dataset} / "
                           f"{r.split}", r.status, r.n,
                           "" if r.accuracy is None else f"{r.accuracy:.2f}",
                           "" if r.macro_f1 is None else f"{r.macro_f1:.2f}"]
                          for r in self.rows], [r.run_id for r in self.rows])
        _select_rows(self.summary, [_line_key(line) in picked_lines for line in self.lines])
        _select_rows(self.runs, [row.run_id in picked_runs for row in self.rows])
        self._on_summary_selected()
        self.loaded.emit(len(self.rows))

    def _picked_runs(self) -> set[int]:
        return {self.rows[index.row()].run_id for index in self.runs.selectedIndexes()
                if index.row() < len(self.rows)}

    def _flagged_line(self) -> dict | None:
        rows = {index.row() for index in self.summary.selectedIndexes()}
        if len(rows) != 1:
            flagged = [line for line in self.lines if line.get("differs")]
            return flagged[0] if len(flagged) == 1 else None
        line = self.lines[rows.pop()] if self.lines else None
        return line if line and line.get("differs") else None

    def _on_summary_selected(self) -> None:
        self.rerun_button.setEnabled(self._flagged_line() is not None)

    def rerun_selected(self) -> None:
        """The flagged line's zero-shot run again, with its fine-tuned run's settings."""
        line = self._flagged_line()
        if line is None:
            return
        tuned = line[next(iter(line["differs"]))].run_id
        self.runner.submit(load_rerun, line["zero-shot"].run_id, tuned, channel="rerun",
                           on_success=self._start_rerun, on_error=self._failed)

    def _start_rerun(self, request: dict) -> None:
        if not isValid(self):
            return
        self.rerun_dialog = EvaluateDialog(self.project, self.window())
        self.rerun_dialog.show()
        self.rerun_dialog.run_request(request, "Re-running zero-shot with the fine-tuned "
                                               "run's settings…")
        self.rerun_started.emit(request)

    def select_pair(self, run_a: int, run_b: int) -> None:
        _select_rows(self.runs, [row.run_id in (run_a, run_b) for row in self.rows])

    def _diff_selected(self) -> None:
        picked = sorted(self._picked_runs())
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


def _line_key(line: dict) -> tuple:
    return line["task"], line["model"], line["split"]


def _select_rows(table: QTableWidget, chosen: list[bool]) -> None:
    """Select exactly the rows marked True (several at once, whatever the table's mode)."""
    table.clearSelection()
    mode = table.selectionMode()
    table.setSelectionMode(QTableWidget.SelectionMode.MultiSelection)
    for r, wanted in enumerate(chosen):
        if wanted:
            table.selectRow(r)
    table.setSelectionMode(mode)


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
