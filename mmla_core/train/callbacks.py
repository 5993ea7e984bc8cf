"""What the trainer tells the world: events (SQLite + events.jsonl), best adapter, stop requests.

Only rank 0 writes (DDP). Events are buffered and committed at most ~2 times a second, so a
fast CPU run does not turn into a database benchmark; `events.jsonl` gets every event too, so a
run on a cluster (no project database) leaves the same record.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The callbacks subclass TrainerCallback: this module is on pyproject.toml's
# banned-module-level-imports list itself, so train/run.py loads it (and transformers) lazily.
from transformers import TrainerCallback  # noqa: TID253

from mmla_core.store.jobs import add_events, drop_events_after, job_status, update_job
from mmla_core.train.logtext import metrics_text

__all__ = ["EventSink", "ProgressCallback", "StopCallback", "agree", "save_adapter", "utc_now"]

log = logging.getLogger("mmla_core.train")
FLUSH_EVERY_S = 0.5
STOP_POLL_S = 0.25


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


class EventSink:
    """Buffered event rows to `<output_dir>/events.jsonl` and (with a job) training_events."""

    def __init__(self, output_dir: Path, store=None, job_id: int | None = None,
                 enabled: bool = True):
        self.path = Path(output_dir) / "events.jsonl"
        self.store, self.job_id = store, job_id
        self.enabled = enabled   # off on the other ranks of a sharded run (they only export)
        self.pending: list[dict] = []
        self.last_flush = 0.0

    def add(self, event: dict, *, flush: bool = False) -> None:
        if not self.enabled:
            return
        self.pending.append({k: v for k, v in event.items() if v is not None})
        if flush or time.monotonic() - self.last_flush >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.pending:
            return
        rows, self.pending = self.pending, []
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
        if self.store is not None and self.job_id is not None:
            add_events(self.store, self.job_id, rows)
            update_job(self.store, self.job_id, heartbeat_at=utc_now())

    def forget_after(self, step: int) -> int:
        """Drop events past `step`, from events.jsonl and the job: a run resumed from the
        checkpoint at `step` logs those steps again (a kill after the checkpoint left them)."""
        self.flush()
        dropped = 0
        if self.path.is_file():
            lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [line for line in lines if _step_of(line) <= step]
            if len(kept) != len(lines):
                dropped = len(lines) - len(kept)
                self.path.write_text("".join(kept), encoding="utf-8")
        if self.store is not None and self.job_id is not None:
            dropped = max(dropped, drop_events_after(self.store, self.job_id, step))
        return dropped

    def update_job(self, **fields) -> None:
        if self.store is not None and self.job_id is not None:
            update_job(self.store, self.job_id, **fields)


def _step_of(line: str) -> int:
    """An events.jsonl line's step (-1 for a line that is not an event: kept)."""
    try:
        step = json.loads(line).get("step")
    except (ValueError, AttributeError):
        return -1
    return step if isinstance(step, int) else -1


def _gpu_mem_mb() -> float | None:
    import torch

    if not torch.cuda.is_available():
        return None
    return torch.cuda.max_memory_allocated() / 2**20


def save_adapter(model, folder: Path) -> None:
    model.save_pretrained(str(folder), safe_serialization=True)


