"""Zero-shot vs fine-tuned, per task (MMLA's table), and what differs between two runs' configs.

Each evaluation run is sorted into a *kind*: `zero-shot` (no adapter), the training mode of the
job that made its adapter (`SFT`, `IT`, `alignment`: the trainer tags the runs it evaluates
itself with `training_job_id` and `training.mode` in their settings; a run made later with that
job's adapter folder counts too), or `adapter` (an adapter from elsewhere). Metrics are MMLA's
ACC and macro-F1 on the run's original clips (variants are in the run's own report).

The config of a run, for the diff, is its settings flattened (`eval.*`), its model and adapter,
and, when a training job made the adapter, that job's TrainConfig (`train.*`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from mmla_core.eval.comparable import run_settings, settings_differences
from mmla_core.eval.compare import run_report
from mmla_core.store.db import Store
from mmla_core.store.jobs import job_identities
from mmla_core.store.results import get_run, list_runs

KINDS = ("zero-shot", "SFT", "IT", "alignment", "adapter")
_MODE_KIND = {"sft": "SFT", "it": "IT", "alignment": "alignment"}


@dataclass(frozen=True)
class FinetuneRow:
    task: str
    kind: str  # one of KINDS
    run_id: int
    model: str
    job_id: int | None
    job_name: str
    dataset: str
    split: str
    status: str
    n: int
    accuracy: float | None  # MMLA's x100, 2 decimals
    macro_f1: float | None
    settings: dict = field(default_factory=dict, compare=False)  # comparable.run_settings


def _jobs_by_adapter(store: Store) -> tuple[dict[int, dict], dict[str, dict]]:
    jobs = job_identities(store)
    by_id = {int(j["id"]): j for j in jobs}
    by_folder = {str(Path(j["output_dir"]).resolve()): j for j in jobs if j["output_dir"]}
    return by_id, by_folder


def _job_of(run: dict, settings: dict, jobs: tuple[dict, dict]) -> dict | None:
    """The job that made the run's adapter. Job ids are reused once the newest job is deleted,
    so an id alone could hand a deleted job's runs to a new one: the tag must also match."""
    by_id, by_folder = jobs
    job_id = settings.get("training_job_id")
    if job_id is not None:
        job = by_id.get(int(job_id))
        return job if job is not None and _tag_matches(job, settings.get("training")) else None
    job = by_folder.get(str(Path(run["adapter_path"]).resolve().parent)) \
        if run.get("adapter_path") else None
    if job is not None and (run.get("started_at") or "~") < job["created_at"]:
        return None   # a run older than the job cannot have used its adapter
    return job


def _tag_matches(job: dict, training: dict | None) -> bool:
    """The job's creation time when the run recorded it, else (older runs) its output folder."""
    training = training or {}
    if training.get("job_created_at"):
        return training["job_created_at"] == job["created_at"]
    folder = training.get("output_dir")
    if folder is None:
        return True
    return bool(job["output_dir"]) and Path(folder).resolve() == Path(job["output_dir"]).resolve()


def run_kind(run: dict, settings: dict, job: dict | None) -> str:
    if not run.get("adapter_path"):
        return "zero-shot"
    mode = (settings.get("training") or {}).get("mode")
    if mode is None and job is not None:
        mode = json.loads(job["config_json"]).get("mode")
    return _MODE_KIND.get(mode or "", "adapter")


def finetune_rows(store: Store, task: str | None = None,
                  labels: str | None = None) -> list[FinetuneRow]:
    """Every evaluation run (of `task`, when given; whose gold came from the label source
    `labels`, when given), by task, then kind, then run id."""
    jobs = _jobs_by_adapter(store)
    rows = []
    for run in list_runs(store):
        if run["kind"] != "eval" or (task is not None and run["task_name"] != task):
            continue
        settings = json.loads(run["settings_json"] or "{}")
        compared = run_settings(run)
        if labels is not None and compared["labels"] != labels:
            continue
        job = _job_of(run, settings, jobs)
        metrics = run_report(store, int(run["id"])).metrics
        percent = metrics.percent() if metrics.n else {}
        rows.append(FinetuneRow(
            task=run["task_name"] or "?", kind=run_kind(run, settings, job),
            run_id=int(run["id"]), model=run["model_name"] or "?",
            job_id=None if job is None else int(job["id"]),
            job_name="" if job is None else job["name"], dataset=run["dataset_name"] or "?",
            split=run["split"] or "all", status=run["status"], n=metrics.n,
            accuracy=percent.get("ACC"), macro_f1=percent.get("F1"), settings=compared))
    return sorted(rows, key=lambda r: (r.task, KINDS.index(r.kind), r.run_id))


def best_by_kind(rows: list[FinetuneRow]) -> list[dict]:
    """MMLA's table: one line per (task, model, split) with the best ACC of each kind (of
    finished runs: a cancelled or failed run scored only part of the split), and
    `differs` {kind: [(field, zero-shot value, its value)]} where a fine-tuned best run saw the
    clips otherwise than the zero-shot best (comparable.COMPARED, label source)."""
    table: dict[tuple[str, str, str], dict] = {}
    for row in rows:
        if row.accuracy is None or row.status != "done":  # a cancelled run's ACC is of a part
            continue
        line = table.setdefault((row.task, row.model, row.split),
                                {"task": row.task, "model": row.model, "split": row.split})
        best = line.get(row.kind)
        if best is None or row.accuracy > best.accuracy:
            line[row.kind] = row
    for line in table.values():
        zero = line.get("zero-shot")
        line["differs"] = {} if zero is None else {
            kind: diff for kind in KINDS[1:] if kind in line
            and (diff := settings_differences(zero.settings, line[kind].settings))}
    return list(table.values())


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def run_config(store: Store, run_id: int) -> dict:
    """A run's whole config, flattened: run fields, `eval.*` settings, `train.*` of its job."""
    run = get_run(store, run_id)
    if run is None:
        raise ValueError(f"no run {run_id} in this project (see `mmla runs ls`)")
    settings = json.loads(run["settings_json"] or "{}")
    config = {"model": run["model_name"], "adapter": run["adapter_path"],
              "task": run["task_name"], "dataset": run["dataset_name"], "split": run["split"]}
    _flatten("eval", {k: v for k, v in settings.items() if k != "training"}, config)
    job = _job_of(run, settings, _jobs_by_adapter(store))
    if job is not None:
        _flatten("train", json.loads(job["config_json"]), config)
    return config


def config_diff(store: Store, run_a: int, run_b: int) -> list[tuple[str, object, object]]:
    """(key, value in a, value in b) for every key whose values differ (None = absent)."""
    a, b = run_config(store, run_a), run_config(store, run_b)
    return [(key, a.get(key), b.get(key)) for key in sorted(set(a) | set(b))
            if a.get(key) != b.get(key)]
