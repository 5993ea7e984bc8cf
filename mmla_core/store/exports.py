"""The export log: one `exports` row per export written, with the labels it used.

Every exporter (LLaMA-Factory, JSONL, CSV, review exports, ELAN) records the label source, the
per-kind counts and the clips the verdict rule left out (`verdicts.Selection.record`), so an
exported file can be traced to the labels behind it; the same record goes into the export's
own metadata file.
"""

from __future__ import annotations

import json

from mmla_core.store.db import Store, inserted_id


def record_export(store: Store, fmt: str, path: str, labels: dict, *,
                  dataset_id: int | None = None, task_id: int | None = None,
                  files: dict[str, int] | None = None) -> int:
    """Log one export; returns its row id."""
    with store.write() as conn:
        cursor = conn.execute(
            "INSERT INTO exports (format, path, dataset_id, task_id, labels_json, files_json) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (fmt, str(path), dataset_id, task_id, json.dumps(labels, sort_keys=True),
             json.dumps(files or {}, sort_keys=True)),
        )
    return inserted_id(cursor)


def list_exports(store: Store, limit: int = 50) -> list[dict]:
    """The latest exports first, labels and files decoded."""
    rows = store.query("SELECT * FROM exports ORDER BY id DESC LIMIT ?", (limit,))
    for row in rows:
        row["labels"] = json.loads(row.pop("labels_json") or "{}")
        row["files"] = json.loads(row.pop("files_json") or "{}")
    return rows
