"""Cheap reads that tell whether another connection wrote, and which areas it touched.

`DataVersion` reads SQLite's `PRAGMA data_version`: it changes only when another connection (a
CLI command, the trainer, the evaluation worker, or this process's own writer) committed. Only
then are the per-area fingerprints read, a handful of aggregate queries over indexed columns,
and compared with the last ones to say which areas changed (mmla_core.changes).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mmla_core import changes as areas
from mmla_core.store.db import Store

_FINGERPRINT_SQL = {
    areas.DATASETS: "SELECT count(*), max(id), group_concat(name || '|' || root) FROM datasets",
    areas.CLIPS: "SELECT count(*), max(id), (SELECT max(id) FROM edit_history "
                 "WHERE kind = 'transcript') FROM clips",
    areas.LABELS: "SELECT (SELECT count(*) || '|' || max(updated_at) FROM annotations), "
                  "(SELECT count(*) || '|' || max(updated_at) FROM check_answers), "
                  "(SELECT count(*) || '|' || max(reviewed_at) FROM clip_reviews), "
                  "(SELECT count(*) || '|' || max(updated_at) FROM clip_notes), "
                  "(SELECT max(id) || '|' || sum(state = 'done') FROM edit_history)",
    areas.MODELS: "SELECT count(*), max(id), group_concat(name || '|' || path) FROM models",
    areas.RUNS: "SELECT count(*), max(id), max(finished_at), sum(status = 'running') FROM runs",
    areas.TRAINING: "SELECT count(*), max(id), group_concat(id || status) FROM training_jobs",
    areas.ADAPTERS: "SELECT count(*), max(id), group_concat(id || '|' || "
                    "coalesce(adapter_path, '')) FROM training_jobs WHERE status = 'done'",
}


def area_fingerprints(store: Store) -> dict[str, tuple]:
    """One small tuple per area; two reads differ where that area was written in between."""
    return {area: tuple(store.conn.execute(sql).fetchone())
            for area, sql in _FINGERPRINT_SQL.items()}


def changed_areas(before: dict[str, tuple] | None, after: dict[str, tuple]) -> set[str]:
    """Areas whose fingerprint moved (every area when there is no earlier read)."""
    if before is None:
        return set(after)
    return {area for area, value in after.items() if before.get(area) != value}


class DataVersion:
    """A read-only watch on one project file: `changed()` is True after another connection
    committed. Microseconds per call (it reads the WAL index), so a GUI timer may call it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=0.05, check_same_thread=False)
        self._last = self._read()

    def _read(self) -> int | None:
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:  # locked for a moment, or the file went away: ask again later
            return None

    def changed(self) -> bool:
        now = self._read()
        if now is None or now == self._last:
            return False
        self._last = now
        return True

    def close(self) -> None:
        self._conn.close()
