"""Checks before launch: every reason a training config cannot run on this project, each saying
what to fix (no labelled clips, one class only, labels outside the task, clips without the
video or audio the model is fed, a sample over the model's positions, a run over the device's
memory). The GUI's Preview / Launch, `mmla train launch` and the trainer itself ask `validate`.

Cheap: files and SQLite only, no torch (the GUI calls it in its own process).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mmla_core.models.registered import resolve_model
from mmla_core.models.registry import ModelLoadError
from mmla_core.store.db import Store
from mmla_core.tasks import Task
from mmla_core.train.config import TrainConfig
from mmla_core.train.fit import fit_problems
from mmla_core.train.samples import (
    UnknownSource,
    effective_modality,
    labelled_clips,
    resolve_tasks,
    selected_dataset_ids,
)

__all__ = ["validate"]


def validate(store: Store, config: TrainConfig) -> list[str]:
    """Every reason the run cannot start, each saying what to fix (empty: ready to launch)."""
    problems = list(config.problems())
    if problems:
        return problems
    try:
        path, family, model_config = resolve_model(store, config.model)
        tasks = resolve_tasks(store, config.tasks)
        selected_dataset_ids(store, config)
    except (ModelLoadError, UnknownSource) as exc:
        return [str(exc)]
    modality = effective_modality(config, family)
    for task_id, task in tasks:
        problems += _task_problems(store, config, task_id, task, modality, Path(path).name)
    if not problems:
        problems += _fit_problems(store, config, path, model_config, modality)
    return problems


def _fit_problems(store: Store, config: TrainConfig, path: str, model_config: dict,
                  modality: str) -> list[str]:
    """train.fit's verdict on the longest clip and the longest transcript the run will read."""
    longest, chars = 0.0, 0
    for task_id, _ in resolve_tasks(store, config.tasks):
        for split in config.train_splits:
            for row, _ in labelled_clips(store, config, task_id, split):
                longest = max(longest, float(row.get("duration_s") or 0.0))
                chars = max(chars, len(row.get("transcript") or ""))
    return fit_problems(config, model_config, path, modality, longest, chars + 400)


def _where(config: TrainConfig, splits) -> str:
    place = f"dataset {config.dataset!r}" if config.dataset else "any dataset"
    return f"split(s) {', '.join(splits)} of {place}"


def _task_problems(store, config, task_id, task: Task, modality: str, model: str) -> list[str]:
    train = [p for s in config.train_splits for p in labelled_clips(store, config, task_id, s)]
    dev = labelled_clips(store, config, task_id, config.dev_split)
    if not train:
        return [f"task {task.name}: no labelled clips in {_where(config, config.train_splits)}; "
                "label some clips (or import labels) or choose other train splits"]
    problems = []
    if not dev:
        problems.append(f"task {task.name}: no labelled clips in the dev split "
                        f"{config.dev_split!r} ({_where(config, [config.dev_split])}); the best "
                        "adapter is chosen by dev accuracy, so label some dev clips or pick "
                        "another dev split")
    outside = [(row["id"], label) for row, label in train + dev if label not in task.labels]
    if outside:
        shown = ", ".join(f"clip {cid}: {label!r}" for cid, label in outside[:3])
        problems.append(f"task {task.name}: {len(outside)} clip(s) have labels outside the "
                        f"task's set ({shown}); the set is {', '.join(task.labels)}: fix "
                        "those labels or add them to the task")
    classes = Counter(label for _, label in train)
    if len(classes) < 2:
        problems.append(f"task {task.name}: every training clip has the label "
                        f"{next(iter(classes))!r}; a classifier needs at least two classes "
                        "in the train split(s)")
    problems += _media_problems(task, train + dev, modality, model)
    return problems


def _missing_media(task: Task, pairs) -> list[str]:
    """Clips whose media file went missing (a re-import or `mmla media probe` marked them):
    refused before launch, not a decode error in the middle of training."""
    gone = [row for row, _ in pairs if "missing_file" in (row.get("health") or "").split(",")]
    if not gone:
        return []
    first = gone[0]
    return [f"task {task.name}: {len(gone)} clip(s) have a missing media file (e.g. clip "
            f"{first['id']} {first['external_id']!r}: {first['media_path']}): restore the files "
            "and run `mmla media probe`, or remove those clips"]


def _media_problems(task: Task, pairs, modality: str, model: str) -> list[str]:
    if modality == "text":
        return []
    problems = _missing_media(task, pairs)
    no_video = [row for row, _ in pairs if not row.get("media_path") or row.get("has_video") == 0]
    if no_video:
        problems.append(f"task {task.name}: {len(no_video)} clip(s) have no video "
                        f"(e.g. clip {no_video[0]['id']} {no_video[0]['external_id']!r}) but "
                        f"{model} is fed video: set modality 'text' or fix/remove those clips")
    if modality == "video+audio":
        mute = [row for row, _ in pairs if row.get("media_path") and row.get("has_audio") == 0]
        if mute:
            problems.append(f"task {task.name}: {len(mute)} clip(s) have no audio track (e.g. "
                            f"clip {mute[0]['id']} {mute[0]['external_id']!r}) but {model} "
                            "hears audio: set modality 'video', or fix/remove those clips")
    return problems
