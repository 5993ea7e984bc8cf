"""The bundled demo project: a few synthetic talking clips with MELD and MIntRec labels.

The clips live in `resources/demo/` (made once by `scripts/make_demo.py` with our own synth code)
and are imported like any clip folder with a manifest, so the demo exercises the real importer.
"""

from __future__ import annotations

from mmla_core.config import resources_dir
from mmla_core.datasets import import_folder, probe_pending
from mmla_core.store import Store
from mmla_core.store.catalog import (
    clip_count,
    dataset_by_name,
    ensure_builtin_tasks,
    set_dataset_root,
)

DEMO_NAME = "demo"
DEMO_TASKS = ("MELD", "MIntRec")


def demo_folder():
    return resources_dir() / "demo"


def ensure_demo(store: Store) -> int:
    """Import the demo project unless it is already there; returns its dataset id."""
    ensure_builtin_tasks(store)
    existing = dataset_by_name(store, DEMO_NAME)
    if existing is None or not clip_count(store, existing["id"]):
        report = import_folder(store, demo_folder(), name=DEMO_NAME)
        if report.issues:
            details = "; ".join(f"{i.location}: {i.message}" for i in report.issues)
            raise RuntimeError(f"the bundled demo project is damaged: {details}")
    else:
        _follow_moved_install(store, existing)
    row = dataset_by_name(store, DEMO_NAME)
    if row is None:
        raise RuntimeError(f"the demo project {DEMO_NAME!r} is missing after its import")
    dataset_id = int(row["id"])
    probe_pending(store, dataset_id, workers=1)
    return dataset_id


def _follow_moved_install(store: Store, dataset: dict) -> None:
    """An upgraded, moved or frozen install keeps the demo clips elsewhere: point the root there."""
    folder = str(demo_folder())
    if dataset["root"] != folder and demo_folder().is_dir():
        set_dataset_root(store, dataset["id"], folder)
