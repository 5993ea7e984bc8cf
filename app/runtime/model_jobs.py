"""The one owner of a project's model worker: the Probe tab, the Evaluate window and the
probe-set and model-checks dialogs send their requests here, so they share one worker process
and one copy of the model on the GPU.

`model_jobs(db_path)` gives the project's `ModelJobs` (one per database file, made on first
use); each user `release`s it when it closes, and the worker stops, freeing its model, when the
last one has (or at once when the window's `Project` closes). One QTimer polls the worker and
hands each event to the `JobHandle` of the request it belongs to; a crash reaches every handle
with work in flight. The GUI thread never waits.

Stopping is per request: `JobHandle.cancel` marks only its own request, which stops after its
current batch, row or clip. Killing the worker (`kill_for`) ends every window's job, so a
window does it only when its own job did not stop within `STOP_GRACE_S` (a model stuck in one
long forward pass), asking first when another window's job is in flight; every other window is
then told who stopped the worker, why, what became of its run and what a rerun does
(`JobHandle.what`, `fate()`: the core's words for a run cut short, `mmla_core.run_fates`).

What builds the engine in the worker is the core's default (`eval.run_plan.DEFAULT_FACTORIES`,
taken by `WorkerClient` when it is made); the GUI tests point it at their fake engine with a
fixture (`fake_engines`), so no window or dialog takes a factory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from mmla_app import settings
from mmla_core.run_fates import RUN_FATES, rerun_words, run_fate
from mmla_core.worker.client import WorkerClient

POLL_MS = 100
STOP_GRACE_S = 5.0  # Stop now waits this long for the job's own cancel before killing
EventFn = Callable[[dict], None]
STOPPED = "the model worker was stopped (the project closed) while this job ran"


class JobHandle:
    """One request: its events (progress, cell, finished, error, crashed) go to `on_event`.
    `detach()` when the caller closes: later events of the request are dropped. `job` is the
    worker's op, `run_id` the run it writes now (None before it starts one), `what` names
    the job for other windows ("the Probe tab's probe of clip 3")."""

    def __init__(self, jobs: ModelJobs, request: int, on_event: EventFn, job: str, what: str):
        self.jobs, self.request, self.on_event = jobs, request, on_event
        self.job, self.what = job, what
        self.run_id: int | None = None

    def fate(self) -> str:
        """What became of its run when the worker was killed under it and what a rerun does,
        as a sentence (`mmla_core.run_fates`)."""
        said = run_fate(self.job, self.run_id) if self.run_id else \
            f"nothing of it was written: {rerun_words(self.job, wrote=False)}"
        return f"{said[:1].upper()}{said[1:]}."

    @property
    def running(self) -> bool:
        return self.jobs.handles.get(self.request) is self

    @property
    def started(self) -> bool:
        """Whether the worker runs it now (False: it waits behind another request)."""
        client = self.jobs.client
        return self.running and client is not None and client.current == self.request

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

    def submit(self, op: str, *args, on_event: EventFn, what: str = "", **kwargs) -> JobHandle:
        """`op`: a WorkerClient method (evaluate, probe, probe_set, model_checks); `what`
        defaults to the job's own name ("a probe set")."""
        if self.client is None:
            self.client = WorkerClient(self.db_path)
        if op != "evaluate":  # an evaluation's request carries its own settings
            kwargs = {**settings.model_load_kwargs(), **kwargs}   # where the model loads
        request = getattr(self.client, op)(*args, **kwargs)  # starts the process if needed
        job = self.client.op_of(request) or op   # the wire's name: model_checks sends "checks"
        fate = RUN_FATES.get(job)
        handle = self.handles[request] = JobHandle(
            self, request, on_event, job, what or (fate.job if fate else op))
        self.timer.start()
        return handle

    def others(self, handle: JobHandle) -> list[JobHandle]:
        """The jobs of other callers in flight: a kill would end them too."""
        return [h for h in self.handles.values() if h is not handle]

    def poll(self) -> None:
        if self.client is None:
            self.timer.stop()
            return
        for event in self.client.poll():
            if event["type"] == "crashed":  # the next request starts a fresh worker
                self._end_all(lambda _handle, event=event: event)
                continue
            handle = self.handles.get(event.get("request"))
            if handle is None:
                continue  # a detached caller's, or a request that already ended
            if event["type"] == "run_started":
                handle.run_id = event["run_id"]
            if event["type"] in ("finished", "error"):
                del self.handles[handle.request]
            handle.on_event(event)
        if not self.handles:
            self.timer.stop()

    def _end_all(self, event_for: Callable[[JobHandle], dict]) -> None:
        handles, self.handles = list(self.handles.values()), {}
        for handle in handles:
            handle.on_event(event_for(handle))

    def kill_for(self, handle: JobHandle, reason: str) -> None:
        """Kill the worker because `handle`'s job did not stop (`reason` says so): every run
        the worker had started and not ended is marked failed (`WorkerClient.stop`); every
        other job in flight gets a `crashed` event saying who stopped the worker, why, what
        became of its run and what a rerun does."""
        current = self.client.current if self.client is not None else None
        handle.detach()

        def told(other: JobHandle) -> dict:
            where = "running in it" if other.request == current else "waiting for it"
            return {"type": "crashed", "stopped_by": handle.what, "message": (
                f"{reason}, so the model worker was stopped; {other.what} was {where} and "
                f"ended with it. {other.fate()}")}

        self._kill(told)

    def stop_now(self, wait_s: float = 0.0, message: str = STOPPED) -> None:
        """Kill the worker now (the project closes, the app quits; a running evaluation stays
        resumable); every job still in flight ends with a `crashed` event saying so."""
        self._kill(lambda handle: {"type": "crashed", "message": message}, wait_s)

    def _kill(self, event_for: Callable[[JobHandle], dict], wait_s: float = 0.0) -> None:
        self.timer.stop()
        client, self.client = self.client, None
        if client is None:
            return
        client.stop(timeout=0)
        for thread in client.crash_writes if wait_s else ():
            thread.join(wait_s)  # the run's "failed, resume it" row
        self._end_all(event_for)

    def release(self) -> None:
        """A user closed: when it was the last, the worker stops and frees its model."""
        self.users -= 1
        if self.users > 0:
            return
        key = _key(self.db_path)
        if _OPEN.get(key) is self:
            del _OPEN[key]
        self.stop_now()


