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
    job_resumes,
    update_job,
)
from mmla_core.train.config import TrainConfig

__all__ = ["give_back_dropped_events", "merge_run_folder", "merge_training",
           "restore_unreplayed_events"]

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
    new = _fold_events(store, job_id, events)
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


def give_back_dropped_events(store: Store, job_id: int) -> int:
    """Before a resumed job's end is recorded: the events its resume dropped (past the
    checkpoint's step) come back when its trainer never started (never trimmed events.jsonl),
    so a resume that fails to start loses nothing. Done before the end is recorded, so the
    cached summaries of an ended job (`control._event_summary`) include them."""
    job = get_job(store, job_id)
    resumes = job_resumes(job) if job is not None else []
    if job is None or not resumes:
        return 0
    return restore_unreplayed_events(store, job_id, job["output_dir"], resumes[-1].get("step"))


def restore_unreplayed_events(store: Store, job_id: int, output_dir: str | Path | None,
                              after_step: int | None) -> int:
    """Give back the events past `after_step` that a resume dropped from the database when its
    trainer never started: events.jsonl keeps them until the trainer trims it on its start (then
    nothing is missing, so this adds nothing: idempotent). How many came back."""
    path = Path(output_dir) / "events.jsonl" if output_dir else None
    if after_step is None or path is None or not path.is_file():
        return 0
    try:
        events, _ = read_jsonl(path)
    except (OSError, ValueError):   # an unreadable file must not hide the job's real ending
        return 0
    later = [e for e in events if isinstance(e.get("step"), int) and e["step"] > after_step]
    return len(_fold_events(store, job_id, later))


def _fold_events(store: Store, job_id: int, events: list[dict]) -> list[dict]:
    """Add the events whose (kind, step) the job lacks (the first of each); the ones added."""
    have = event_keys(store, job_id)
    new = [e for e in events if (e.get("kind"), e.get("step")) not in have]
    new = list({(e.get("kind"), e.get("step")): e for e in new}.values())
    if new:
        add_events(store, job_id, new)
    return new
