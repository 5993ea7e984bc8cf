"""Shared bits of the probe tests: a private copy of the demo project per test."""

from __future__ import annotations

import shutil


def demo_copy(models_demo_db, tmp_path):
    from mmla_core.store import open_store

    path = tmp_path / "project.sqlite"
    shutil.copy(models_demo_db, path)
    return open_store(path)


def first_clip(store) -> int:
    return int(store.scalar(
        "SELECT c.id FROM clips c JOIN datasets d ON d.id = c.dataset_id "
        "WHERE d.name = 'demo' AND c.parent_clip_id IS NULL ORDER BY c.id"))