AskFn = Callable[[list[JobHandle], Callable[[bool], None]], None]


class StopNow(QObject):
    """A window's Stop now for its own job: cancel it, give it `STOP_GRACE_S` to end, then
    kill the worker (`ModelJobs.kill_for`): at once when no other job is in flight, after
    `ask(others, answer)` otherwise (the window asks without blocking and calls `answer(yes)`).
    A job still waiting its turn is never killed for: it ends cancelled when the worker reaches
    it. `on_killed()` after a kill (the handle is detached then: no event comes), `on_kept(why)`
    when the job keeps running after all; `ended()` when the job ends on its own."""

    def __init__(self, parent: QObject, *, ask: AskFn, on_killed: Callable[[], None],
                 on_kept: Callable[[str], None], step: str = "batch"):
        super().__init__(parent)
        self.ask, self.on_killed, self.on_kept, self.step = ask, on_killed, on_kept, step
        self.handle: JobHandle | None = None
        self.timer = QTimer(self, singleShot=True)
        self.timer.timeout.connect(self._grace_over)

    @property
    def stopping(self) -> bool:
        return self.handle is not None

    def start(self, handle: JobHandle) -> None:
        if handle.running:
            handle.cancel()
            self.handle = handle
            self.timer.start(int(STOP_GRACE_S * 1000))

    def ended(self) -> None:
        self.timer.stop()
        self.handle = None

    def _grace_over(self) -> None:
        handle = self.handle
        if handle is None or not handle.running:
            return
        others = handle.jobs.others(handle)
        if not handle.started:
            self._kept(f"it waits behind {others[0].what if others else 'a job'} and ends, "
                       "cancelled, as soon as the worker reaches it")
        elif others:
            self.ask(others, self._answer)
        else:
            self._kill()

    def _answer(self, kill: bool) -> None:
        if kill:
            self._kill()
        else:
            self._kept(f"the other jobs keep the worker; it ends after its current {self.step}")

    def _kept(self, why: str) -> None:
        if self.handle is not None and self.handle.running:
            self.handle = None  # Stop now may be pressed again
            self.on_kept(why)

    def _kill(self) -> None:
        handle, self.handle = self.handle, None
        if handle is None or not handle.running:
            return  # it ended while the question was open
        handle.jobs.kill_for(handle, f"{handle.what} did not stop within {STOP_GRACE_S:g} s "
                             "of Stop now")
        self.on_killed()


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
