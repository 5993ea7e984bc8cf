"""Every annotator's labels, check answers and verdicts, read per clip for exports and merged in
by imports without overwriting a person's work (DESIGN rule 11).

An export that keeps one value per (clip, task) loses whoever disagreed; these reads keep every
annotator's row. The merges write only where the annotator has nothing yet: a person's label,
answer or verdict already in the project wins over the file, and is reported as kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mmla_core.store.db import Store
from mmla_core.store.labels import IMPORT_ANNOTATOR
from mmla_core.tasks import Task, task_from_row


def tasks_by_id(store: Store) -> dict[int, Task]:
    return {int(r["id"]): task_from_row(r) for r in store.query("SELECT * FROM tasks ORDER BY id")}


def labels_by_clip(store: Store, dataset_id: int) -> dict[int, list[tuple[int, str, str]]]:
    """{clip id: [(task id, annotator, label)]} of every annotator, any task (attached or not)."""
    rows = store.conn.execute(
        "SELECT a.clip_id, a.task_id, a.annotator, a.label FROM annotations a "
        "JOIN clips c ON c.id = a.clip_id WHERE c.dataset_id = ? "
        "ORDER BY a.clip_id, a.task_id, a.annotator = 'import' DESC, a.annotator",
        (dataset_id,))
    return _grouped(rows)


def check_answers_by_clip(store: Store,
                          dataset_id: int) -> dict[int, list[tuple[str, str, str]]]:
    """{clip id: [(check key, annotator, answer)]} of the people's answers (not the model's)."""
    rows = store.conn.execute(
        "SELECT k.clip_id, k.check_key, k.annotator, k.answer FROM check_answers k "
        "JOIN clips c ON c.id = k.clip_id WHERE c.dataset_id = ? AND k.source = 'human' "
        "ORDER BY k.clip_id, k.check_key, k.annotator", (dataset_id,))
    return _grouped(rows)


def reviews_by_clip(store: Store, dataset_id: int) -> dict[int, list[tuple[str, str]]]:
    """{clip id: [(annotator, verdict)]}, rejects first, then the latest (a reject wins)."""
    rows = store.conn.execute(
        "SELECT r.clip_id, r.annotator, r.verdict FROM clip_reviews r "
        "JOIN clips c ON c.id = r.clip_id WHERE c.dataset_id = ? AND r.verdict IS NOT NULL "
        "ORDER BY r.clip_id, r.verdict = 'reject' DESC, r.reviewed_at DESC, r.annotator",
        (dataset_id,))
    return _grouped(rows)


def _grouped(rows) -> dict[int, list[tuple]]:
    result: dict[int, list[tuple]] = {}
    for clip_id, *rest in rows:
        result.setdefault(clip_id, []).append(tuple(rest))
    return result


# --- merging imported work ------------------------------------------------------------------------

@dataclass
class MergeCounts:
    """What a merge wrote, and the people's values it kept although the file said otherwise."""

    written: int = 0
    unchanged: int = 0
    kept: list[tuple] = field(default_factory=list)  # (clip, key, annotator, project, file)


def merge_labels(store: Store, rows: Iterable[tuple[int, int, str, str]]) -> MergeCounts:
    """(clip, task, annotator, label) rows: `import` rows replace the imported label; a person's
    row is written only where that person has no label for the (clip, task) yet."""
    return _merge(store, rows, "annotations", "task_id", "label", extra={})


def merge_check_answers(store: Store, rows: Iterable[tuple[int, str, str, str]]) -> MergeCounts:
    """(clip, check key, annotator, answer) rows, as the people's (source 'human') answers."""
    return _merge(store, rows, "check_answers", "check_key", "answer", extra={"source": "human"})


def merge_reviews(store: Store, rows: Iterable[tuple[int, str, str]]) -> MergeCounts:
    """(clip, annotator, verdict) rows; an annotator's review already in the project is kept."""
    counts = MergeCounts()
    with store.write() as conn:
        for clip_id, annotator, verdict in rows:
            row = conn.execute("SELECT verdict FROM clip_reviews WHERE clip_id = ? AND "
                               "annotator = ?", (clip_id, annotator)).fetchone()
            if row is None:
                conn.execute("INSERT INTO clip_reviews (clip_id, annotator, verdict) "
                             "VALUES (?, ?, ?)", (clip_id, annotator, verdict))
                counts.written += 1
            elif row[0] == verdict:
                counts.unchanged += 1
            else:
                counts.kept.append((clip_id, "verdict", annotator, row[0], verdict))
    return counts


