"""What the GUI's forms offer (the Evaluate window, the Probe tab, the probe-set and
model-check windows): models, tasks, unfinished runs, a dataset's splits, earlier probes of a
clip. Reads only."""

from __future__ import annotations

from mmla_core.store.db import Store


def models_by_name(store: Store) -> list[dict]:
    """(id, name, family, random_weights) of every registered model, by name."""
    return store.query("SELECT id, name, family, random_weights FROM models ORDER BY name")


def models_in_order(store: Store) -> list[tuple[str, str]]:
    """(name, path) of every registered model, in the order they were added."""
    return [(r["name"], r["path"])
            for r in store.query("SELECT name, path FROM models ORDER BY id")]


def model_name_at(store: Store, path: str) -> str | None:
    return store.scalar("SELECT name FROM models WHERE path = ?", (path,))


def model_name_taken(store: Store, name: str) -> bool:
    return store.scalar("SELECT 1 FROM models WHERE name = ?", (name,)) is not None


def unfinished_eval_runs(store: Store, limit: int = 50) -> list[dict]:
    """(id, status, task) of the newest evaluation runs that are not done."""
    return store.query(
        "SELECT r.id, r.status, t.name AS task FROM runs r LEFT JOIN tasks t ON t.id = r.task_id "
        "WHERE r.kind = 'eval' AND r.status != 'done' ORDER BY r.id DESC LIMIT ?", (limit,))


def split_counts(store: Store, dataset_id: int) -> list[tuple[str, int]]:
    """(split, clips) of the dataset's original clips (variants left out), by split."""
    return store.conn.execute(
        "SELECT split, count(*) FROM clips WHERE dataset_id = ? AND parent_clip_id IS NULL "
        "GROUP BY split ORDER BY split", (dataset_id,)).fetchall()


def task_names(store: Store) -> list[str]:
    """Every task of the project (built-in and custom), by name."""
    return [r["name"] for r in store.query("SELECT name FROM tasks ORDER BY name")]


def splits_by_dataset(store: Store) -> dict[str, list[str]]:
    """Dataset name -> the splits its original clips are in (variants left out), by name."""
    splits: dict[str, list[str]] = {}
    for r in store.query("SELECT d.name AS dataset, c.split FROM clips c JOIN datasets d ON "
                         "d.id = c.dataset_id WHERE c.parent_clip_id IS NULL "
                         "GROUP BY d.name, c.split ORDER BY d.name, c.split"):
        splits.setdefault(r["dataset"], []).append(r["split"])
    return splits


def split_counts_everywhere(store: Store) -> list[tuple[str, int]]:
    """(split, clips) over every dataset's original clips, by split."""
    return store.conn.execute(
        "SELECT split, count(*) FROM clips WHERE parent_clip_id IS NULL "
        "GROUP BY split ORDER BY split").fetchall()


def attached_task_names(store: Store) -> list[str]:
    """Names of the tasks attached to some dataset, by task id."""
    return [r["name"] for r in store.query(
        "SELECT DISTINCT t.name FROM tasks t JOIN dataset_tasks dt ON dt.task_id = t.id "
        "ORDER BY t.id")]


def first_transcript(store: Store, dataset_id: int, split: str) -> str | None:
    """The transcript of the split's first original clip (a sample for a prompt preview)."""
    return store.scalar(
        "SELECT transcript FROM clips WHERE dataset_id = ? AND split = ? AND parent_clip_id "
        "IS NULL ORDER BY id LIMIT 1", (dataset_id, split))


def probes_of_clip(store: Store, clip_id: int) -> list[int]:
    """Probe run ids of one clip, newest first."""
    return [r["id"] for r in store.query(
        "SELECT id FROM runs WHERE kind = 'probe' AND "
        "json_extract(settings_json, '$.probe.clip_id') = ? ORDER BY id DESC", (clip_id,))]
