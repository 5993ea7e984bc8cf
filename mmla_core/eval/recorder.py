"""The one model-run lifecycle, shared by evaluation runs (eval/runs.py), probes
(probe/matrix.py, probe/sets.py) and model checks (probe/model_checks.py):

1. register the model the engine loaded (`register`: the registered row for its path, else a
   new row under a free name);
2. start the run (`start`: kind, settings and, through store.start_run, the environment it
   runs in), or take over a run made before the model was loaded (an evaluation plans its run
   first: `RunRecorder(store, run_id=..., model_id=...)`);
3. write prediction rows and error rows as they come (`write`; `result_columns` are the
   columns an engine's answer fills, `error_text` the stored error), one transaction a batch;
4. check the cancel token between steps (`cancelled`);
5. finish as done, cancelled or failed (`finish`; `finish_rank` for one rank of a run several
   ranks write; `failing_on_exception` marks the run failed with the exception, or cancelled on
   Ctrl+C, and re-raises).

`announcing_runs(announce)` hears every run a recorder starts or takes over (`announce(run_id,
None)`) and ends (`announce(run_id, status)`) in its block: the model worker tells its client,
which marks the runs still open failed when the worker process dies under them. Every run
started or taken over records its owner (host, pid, start time: store.run_owners) and its job
(`run_fates`: "evaluate", "probe", "probe_set", "checks"), so a run whose process was killed
outright is failed by the next `fail_orphan_runs` sweep with that job's words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from mmla_core.cancel import CancelToken, is_cancelled
from mmla_core.procs import process_owner
from mmla_core.run_fates import sole_job
from mmla_core.store.db import Store
from mmla_core.store.results import (
    complete_if_all_written,
    finish_run,
    get_run,
    model_name,
    prediction_id,
    provenance_columns,
    register_model,
    run_counts,
    start_run,
    update_run,
    upsert_eval_predictions,
)
from mmla_core.store.run_owners import fail_orphan_runs, record_run_owner

__all__ = ["ERROR_CHARS", "RunRecorder", "announcing_runs", "engine_columns", "error_text",
           "exception_text", "result_columns"]

ERROR_CHARS = 2000  # an error message is cut here in the runs and predictions tables
Announce = Callable[[int, "str | None"], None]  # (run id, None when it starts / its end status)
_ANNOUNCE: ContextVar[Announce | None] = ContextVar("run_announce", default=None)


@contextmanager
def announcing_runs(announce: Announce) -> Iterator[None]:
    """`announce(run_id, None)` when a run starts (or is taken over) in this block and
    `announce(run_id, status)` when it ends, so a run a dead process leaves can be failed."""
    token = _ANNOUNCE.set(announce)
    try:
        yield
    finally:
        _ANNOUNCE.reset(token)


def _announce(run_id: int, status: str | None) -> None:
    announce = _ANNOUNCE.get()
    if announce is not None and run_id:
        announce(run_id, status)


def error_text(message: str) -> str:
    return message[:ERROR_CHARS]


def exception_text(exc: BaseException) -> str:
    """A run's error after an exception it did not expect: its type and message."""
    return error_text(f"{type(exc).__name__}: {exc}")


def result_columns(result) -> dict:
    """The prediction row's columns an engine's answer (a PredictionResult) fills, with its
    per-sample provenance (DESIGN rule 6)."""
    return {"prompt_template": result.template, "prompt_hash": result.prompt_hash,
            "prompt_kind": result.prompt_kind, "num_frames": result.num_frames,
            "sample_fps": result.sample_fps, "max_pixels": result.max_pixels,
            "audio_on": result.audio_on, "seed": result.seed,
            "answer_mode": result.answer_mode, "raw_output": result.raw_output,
            "parsed_label": result.parsed_label, "scores_json": dict(result.scores or {}),
            "latency_ms": result.latency_ms, **provenance_columns(result)}


def engine_columns(info) -> dict:
    """A prediction row's columns the loaded weights fill (an EngineInfo)."""
    return {"weights_hash": info.weights_hash, "adapter_path": info.adapter_path}


