"""The model worker process: its main loop and one handler per request (worker/events.py).

It loads the engine when a request first needs it and keeps it for the next one (a different
model or load option replaces it). Evaluations, probes and model checks write their rows to
SQLite themselves (the worker's own Store) and stream progress events; each request gets its
own cancel token over the slots shared with the client (`cancel.RequestCancel`), checked by
the running job between its steps, and tells the client each run it starts and ends as it
happens (`run_started`, `run_ended`, from `eval.recorder.announcing_runs`). stderr and
faulthandler's traceback go to the log file the client reads after a crash.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import os
import signal
import sys
import traceback

from mmla_core.cancel import RequestCancel
from mmla_core.eval.recorder import announcing_runs
from mmla_core.eval.run_plan import (
    DEFAULT_FACTORIES,
    describe_failure,
    engine_info_dict,
    inference_settings,
    resolve,
)
from mmla_core.eval.runs import run_evaluation
from mmla_core.probe.matrix import DEFAULT_PROMPTS, DEFAULT_SCENARIOS, run_probe
from mmla_core.probe.model_checks import run_model_checks
from mmla_core.probe.sets import run_probe_set
from mmla_core.store.catalog import task_by_name
from mmla_core.store.db import open_store
from mmla_core.store.results import require_run
from mmla_core.worker.events import finished, make_event

__all__ = ["HANDLERS", "LOAD_DEFAULTS", "worker_main"]

LOAD_DEFAULTS = {"device": None, "allow_pickle": False, "attn_implementation": None,
                 "adapter_path": None}


class _Engines:
    """The loaded engine, kept across requests; a different model replaces it."""

    def __init__(self, factory):
        self._factory_ref = factory
        self._factory = None
        self.key, self.engine = None, None

    @property
    def factory(self):
        if self._factory is None:
            self._factory = resolve(self._factory_ref, "engine")
        return self._factory

    def get(self, model_path, **kwargs):
        """`engine_factory`'s signature; the same model and load options reuse the engine."""
        kwargs = {**LOAD_DEFAULTS, **kwargs}
        key = (str(model_path), tuple(sorted((k, str(v)) for k, v in kwargs.items())))
        if key != self.key:
            self.close()
            self.engine = self.factory(model_path, **kwargs)
            self.key = key
        return self.engine

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
        self.key, self.engine = None, None


def _as_dict(value) -> dict:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return {k: v for k, v in vars(value).items() if not k.startswith("_")}


def _redirect_stderr(log_path: str) -> None:
    log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as us
    os.dup2(log.fileno(), 2)
    sys.stderr = log
    faulthandler.enable(log)


def worker_main(conn, cancel, db_path: str, factories: dict, log_path: str):
    """The worker's loop: one request at a time until `stop` or the caller goes away.
    `factories`: the caller's `eval.run_plan.DEFAULT_FACTORIES` (import paths), adopted here so
    the worker locates, loads and feeds a model as the caller would."""
    _redirect_stderr(log_path)
    # A terminal's Ctrl+C reaches the whole process group, this process too: only the client
    # decides (it cancels after the batch), else the worker died with a traceback mid-batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send({"type": "ready", "pid": os.getpid()})
    DEFAULT_FACTORIES.update(factories)
    engines = _Engines(factories["engine"])
    input_factory = factories["inputs"]
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break
        if request["op"] == "stop":
            break
        try:
            with announcing_runs(_run_events(conn, request["request"])):
                HANDLERS[request["op"]](request, conn, RequestCancel(cancel, request["request"]),
                                        db_path, engines, input_factory)
        except Exception as exc:
            traceback.print_exc()
            conn.send(make_event("error", request.get("request"), message=describe_failure(exc),
                                 traceback=traceback.format_exc()))
    engines.close()
    try:
        conn.send({"type": "stopped"})
    except (OSError, ValueError):
        pass


def _run_events(conn, request_id: int):
    """Every run the request starts or ends, told at once: the client marks the runs still
    open failed should this process die (a probe's cells, a check's answers carry no run)."""
    def announce(run_id: int, status: str | None) -> None:
        if status is None:
            conn.send(make_event("run_started", request_id, run_id=run_id))
        else:
            conn.send(make_event("run_ended", request_id, run_id=run_id, status=status))
    return announce


