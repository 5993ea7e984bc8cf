"""Labels (annotations), notes, alignment-check answers and transcript edits, with undo.

Every human edit writes the new state and an `edit_history` row in one transaction, so a crash
never leaves them apart, and undo/redo (one stack per annotator, across labels, check answers
and transcripts) survives a restart. Imported labels use annotator `import` and skip the
history: they are the source, not an edit. Notes are saved as typed and are not undoable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mmla_core.store.db import Store
from mmla_core.store.label_policy import ADJUDICATED_PREFIX, IMPORT_ANNOTATOR, label_of
from mmla_core.store.variant_labels import follow_parent_label
from mmla_core.store.variant_text import follow_parent_transcript

CHECK_ANSWERS = ("yes", "no", "unsure")


@dataclass(frozen=True)
class Edit:
    """One undoable edit: what it touched and the value before/after."""

    kind: str  # label | check | transcript
    clip_id: int
    task_id: int | None = None
    check_key: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    owner: str | None = None  # the annotations.annotator written, when not the editor's own

    def row_owner(self, annotator: str) -> str:
        return self.owner or annotator


def set_label(store: Store, clip_id: int, task_id: int, label: str | None, annotator: str) -> None:
    """Set (or clear, with None) one annotator's label for a task."""
    _edit(store, annotator, Edit("label", clip_id, task_id=task_id, new_value=label))


def adjudicate(store: Store, clip_id: int, task_id: int, label: str | None,
               annotator: str) -> None:
    """`annotator` settles a (clip, task): the label row `adjudicated:<annotator>`, which the
    curated label source takes first (`label_policy`); an undoable edit in their own stack.
    None withdraws the adjudication."""
    _edit(store, annotator, Edit("label", clip_id, task_id=task_id, new_value=label,
                                 owner=ADJUDICATED_PREFIX + annotator))


def set_check_answer(store: Store, clip_id: int, check_key: str, answer: str | None,
                     annotator: str, *, source: str = "human", confidence: float | None = None,
                     prediction_id: int | None = None) -> None:
    """A curator's answer is an undoable edit; a model's answer is stored as its own layer."""
    if answer is not None and answer not in CHECK_ANSWERS:
        raise ValueError(f"check answer must be one of {CHECK_ANSWERS}, got {answer!r}")
    if source == "human":
        _edit(store, annotator, Edit("check", clip_id, check_key=check_key, new_value=answer))
        return
    with store.write() as conn:
        _apply_check(conn, clip_id, check_key, annotator, answer, source, confidence,
                     prediction_id)


def set_transcript(store: Store, clip_id: int, text: str, annotator: str) -> None:
    _edit(store, annotator, Edit("transcript", clip_id, new_value=text))


def set_check_answers(store: Store, clip_id: int, answers: dict[str, str],
                      annotator: str) -> None:
    """Several check answers from one action (accepting the model's): one undo step."""
    for answer in answers.values():
        if answer not in CHECK_ANSWERS:
            raise ValueError(f"check answer must be one of {CHECK_ANSWERS}, got {answer!r}")
    with store.write() as conn:
        group = None  # named by its first edit's id
        for key, answer in answers.items():
            row_id = _log_edit(conn, annotator, Edit("check", clip_id, check_key=key,
                                                     new_value=answer), group)
            if group is None and row_id is not None:
                group = row_id
                conn.execute("UPDATE edit_history SET group_id = id WHERE id = ?", (group,))


def _edit(store: Store, annotator: str, edit: Edit) -> None:
    with store.write() as conn:
        _log_edit(conn, annotator, edit, None)


def _log_edit(conn, annotator: str, edit: Edit, group: int | None) -> int | None:
    """Apply an edit and log it (None when it changes nothing); a new edit cuts off the
    annotator's redo branch."""
    old = _current_value(conn, edit, annotator)
    if old == edit.new_value:
        return None
    _apply(conn, edit, annotator, edit.new_value)
    conn.execute(
        "UPDATE edit_history SET state = 'dropped' WHERE annotator = ? AND state = 'undone'",
        (annotator,),
    )
    row_id = conn.execute(
        "INSERT INTO edit_history (annotator, kind, clip_id, task_id, check_key, old_value, "
        "new_value, group_id, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (annotator, edit.kind, edit.clip_id, edit.task_id, edit.check_key, old,
         edit.new_value, group, edit.owner),
    ).lastrowid
    return row_id


def undo(store: Store, annotator: str) -> Edit | None:
    """Revert the annotator's latest edit; returns it (None when there is nothing to undo)."""
    return _step(store, annotator, "done", "undone", "DESC", backwards=True)


def redo(store: Store, annotator: str) -> Edit | None:
    """Re-apply the annotator's most recently undone edit."""
    return _step(store, annotator, "undone", "done", "ASC", backwards=False)


