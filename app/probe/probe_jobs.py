"""A long model job (probes over a set, the checks of a dataset) in the model worker process,
watched from a dialog: progress, cancel, and the end, without the GUI thread ever waiting."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSignalBlocker, Signal
from PySide6.QtWidgets import QComboBox

from mmla_app.runtime.model_jobs import JobHandle, model_jobs
from mmla_app.widgets.form_choices import refill_keeping
from mmla_core.store.form_choices import models_in_order, splits_by_dataset, task_names


def load_set_choices(store) -> dict:
    """Worker job: registered models, tasks, and each dataset's splits."""
    return {"models": models_in_order(store), "tasks": task_names(store),
            "splits": splits_by_dataset(store)}


_NOTHING = object()  # an empty combo's choice (None is the data of "all splits")


def fill_combo(combo: QComboBox, items: list[tuple[str, object]], wanted=None) -> None:
    """Replace a combo's items keeping the person's choice, as every form of the app does
    (`refill_keeping`: one the project lost stays chosen, marked); `wanted` (the model and task
    the Probe tab opened a dialog with) is chosen when it is offered. The refill itself is
    silent (a clear would report an empty choice, and a listener refilling a second combo from
    it would lose that one's choice too); `currentIndexChanged` comes once, when the choice
    differs from before."""
    before = combo.currentData() if combo.count() else _NOTHING
    with QSignalBlocker(combo):
        refill_keeping(combo, items)
        if wanted is not None and combo.findData(wanted) >= 0:
            combo.setCurrentIndex(combo.findData(wanted))
    if (combo.currentData() if combo.count() else _NOTHING) != before:
        combo.currentIndexChanged.emit(combo.currentIndex())



class WorkerJob(QObject):
    """Starts one worker op and reports it: `progress(done, total)`, then `finished(event)`,
    `failed(message)`, or `killed(message)` when Stop now killed the worker under it: the
    dialog's own (`killed_by_stop_now`) or another window's (its `crashed` event names who).
    One job at a time, in the project's shared model worker (runtime/model_jobs.py), which
    keeps the model for the next; `shutdown` when the dialog closes lets it go. Only the
    events of the job's own request reach it."""

    progress = Signal(int, int)
    finished = Signal(dict)
    failed = Signal(str)
    killed = Signal(str)

    def __init__(self, db_path: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.jobs = model_jobs(db_path)
        self.handle: JobHandle | None = None
        self.killed_run: int | None = None  # the run Stop now cut short (failed, rows kept)

    @property
    def running(self) -> bool:
        return self.handle is not None and self.handle.running

    def start(self, op: str, *args, **kwargs) -> bool:
        """`op`: a WorkerClient method (probe_set, model_checks). False (nothing started)
        while a job runs."""
        if self.running or self.jobs is None:
            return False
        self.killed_run = None
        self.handle = self.jobs.submit(op, *args, on_event=self._on_event, **kwargs)
        return True

    def _on_event(self, event: dict) -> None:
        kind = event["type"]
        if kind == "progress":
            self.progress.emit(int(event["done"]), int(event["total"]))
        elif kind == "finished":
            self.finished.emit(event)
        elif kind == "crashed" and event.get("stopped_by"):
            self.killed_run = self.handle.run_id if self.handle is not None else None
            self.killed.emit(str(event["message"]))
        elif kind in ("error", "crashed"):
            self.failed.emit(str(event.get("message", event)))

    def killed_by_stop_now(self) -> None:
        """`StopButton`'s `on_killed`: the worker was killed under this job (its request is
        detached: no event comes). Says what became of its run and what a rerun does."""
        handle, self.handle = self.handle, None
        if handle is not None:
            self.killed_run = handle.run_id
            self.killed.emit(f"the model worker was killed. {handle.fate()}")

    def shutdown(self) -> None:
        if self.handle is not None:
            self.handle.detach()
            self.handle = None
        if self.jobs is not None:
            self.jobs.release()
            self.jobs = None


LOADING_TEXT = ("Loading the model in the project's model worker (shared with the Probe tab "
                "and Evaluate; it keeps the model for the next job)…")
