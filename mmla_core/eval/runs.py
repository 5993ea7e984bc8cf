"""Evaluation runs: one model on a dataset split for one task, optionally on conflict variants.

Predictions are written in small batches as they come, each with its full provenance (DESIGN
rule 6) and a sample key unique within the run, so a run killed halfway resumes where it
stopped with no duplicate rows (`resume=run_id`: the samples already answered are skipped, and
samples that failed are retried). A clip whose media or variant cannot be built is recorded as
an error row and the run goes on (rule 7); out-of-memory or a model failing on clip after clip
stops the run as `failed` with a message saying what to do. Cancel is checked between batches.

Data parallel on one machine: every rank plans the same sample list and takes every Nth sample
(`shard`); all ranks write to the same run (SQLite WAL + busy timeout, one short transaction
per batch). The last rank to finish marks the run done. A rank is `python -m mmla_core.eval`
(eval/__main__.py) under torchrun or `accelerate launch` (see docs/evaluation.md); the old
`-m mmla_core.eval.runs` runs the same entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mmla_core.distributed import launch_key_from_env, shard_from_env
from mmla_core.eval.recorder import RunRecorder, error_text, result_columns
from mmla_core.eval.run_plan import (
    EvalError,
    EvalJob,
    EvalProgress,
    Sample,
    checkpoint_of,
    describe_failure,
    engine_info_dict,
    is_out_of_memory,
    prepare_job,
    resolve,
    shard,
)
from mmla_core.eval.shards import ShardError, ShardRecorder, resolve_db_mode
from mmla_core.prompts import template_hash
from mmla_core.store.db import Store, open_store

__all__ = ["EvalError", "EvalProgress", "checkpoint_of", "launch_key_from_env", "run_evaluation",
           "shard", "shard_from_env"]

MAX_FAILURES_IN_A_ROW = 8  # the model failing on this many samples in a row stops the run


class _Cancelled(Exception):
    pass


def run_evaluation(store_path: str | Path, *, model=None, task=None, dataset=None, split="test",
                   settings=None, variants=None, adapter=None, progress=None, cancel=None,
                   engine_factory=None, input_factory=None, resume: int | None = None,
                   name: str = "", batch_size: int = 4, rank: int = 0, world_size: int = 1,
                   launch_key: str | None = None, device: str | None = None,
                   device_map: str | None = None, max_memory: str | None = None,
                   allow_pickle: bool = False, selection=None, db_mode: str = "direct",
                   out_dir: str | Path | None = None, locate: bool | None = None) -> int:
    """Evaluate (or resume) a run and return its id; its status says how it ended.

    `progress(EvalProgress)` is called as the run advances; `cancel` is a callable or an event
    (`is_set()`). `engine_factory(path, **load_kwargs)` and `input_factory(store, clip_id,
    settings, recipe_steps=, seed=)` default to the real engine; either may be a
    "module:attribute" string. `device_map` / `max_memory` split a model larger than one GPU
    over the devices (models.placement). `selection`: a `store.verdicts.Selection` or its dict
    (label source and verdict rule; default curated labels, rejected clips left out); a resumed
    run keeps its own. `db_mode` shards (or auto, where the database is not safely writable)
    opens the project read-only and writes the predictions to per-rank JSONL shards in
    `out_dir` (eval.shards; returns 0: `mmla runs merge` makes the run). EvalError (no run
    created) for an unknown task, dataset, run or source, or for a model that names no
    registered model, folder or cached hub id (`locate`; default: unless `engine_factory` is
    one's own, which knows its own models).
    """
    request = {"model": model, "task": task, "dataset": dataset, "split": split,
               "settings": settings, "variants": variants, "adapter": adapter, "resume": resume,
               "name": name, "batch_size": batch_size, "rank": rank, "world_size": world_size,
               "launch_key": launch_key, "device": device, "device_map": device_map,
               "max_memory": max_memory, "allow_pickle": allow_pickle,
               "selection": selection.to_dict() if hasattr(selection, "to_dict") else selection}
    shards = _shard_recorder(store_path, db_mode, out_dir, rank)
    locate = engine_factory is None if locate is None else locate
    with open_store(store_path, read_only=True if shards else None) as store:
        job = prepare_job(store, {**request, "shards": shards, "locate": locate})
        runner = _Runner(store, job, progress, cancel, shards)
        runner.run(engine_factory, input_factory)
        return job.run_id


def _shard_recorder(store_path, db_mode: str, out_dir, rank: int):
    try:
        mode, why = resolve_db_mode(db_mode, store_path)
        if mode == "direct":
            return None
        if out_dir is None:
            raise EvalError(f"predictions go to shards ({why}): give --out RUN_FOLDER, a "
                            "folder every rank can write")
        return ShardRecorder(out_dir, rank)
    except ShardError as exc:
        raise EvalError(str(exc)) from exc


class _Runner:
    """Loads the engine when there is work, predicts batch by batch, finishes the run."""

    def __init__(self, store: Store, job: EvalJob, progress, cancel, shards=None):
        self.store, self.job = store, job
        self.shards = shards   # eval.shards.ShardRecorder: write there, not to the store
        self.recorder = RunRecorder(store, run_id=job.run_id, model_id=job.model_id,
                                    job="evaluate")
        self._progress = progress
        self._cancel = cancel
        self.done, self.errors, self.failures_in_a_row = 0, 0, 0

    def emit(self, stage: str, message: str = "") -> None:
        if self._progress is not None:
            self._progress(EvalProgress(self.job.run_id, self.done, len(self.job.shard),
                                        self.errors, stage, message))

    def cancelled(self) -> bool:
        return self.recorder.cancelled(self._cancel)

    def run(self, engine_factory, input_factory) -> None:
        job = self.job
        self.done = len(job.shard) - len(job.pending)
        self.emit("loading" if job.pending else "running")
        engine, owned = None, engine_factory is None
        try:
            if job.pending:
                engine = self._load(engine_factory)
                self._predict_all(engine, resolve(input_factory, "inputs"))
        except _Cancelled:
            self._finish("cancelled", f"cancelled after {self.done} of {len(job.shard)} samples")
        except KeyboardInterrupt:
            self._finish("cancelled", f"interrupted after {self.done} of {len(job.shard)} samples")
            raise
        except Exception as exc:  # any failure ends the run with its message
            self._finish("failed", describe_failure(exc))
        else:
            self._finish("done", "")
        finally:
            if engine is not None and owned:
                engine.close()

    def _finish(self, status: str, message: str) -> None:
        job = self.job
        if self.shards is not None:
            self.shards.finish(status, message)
            self.emit(status, message)
            return
        stage, message = self.recorder.finish_rank(status, message, rank=job.rank,
                                                   world_size=job.world_size, total=job.total)
        self.emit(stage, message)

    def _load(self, engine_factory):
        job = self.job
        factory = resolve(engine_factory, "engine")
        engine = factory(job.model_path, device=job.device, allow_pickle=job.allow_pickle,
                         attn_implementation=job.settings.attn_implementation,
                         adapter_path=job.adapter, **job.placement())
        info = engine.info
        stored = job.run_settings.get("engine", {}).get("weights_hash")
        if job.resumed and stored and stored != info.weights_hash:
            raise EvalError(
                f"the model's weights changed since run {job.run_id} started ({stored} -> "
                f"{info.weights_hash}); start a new run instead of resuming this one")
        job.engine_info = engine_info_dict(info)
        job.run_settings["engine"] = job.engine_info
        if self.shards is not None:
            self.shards.write_plan({"engine": job.engine_info, "settings": job.run_settings})
        else:
            job.model_id = self.recorder.register(info)
            self.recorder.update(model_id=job.model_id, settings=job.run_settings)
        self.emit("running")
        return engine

    def _predict_all(self, engine, build_input: Callable) -> None:
        size = max(1, self.job.batch_size)
        pending = self.job.pending
        for start in range(0, len(pending), size):
            if self.cancelled():
                raise _Cancelled
            rows = self._predict_batch(engine, build_input, pending[start:start + size])
            (self.shards or self.recorder).write(rows)
            self.done += len(rows)
            self.errors += sum(1 for r in rows if r.get("error"))
            self.emit("running")

    def _predict_batch(self, engine, build_input: Callable, batch: list[Sample]) -> list[dict]:
        job, rows, ready = self.job, [], []
        for sample in batch:
            try:
                clip = build_input(self.store, sample.clip_id, job.settings,
                                   recipe_steps=sample.steps, seed=job.seed)
            except Exception as exc:  # bad input: record it, go on (rule 7)
                rows.append(self._error_row(sample, f"input: {_input_failure(exc)}"))
            else:
                ready.append((sample, clip))
        for sample, clip, outcome in self._run_model(engine, ready):
            if isinstance(outcome, Exception):
                rows.append(self._error_row(sample, f"model: {describe_failure(outcome)}"))
            else:
                rows.append(self._row(sample, clip, outcome))
        return rows

    def _run_model(self, engine, ready: list) -> list[tuple]:
        """Predict the batch at once; if that fails, one by one to isolate the bad sample."""
        if not ready:
            return []
        task, settings = self.job.task, self.job.settings
        try:
            results = engine.predict_batch([clip for _, clip in ready], task, settings)
            self.failures_in_a_row = 0
            return [(s, c, r) for (s, c), r in zip(ready, results, strict=True)]
        except Exception as exc:
            if is_out_of_memory(exc):
                raise
        outcomes = []
        for sample, clip in ready:
            try:
                outcomes.append((sample, clip, engine.predict(clip, task, settings)))
                self.failures_in_a_row = 0
            except Exception as exc:
                if is_out_of_memory(exc):
                    raise
                self.failures_in_a_row += 1
                if self.failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                    raise EvalError(f"the model failed on {self.failures_in_a_row} samples in a "
                                    f"row; last error: {describe_failure(exc)}") from exc
                outcomes.append((sample, clip, exc))
        return outcomes

    def _base_row(self, sample: Sample) -> dict:
        job = self.job
        return {
            "run_id": job.run_id, "clip_id": sample.clip_id, "task_id": job.task_id,
            "model_id": job.model_id, "weights_hash": job.engine_info.get("weights_hash"),
            "adapter_path": job.adapter, "checkpoint": job.checkpoint,
            "gold_label": sample.gold, "sample_key": sample.key, "variant": sample.variant,
            "recipe_json": sample.recipe_json(job.seed), "seed": job.seed,
        }

    def _error_row(self, sample: Sample, message: str) -> dict:
        s = self.job.settings
        template = self.job.template_text
        return {**self._base_row(sample), "prompt_template": template,
                "prompt_hash": template_hash(template), "prompt_kind": s.prompt_kind,
                "num_frames": s.num_frames, "sample_fps": s.sample_fps,
                "max_pixels": s.max_pixels, "audio_on": s.audio_on,
                "answer_mode": s.answer_mode, "error": error_text(message)}

    def _row(self, sample: Sample, clip, result) -> dict:
        row = self._base_row(sample)
        recipe = getattr(clip, "recipe", None)
        if sample.variant and isinstance(recipe, dict):  # the resolved recipe (donor id)
            row["recipe_json"] = json.dumps({"variant": sample.variant, **recipe},
                                            sort_keys=True)
        row.update(result_columns(result))
        row["prompt_template"] = result.template or self.job.template_text
        return row


def _input_failure(exc: Exception) -> str:
    """Building inputs runs on the CPU: running out of memory there is this clip's media (a
    decode too big for the machine), not the model's batch, so no out-of-memory advice."""
    if isinstance(exc, MemoryError):
        detail = str(exc) or "no detail"
        return (f"decoding this clip's media needs more memory than there is ({detail}); "
                "check the file or trim it")
    return describe_failure(exc)


if __name__ == "__main__":   # the old rank command: `-m mmla_core.eval.runs` is `-m mmla_core.eval`
    import runpy

    runpy.run_module("mmla_core.eval", run_name="__main__", alter_sys=True)
