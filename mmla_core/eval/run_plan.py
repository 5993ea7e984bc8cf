"""What an evaluation run will do: its samples, settings and run row, before any model loads.

A sample is one clip, or one conflict variant of it built in memory, with the clip's gold label
and a key unique within the run (`results.sample_key`). Gold comes from the request's label
source and only clips its verdict rule keeps (`store.verdicts.Selection`: curated labels,
rejected clips left out by default); `run_settings["labels"]` records what that gave. Every
rank of a sharded launch plans the same list in the same order (clip id, then variant order)
and takes its share of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mmla_core.models.registry import ModelLoadError
from mmla_core.procs import process_owner
from mmla_core.prompts import TEMPLATES
from mmla_core.store.catalog import find_dataset, original_clip_ids, task_by_name
from mmla_core.store.db import Store
from mmla_core.store.label_policy import LabelSourceError
from mmla_core.store.results import (
    ModelRefError,
    claim_launch_run,
    done_sample_keys,
    find_model,
    get_run,
    sample_key,
    start_run,
    update_run,
)
from mmla_core.store.run_owners import reopen_run
from mmla_core.store.task_rows import task_row

if TYPE_CHECKING:
    from mmla_core.models.inputs import InferenceSettings
from mmla_core.store.verdicts import Selection, describe_record
from mmla_core.tasks import Task, task_from_row
from mmla_core.variants.presets import PRESETS
from mmla_core.variants.recipes import format_spec, normalize_steps, parse_spec

DEFAULT_FACTORIES = {
    "engine": "mmla_core.models.engine:Engine.load",
    "inputs": "mmla_core.models.inputs:clip_input_from_store",
    "settings": "mmla_core.models.engine:InferenceSettings",
    # a model ref that names no registered model: its folder (or cached hub id), files only;
    # raises when there is none, so no run is started for a model that is not there
    "locate": "mmla_core.models.registry:resolve_model_path",
}


class EvalError(RuntimeError):
    """An evaluation that cannot start or go on; the message says what to change."""


@dataclass(frozen=True)
class EvalProgress:
    """Where a run (this rank's shard of it) stands; `stage`: loading | running | done |
    failed | cancelled, with `message` saying why for the last two."""

    run_id: int
    done: int
    total: int
    errors: int
    stage: str
    message: str = ""


@dataclass(frozen=True)
class Sample:
    clip_id: int
    variant: str | None  # None: the clip itself; else the variant type (preset key or spec)
    steps: tuple | None
    gold: str
    key: str

    def recipe_json(self, seed: int) -> str | None:
        if not self.steps:
            return None
        steps = [{"name": name, "params": params} for name, params in self.steps]
        return json.dumps({"variant": self.variant, "steps": steps, "seed": seed},
                          sort_keys=True)


@dataclass
class EvalJob:
    run_id: int
    task_id: int
    task: Task
    settings: InferenceSettings
    run_settings: dict  # what runs.settings_json holds
    model_path: str
    model_id: int | None
    adapter: str | None
    checkpoint: str | None
    total: int
    shard: list[Sample]
    pending: list[Sample]
    batch_size: int = 4
    rank: int = 0
    world_size: int = 1
    device: str | None = None
    device_map: str | None = None    # auto | balanced | a device (models.placement)
    max_memory: str | None = None    # "0=20GiB,1=20GiB,cpu=64GiB"
    allow_pickle: bool = False
    resumed: bool = False
    engine_info: dict = field(default_factory=dict)

    def placement(self) -> dict:
        """The engine's split options, only when given (fake engines take none)."""
        given = {"device_map": self.device_map, "max_memory": self.max_memory}
        return {k: v for k, v in given.items() if v not in (None, "")}

    @property
    def seed(self) -> int:
        return int(getattr(self.settings, "seed", 0) or 0)

    @property
    def template_text(self) -> str:
        kind = getattr(self.settings, "prompt_kind", "zero_shot")
        return (getattr(self.settings, "template", None) or self.task.prompt_template
                or TEMPLATES.get(kind, TEMPLATES["zero_shot"]))


def shard(items: list, rank: int, world_size: int) -> list:
    """The items rank `rank` of `world_size` takes: every Nth, starting at its rank."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in a world of {world_size}")
    return items[rank::world_size]


def checkpoint_of(adapter: str | None) -> str | None:
    """`checkpoint-1200` when the adapter folder is a Trainer checkpoint."""
    if not adapter:
        return None
    match = re.search(r"checkpoint-\d+", str(adapter))
    return match.group(0) if match else None


_INFO_FIELDS = ("name", "family", "path", "weights_hash", "random_weights", "device", "dtype",
                "attn_implementation", "hears_audio", "sees_video", "adapter_path", "adapter_hash",
                "device_map")
_OUT_OF_MEMORY = re.compile(r"out of (\w+ )?memory", re.IGNORECASE)


def engine_info_dict(info) -> dict:
    """The engine's info as JSON-able values (paths, devices and dtypes as text)."""
    values = {k: getattr(info, k, None) for k in _INFO_FIELDS}
    return {k: v if v is None or isinstance(v, bool | int | float | str | dict) else str(v)
            for k, v in values.items()}


def resolve(factory, kind: str):
    """A callable, or a "module:attr.attr" string imported here (worker processes pass paths)."""
    factory = DEFAULT_FACTORIES[kind] if factory is None else factory
    if not isinstance(factory, str):
        return factory
    module_name, _, attr = factory.partition(":")
    try:
        target = importlib.import_module(module_name)
    except ImportError as exc:
        raise EvalError(f"cannot import {module_name} for the {kind} ({exc})") from exc
    for part in attr.split("."):
        target = getattr(target, part)
    return target


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or \
        bool(_OUT_OF_MEMORY.search(str(exc)))


def describe_failure(exc: BaseException) -> str:
    if is_out_of_memory(exc):
        return ("out of memory: lower the frames, max pixels or batch size, or use a smaller "
                "model; the predictions so far are saved, resume the run to go on")
    if isinstance(exc, EvalError) or type(exc).__name__ in ("ModelLoadError", "VariantError"):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def inference_settings(values):
    """An InferenceSettings from a dict (GUI, worker, a resumed run's JSON), or as given."""
    if values is not None and not isinstance(values, dict):
        return values
    cls = resolve(None, "settings")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values or {}) - known)
    if unknown:
        raise EvalError(f"unknown inference settings {unknown}; known: {sorted(known)}")
    return cls(**(values or {}))


