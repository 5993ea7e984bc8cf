"""The open project, as one object the window hands to its panels.

It holds what every panel used to make for itself from a database path: the file, the curator's
name, one `Runner` for reads (latest-wins channels per panel), the writer thread every GUI write
goes through, the change bus, and the watcher that turns other processes' commits into `Changes`
on that bus. Its model worker (runtime/model_jobs.py, one per database file, shared by the Probe
tab and the model dialogs) stops when the project closes or switches. Switching projects is one
call (`open`); everything in flight for the old file is dropped there.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from mmla_app.runtime.change_bus import ChangeBus, ProjectWatcher, change_bus
from mmla_app.runtime.model_jobs import shutdown_model_jobs
from mmla_app.runtime.runner import Runner
from mmla_app.runtime.write_queue import ErrorFn, SuccessFn, WriteQueue, write_queue
from mmla_core.demo import ensure_demo
from mmla_core.store.catalog import list_datasets

PROJECT_CHANNEL = "project"


def open_project(store, demo: bool | None) -> tuple[int, str | None]:
    """Worker job: migrate, import the demo when asked (or when the DB is empty).

    Returns (datasets, why the project is read-only or None)."""
    if not store.read_only and (demo or (demo is None and not list_datasets(store))):
        ensure_demo(store)
    return len(list_datasets(store)), store.read_only


class Project(QObject):
    """`db_path` and `annotator` of the open project, with its runner, writes, bus and watcher."""

    def __init__(self, db_path: str | Path, annotator: str, parent: QObject | None = None):
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.annotator = annotator
        self.runner = Runner(self.db_path, self)
        self.writes: WriteQueue = write_queue()
        self.bus: ChangeBus = change_bus()
        self.watcher = ProjectWatcher(self.runner, self.bus, parent=self)
        self._closed = False

    def open(self, db_path: str | Path) -> None:
        """Point at another project file: reads in flight are dropped, watching stops until
        `watch()` (the caller opens the file first: migrations, the demo)."""
        shutdown_model_jobs(self.db_path)
        self.db_path = Path(db_path)
        self.runner.set_db_path(self.db_path)
        self.watcher.stop()

    def load(self, demo: bool | None, on_success: SuccessFn, on_error: ErrorFn) -> None:
        """Open the file in the background (migrate; the demo clips when asked, or when the
        project is empty and `demo` is None); `on_success((datasets, read-only reason))`."""
        self.runner.submit(open_project, demo, channel=PROJECT_CHANNEL, on_success=on_success,
                           on_error=on_error)

    def watch(self) -> None:
        """From now on, commits by other processes reach the bus."""
        if not self._closed:
            self.watcher.watch(self.db_path)

    def close(self) -> None:
        """The window is closing: stop watching and delivering results (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.watcher.stop()
        self.runner.shutdown()
        shutdown_model_jobs(self.db_path)  # frees the model; a running evaluation is resumable
