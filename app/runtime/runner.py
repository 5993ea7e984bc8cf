"""One background runner for the GUI: core calls run on superqt thread workers, off the GUI thread.

Each job is a plain function `fn(store, *args)` that runs on a pool thread with its *own* `Store`
on the project file (a `Store` is bound to the thread that opened it), opened and closed around
the call. Results come back on the GUI thread through `on_success` / `on_error`.

Jobs on a named *channel* follow "latest wins": at most one runs per channel, a newer request
replaces any queued one, and results of superseded requests are dropped. So holding Down in the
clip table never queues a backlog of frame decodes, and a slow answer for an old selection never
overwrites a newer one (napari's async slicing: request ids, stale responses dropped).
A channel asked `in_order=True` is a queue instead: every request runs, one at a time, in the
order asked, against the project it was asked for, and every result is delivered (imports: a
person's third import never replaces their second). Switching projects does not drop them;
closing the window or `cancel` does.

`fn` must not touch widgets: it runs off the GUI thread.

A window has one Runner (the `Project`'s); each panel or dialog reads through its own
`RunnerScope` (`runner.scope("results")`): its channels are its own, so two dialogs' "choices"
never replace each other, and closing it drops its results without touching anyone else's (its
jobs still run to their end: the project outlives the dialog). Every Runner starts its jobs on
Qt's global thread pool, so one Runner per window runs as many jobs at once as one per panel did.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker

from mmla_core.store.db import open_store

log = logging.getLogger(__name__)

SuccessFn = Callable[[Any], None]
ErrorFn = Callable[[Exception], None]


def _call_with_store(db_path: Path, fn: Callable, args: tuple) -> Any:
    """Runs on the pool thread: open this thread's own Store, call, close."""
    with open_store(db_path) as store:
        return fn(store, *args)


def _call_plain(fn: Callable, args: tuple) -> Any:
    return fn(*args)


@dataclass
class _Job:
    fn: Callable
    args: tuple
    on_success: SuccessFn | None
    on_error: ErrorFn | None
    with_store: bool
    db_path: Path  # the project it was asked for (a queued job may start after a switch)
    token: int = 0


@dataclass
class _Channel:
    token: int = 0
    running: bool = False
    pending: _Job | None = None   # latest-wins: the one request waiting
    in_order: bool = False        # a queue: every request runs, in order
    waiting: deque[_Job] = field(default_factory=deque)


