"""The one owner of a project's model worker: the Probe tab, the Evaluate window and the
probe-set and model-checks dialogs send their requests here, so they share one worker process
and one copy of the model on the GPU.

`model_jobs(db_path)` gives the project's `ModelJobs` (one per database file, made on first
use); each user `release`s it when it closes, and the worker stops, freeing its model, when the
last one has (or at once when the window's `Project` closes). One QTimer polls the worker and
hands each event to the `JobHandle` of the request it belongs to; a crash reaches every handle
with work in flight. The GUI thread never waits.

What builds the engine in the worker is the core's default (`eval.run_plan.DEFAULT_FACTORIES`,
taken by `WorkerClient` when it is made); the GUI tests point it at their fake engine with a
fixture (`fake_engines`), so no window or dialog takes a factory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from mmla_app import settings
from mmla_core.worker.client import WorkerClient

POLL_MS = 100
EventFn = Callable[[dict], None]
STOPPED = "the model worker was stopped by another window while this job ran"


class JobHandle:
    """One request: its events (progress, cell, finished, error, crashed) go to `on_event`.
    `detach()` when the caller closes: later events of the request are dropped."""

    def __init__(self, jobs: ModelJobs, request: int, on_event: EventFn):
        self.jobs, self.request, self.on_event = jobs, request, on_event

    @property
    def running(self) -> bool:
        return self.jobs.handles.get(self.request) is self

    def cancel(self) -> None:
        """Stop after the current batch, row or clip (it ends as `cancelled`)."""
        if self.running:
            self.jobs.client.cancel(self.request)  # this request only, never another window's

    def detach(self) -> None:
        if self.running:
            del self.jobs.handles[self.request]


class ModelJobs(QObject):
    """One `WorkerClient` (started lazily), one poll timer, events routed by request id."""

    def __init__(self, db_path: Path):
        super().__init__()
        self.db_path = Path(db_path)
        self.client = None
        self.handles: dict[int, JobHandle] = {}
        self.users = 0
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)

    @property
    def pid(self) -> int | None:
        return self.client.pid if self.client is not None else None

    def submit(self, op: str, *args, on_event: EventFn, **kwargs) -> JobHandle:
        """`op`: a WorkerClient method (evaluate, probe, probe_set, model_checks)."""
        if self.client is None:
            self.client = WorkerClient(self.db_path)
        if op != "evaluate":  # an evaluation's request carries its own settings
            kwargs = {**settings.model_load_kwargs(), **kwargs}   # where the model loads
        request = getattr(self.client, op)(*args, **kwargs)  # starts the process if needed
        handle = self.handles[request] = JobHandle(self, request, on_event)
        self.timer.start()
        return handle

    def poll(self) -> None:
        if self.client is None:
            self.timer.stop()
            return
        for event in self.client.poll():
            if event["type"] == "crashed":  # the next request starts a fresh worker
                self._end_all(event)
                continue
            handle = self.handles.get(event.get("request"))
            if handle is None:
                continue  # a detached caller's, or a request that already ended
            if event["type"] in ("finished", "error"):
                del self.handles[handle.request]
            handle.on_event(event)
        if not self.handles:
            self.timer.stop()

    def _end_all(self, event: dict) -> None:
        handles, self.handles = list(self.handles.values()), {}
        for handle in handles:
            handle.on_event(event)

    def stop_now(self, wait_s: float = 0.0) -> None:
        """Kill the worker now (a running evaluation stays resumable); every job still in
        flight ends with a `crashed` event saying so."""
        self.timer.stop()
        client, self.client = self.client, None
        if client is None:
            return
        client.stop(timeout=0)
        for thread in client.crash_writes if wait_s else ():
            thread.join(wait_s)  # the run's "failed, resume it" row
        self._end_all({"type": "crashed", "message": STOPPED})

    def release(self) -> None:
        """A user closed: when it was the last, the worker stops and frees its model."""
        self.users -= 1
        if self.users > 0:
            return
        key = _key(self.db_path)
        if _OPEN.get(key) is self:
            del _OPEN[key]
        self.stop_now()


_OPEN: dict[tuple, ModelJobs] = {}


def _key(db_path: str | Path) -> Path:
    return Path(db_path).resolve()


def model_jobs(db_path: str | Path) -> ModelJobs:
    """The project's model-job owner (one per database file); the caller `release`s it."""
    key = _key(db_path)
    jobs = _OPEN.get(key)
    if jobs is None:
        jobs = _OPEN[key] = ModelJobs(Path(db_path))
    jobs.users += 1
    return jobs


def shutdown_model_jobs(db_path: str | Path) -> None:
    """Stop the project's worker (the project closes); the next use starts a fresh one."""
    jobs = _OPEN.pop(_key(db_path), None)
    if jobs is not None:
        jobs.stop_now()
