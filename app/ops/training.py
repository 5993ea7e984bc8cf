"""Training writes, one function per user action in the Train dialog and the Training tab:
launch, stop, resume, delete. Each returns an `Op` (mmla_app.ops.op) declaring its `Changes`.

Stop is a quick write (the writer thread, `ops.op.submit`); launch, resume and delete start a
process or remove a run's folders, so they run as jobs on the project's runner
(`ops.op.run_job`): the curator's label writes never wait behind them.
"""

from __future__ import annotations

from mmla_app.ops.op import Op
from mmla_core.changes import ADAPTERS, RUNS, TRAINING, Changes
from mmla_core.train import control
from mmla_core.train.config import TrainConfig


def _write_launch(store, config: dict) -> int:
    """Validate against the project, create the job, start its detached supervisor; the job id.
    (`control.launch` opens the file itself: it spawns a process that opens it too.)"""
    return control.launch(store.path, TrainConfig.from_dict(config))


def launch(config: dict) -> Op:
    """Train LoRA > Launch (a TrainConfig as a dict)."""
    return Op(_write_launch, (dict(config),), Changes.of(TRAINING))


def _write_stop(store, job_id: int) -> None:
    control.request_stop(store, job_id)


def stop(job_id: int) -> Op:
    """Ask the trainer to save a checkpoint and end (resumable)."""
    return Op(_write_stop, (job_id,), Changes.of(TRAINING))


def _write_resume(store, job_id: int, checkpoint: str | None) -> str | None:
    return control.resume(store.path, job_id, checkpoint)


def resume(job_id: int, checkpoint: str | None = None) -> Op:
    """Start a stopped or failed job again (its latest or the chosen checkpoint); the result is
    a note when incomplete checkpoints were skipped."""
    return Op(_write_resume, (job_id, checkpoint), Changes.of(TRAINING))


def _write_delete(store, job_id: int) -> str | None:
    return control.delete(store, job_id)


def delete(job_id: int) -> Op:
    """Forget the job (row + events) and remove its folder: checkpoints and adapter go, so the
    adapter pickers drop it; its test runs stay (Results lists them without the job). The result
    is a note when the folder was left because it is not this project's (a copied database)."""
    return Op(_write_delete, (job_id,), Changes.of(TRAINING, ADAPTERS, RUNS))
