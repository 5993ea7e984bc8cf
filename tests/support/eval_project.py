"""A small text-only project for evaluation tests: 10 test clips (9 with a MELD label), 2 train."""

from __future__ import annotations

from mmla_core.store import open_store
from mmla_core.store.catalog import (
    attach_task,
    clip_ids_by_key,
    ensure_task,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.labels import import_labels
from mmla_core.tasks import builtin_task

GOLD = ["joy", "anger", "neutral", "joy", "sadness", "surprise", "fear", "joy", "disgust"]

def make_project(path):
    """10 text-only test clips (9 with a MELD label), 2 train clips."""
    with open_store(path) as store:
        dataset_id = upsert_dataset(store, "ds", str(path.parent), "folder")
        task_id = ensure_task(store, builtin_task("MELD"))
        attach_task(store, dataset_id, task_id)
        clips = [{"split": "test", "external_id": f"t{i}", "media_path": None,
                  "transcript": f"utterance {i}"} for i in range(10)]
        clips += [{"split": "train", "external_id": f"r{i}", "media_path": None,
                   "transcript": "x"} for i in range(2)]
        upsert_clips(store, dataset_id, clips)
        ids = clip_ids_by_key(store, dataset_id)
        import_labels(store, [(ids[("test", f"t{i}")], task_id, g) for i, g in enumerate(GOLD)])
        import_labels(store, [(ids[("train", "r0")], task_id, "joy")])
        return [ids[("test", f"t{i}")] for i in range(10)]
