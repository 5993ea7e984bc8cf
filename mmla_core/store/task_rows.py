"""Small reads of the tasks table: one task's name, key or labels by id, every name by id.

(Whole tasks, with their labels as `Task` values, are store.catalog's and store.annotator_work's.)
"""

from __future__ import annotations

import json

from mmla_core.store.db import Store


def task_name(store: Store, task_id: int | None) -> str | None:
    return store.scalar("SELECT name FROM tasks WHERE id = ?", (task_id,))


def task_key(store: Store, task_id: int | None) -> str | None:
    return store.scalar("SELECT task_key FROM tasks WHERE id = ?", (task_id,))


def task_labels(store: Store, task_id: int | None) -> list[str] | None:
    raw = store.scalar("SELECT labels_json FROM tasks WHERE id = ?", (task_id,))
    return json.loads(raw) if raw else None


def task_names_by_id(store: Store) -> dict[int, str]:
    return dict(store.conn.execute("SELECT id, name FROM tasks").fetchall())


def task_row(store: Store, task_id: int | None) -> dict | None:
    rows = store.query("SELECT * FROM tasks WHERE id = ?", (task_id,))
    return rows[0] if rows else None