def _merge(store: Store, rows, table: str, key_column: str, value_column: str, *,
           extra: dict[str, str]) -> MergeCounts:
    counts = MergeCounts()
    columns = ("clip_id", key_column, "annotator", value_column, *extra)
    insert = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
              f"({', '.join('?' * len(columns))}) ON CONFLICT(clip_id, {key_column}, annotator) "
              f"DO UPDATE SET {value_column} = excluded.{value_column}")
    with store.write() as conn:
        for clip_id, key, annotator, value in rows:
            row = conn.execute(
                f"SELECT {value_column} FROM {table} WHERE clip_id = ? AND {key_column} = ? "
                "AND annotator = ?", (clip_id, key, annotator)).fetchone()
            if row is not None and row[0] == value:
                counts.unchanged += 1
            elif row is None or annotator == IMPORT_ANNOTATOR:
                conn.execute(insert, (clip_id, key, annotator, value, *extra.values()))
                counts.written += 1
            else:
                counts.kept.append((clip_id, key, annotator, row[0], value))
    return counts


def edited_transcripts(store: Store, clip_ids: Iterable[int]) -> set[int]:
    """The clips whose transcript a person edited (an edit not undone): an import keeps it."""
    ids = list(clip_ids)
    if not ids:
        return set()
    rows = store.conn.execute(
        "SELECT DISTINCT clip_id FROM edit_history WHERE kind = 'transcript' AND state = 'done' "
        "AND clip_id IN (SELECT value FROM json_each(?))",
        ("[" + ",".join(str(int(i)) for i in ids) + "]",))
    return {r[0] for r in rows}


# --- raters' work for agreement ------------------------------------------------------------------

def rater_names(store: Store, dataset_id: int, *, leave_out_prefix: str) -> list[str]:
    """Everyone with a label or a check answer in the dataset, in name order, but the
    annotator names starting with `leave_out_prefix`, whose labels are not counted."""
    rows = store.conn.execute(
        "SELECT a.annotator FROM annotations a JOIN clips c ON c.id = a.clip_id "
        "WHERE c.dataset_id = ? AND a.annotator NOT LIKE ? UNION SELECT k.annotator "
        "FROM check_answers k JOIN clips c ON c.id = k.clip_id WHERE c.dataset_id = ? ORDER BY 1",
        (dataset_id, leave_out_prefix + "%", dataset_id),
    )
    return [r[0] for r in rows]


def tasks_in_dataset(store: Store, dataset_id: int) -> list[dict]:
    """(id, name) of the tasks attached to the dataset or labelled in it, by id."""
    return store.query(
        "SELECT t.id, t.name FROM tasks t WHERE t.id IN (SELECT task_id FROM dataset_tasks "
        "WHERE dataset_id = ?) OR t.id IN (SELECT a.task_id FROM annotations a JOIN clips c "
        "ON c.id = a.clip_id WHERE c.dataset_id = ?) ORDER BY t.id", (dataset_id, dataset_id),
    )


def labels_of(store: Store, dataset_id: int, annotators: list[str]) -> list[tuple]:
    """(task id, clip id, external id, annotator, label) of these annotators in the dataset."""
    marks = ",".join("?" * len(annotators))
    return store.conn.execute(
        "SELECT a.task_id, a.clip_id, c.external_id, a.annotator, a.label FROM annotations a "
        f"JOIN clips c ON c.id = a.clip_id WHERE c.dataset_id = ? AND a.annotator IN ({marks})",
        (dataset_id, *annotators),
    ).fetchall()


def check_answers_of(store: Store, dataset_id: int, annotators: list[str]) -> list[tuple]:
    """(check key, clip id, external id, annotator, answer) of these annotators, by key."""
    marks = ",".join("?" * len(annotators))
    return store.conn.execute(
        "SELECT k.check_key, k.clip_id, c.external_id, k.annotator, k.answer FROM check_answers "
        f"k JOIN clips c ON c.id = k.clip_id WHERE c.dataset_id = ? AND k.annotator IN ({marks}) "
        "ORDER BY k.check_key", (dataset_id, *annotators),
    ).fetchall()