def variant_specs(variants) -> list[tuple[str, tuple]]:
    """[(variant type, steps)] from "mmabench", "audio_swap,frames_black+audio_silent", a list
    of such strings, or the [[type, steps]] a run's settings stored."""
    if not variants:
        return []
    items = variants.split(",") if isinstance(variants, str) else list(variants)
    specs: dict[str, tuple] = {}
    for item in items:
        if isinstance(item, str):
            text = item.strip()
            if text in PRESETS:
                specs.update((s.key, s.steps) for s in PRESETS[text] if s.steps)
            elif text:
                steps = parse_spec(text)[0]
                specs[format_spec(steps)] = steps
        else:
            label, steps = item
            specs[str(label)] = normalize_steps(steps)
    return list(specs.items())


def plan_samples(store: Store, dataset_id: int, split: str | None, task_id: int,
                 prompt_kind: str, variants: list[tuple[str, tuple]],
                 selection: Selection | None = None) -> tuple[list[Sample], int, dict]:
    """(samples, clips left out for having no label, the Selection.record), in a stable order.

    A clip the verdict rule leaves out, or whose label is an unresolved majority tie, is left
    out with its variants and counted in the record."""
    selection = selection or Selection()
    policy = selection.resolve(store, dataset_id=dataset_id, task_id=task_id)
    gate = selection.gate(store, dataset_id)
    samples, unlabelled, used = [], 0, []
    for clip_id in original_clip_ids(store, dataset_id,
                                     split=None if split in (None, "all") else split):
        if not gate.keep(clip_id):
            continue
        label = policy.get(clip_id, task_id)
        used.append((clip_id, task_id))
        if label is None:
            unlabelled += 1
            continue
        samples.append(Sample(clip_id, None, None, label,
                              sample_key(clip_id, task_id, prompt_kind, None)))
        samples += [Sample(clip_id, name, steps, label,
                           sample_key(clip_id, task_id, prompt_kind, name))
                    for name, steps in variants]
    return samples, unlabelled, selection.record(policy, used, gate)


