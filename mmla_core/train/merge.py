"""Folding a run folder into the project database: an evaluation's rank shards (eval.shard_merge)
or a training run's events and end status, written there by a trainer that could not reach the
database (`--db-mode shards`, or auto on a network file system).

Idempotent: each training event is added only when the job has no event of that kind at that
step. This sits on the train floor because reading a training folder needs `TrainConfig`;
`mmla runs merge` and the training supervisor both call `merge_run_folder`.
"""

from __future__ import annotations

import json
from pathlib import Path

from mmla_core.eval.shard_merge import merge_eval
from mmla_core.eval.shards import PLAN_FILE, MergeReport, ShardError, read_jsonl
from mmla_core.store.db import Store
from mmla_core.store.jobs import (
    add_events,
    create_job,
    event_keys,
    get_job,
    job_by_output_dir,
    update_job,
)
from mmla_core.train.config import TrainConfig

__all__ = ["merge_run_folder", "merge_training"]

_JOB_FIELDS = ("status", "finished_at", "adapter_path", "best_step", "best_eval_accuracy",
               "total_steps", "exit_code")


def merge_run_folder(store: Store, folder: str | Path) -> MergeReport:
    """Fold an evaluation or training run folder's shards into `store` (idempotent)."""
    folder = Path(folder)
    if (folder / PLAN_FILE).is_file():
        return merge_eval(store, folder)
    if (folder / "events.jsonl").is_file() and (folder / "config.yaml").is_file():
        return merge_training(store, folder)
    raise ShardError(f"{folder}: no run.json (an evaluation's shards) nor config.yaml + "
                     "events.jsonl (a training run's): nothing to merge")


def merge_training(store: Store, folder: Path) -> MergeReport:
    config = TrainConfig.from_yaml((folder / "config.yaml").read_text(encoding="utf-8"))
    output_dir = str(folder.resolve())
    job_id = job_by_output_dir(store, output_dir)
    if job_id is None:
        job_id = create_job(store, config.name, config.to_dict(), output_dir)
        update_job(store, job_id, log_path=str(folder / "train.log"))
    events, problems = read_jsonl(folder / "events.jsonl")
    have = event_keys(store, job_id)
    new = [e for e in events if (e.get("kind"), e.get("step")) not in have]
    new = list({(e.get("kind"), e.get("step")): e for e in new}.values())
    if new:
        add_events(store, job_id, new)
    report = MergeReport("train", job_id, len(new), len(events) - len(new), problems=problems)
    status_path = folder / "status.json"
    ended = json.loads(status_path.read_text()) if status_path.is_file() else {}
    if ended:
        update_job(store, job_id, **{k: v for k, v in ended.items() if k in _JOB_FIELDS})
    job = get_job(store, job_id)
    if job is None:
        raise ShardError(f"training job {job_id} was deleted while {folder} was merged")
    report.status = job["status"]
    return report
