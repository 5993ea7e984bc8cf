"""SQLite project store: schema, migrations, the one write path and typed accessors.

Accessor modules: `catalog` (datasets, tasks, clips), `labels` (annotations, notes, checks,
undo), `results` (models, runs, predictions), `jobs` (training jobs and events).
"""

from mmla_core.store.db import Store, StoreError, open_store

__all__ = ["Store", "StoreError", "open_store"]
