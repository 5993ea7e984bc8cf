"""The model worker's client: what the GUI and the CLI hold. The model lives in the worker
process (worker/service.py), so a CUDA crash or OOM never takes the caller down (DESIGN rule 3).

`WorkerClient` starts one `spawn`ed process and talks to it over a pipe: requests go in
(`load`, `evaluate`, `predict`, `probe`, `probe_set`, `checks`, `stop`), events come out as
plain dicts (worker/events.py). The caller never blocks: `poll()` returns what has arrived.
`cancel(request)` marks one request cancelled in slots shared with the worker; that request
checks them between its batches, rows or clips (`mmla_core.cancel.RequestCancel`), so a
cancel in one window never stops another window's job on the same worker.

A worker that dies (segfault, the kernel's OOM killer, `os._exit`) is noticed by `poll()` from
its exit code: the caller gets a `crashed` event with a plain-language message and the tail of
the worker's log (stderr and faulthandler's traceback go there), and every run the worker had
started and not ended (it tells each as it starts: `run_started`, `run_ended`) is marked
failed with the cause and what a rerun does, in the words of `mmla_core.run_fates` (by the
request's op): an evaluation resumes from its last saved batch, a probe or the model checks run
anew, a probe set goes on with the clips still missing. A worker
killed by `stop` (a window closing, Stop now) leaves its runs failed the same way. That
write names the dead worker (its owner stamp: host, pid, start time) and lands only on a run
still running under it (`store.run_owners.fail_with_cause`): one held up behind a database lock
until the user resumed the run in a new worker changes nothing.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from mmla_core.cancel import ALL_REQUESTS, CANCEL_SLOTS
from mmla_core.eval.run_plan import DEFAULT_FACTORIES
from mmla_core.procs import process_owner
from mmla_core.run_fates import run_fate
from mmla_core.store.db import open_store
from mmla_core.store.run_owners import fail_with_cause
from mmla_core.worker.events import FINAL_EVENTS, is_final, make_request
from mmla_core.worker.service import worker_main

__all__ = ["WorkerClient", "crash_message"]

LOG_TAIL_CHARS = 2000
_log = logging.getLogger(__name__)


class WorkerClient:
    """Handle on one model worker process; every method returns at once."""

    def __init__(self, db_path: str | Path, *, engine_factory: str | None = None,
                 input_factory: str | None = None, start_method: str = "spawn"):
        self.db_path = Path(db_path)
        # typeshed's BaseContext lacks .Process; every concrete context (spawn, fork) has it
        self._ctx: Any = multiprocessing.get_context(start_method)
        # the defaults as named now (import paths), so the spawned worker builds what this
        # process would: eval.run_plan.DEFAULT_FACTORIES, which a test may point at a fake
        # (an engine of one's own locates its own models: no "locate" then)
        self._factories = {**DEFAULT_FACTORIES, "engine": engine_factory or
                           DEFAULT_FACTORIES["engine"], "inputs": input_factory or
                           DEFAULT_FACTORIES["inputs"],
                           "locate": None if engine_factory else DEFAULT_FACTORIES["locate"]}
        self._process: BaseProcess | None = None
        self._owner: dict = {}  # the worker's owner stamp (procs.process_owner) on its runs
        self._conn: Connection | None = None
        self._cancel = self._ctx.Array("q", CANCEL_SLOTS)  # cancelled request ids
        self._cancels = 0
        self._ids = itertools.count(1)
        self._inflight: dict[int, str] = {}
        self._runs: dict[int, dict[int, None]] = {}  # request id -> its runs not ended yet
        self._stopping = False
        self._crash_reported = False
        self.log_path: Path | None = None
        self.crash_writes: list[threading.Thread] = []

    # --- lifetime ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.alive:
            return
        self._drop_log()  # the last worker's, unless it tells of a crash
        fd, name = tempfile.mkstemp(prefix="mmla-worker-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)
        parent, child = self._ctx.Pipe(duplex=True)
        self._process = self._ctx.Process(
            target=worker_main, name="mmla-model-worker", daemon=True,
            args=(child, self._cancel, str(self.db_path), self._factories, name))
        with _main_module_hidden():
            self._process.start()
        self._owner = process_owner(self._process.pid)   # read while it lives: its start time
        child.close()
        self._conn = parent
        self._stopping = self._crash_reported = False

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def busy(self) -> bool:
        return bool(self._inflight)

    def op_of(self, request_id: int) -> str | None:
        """The op of a request in flight ("checks" for `model_checks`), None once it ended."""
        return self._inflight.get(request_id)

    @property
    def current(self) -> int | None:
        """The request the worker runs now: the oldest in flight (it takes them in order;
        the others wait their turn)."""
        return next(iter(self._inflight), None)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit (it frees the model), then make sure it is gone.

        `timeout=0` never waits (a window closing): a busy worker is killed at once. A worker
        killed (at once, or after `timeout`) leaves its runs marked failed (`crash_message`).
        """
        if self._process is None:
            return
        assert self._conn is not None  # opened together with the process in start()
        self._read_events()  # learn the run ids of events not polled yet
        self._stopping = True
        self._mark_cancelled(ALL_REQUESTS)
        if timeout == 0 and self.busy:
            self._process.kill()
            self._mark_runs_failed("the model worker was stopped while it ran")
        else:
            try:
                self._conn.send({"op": "stop"})
            except (OSError, ValueError):
                pass
        self._process.join(timeout)
        if timeout and self._process.is_alive():
            self._process.kill()
            self._process.join(timeout)
            self._read_events()  # runs that ended before the kill are not failed
            self._mark_runs_failed(f"the model worker did not stop within {timeout:g} s and "
                                   "was killed")
        self._conn.close()
        self._process = None
        self._inflight.clear()
        self._runs.clear()
        for thread in self.crash_writes if timeout else ():
            thread.join(timeout)
        self._drop_log()

    def _drop_log(self) -> None:
        """The log is kept after a crash that wrote something (the crash event names it)."""
        try:
            if self.log_path is not None and not (
                    self._crash_reported and self.log_path.stat().st_size):
                self.log_path.unlink()
        except OSError:
            pass

    def _open_runs(self) -> dict[int, str]:
        """The runs the worker started and did not end, each with its request's op."""
        return {run_id: op for request, op in self._inflight.items()
                for run_id in self._runs.get(request, ())}

    def _mark_runs_failed(self, cause: str) -> list[int]:
        """Each open run failed with `cause` and what a rerun does; in a thread: the caller
        (maybe the GUI thread) must not wait on the database."""
        runs = self._open_runs()
        for run_id, op in runs.items():
            message = f"{cause}; {run_fate(op, run_id)}"
            thread = threading.Thread(target=_mark_failed, daemon=True,
                                      args=(self.db_path, run_id, self._owner, message))
            thread.start()
            self.crash_writes.append(thread)
        return list(runs)

    # --- requests -----------------------------------------------------------------------------

    def _send(self, op: str, **payload) -> int:
        if not self.alive:
            self.start()
        request_id = next(self._ids)
        self._inflight[request_id] = op
        assert self._conn is not None  # start() above opened it
        self._conn.send(make_request(op, request_id, **payload))
        return request_id

    def load(self, model_path: str, **load_kwargs) -> int:
        """Load (or keep) a model: `loaded` event with its info, or `error`."""
        return self._send("load", model_path=str(model_path), kwargs=load_kwargs)

    def evaluate(self, **eval_kwargs) -> int:
        """`run_evaluation(**eval_kwargs)` in the worker (settings as a dict); `progress`
        events, then `finished` with run id, status and error."""
        return self._send("evaluate", kwargs=eval_kwargs)

    def predict(self, clip_id: int, task: str, settings: dict, *, model: str,
                recipe_steps=None, labels=None, **load_kwargs) -> int:
        """One clip (or in-memory variant): a `prediction` event with the result as a dict."""
        return self._send("predict", clip_id=clip_id, task=task, settings=settings,
                          model_path=str(model), recipe_steps=recipe_steps, labels=labels,
                          kwargs=load_kwargs)

    def probe(self, clip_id: int, task: str, *, model: str, settings: dict | None = None,
              scenarios=None, prompts=None, seed: int = 0, attention: bool = False,
              templates: dict | None = None, variants=(), **load_kwargs) -> int:
        """`probe.run_probe` in the worker: a `cell` event per (scenario, prompt) as it is
        written, then `finished` with the probe's run id and status."""
        return self._send("probe", clip_id=clip_id, task=task, model_path=str(model),
                          settings=settings or {}, scenarios=scenarios, prompts=prompts,
                          seed=seed, attention=attention, templates=templates or {},
                          variants=list(variants), kwargs=load_kwargs)

    def probe_set(self, clip_ids: list[int], task: str, *, model: str,
                  attention: bool = False, settings: dict | None = None, scenarios=None,
                  **load_kwargs) -> int:
        """`probe.sets.run_probe_set` in the worker: `progress` events (done, total, run_id)
        per probed clip, then `finished` with the status."""
        return self._send("probe_set", clip_ids=list(clip_ids), task=task,
                          model_path=str(model), attention=attention,
                          settings=settings or {}, scenarios=scenarios, kwargs=load_kwargs)

    def model_checks(self, clip_ids: list[int], *, model: str, **load_kwargs) -> int:
        """`probe.model_checks.run_model_checks` in the worker: `progress` events (done,
        total), then `finished` with the checks run's id."""
        return self._send("checks", clip_ids=list(clip_ids), model_path=str(model),
                          kwargs=load_kwargs)

    def cancel(self, request_id: int | None = None) -> None:
        """Stop one request after its current batch (it ends as `cancelled`); None = the one
        running now (the oldest in flight: the worker takes requests in order)."""
        if request_id is None:
            request_id = self.current
        if request_id is not None:
            self._mark_cancelled(request_id)

    def _mark_cancelled(self, request_id: int) -> None:
        self._cancel[self._cancels % CANCEL_SLOTS] = request_id
        self._cancels += 1

    # --- events -------------------------------------------------------------------------------

    def poll(self) -> list[dict]:
        """Events that have arrived, oldest first; a dead worker yields one `crashed` event."""
        events = self._read_events()
        crash = self._check_crash()
        return events + ([crash] if crash else [])

    def _read_events(self) -> list[dict]:
        events: list[dict] = []
        while self._conn is not None and not self._conn.closed:
            try:
                if not self._conn.poll(0):
                    break
                event = self._conn.recv()
            except (EOFError, OSError):
                break
            self._track(event)
            events.append(event)
        return events

    def _track(self, message: dict) -> None:
        request_id, kind = message.get("request"), message.get("type")
        if request_id is None:
            return
        if kind == "run_started":
            self._runs.setdefault(request_id, {})[message["run_id"]] = None
        elif kind == "run_ended":
            self._runs.get(request_id, {}).pop(message["run_id"], None)
        elif kind in FINAL_EVENTS:
            self._inflight.pop(request_id, None)
            self._runs.pop(request_id, None)

    def _check_crash(self) -> dict | None:
        process = self._process
        if process is None or self._stopping or self._crash_reported or process.is_alive():
            return None
        self._crash_reported = True
        process.join(0)
        requests, runs = dict(self._inflight), self._open_runs()
        run_ids = self._mark_runs_failed(crash_message(process.exitcode, []))
        message = crash_message(process.exitcode, run_ids, runs)
        self._inflight.clear()
        self._runs.clear()
        return {"type": "crashed", "exitcode": process.exitcode, "message": message,
                "requests": sorted(requests), "run_ids": run_ids, "log_tail": self.log_tail(),
                "log_path": str(self.log_path)}

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:] if self.log_path else ""
        except OSError:
            return ""

    def wait(self, request: int, *, timeout: float | None = None, on_event=None) -> dict:
        """Block until `request` ends (CLI and tests; the GUI polls instead): its final event."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            for message in self.poll():
                if on_event is not None:
                    on_event(message)
                if is_final(message, request):
                    return message
            time.sleep(0.02)
        raise TimeoutError(f"the model worker did not answer request {request} in {timeout} s")


@contextmanager
def _main_module_hidden():
    """Keep `spawn` from re-running the caller's __main__ in the worker.

    The worker's code lives in mmla_core, so it needs nothing from the caller's script; without
    this the child would import the GUI's entry script (and Qt), fail on a script read from
    stdin, or re-run a script that lacks an `if __name__ == "__main__"` guard.
    """
    main = sys.modules.get("__main__")
    if main is None:  # an embedding host without a main module: nothing to hide
        yield
        return
    saved = {key: getattr(main, key) for key in ("__file__", "__spec__") if hasattr(main, key)}
    try:
        if "__file__" in saved:
            del main.__file__
        if "__spec__" in saved:
            main.__spec__ = None
        yield
    finally:
        for key, value in saved.items():
            setattr(main, key, value)


def crash_message(exitcode: int | None, run_ids: list[int],
                  ops: dict[int, str] | None = None) -> str:
    """What happened to the worker, in words, and what the user can do; `ops`: each run's
    request op (default an evaluation's)."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if name == "SIGKILL":
            what = ("the model worker was killed (SIGKILL), most likely by the system for "
                    "running out of memory: try fewer frames, lower max pixels or a smaller model")
        elif name == "SIGSEGV":
            what = "the model worker crashed (segmentation fault in native code: driver or library)"
        else:
            what = f"the model worker was stopped by {name}"
    else:
        what = f"the model worker exited unexpectedly (exit code {exitcode})"
    for run_id in run_ids:
        what += f"; {run_fate((ops or {}).get(run_id, 'evaluate'), run_id)}"
    return what


def _mark_failed(db_path: Path, run_id: int, owner: dict, message: str) -> None:
    """Fail the run as the dead worker (`owner`) left it. A write that waited on the database
    until the user resumed the run in a new worker changes nothing: the run is that one's now,
    and the user was told of the crash already; the log says the write came too late."""
    with open_store(db_path) as store:
        if not fail_with_cause(store, run_id, owner, message):
            _log.info("run %s was not marked failed for worker pid %s: it ended or another "
                      "process took it over first", run_id, owner.get("pid"))