def _selection(request: dict) -> Selection:
    """The request's label source and verdict rule (EvalError naming a bad source)."""
    try:
        return Selection.from_dict(request.get("selection"))
    except LabelSourceError as exc:
        raise EvalError(str(exc)) from exc


def _task(store: Store, ref) -> tuple[int, Task]:
    found = task_by_name(store, str(ref)) if ref is not None else None
    if found is None:
        raise EvalError(f"no task {ref!r} in this project (see `mmla tasks`)")
    return found


def _dataset(store: Store, ref) -> tuple[int, str]:
    row = find_dataset(store, ref)
    if row is None:
        raise EvalError(f"no dataset {ref!r} in this project (see `mmla ls --datasets`)")
    return int(row["id"]), row["name"]


def _model(store: Store, ref, locate: bool = True) -> tuple[int | None, str]:
    """(registered model id or None, the path or hub id the engine loads). With `locate`, a
    ref that names no registered model must be a folder or a cached hub id (EvalError: no run
    is started for a model that is not there); an engine factory of one's own locates its own."""
    if ref is None or str(ref).strip() == "":
        raise EvalError("choose a model: a registered name (`mmla models ls`) or a folder")
    try:
        row = find_model(store, ref)
    except ModelRefError as exc:
        raise EvalError(str(exc)) from None
    if row is not None:
        return int(row["id"]), row["path"]
    if not locate or DEFAULT_FACTORIES.get("locate") is None:
        return None, str(ref)
    try:
        resolve(None, "locate")(str(ref))
    except ModelLoadError as exc:
        raise EvalError(str(exc)) from None  # the CLI adds the registered names
    return None, str(ref)


def _adapter(ref, locate: bool) -> str | None:
    """The adapter folder, absolute: a relative one named another folder once `mmla runs
    finetune` or a resume ran from elsewhere. With `locate`, a folder that is not there stops
    before a run exists (it failed the run at load time, offering a resume that could not help).
    """
    if not ref:
        return None
    path = Path(ref).expanduser().resolve()
    if locate and not path.is_dir():
        raise EvalError(f"adapter {ref}: no such folder ({path}); give a training run's "
                        "adapter/ or checkpoint-N/ folder")
    return str(path)


def prepare_job(store: Store, request: dict) -> EvalJob:
    """Create (or join, or resume) the run row and work out the samples still to predict.
    With `request["shards"]` (an eval.shards.ShardRecorder) the run is planned in its folder
    instead, and the samples its shards already hold are done."""
    recorder = request.get("shards")
    if recorder is not None and request.get("resume") is not None:
        raise EvalError("a sharded run (--db-mode shards) resumes by launching it again with "
                        "the same --out folder, not --resume")
    if request.get("resume") is not None:
        job, samples = _resumed(store, request)
    else:
        job, samples = _created(store, request)
    job.checkpoint = checkpoint_of(job.adapter)
    job.shard = shard(samples, job.rank, job.world_size)
    done = recorder.done_keys() if recorder is not None else done_sample_keys(store, job.run_id)
    job.pending = [s for s in job.shard if s.key not in done]
    return job


def _job(request: dict, **fields) -> EvalJob:
    return EvalJob(
        batch_size=int(request.get("batch_size") or 4), rank=int(request.get("rank") or 0),
        world_size=int(request.get("world_size") or 1), device=request.get("device"),
        device_map=request.get("device_map"), max_memory=request.get("max_memory"),
        allow_pickle=bool(request.get("allow_pickle")), checkpoint=None, shard=[], pending=[],
        **fields)


