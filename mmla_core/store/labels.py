"""Labels (annotations), notes and alignment-check answers, with an undo log in the database.

Every human change writes the new state and an `annotation_history` row in one transaction, so a
crash never leaves them apart and undo survives a restart. Imported labels use annotator
`import` and skip the history: they are the source, not an edit.
"""

from __future__ import annotations

from collections.abc import Iterable

from mmla_core.store.db import Store

IMPORT_ANNOTATOR = "import"
CHECK_ANSWERS = ("yes", "no", "unsure")


def set_label(store: Store, clip_id: int, task_id: int, label: str | None, annotator: str) -> None:
    """Set (or clear, with None) one annotator's label; the redo branch is dropped."""
    with store.write() as conn:
        old = _current_label(conn, clip_id, task_id, annotator)
        if old == label:
            return
        _apply_label(conn, clip_id, task_id, annotator, label)
        conn.execute(
            "UPDATE annotation_history SET state = 'dropped' "
            "WHERE annotator = ? AND state = 'undone'",
            (annotator,),
        )
        conn.execute(
            "INSERT INTO annotation_history (clip_id, task_id, annotator, old_label, new_label) "
            "VALUES (?, ?, ?, ?, ?)", (clip_id, task_id, annotator, old, label),
        )


def undo(store: Store, annotator: str) -> dict | None:
    """Revert the annotator's latest change; returns what was undone (or None)."""
    with store.write() as conn:
        row = conn.execute(
            "SELECT id, clip_id, task_id, old_label, new_label FROM annotation_history "
            "WHERE annotator = ? AND state = 'done' ORDER BY id DESC LIMIT 1", (annotator,),
        ).fetchone()
        if row is None:
            return None
        _apply_label(conn, row[1], row[2], annotator, row[3])
        conn.execute("UPDATE annotation_history SET state = 'undone' WHERE id = ?", (row[0],))
    return {"clip_id": row[1], "task_id": row[2], "label": row[3], "was": row[4]}


def redo(store: Store, annotator: str) -> dict | None:
    """Re-apply the annotator's most recently undone change."""
    with store.write() as conn:
        row = conn.execute(
            "SELECT id, clip_id, task_id, old_label, new_label FROM annotation_history "
            "WHERE annotator = ? AND state = 'undone' ORDER BY id ASC LIMIT 1", (annotator,),
        ).fetchone()
        if row is None:
            return None
        _apply_label(conn, row[1], row[2], annotator, row[4])
        conn.execute("UPDATE annotation_history SET state = 'done' WHERE id = ?", (row[0],))
    return {"clip_id": row[1], "task_id": row[2], "label": row[4], "was": row[3]}


def _current_label(conn, clip_id: int, task_id: int, annotator: str) -> str | None:
    row = conn.execute(
        "SELECT label FROM annotations WHERE clip_id = ? AND task_id = ? AND annotator = ?",
        (clip_id, task_id, annotator),
    ).fetchone()
    return row[0] if row else None


def _apply_label(conn, clip_id: int, task_id: int, annotator: str, label: str | None) -> None:
    if label is None:
        conn.execute(
            "DELETE FROM annotations WHERE clip_id = ? AND task_id = ? AND annotator = ?",
            (clip_id, task_id, annotator),
        )
        return
    conn.execute(
        "INSERT INTO annotations (clip_id, task_id, annotator, label) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(clip_id, task_id, annotator) DO UPDATE SET label = excluded.label, "
        "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
        (clip_id, task_id, annotator, label),
    )


def import_labels(store: Store, rows: Iterable[tuple[int, int, str]]) -> int:
    """Bulk-write source labels (clip id, task id, label) as annotator `import`."""
    batch = [(c, t, IMPORT_ANNOTATOR, lab) for c, t, lab in rows]
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO annotations (clip_id, task_id, annotator, label) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(clip_id, task_id, annotator) DO UPDATE SET label = excluded.label",
            batch,
        )
    return len(batch)


def labels_for_clip(store: Store, clip_id: int) -> list[dict]:
    return store.query(
        "SELECT a.task_id, t.name AS task, a.annotator, a.label, a.updated_at FROM annotations a "
        "JOIN tasks t ON t.id = a.task_id WHERE a.clip_id = ? ORDER BY t.id, a.annotator",
        (clip_id,),
    )


def gold_label(store: Store, clip_id: int, task_id: int) -> str | None:
    """The reference label: the imported one, else the latest human one."""
    row = store.conn.execute(
        "SELECT label FROM annotations WHERE clip_id = ? AND task_id = ? "
        "ORDER BY annotator = 'import' DESC, updated_at DESC LIMIT 1", (clip_id, task_id),
    ).fetchone()
    return row[0] if row else None


def set_note(store: Store, clip_id: int, annotator: str, note: str) -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO clip_notes (clip_id, annotator, note) VALUES (?, ?, ?) "
            "ON CONFLICT(clip_id, annotator) DO UPDATE SET note = excluded.note, "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')", (clip_id, annotator, note),
        )


def set_check_answer(store: Store, clip_id: int, check_key: str, answer: str, annotator: str, *,
                     source: str = "human", confidence: float | None = None,
                     prediction_id: int | None = None) -> None:
    if answer not in CHECK_ANSWERS:
        raise ValueError(f"check answer must be one of {CHECK_ANSWERS}, got {answer!r}")
    with store.write() as conn:
        conn.execute(
            "INSERT INTO check_answers (clip_id, check_key, answer, source, annotator, confidence,"
            " prediction_id) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(clip_id, check_key, annotator) DO UPDATE SET answer = excluded.answer, "
            "source = excluded.source, confidence = excluded.confidence, "
            "prediction_id = excluded.prediction_id, "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            (clip_id, check_key, answer, source, annotator, confidence, prediction_id),
        )


def check_answers(store: Store, clip_id: int) -> list[dict]:
    return store.query(
        "SELECT * FROM check_answers WHERE clip_id = ? ORDER BY check_key, annotator", (clip_id,)
    )
