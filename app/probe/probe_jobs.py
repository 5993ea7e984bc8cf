"""A long model job (probes over a set, the checks of a dataset) in the model worker process,
watched from a dialog: progress, cancel, and the end, without the GUI thread ever waiting."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from mmla_app import settings

POLL_MS = 100


def load_set_choices(store) -> dict:
    """Worker job: registered models, tasks, and each dataset's splits."""
    models = [(r["name"], r["path"]) for r in store.query("SELECT name, path FROM models "
                                                          "ORDER BY id")]
    tasks = [r["name"] for r in store.query("SELECT name FROM tasks ORDER BY name")]
    splits: dict[str, list[str]] = {}
    for r in store.query("SELECT d.name AS dataset, c.split FROM clips c JOIN datasets d ON "
                         "d.id = c.dataset_id WHERE c.parent_clip_id IS NULL "
                         "GROUP BY d.name, c.split ORDER BY d.name, c.split"):
        splits.setdefault(r["dataset"], []).append(r["split"])
    return {"models": models, "tasks": tasks, "splits": splits}


def fill_combo(combo, items: list[tuple[str, object]], keep=None) -> None:
    """Replace a combo's items, keeping the current (or the given) choice when it is there."""
    keep = combo.currentData() if keep is None else keep
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)
    combo.setCurrentIndex(max(combo.findData(keep), 0))


class WorkerJob(QObject):
    """Starts one worker op and reports it: `progress(done, total)`, then `finished(event)`
    or `failed(message)`. One job at a time; the worker process is kept for the next (and
    stopped, freeing its model, by `shutdown` when the dialog closes). Only the events of the
    job's own request count: a late end of an earlier (cancelled) request never ends this one."""

    progress = Signal(int, int)
    finished = Signal(dict)
    failed = Signal(str)

    def __init__(self, db_path: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.client = None
        self.request: int | None = None
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self._poll)

    @property
    def running(self) -> bool:
        return self.timer.isActive()

    def start(self, op: str, *args, **kwargs) -> bool:
        """`op`: a WorkerClient method (probe_set, model_checks). False (nothing started)
        while a job runs."""
        from mmla_core.worker.client import WorkerClient

        if self.running:
            return False
        if self.client is None:
            self.client = WorkerClient(self.db_path)
        kwargs = {**settings.model_load_kwargs(), **kwargs}   # where the model loads
        self.request = getattr(self.client, op)(*args, **kwargs)
        self.timer.start()
        return True

    def cancel(self) -> None:
        if self.client is not None:
            self.client.cancel()

    def _poll(self) -> None:
        for event in self.client.poll():
            if event["type"] != "crashed" and event.get("request") != self.request:
                continue  # another request's (a cancelled one ending late)
            if event["type"] == "progress":
                self.progress.emit(int(event["done"]), int(event["total"]))
            elif event["type"] == "finished":
                self._end()
                self.finished.emit(event)
            elif event["type"] in ("error", "crashed"):
                self._end()
                self.failed.emit(str(event.get("message", event)))

    def _end(self) -> None:
        self.timer.stop()
        self.request = None

    def shutdown(self) -> None:
        self._end()
        if self.client is not None:
            self.client.stop(timeout=0)
            self.client = None


def free_probe_tab_worker(window) -> bool:
    """Stop the Probe tab's model worker when it is idle, so the GPU holds one copy of the
    model (the dialog's), not two; the tab starts a fresh worker on its next run. (Sharing the
    tab's worker is not safe: both would poll it and take each other's events.)"""
    panel = getattr(window, "probe", None)
    client = getattr(panel, "client", None)
    if client is None or client.busy:
        return False
    client.stop(timeout=0)
    panel.client = None
    return True


LOADING_TEXT = ("Loading the model in this dialog's worker process (it keeps the model until "
                "the dialog closes)…")