class ProgressCallback(TrainerCallback):
    """train / eval / checkpoint events, throughput, and the best adapter by dev accuracy.

    Rank 0 only, except in a sharded run (FSDP / ZeRO-3): there the weights are spread over
    the ranks, so every rank runs this callback and takes part in the adapter's export
    (`saver`: the Trainer's save_model, which gathers them), and only rank 0 (`writer`)
    writes files and events."""

    def __init__(self, sink: EventSink, output_dir: Path, samples_per_step: int,
                 resuming: bool = False, writer: bool = True):
        self.sink, self.output_dir = sink, Path(output_dir)
        self.samples_per_step = samples_per_step
        self.writer = writer
        self.saver: Callable[[Any, Path], object] = save_adapter
        # Only a resumed run continues the best so far; a fresh one starts from nothing.
        self.best = self._read_best() if resuming else {}
        self._mark: tuple[float, int, int] | None = None

    def _read_best(self) -> dict:
        path = self.output_dir / "best.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def on_train_begin(self, args, state, control, **kwargs):
        self._mark = (time.perf_counter(), state.global_step, state.num_input_tokens_seen or 0)
        self.sink.update_job(total_steps=state.max_steps)

    def on_log(self, args, state, control, logs=None, **kwargs):
        log.info("step %d: %s", state.global_step, metrics_text(logs or {}))
        if not logs or "loss" not in logs or self._mark is None:
            return
        now, tokens = time.perf_counter(), state.num_input_tokens_seen or 0
        then, step0, tokens0 = self._mark
        dt = max(now - then, 1e-9)
        self._mark = (now, state.global_step, tokens)
        self.sink.add({"kind": "train", "step": state.global_step, "epoch": state.epoch,
                       "loss": logs["loss"], "learning_rate": logs.get("learning_rate"),
                       "samples_per_s": (state.global_step - step0) * self.samples_per_step / dt,
                       "tokens_per_s": (tokens - tokens0) / dt if tokens else None,
                       "gpu_mem_mb": _gpu_mem_mb()})

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        metrics = metrics or {}
        accuracy = metrics.get("eval_accuracy")
        self.sink.add({"kind": "eval", "step": state.global_step, "epoch": state.epoch,
                       "eval_loss": metrics.get("eval_loss"), "eval_accuracy": accuracy},
                      flush=True)
        if accuracy is not None and accuracy > self.best.get("eval_accuracy", -1.0):
            self.best = {"step": state.global_step, "eval_accuracy": accuracy}
            self.export_adapter(model)
            if self.writer:
                (self.output_dir / "best.json").write_text(json.dumps(self.best))
            self.sink.update_job(best_step=state.global_step, best_eval_accuracy=accuracy,
                                 adapter_path=str(self.output_dir / "adapter"))
        self._mark = (time.perf_counter(), state.global_step, state.num_input_tokens_seen or 0)

    def on_save(self, args, state, control, **kwargs):
        self.sink.add({"kind": "checkpoint", "step": state.global_step, "epoch": state.epoch},
                      flush=True)

    def on_train_end(self, args, state, control, **kwargs):
        self.sink.flush()

    def export_adapter(self, model) -> Path:
        """The LoRA weights as peft safetensors in <output_dir>/adapter (replaced atomically)."""
        final = self.output_dir / "adapter"
        staging = self.output_dir / "adapter.saving"
        if self.writer:
            shutil.rmtree(staging, ignore_errors=True)
        self.saver(model, staging)
        if not self.writer:
            return final
        old = self.output_dir / "adapter.old"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        return final


class StopCallback(TrainerCallback):
    """Stops after the current step (saving a checkpoint) when asked: a STOP file or 'stopping'.

    Under DDP rank 0 decides and every rank learns it in the same step (an all-reduce), so all
    ranks save and leave the loop together.
    """

    def __init__(self, output_dir: Path, store=None, job_id: int | None = None, rank: int = 0,
                 world_size: int = 1):
        self.stop_file = Path(output_dir) / "STOP"
        self.store, self.job_id = store, job_id
        self.rank, self.world_size = rank, world_size
        self.requested = False
        self._last_poll = 0.0

    def _asked(self) -> bool:
        if self.stop_file.exists():
            return True
        if self.store is None or self.job_id is None:
            return False
        if time.monotonic() - self._last_poll < STOP_POLL_S:
            return False
        self._last_poll = time.monotonic()
        return job_status(self.store, self.job_id) == "stopping"

    def on_step_end(self, args, state, control, **kwargs):
        asked = self._asked() if self.rank == 0 else False
        if self.world_size > 1:
            asked = agree(asked)
        if asked and state.global_step < state.max_steps:
            self.requested = True
            control.should_training_stop = True
            control.should_save = True


def agree(flag: bool) -> bool:
    """True on every rank when any rank says so (one all-reduce; as is without a launch)."""
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        return flag
    device = "cuda" if torch.cuda.is_available() and dist.get_backend() == "nccl" else "cpu"
    value = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