def _created(store: Store, request: dict) -> tuple[EvalJob, list[Sample]]:
    task_id, task = _task(store, request.get("task"))
    dataset_id, dataset_name = _dataset(store, request.get("dataset"))
    settings = inference_settings(request.get("settings"))
    variants = variant_specs(request.get("variants"))
    split = request.get("split")
    selection = _selection(request)
    samples, unlabelled, labels = plan_samples(store, dataset_id, split, task_id,
                                               settings.prompt_kind, variants, selection)
    if not samples:
        raise EvalError(f"no clip of {dataset_name} (split {split!r}) has a {task.name} label "
                        f"the verdict rule keeps: nothing to evaluate ({describe_record(labels)})")
    model_id, model_path = _model(store, request.get("model"), request.get("locate", True))
    adapter = _adapter(request.get("adapter"), request.get("locate", True))
    run_settings = {
        "model": str(request.get("model")), "model_path": model_path, "adapter": adapter,
        "task": task.name, "dataset": dataset_name, "split": split,
        "inference": dataclasses.asdict(settings),
        "variants": [[name, [list(step) for step in steps]] for name, steps in variants],
        "batch_size": request.get("batch_size"), "world_size": request.get("world_size") or 1,
        "unlabelled_clips": unlabelled, "engine": {},
        "selection": selection.to_dict(), "labels": labels,
    }
    fields = {"name": request.get("name") or "", "model_id": model_id, "adapter_path": adapter,
              "task_id": task_id, "dataset_id": dataset_id, "split": split,
              "total": len(samples)}
    if request.get("shards") is not None:
        run_id = _planned_in_folder(request["shards"], run_settings, fields)
    else:
        run_id = _new_run(store, request, run_settings, fields)
    job = _job(request, run_id=run_id, task_id=task_id, task=task, settings=settings,
               run_settings=run_settings, model_path=model_path, model_id=model_id,
               adapter=adapter, total=len(samples))
    return job, samples


def _new_run(store: Store, request: dict, run_settings: dict, fields: dict) -> int:
    key = request.get("launch_key")
    if int(request.get("world_size") or 1) > 1 and not key:
        raise EvalError("a sharded run (world size > 1) needs a launch key shared by its ranks")
    if key:
        return claim_launch_run(store, key, "eval", settings=run_settings, **fields)[0]
    return start_run(store, "eval", settings=run_settings, **fields)


def _planned_in_folder(recorder, run_settings: dict, fields: dict) -> int:
    """Rank 0 writes the plan to the run folder; the merge claims a run by its launch key,
    the same for every rank and every relaunch of this folder with these settings."""
    same = {k: v for k, v in run_settings.items() if k not in ("world_size", "batch_size")}
    digest = hashlib.sha1(json.dumps(same, sort_keys=True).encode()).hexdigest()[:12]
    recorder.write_plan({"launch_key": f"shards:{recorder.folder.name}:{digest}",
                         "settings": run_settings, "fields": fields})
    return 0   # no run row yet: `mmla runs merge` creates it


def _resumed(store: Store, request: dict) -> tuple[EvalJob, list[Sample]]:
    run_id = int(request["resume"])
    run = get_run(store, run_id)
    if run is None or run["kind"] != "eval":
        raise EvalError(f"no evaluation run {run_id} in this project (see `mmla runs ls`)")
    stored = json.loads(run["settings_json"] or "{}")
    row = task_row(store, run["task_id"])
    if row is None or run["dataset_id"] is None or "inference" not in stored:
        raise EvalError(f"run {run_id} cannot be resumed: its task, dataset or settings are gone")
    task = task_from_row(row)
    settings = inference_settings(stored["inference"])
    variants = variant_specs(stored.get("variants"))
    selection = Selection.from_dict(stored.get("selection"))  # before m006: curated, default
    samples, _, stored["labels"] = plan_samples(store, run["dataset_id"], run["split"],
                                                run["task_id"], settings.prompt_kind, variants,
                                                selection)
    update_run(store, run_id, settings_json=json.dumps(stored))
    # running again, and this process's in the same UPDATE: a late "failed" for the process
    # that ran it last (its worker's client, the sweep) no longer finds it that process's
    reopen_run(store, run_id, process_owner(), "evaluate", total=len(samples))
    job = _job(request, run_id=run_id, task_id=int(run["task_id"]), task=task,
               settings=settings, run_settings=stored, model_path=stored["model_path"],
               model_id=run["model_id"], adapter=run["adapter_path"], total=len(samples),
               resumed=True)
    return job, samples
