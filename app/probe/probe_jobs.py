"""A long model job (probes over a set, the checks of a dataset) in the model worker process,
watched from a dialog: progress, cancel, and the end, without the GUI thread ever waiting."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from mmla_app.runtime.model_jobs import JobHandle, model_jobs
from mmla_core.store.form_choices import models_in_order, splits_by_dataset, task_names


def load_set_choices(store) -> dict:
    """Worker job: registered models, tasks, and each dataset's splits."""
    return {"models": models_in_order(store), "tasks": task_names(store),
            "splits": splits_by_dataset(store)}


def fill_combo(combo, items: list[tuple[str, object]], keep=None) -> None:
    """Replace a combo's items, keeping the current (or the given) choice when it is there."""
    keep = combo.currentData() if keep is None else keep
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)
    combo.setCurrentIndex(max(combo.findData(keep), 0))


class WorkerJob(QObject):
    """Starts one worker op and reports it: `progress(done, total)`, then `finished(event)`
    or `failed(message)`. One job at a time, in the project's shared model worker
    (runtime/model_jobs.py), which keeps the model for the next; `shutdown` when the dialog
    closes lets it go. Only the events of the job's own request reach it."""

    progress = Signal(int, int)
    finished = Signal(dict)
    failed = Signal(str)

    def __init__(self, db_path: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.jobs = model_jobs(db_path)
        self.handle: JobHandle | None = None

    @property
    def running(self) -> bool:
        return self.handle is not None and self.handle.running

    def start(self, op: str, *args, **kwargs) -> bool:
        """`op`: a WorkerClient method (probe_set, model_checks). False (nothing started)
        while a job runs."""
        if self.running or self.jobs is None:
            return False
        self.handle = self.jobs.submit(op, *args, on_event=self._on_event, **kwargs)
        return True

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()

    def _on_event(self, event: dict) -> None:
        if event["type"] == "progress":
            self.progress.emit(int(event["done"]), int(event["total"]))
        elif event["type"] == "finished":
            self.finished.emit(event)
        elif event["type"] in ("error", "crashed"):
            self.failed.emit(str(event.get("message", event)))

    def shutdown(self) -> None:
        if self.handle is not None:
            self.handle.detach()
            self.handle = None
        if self.jobs is not None:
            self.jobs.release()
            self.jobs = None


LOADING_TEXT = ("Loading the model in the project's model worker (shared with the Probe tab "
                "and Evaluate; it keeps the model for the next job)…")
