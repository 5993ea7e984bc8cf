"""Folding an evaluation run folder's shards into the project database (see eval.shards for the
layout); a training run's folder is train.merge's, which also tells the two kinds apart.

Idempotent: the evaluation run is claimed by the launch key its plan records, each prediction
is added only when its sample key is missing (or held only an error row), and each training
event only when the job has no event of that kind at that step.
"""

from __future__ import annotations

import json
from pathlib import Path

from mmla_core.eval.shards import PLAN_FILE, MergeReport, ShardError, read_jsonl
from mmla_core.store.catalog import clip_ids_by_key, find_dataset
from mmla_core.store.db import Store
from mmla_core.store.results import (
    add_model,
    claim_launch_run,
    complete_if_all_written,
    finish_run,
    get_run,
    model_id_by_path,
    sample_key_errors,
    update_run,
    upsert_eval_predictions,
)
from mmla_core.store.task_rows import task_name


def _shard_rows(folder: Path, pattern: str) -> tuple[list[dict], list[str]]:
    rows, problems = [], []
    for path in sorted(folder.glob(pattern)):
        found, bad = read_jsonl(path)
        rows += found
        problems += bad
    return rows, problems


def _best_by_key(rows: list[dict]) -> dict[str, dict]:
    """One row per sample key: a later answer replaces an earlier error, never the reverse."""
    best: dict[str, dict] = {}
    for row in rows:
        key = row.get("sample_key")
        if key and (key not in best or best[key].get("error") or not row.get("error")):
            best[key] = row
    return best


def merge_eval(store: Store, folder: Path) -> MergeReport:
    plan = json.loads((folder / PLAN_FILE).read_text(encoding="utf-8"))
    fields = plan["fields"]
    _check_same_project(store, fields)
    run_id, _ = claim_launch_run(store, plan["launch_key"], "eval", settings=plan["settings"],
                                 **fields)
    model_id = _model_id(store, plan.get("engine") or {}, add_model)
    update_run(store, run_id, model_id=model_id, settings=plan["settings"])
    rows, problems = _shard_rows(folder, "predictions.rank*.jsonl")
    have = sample_key_errors(store, run_id)
    clip_ids = set(clip_ids_by_key(store, fields["dataset_id"]).values())
    report = MergeReport("eval", run_id, problems=problems)
    new = []
    for key, row in _best_by_key(rows).items():
        if int(row.get("clip_id", -1)) not in clip_ids:
            report.problems.append(f"sample {key}: clip {row.get('clip_id')} is not in the "
                                   "dataset, skipped")
        elif key in have and not (have[key] and not row.get("error")):
            report.already += 1
        else:
            new.append({**row, "run_id": run_id, "model_id": model_id})
    if new:
        upsert_eval_predictions(store, new)
    report.added = len(new)
    report.status = _final_eval_status(store, folder, run_id, complete_if_all_written,
                                       finish_run)
    return report


def _check_same_project(store: Store, fields: dict) -> None:
    found = (task_name(store, fields["task_id"]),
             find_dataset(store, fields["dataset_id"]))
    if not all(x is not None for x in found):
        raise ShardError("the run folder was planned on another project (its task or dataset "
                         "is not in this database): merge it into the project it was run on")


def _model_id(store: Store, engine: dict, add_model) -> int | None:
    if not engine.get("path"):
        return None   # no rank loaded a model (nothing was pending)
    found = model_id_by_path(store, engine["path"])
    if found is not None:
        return found
    return add_model(store, engine.get("name") or Path(engine["path"]).name,
                     engine.get("family") or "", engine["path"],
                     weights_hash=engine.get("weights_hash"),
                     random_weights=bool(engine.get("random_weights")))


def _final_eval_status(store: Store, folder: Path, run_id: int, complete, finish) -> str:
    if complete(store, run_id):
        return "done"
    ended = [json.loads(p.read_text()) for p in sorted(folder.glob("status.rank*.json"))]
    bad = [e for e in ended if e.get("status") in ("failed", "cancelled")]
    if bad:
        finish(store, run_id, bad[0]["status"], error=bad[0].get("message") or None)
        return bad[0]["status"]
    run = get_run(store, run_id)
    if run is None:
        raise ShardError(f"run {run_id} was deleted while its shards were merged")
    return run["status"]