def _load(request, conn, cancel, db_path, engines, input_factory) -> None:
    engine = engines.get(request["model_path"], **request.get("kwargs", {}))
    conn.send(make_event("loaded", request["request"], info=engine_info_dict(engine.info)))


def _evaluate(request, conn, cancel, db_path, engines, input_factory) -> None:
    rid = request["request"]
    engines.factory  # noqa: B018 - import the engine module before settings are built

    def progress(event) -> None:
        conn.send(make_event("progress", rid, **dataclasses.asdict(event)))

    run_id = run_evaluation(db_path, **request["kwargs"], progress=progress, cancel=cancel,
                            engine_factory=engines.get, input_factory=input_factory,
                            locate=DEFAULT_FACTORIES.get("locate") is not None)
    if run_id == 0:   # --db-mode shards: no run row yet, the caller merges the folder
        conn.send(finished(rid, 0, "sharded"))
        return
    with open_store(db_path) as store:
        run = require_run(store, run_id)
    conn.send(finished(rid, run_id, run["status"], run["error"]))


def _predict(request, conn, cancel, db_path, engines, input_factory) -> None:
    engine = engines.get(request["model_path"], **request.get("kwargs", {}))
    settings = inference_settings(request["settings"])
    build = resolve(input_factory, "inputs")
    with open_store(db_path) as store:
        found = task_by_name(store, request["task"])
        if found is None:
            raise ValueError(f"no task {request['task']!r} in this project")
        clip = build(store, request["clip_id"], settings, recipe_steps=request["recipe_steps"],
                     seed=settings.seed)
    result = engine.predict(clip, found[1], settings, labels=request.get("labels"))
    conn.send(make_event("prediction", request["request"], result=_as_dict(result)))


def _probe(request, conn, cancel, db_path, engines, input_factory) -> None:
    rid = request["request"]
    engine = engines.get(request["model_path"], **request.get("kwargs", {}))
    settings = inference_settings(request["settings"]) if request["settings"] else None

    def progress(cell) -> None:
        conn.send(make_event("cell", rid, cell=dataclasses.asdict(cell)))

    with open_store(db_path) as store:
        result = run_probe(store, engine, request["clip_id"], request["task"],
                           scenarios=tuple(request["scenarios"] or DEFAULT_SCENARIOS),
                           prompts=tuple(request["prompts"] or DEFAULT_PROMPTS),
                           settings=settings, seed=request["seed"],
                           attention=request.get("attention", False), progress=progress,
                           cancel=cancel, templates=request.get("templates") or None,
                           variants=request.get("variants") or ())
    conn.send(finished(rid, result.run_id, result.status))


def _probe_set(request, conn, cancel, db_path, engines, input_factory) -> None:
    rid = request["request"]
    engine = engines.get(request["model_path"], **request.get("kwargs", {}))

    def progress(done: int, total: int, run_id: int | None) -> None:
        conn.send(make_event("progress", rid, done=done, total=total, run_id=run_id))

    with open_store(db_path) as store:
        status = run_probe_set(store, engine, request["clip_ids"], request["task"],
                               attention=request.get("attention", False), progress=progress,
                               cancel=cancel, scenarios=request.get("scenarios"),
                               settings=inference_settings(request["settings"])
                               if request.get("settings") else None)
    conn.send(finished(rid, None, status))


def _checks(request, conn, cancel, db_path, engines, input_factory) -> None:
    rid = request["request"]
    engine = engines.get(request["model_path"], **request.get("kwargs", {}))

    def progress(done: int, total: int) -> None:
        conn.send(make_event("progress", rid, done=done, total=total))

    with open_store(db_path) as store:
        run_id = run_model_checks(store, engine, request["clip_ids"], progress=progress,
                                  cancel=cancel)
        status = require_run(store, run_id)["status"]
    conn.send(finished(rid, run_id, status))


# One handler per op (`stop` ends the loop); each op that writes runs has its words in
# `mmla_core.run_fates` for when its run is cut short, the others are its RUNLESS_OPS.
HANDLERS = {"load": _load, "evaluate": _evaluate, "predict": _predict, "probe": _probe,
            "probe_set": _probe_set, "checks": _checks}