def _step(store: Store, annotator: str, from_state: str, to_state: str, order: str, *,
          backwards: bool) -> Edit | None:
    """Undo or redo the latest step: one edit, or every edit of its group."""
    columns = "id, kind, clip_id, task_id, check_key, old_value, new_value, owner"
    with store.write() as conn:
        row = conn.execute(
            f"SELECT {columns}, group_id FROM edit_history"
            f" WHERE annotator = ? AND state = ? ORDER BY id {order} LIMIT 1",
            (annotator, from_state),
        ).fetchone()
        if row is None:
            return None
        rows = [row[:-1]] if row[-1] is None else conn.execute(
            f"SELECT {columns} FROM edit_history WHERE group_id = ? AND annotator = ?"
            f" AND state = ? ORDER BY id {order}", (row[-1], annotator, from_state),
        ).fetchall()
        for row_id, *fields in rows:
            edit = Edit(*fields)
            _apply(conn, edit, annotator, edit.old_value if backwards else edit.new_value)
            conn.execute("UPDATE edit_history SET state = ? WHERE id = ?", (to_state, row_id))
    return edit


def undo_depth(store: Store, annotator: str) -> tuple[int, int]:
    """(steps that can be undone, steps that can be redone) for menu state; a group is one."""
    rows = dict(store.conn.execute(
        "SELECT state, count(DISTINCT coalesce(group_id, -id)) FROM edit_history"
        " WHERE annotator = ? GROUP BY state",
        (annotator,),
    ).fetchall())
    return rows.get("done", 0), rows.get("undone", 0)


def _current_value(conn, edit: Edit, annotator: str) -> str | None:
    params: tuple[object, ...]
    if edit.kind == "label":
        sql, params = ("SELECT label FROM annotations WHERE clip_id = ? AND task_id = ? "
                       "AND annotator = ?", (edit.clip_id, edit.task_id, edit.row_owner(annotator)))
    elif edit.kind == "check":
        sql, params = ("SELECT answer FROM check_answers WHERE clip_id = ? AND check_key = ? "
                       "AND annotator = ?", (edit.clip_id, edit.check_key, annotator))
    else:
        sql, params = "SELECT transcript FROM clips WHERE id = ?", (edit.clip_id,)
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def _apply(conn, edit: Edit, annotator: str, value: str | None) -> None:
    # The writers (set_label, adjudicate, set_check_answer) give a label edit its task and a
    # check edit its key; the table's rows keep them (a task's deletion deletes its edits).
    if edit.kind == "label":
        assert edit.task_id is not None
        owner = edit.row_owner(annotator)
        before = _current_value(conn, edit, annotator)
        _apply_label(conn, edit.clip_id, edit.task_id, owner, value)
        follow_parent_label(conn, edit.clip_id, edit.task_id, owner, before, value)
    elif edit.kind == "check":
        assert edit.check_key is not None
        _apply_check(conn, edit.clip_id, edit.check_key, annotator, value, "human", None, None)
    else:
        before = conn.execute("SELECT transcript FROM clips WHERE id = ?",
                              (edit.clip_id,)).fetchone()
        conn.execute("UPDATE clips SET transcript = ? WHERE id = ?", (value or "", edit.clip_id))
        follow_parent_transcript(conn, edit.clip_id, (before or [None])[0] or "", value or "")


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


def _apply_check(conn, clip_id: int, check_key: str, annotator: str, answer: str | None,
                 source: str, confidence: float | None, prediction_id: int | None) -> None:
    if answer is None:
        conn.execute(
            "DELETE FROM check_answers WHERE clip_id = ? AND check_key = ? AND annotator = ?",
            (clip_id, check_key, annotator),
        )
        return
    conn.execute(
        "INSERT INTO check_answers (clip_id, check_key, answer, source, annotator, confidence,"
        " prediction_id) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(clip_id, check_key, annotator) DO UPDATE SET answer = excluded.answer, "
        "source = excluded.source, confidence = excluded.confidence, "
        "prediction_id = excluded.prediction_id, "
        "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
        (clip_id, check_key, answer, source, annotator, confidence, prediction_id),
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


def gold_label(store: Store, clip_id: int, task_id: int, source: str = "curated") -> str | None:
    """The clip's label for the task from the label policy (`store.label_policy`)."""
    return label_of(store, clip_id, task_id, source)


def set_note(store: Store, clip_id: int, annotator: str, note: str) -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO clip_notes (clip_id, annotator, note) VALUES (?, ?, ?) "
            "ON CONFLICT(clip_id, annotator) DO UPDATE SET note = excluded.note, "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')", (clip_id, annotator, note),
        )


def check_answers(store: Store, clip_id: int) -> list[dict]:
    return store.query(
        "SELECT * FROM check_answers WHERE clip_id = ? ORDER BY check_key, annotator", (clip_id,)
    )