class RunRecorder:
    """One model run being written to the project's database."""

    def __init__(self, store: Store, *, run_id: int = 0, model_id: int | None = None,
                 job: str | None = None):
        self.store, self.run_id, self.model_id = store, run_id, model_id  # run 0: not started
        if run_id:  # a run planned before the model loads is this process's now
            record_run_owner(store, run_id, process_owner(), job)
            fail_orphan_runs(store)
        _announce(run_id, None)

    @classmethod
    def for_engine(cls, store: Store, engine) -> RunRecorder:
        """A recorder whose model is the engine's (registered now), for a run to `start`."""
        recorder = cls(store)
        recorder.register(engine.info)
        return recorder

    # --- the model and the run ------------------------------------------------------------------

    def register(self, info) -> int:
        """The models row of the loaded weights (an EngineInfo): the run's own or the one
        registered under the same path, else a new row under a free name."""
        path = str(info.path)
        self.model_id = register_model(
            self.store, path=path, name=str(info.name) or Path(path).name, family=info.family,
            weights_hash=info.weights_hash, random_weights=bool(info.random_weights),
            model_id=self.model_id)
        return self.model_id

    @property
    def model_name(self) -> str:
        if self.model_id is None:
            raise RuntimeError("the run recorder has no model yet: register the engine's first")
        return str(model_name(self.store, self.model_id))

    def start(self, kind: str, *, settings: dict, name: str = "", job: str | None = None,
              **fields) -> int:
        """The run row (kind "eval", "probe" or "checks"), status running, owned by this
        process; first the runs whose process was killed are failed (store.run_owners).

        `job`: what writes it (a `run_fates` key), needed where several jobs write the kind (a
        probe run: "probe" or "probe_set"); recorded with the owner for the sweep's words.
        """
        fail_orphan_runs(self.store)
        self.run_id = start_run(self.store, kind, settings=settings, name=name,
                                model_id=self.model_id, **fields)
        record_run_owner(self.store, self.run_id, process_owner(), job or sole_job(kind))
        _announce(self.run_id, None)
        return self.run_id

    def update(self, **fields) -> None:
        """Columns of the run row; `settings=` (a dict) is stored as its JSON."""
        update_run(self.store, self.run_id, **fields)

    # --- rows -----------------------------------------------------------------------------------

    def row(self, **columns) -> dict:
        """A prediction (or error) row of this run: run and model stamped on `columns`."""
        return {"run_id": self.run_id, "model_id": self.model_id, **columns}

    def write(self, rows: list[dict]) -> None:
        """Prediction and error rows in one transaction, idempotent per sample key."""
        upsert_eval_predictions(self.store, rows)

    def prediction_id(self, key: str) -> int:
        found = prediction_id(self.store, self.run_id, key)
        if found is None:
            raise LookupError(f"run {self.run_id} has no prediction {key!r}")
        return found

    @staticmethod
    def cancelled(cancel: CancelToken) -> bool:
        return is_cancelled(cancel)

    # --- the end --------------------------------------------------------------------------------

    def finish(self, status: str, error: str | None = None) -> None:
        """done, cancelled or failed, with the time it ended."""
        finish_run(self.store, self.run_id, status, error=error)
        _announce(self.run_id, status)

    def finish_rank(self, status: str, message: str, *, rank: int = 0, world_size: int = 1,
                    total: int | None = None) -> tuple[str, str]:
        """End this rank's part of a run (what to report: stage and message). A rank that ends
        well marks the run done once every rank's rows are in; a run of one rank that lacks
        rows fails, saying how many it has. Another end is the run's, with the rank named."""
        if status != "done":
            prefix = f"rank {rank}: " if world_size > 1 else ""
            self.finish(status, prefix + message)
            return status, message
        if complete_if_all_written(self.store, self.run_id):
            _announce(self.run_id, "done")
            return "done", message
        if world_size > 1:
            return "done", message
        written, _ = run_counts(self.store, self.run_id)
        message = f"only {written} of {total} samples were written"
        self.finish("failed", message)
        return "failed", message

    @contextmanager
    def failing_on_exception(self) -> Iterator[None]:
        """Anything raised inside (a bug) ends the run as failed, then goes on up; Ctrl+C
        cancels it (what was written stays, as with an interrupted evaluation)."""
        try:
            yield
        except KeyboardInterrupt:
            self.finish("cancelled", self._interrupted())
            raise
        except BaseException as exc:
            self.finish("failed", exception_text(exc))
            raise

    def _interrupted(self) -> str:
        written, _ = run_counts(self.store, self.run_id)
        run = get_run(self.store, self.run_id) or {}
        unit = "cells" if run.get("kind") == "probe" else "samples"
        return f"interrupted after {written} of {run.get('total') or '?'} {unit}"
