"""One training run from start to end: validate, train, pick the best adapter, test, report.

`python -m mmla_core.train CONFIG.yaml [--db DB --job ID] [--resume latest|DIR]` calls `main`;
tests call `run_training` in-process. Exit codes: 0 done or stopped on request, 1 failed,
2 the config was refused (the message says what to fix).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from mmla_core.distributed import local_rank, shard_from_env
from mmla_core.models.loader import free_gpu_memory
from mmla_core.models.registered import resolve_model
from mmla_core.store.db import open_store
from mmla_core.store.jobs import record_trainer_start
from mmla_core.train import outputs
from mmla_core.train.config import TrainConfig, TrainConfigError
from mmla_core.train.data import Collator, TrainDataset
from mmla_core.train.evaluation import evaluate_after_training
from mmla_core.train.outputs import (
    checkpoint_is_complete,
    incomplete_note,
    latest_complete_checkpoint,
    write_samples,
)
from mmla_core.train.preflight import validate
from mmla_core.train.samples import build_samples, effective_modality, resolve_tasks
from mmla_core.train.trainer import (
    build_trainer,
    dev_accuracy,
    prepare_model,
    training_arguments,
    training_device,
)
from mmla_core.variants.plan import safe_name

__all__ = ["TrainOutcome", "default_output_dir", "run_training"]

log = logging.getLogger("mmla_core.train")


@dataclass
class TrainOutcome:
    status: str                      # done | stopped
    output_dir: Path
    global_step: int
    adapter_path: Path | None
    best: dict = field(default_factory=dict)     # {step, eval_accuracy}
    test_runs: list[int] = field(default_factory=list)
    test_accuracy: dict[int, float | None] = field(default_factory=dict)  # run id -> accuracy
    train_metrics: dict = field(default_factory=dict)  # the Trainer's (runtime, samples/s...)


def default_output_dir(db_path, job_id: int | None, name: str) -> Path:
    """`<project folder>/<project stem>.train/<job id>-<name>` (like `<stem>.variants`)."""
    db = Path(db_path)
    return db.parent / f"{db.stem}.train" / f"{job_id if job_id is not None else 'cli'}-" \
        f"{safe_name(name)}"


def _ranks() -> tuple[int, int, int]:
    rank, world = shard_from_env()
    return rank, world, local_rank()


def _log_to(output_dir: Path, rank: int) -> logging.Handler:
    handler = logging.FileHandler(output_dir / ("train.log" if rank == 0 else f"train.{rank}.log"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def _resume_point(output_dir: Path, resume: str | None) -> str | None:
    if resume in (None, ""):
        return None

    if resume == "latest":
        last, skipped = latest_complete_checkpoint(output_dir)
        if skipped:
            log.warning("%s; resuming from %s", incomplete_note(skipped),
                        last.name if last else "the beginning")
        return str(last) if last else None  # None: nothing saved yet, start from the beginning
    path = Path(resume)
    if not checkpoint_is_complete(path):
        raise TrainConfigError(f"{path}: not a complete training checkpoint (no "
                               "trainer_state.json: not a checkpoint, or the run was killed "
                               f"while saving it); pick another checkpoint-<step> folder of "
                               f"{output_dir}")
    return str(path)


def run_training(config: TrainConfig, db_path, *, job_id: int | None = None,
                 resume: str | None = None, callbacks=(), shards: bool = False) -> TrainOutcome:
    """Train (or resume) and return how it ended; TrainConfigError before anything starts.
    `shards`: the database is read only; the output folder's events.jsonl, config.yaml and
    status.json are the record (`mmla runs merge OUTPUT_DIR`), and the test split waits.

    A failure's traceback goes to train.log here, once (`python -m mmla_core.train` only adds
    its one-line summary when its output is train.log already)."""
    rank, world, _ = _ranks()
    output_dir = Path(config.output_dir or default_output_dir(db_path, job_id, config.name))
    if resume in (None, "") and rank == 0:
        try:   # a fresh run must not pick up an earlier run's best.json, adapter or checkpoints
            outputs.refuse_used(output_dir)
        except outputs.OutputDirError as exc:
            raise TrainConfigError(str(exc)) from None
    output_dir.mkdir(parents=True, exist_ok=True)
    if shards and rank == 0 and not (output_dir / "config.yaml").is_file():
        (output_dir / "config.yaml").write_text(config.to_yaml(), encoding="utf-8")  # for merge
    handler = _log_to(output_dir, rank)
    try:
        return _validated_run(config, db_path, output_dir, None if shards else job_id, rank,
                              world, resume, callbacks)
    except TrainConfigError:
        raise
    except Exception:
        log.exception("training failed")
        raise
    finally:
        log.removeHandler(handler)
        handler.close()


def _validated_run(config, db_path, output_dir, job_id, rank, world, resume,
                   callbacks) -> TrainOutcome:
    with open_store(db_path) as store:
        problems = validate(store, config)
        if problems:
            raise TrainConfigError(problems)
        return _Run(config, db_path, store, output_dir, job_id, rank, world).go(
            _resume_point(output_dir, resume), callbacks)


class _Run:
    def __init__(self, config, db_path, store, output_dir, job_id, rank, world):
        self.config, self.db_path, self.store = config, db_path, store
        self.output_dir, self.job_id, self.rank, self.world = output_dir, job_id, rank, world
        self.device: str | None = None     # where the model trained; the test runs there too

    def go(self, checkpoint: str | None, extra_callbacks) -> TrainOutcome:
        from mmla_core.train.callbacks import EventSink, utc_now

        writer = self.rank == 0
        sink = EventSink(self.output_dir, self.store if writer else None,
                         self.job_id if writer else None, enabled=writer)
        if writer:
            self._mark_running()
            if checkpoint is not None:
                self._forget_replayed_steps(checkpoint, sink)
        try:
            outcome = self._train(checkpoint, sink, extra_callbacks)
        except Exception as exc:   # run_training logs the traceback
            sink.flush()
            sink.update_job(status="failed", finished_at=utc_now(),
                            stderr_tail=f"{type(exc).__name__}: {exc}"[-4000:])
            raise
        free_gpu_memory()   # the training model is gone with _train's frame: test on a clean GPU
        if self.store.read_only:   # --db-mode shards: the record is the output folder
            sink.flush()
            if writer:
                self._write_status(outcome, utc_now())
            return outcome
        problem = self._test(outcome, sink) if writer and outcome.status == "done" else None
        sink.flush()
        if writer:
            sink.update_job(status=outcome.status, finished_at=utc_now(), exit_code=0,
                            test_run_ids_json=json.dumps(outcome.test_runs),
                            **({"stderr_tail": problem} if problem else {}))
        return outcome

    def _write_status(self, outcome: TrainOutcome, finished_at: str) -> None:
        """How the run ended, for `mmla runs merge` (the test split is evaluated after it)."""
        status = {"status": outcome.status, "finished_at": finished_at, "exit_code": 0,
                  "total_steps": outcome.global_step,
                  "adapter_path": str(outcome.adapter_path) if outcome.adapter_path else None,
                  "best_step": outcome.best.get("step"),
                  "best_eval_accuracy": outcome.best.get("eval_accuracy")}
        (self.output_dir / "status.json").write_text(json.dumps(status, indent=1))
        log.info("database read-only (shards): merge with `mmla runs merge %s`, then evaluate "
                 "the adapter on the test split", self.output_dir)

    @staticmethod
    def _forget_replayed_steps(checkpoint: str, sink) -> None:
        """The steps after the checkpoint run again: their first events would show twice."""
        try:
            state = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
            step = int(state["global_step"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        dropped = sink.forget_after(step)
        log.info("resuming from step %d (%s): %d events logged after it dropped (those steps "
                 "run again)", step, checkpoint, dropped)

    def _mark_running(self) -> None:
        """Status running, unless a stop was asked for before we started (then it stays
        'stopping' and the first step ends the run): one transaction, so a Stop clicked now is
        never overwritten. A STOP file without a 'stopping' row is stale and removed."""
        from mmla_core.train.callbacks import utc_now

        status = None
        if self.store is not None and self.job_id is not None:
            started = utc_now()
            status = record_trainer_start(self.store, self.job_id, os.getpid(), started,
                                          str(self.output_dir / "train.log"),
                                          str(self.output_dir))
        if status != "stopping":
            (self.output_dir / "STOP").unlink(missing_ok=True)

    def _test(self, outcome: TrainOutcome, sink) -> str | None:
        """The adapter on the test split; a failure here is reported, not a failed run (the
        adapter is trained and saved). Returns the problem for the job's stderr_tail."""
        if outcome.adapter_path is None:   # its export left no folder: nothing to evaluate
            problem = "test evaluation skipped: no adapter folder was written (training is done)"
            log.error("%s", problem)
            return problem
        try:
            outcome.test_runs, outcome.test_accuracy = evaluate_after_training(
                self.config, self.db_path, self.job_id, outcome.adapter_path, self.device)
        except Exception as exc:
            log.exception("test evaluation failed")
            problem = (f"test evaluation failed: {type(exc).__name__}: {exc} (training is done; "
                       f"the adapter is in {outcome.adapter_path})")[-4000:]
            log.error("%s", problem)
            return problem
        for run_id, accuracy in outcome.test_accuracy.items():
            sink.add({"kind": "test", "step": outcome.global_step, "eval_accuracy": accuracy,
                      "run_id": run_id})
        return None

    def _train(self, checkpoint, sink, extra_callbacks) -> TrainOutcome:
        config = self.config
        model_path, family, _ = resolve_model(self.store, config.model)
        modality = effective_modality(config, family)
        train = [s for split in config.train_splits
                 for s in build_samples(self.store, config, split)]
        dev = build_samples(self.store, config, config.dev_split)
        if self.rank == 0:
            write_samples(self.output_dir, [*train, *dev])
        log.info("%s: %d train / %d dev samples, model %s (%s, %s), sharding %s, resume from %s",
                 config.name, len(train), len(dev), model_path, family, modality,
                 config.sharding, checkpoint)
        gpu_index = local_rank()
        device = training_device(config, gpu_index)
        # before the model: ZeRO-3 partitions the weights while they load (zero.Init)
        args = training_arguments(config, self.output_dir, device,
                                  workers=2 if device.startswith("cuda") else 0, family=family)
        prepared = prepare_model(config, model_path, gpu_index)
        train_set = TrainDataset(train, self.db_path, config, modality)
        dev_set = TrainDataset(dev, self.db_path, config, modality)
        tasks = {t.name: t for _, t in resolve_tasks(self.store, config.tasks)}
        trainer, progress, stop = self._trainer(
            prepared, args, (train_set, dev_set), lambda: dev_accuracy(
                prepared, dev_set, dev, tasks, config.batch_size, self.rank, self.world,
                config.sharding != "none"), checkpoint, sink, extra_callbacks)
        result = trainer.train(resume_from_checkpoint=checkpoint)
        status = "stopped" if stop.requested else "done"
        log.info("training %s at step %d", status, trainer.state.global_step)
        # a sharded model may not fit one GPU: its test run lets the loader place (and split) it
        self.device = prepared.device if self.config.sharding == "none" else None
        # Returning drops the trainer and the model (this frame held the last references).
        return self._export(trainer, prepared, progress, status, sink, dict(result.metrics))

    def _trainer(self, prepared, args, datasets, scorer, checkpoint, sink, extra_callbacks):
        """(trainer, progress callback, stop callback); see callbacks.ProgressCallback for who
        runs what in a sharded run."""
        from mmla_core.train.callbacks import ProgressCallback, StopCallback

        config, (train_set, dev_set) = self.config, datasets
        sharded = config.sharding != "none"
        progress = ProgressCallback(sink, self.output_dir,
                                    config.batch_size * config.grad_accum * self.world,
                                    resuming=checkpoint is not None, writer=self.rank == 0)
        stop = StopCallback(self.output_dir, self.store, self.job_id, self.rank, self.world)
        callbacks = [*extra_callbacks, stop] + ([progress] if self.rank == 0 or sharded else [])
        collator = Collator(prepared.processor, prepared.family, train_set.settings)
        trainer = build_trainer(prepared, args, train_set, dev_set, collator, scorer, callbacks)
        if sharded:   # the weights are spread over the ranks: the Trainer gathers them to save
            progress.saver = lambda _model, folder: trainer.save_model(str(folder))
        return trainer, progress, stop

    def _export(self, trainer, prepared, progress, status: str, sink, metrics) -> TrainOutcome:
        from mmla_core.train.callbacks import agree

        adapter = self.output_dir / "adapter"
        # No dev evaluation in this run (or its resumed start) improved: export what we have.
        missing = self.rank == 0 and (not progress.best or not adapter.is_dir())
        if self.config.sharding != "none":   # a collective export: every rank, or none
            if agree(missing):
                progress.export_adapter(prepared.model)
        elif missing:
            progress.export_adapter(prepared.model)
        if missing:
            sink.update_job(adapter_path=str(adapter))
        return TrainOutcome(status, self.output_dir, trainer.state.global_step,
                            adapter if adapter.is_dir() else None, dict(progress.best),
                            train_metrics=metrics)


