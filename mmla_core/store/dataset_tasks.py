"""Which tasks a dataset is labelled for. A folder of clips imported without a manifest has
none; attaching one (MMLA's or a custom one) gives its clips that task's label buttons in the
GUI and its column in exports (`mmla tasks --attach`, the Labels panel's "Add task…")."""

from __future__ import annotations

from mmla_core.store.catalog import (
    attach_task,
    ensure_task,
    get_clip,
    list_tasks,
    task_by_name,
    tasks_for_dataset,
)
from mmla_core.store.db import Store
from mmla_core.tasks import MMLA_TASKS, Task, TaskError


def tasks_to_attach(store: Store, dataset_id: int) -> list[Task]:
    """MMLA's 12 tasks, then the project's custom ones, less those the dataset already has."""
    attached = {task.name for _, task in tasks_for_dataset(store, dataset_id)}
    custom = [task for task in list_tasks(store) if not task.builtin]
    return [task for task in (*MMLA_TASKS, *custom) if task.name not in attached]


def attach_task_named(store: Store, dataset_id: int, name: str) -> tuple[int, Task]:
    """Attach the task called `name` (one of MMLA's is added to the project on first use)."""
    found = task_by_name(store, name)
    if found is None:
        raise TaskError(f"no task named {name!r} (see `mmla tasks`)")
    attach_task(store, dataset_id, found[0])
    return found


def attach_new_task(store: Store, dataset_id: int, task: Task) -> tuple[int, Task]:
    """Save the custom `task` (one of that name with exactly these labels is reused) and
    attach it; a name taken with other labels is refused (ValueError from ensure_task)."""
    if any(task.name.lower() == mmla.name.lower() for mmla in MMLA_TASKS):
        raise TaskError(f"{task.name!r} is one of MMLA's tasks, with its own labels: "
                        "attach it as it is")
    task_id = ensure_task(store, task)
    attach_task(store, dataset_id, task_id)
    return task_id, task


def task_offer(store: Store, clip_id: int) -> tuple[int, str, list[Task]] | None:
    """(dataset id, dataset name, the tasks it could still get) for the clip's dataset."""
    clip = get_clip(store, clip_id)
    if clip is None:
        return None
    dataset_id = int(clip["dataset_id"])
    return dataset_id, clip["dataset_name"], tasks_to_attach(store, dataset_id)
