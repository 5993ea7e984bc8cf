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
    # the tasks attached too: `mmla tasks --attach` gives the clips new label buttons
    areas.DATASETS: "SELECT count(*), max(id), group_concat(name || '|' || root), (SELECT "
                    "count(*) FROM dataset_tasks) FROM datasets",
    areas.CLIPS: "SELECT count(*), max(id), (SELECT max(id) FROM edit_history "
                 "WHERE kind = 'transcript') FROM clips",
    # (count, latest change) per curation table in _LABEL_TABLES' order, then the undo log's
    # newest edit and how many edits are done
    areas.LABELS: "SELECT (SELECT count(*) FROM annotations), (SELECT max(updated_at) FROM "
                  "annotations), (SELECT count(*) FROM check_answers), (SELECT max(updated_at) "
                  "FROM check_answers), (SELECT count(*) FROM clip_reviews), (SELECT "
                  "max(reviewed_at) FROM clip_reviews), (SELECT count(*) FROM clip_notes), "
                  "(SELECT max(updated_at) FROM clip_notes), (SELECT max(id) FROM edit_history), "
                  "(SELECT sum(state = 'done') FROM edit_history)",
    areas.MODELS: "SELECT count(*), max(id), group_concat(name || '|' || path) FROM models",
    areas.RUNS: "SELECT count(*), max(id), max(finished_at), sum(status = 'running') FROM runs",
    areas.TRAINING: "SELECT count(*), max(id), group_concat(id || status) FROM training_jobs",
    areas.ADAPTERS: "SELECT count(*), max(id), group_concat(id || '|' || "
                    "coalesce(adapter_path, '')) FROM training_jobs WHERE status = 'done'",
}


_LABEL_TABLES = (("annotations", "updated_at"), ("check_answers", "updated_at"),
                 ("clip_reviews", "reviewed_at"), ("clip_notes", "updated_at"))
CLIP_LIST_LIMIT = 500  # more clips than this changed at once: views reload everything


def labelled_clips_since(store: Store, before: tuple, after: tuple) -> set[int] | None:
    """The clips whose labels, checks, reviews or notes changed between two LABELS
    fingerprints, or None when that cannot be told cheaply (a row was deleted, an undo, or
    more than CLIP_LIST_LIMIT clips): then a view reloads everything it shows."""
    if before[-2] == after[-2] and before[-1] != after[-1]:
        return None  # an undo or redo (no new edit, other edits done): it may delete rows
    clips: set[int] = set()
    for i, (table, stamp) in enumerate(_LABEL_TABLES):
        count_before, latest_before = before[2 * i], before[2 * i + 1]
        if after[2 * i] < count_before:
            return None
        if latest_before == after[2 * i + 1] and count_before == after[2 * i]:
            continue
        rows = store.conn.execute(
            f"SELECT DISTINCT clip_id FROM {table} WHERE {stamp} >= ? LIMIT ?",
            (latest_before or "", CLIP_LIST_LIMIT + 1)).fetchall()
        clips.update(int(r[0]) for r in rows)
        if len(clips) > CLIP_LIST_LIMIT:
            return None
    return clips


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