class Runner(QObject):
    """Runs core functions off the GUI thread against the project database at `db_path`."""

    busy_changed = Signal(bool)

    def __init__(self, db_path: str | Path, parent: QObject | None = None):
        super().__init__(parent)
        self.db_path = Path(db_path)
        self._channels: dict[str, _Channel] = {}
        self._in_flight: set = set()
        self._generation = 0
        self._closed = False

    # --- public API ---------------------------------------------------------------------------

    def submit(
        self, fn: Callable, *args: Any, on_success: SuccessFn | None = None,
        on_error: ErrorFn | None = None, channel: str | None = None, with_store: bool = True,
        in_order: bool = False,
    ) -> int:
        """Run `fn(store, *args)` (or `fn(*args)` with `with_store=False`) in the background.

        Returns the request id; on a channel, only the latest request's result is delivered,
        unless the channel is `in_order` (a queue: each runs after the earlier ones, each result
        delivered; returns how many were ahead of it)."""
        if self._closed:
            return 0
        job = _Job(fn, args, on_success, on_error, with_store, self.db_path)
        if channel is None:
            self._start(job, None)
            return 0
        chan = self._channels.setdefault(channel, _Channel(in_order=in_order))
        if chan.in_order != in_order:
            raise ValueError(f"channel {channel!r} is {'' if chan.in_order else 'not '}in order")
        if in_order:
            return self._enqueue(job, chan)
        chan.token += 1
        job.token = chan.token
        if chan.running:
            chan.pending = job  # replaces an older queued request, which is never run
        else:
            self._start(job, chan)
        return job.token

    def cancel(self, channel: str) -> None:
        """Forget the queued requests and drop the result of the running one."""
        chan = self._channels.get(channel)
        if chan is not None:
            chan.token += 1
            chan.pending = None
            chan.waiting.clear()

    def forget(self, channel: str) -> None:
        """`cancel`, then drop the channel's bookkeeping (its owner is gone for good)."""
        self.cancel(channel)
        self._channels.pop(channel, None)

    def scope(self, owner: str) -> RunnerScope:
        """A panel's or dialog's share of this runner (see RunnerScope)."""
        return RunnerScope(self, owner)

    def set_db_path(self, db_path: str | Path) -> None:
        """Point later jobs at another database; results of jobs already running are dropped."""
        self.db_path = Path(db_path)
        self._generation += 1
        for name, chan in self._channels.items():
            if not chan.in_order:  # a queue runs on against the project it was asked for
                self.cancel(name)

    def shutdown(self) -> None:
        """Stop delivering results (the window is closing); running jobs finish on their own."""
        self._closed = True
        self._generation += 1
        for name in self._channels:
            self.cancel(name)
        for worker in list(self._in_flight):
            worker.quit()

    @property
    def busy(self) -> bool:
        return bool(self._in_flight)

    # --- internals ----------------------------------------------------------------------------

    def _enqueue(self, job: _Job, chan: _Channel) -> int:
        job.token = chan.token  # changes only on cancel: every queued result is current
        ahead = len(chan.waiting) + chan.running
        if chan.running:
            chan.waiting.append(job)
        else:
            self._start(job, chan)
        return ahead

    def _start(self, job: _Job, chan: _Channel | None) -> None:
        if job.with_store:
            func, args = _call_with_store, (job.db_path, job.fn, job.args)
        else:
            func, args = _call_plain, (job.fn, job.args)
        generation = self._generation
        worker = create_worker(func, *args, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda result: self._deliver(job, chan, generation, result))
        worker.errored.connect(lambda exc: self._fail(job, chan, generation, exc))
        worker.finished.connect(lambda: self._finished(worker, chan))
        was_busy = self.busy
        self._in_flight.add(worker)
        if chan is not None:
            chan.running = True
        worker.start()
        if not was_busy:
            self.busy_changed.emit(True)

    def _is_current(self, job: _Job, chan: _Channel | None, generation: int) -> bool:
        if self._closed:
            return False
        if chan is not None and chan.in_order:
            return job.token == chan.token
        return generation == self._generation and (chan is None or job.token == chan.token)

    def _deliver(self, job: _Job, chan: _Channel | None, generation: int, result: Any) -> None:
        if self._is_current(job, chan, generation) and job.on_success is not None:
            job.on_success(result)

    def _fail(self, job: _Job, chan: _Channel | None, generation: int, exc: Exception) -> None:
        if not self._is_current(job, chan, generation):
            return
        if job.on_error is not None:
            job.on_error(exc)
        else:
            log.error("background job %s failed", getattr(job.fn, "__name__", job.fn),
                      exc_info=exc)

    def _finished(self, worker: Any, chan: _Channel | None) -> None:
        self._in_flight.discard(worker)
        if self._closed:  # the window may be gone: touch no Qt object
            return
        if chan is not None:
            chan.running = False
            job, chan.pending = chan.pending, None
            if chan.waiting:
                job = chan.waiting.popleft()
            if job is not None:
                self._start(job, chan)
        if not self.busy:
            self.busy_changed.emit(False)


_SCOPE_IDS = itertools.count(1)


class RunnerScope:
    """One panel's or dialog's jobs on the project's Runner: `submit` as on the Runner, with
    channel names private to this scope; `close()` (the dialog closed) drops the results of its
    jobs, queued and running, while they run to their end on the pool."""

    def __init__(self, runner: Runner, owner: str):
        self.runner = runner
        self._prefix = f"{owner}#{next(_SCOPE_IDS)}:"
        self._channels: set[str] = set()
        self.closed = False

    @property
    def db_path(self) -> Path:
        return self.runner.db_path

    def submit(
        self, fn: Callable, *args: Any, on_success: SuccessFn | None = None,
        on_error: ErrorFn | None = None, channel: str | None = None, with_store: bool = True,
    ) -> int:
        if self.closed:
            return 0
        if channel is not None:
            channel = self._prefix + channel
            self._channels.add(channel)
        return self.runner.submit(fn, *args, on_success=self._while_open(on_success),
                                  on_error=self._while_open(on_error), channel=channel,
                                  with_store=with_store)

    def cancel(self, channel: str) -> None:
        self.runner.cancel(self._prefix + channel)

    def close(self) -> None:
        """Stop delivering this scope's results (idempotent)."""
        self.closed = True
        for channel in self._channels:
            self.runner.forget(channel)
        self._channels.clear()

    def _while_open(self, callback: Callable | None) -> Callable | None:
        if callback is None:
            return None
        return lambda value: None if self.closed else callback(value)
