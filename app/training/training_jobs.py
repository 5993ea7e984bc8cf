"""The Training tab's job list: one row per LoRA job of the project (id, name, status, share
done, best dev accuracy), the status in its colour.

Polled every few seconds, so a fill that changes no cell rebuilds nothing (no repaint, the
selection kept). Each row carries its job id (UserRole), which is how the panel finds the
selected job and the row it updates between two list polls.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem, QWidget

from mmla_app.training.training_progress import JobProgress, percent_text
from mmla_app.widgets.tables import make_read_only

JOB_COLUMNS = ("#", "Name", "Status", "Progress", "Best dev")
STATUS_COLUMN, PROGRESS_COLUMN = 2, 3
STATUS_COLOURS = {"running": "#3d6fb6", "stopping": "#d08a1c", "done": "#2e9d5b",
                  "failed": "#c8453b", "stopped": "#8a8f98", "created": "#8a8f98"}
TEXT_COLOUR = "#2b2d31"


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, TEXT_COLOUR)


class JobTable(QTableWidget):
    """The jobs, newest first as listed; `selected_job_id` is the (first) selected row's."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, len(JOB_COLUMNS), parent)
        make_read_only(self, JOB_COLUMNS)
        self.setMaximumHeight(140)
        self._shown_rows: list[tuple] = []

    def fill(self, jobs: list[dict], selected_id: int | None) -> None:
        """One row per job; unchanged cells: nothing done. No selection signal is emitted."""
        rows = [job_cells(job) for job in jobs]
        if rows == self._shown_rows:
            return
        self._shown_rows = rows
        self.blockSignals(True)
        self.setRowCount(len(rows))
        for r, (job, cells) in enumerate(zip(jobs, rows, strict=True)):
            for c, value in enumerate(cells):
                item = QTableWidgetItem(str(value))
                item.setData(Qt.ItemDataRole.UserRole, int(job["id"]))
                if c == STATUS_COLUMN:
                    item.setForeground(QColor(status_colour(job["status"])))
                self.setItem(r, c, item)
        self.select_job(selected_id)
        self.blockSignals(False)

    def forget(self) -> None:
        """Another project: no rows, and the next fill rebuilds."""
        self._shown_rows = []
        self.setRowCount(0)

    def select_job(self, job_id: int | None) -> None:
        for r in range(self.rowCount()):
            if self.item(r, 0).data(Qt.ItemDataRole.UserRole) == job_id:
                self.selectRow(r)
                return

    def selected_job_id(self) -> int | None:
        rows = {index.row() for index in self.selectedIndexes()}
        return self.item(min(rows), 0).data(Qt.ItemDataRole.UserRole) if rows else None

    def show_percent(self, job_id: int, fraction: float) -> None:
        """The job's row says this share done (the monitor may have newer events than the
        last list poll)."""
        for r in range(self.rowCount()):
            item = self.item(r, PROGRESS_COLUMN)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == job_id:
                item.setText(percent_text(fraction))


def job_cells(job: dict) -> tuple:
    """The job list's cells: id, name, status, share done, best dev accuracy."""
    progress = JobProgress.for_job(job).fraction_at(int(job.get("last_step") or 0), None)
    if job["status"] == "done":
        progress = 1.0
    best = job.get("best_eval_accuracy")
    return (job["id"], job["name"], job["status"], percent_text(progress),
            "" if best is None else f"{best:.1%}")
