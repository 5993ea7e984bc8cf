"""A variant made with its parent's labels (`--copy-labels`, "Copy labels") keeps them in step:
a label changed on the parent (a person's relabel or first label, an adjudication, their undo,
a changed or new source label at a re-import) changes the variant's copy too, so exports of the
variants carry the curated label, not the one the parent had when the variant was made.

A variant follows where its row is still the parent's old value: the same label; or no label,
when it was made with copied labels (`recipe_json.copy_labels`, recorded since this rule: older
variants follow only labels they hold a copy of) and all its labels of the task are copies. A
label someone set on the variant itself is theirs: that row, and that task's new rows, stay.
"""

from __future__ import annotations

Labels = dict[str, str]  # annotator -> label, of one clip and task


def follow_parent_label(conn, clip_id: int, task_id: int, annotator: str, old: str | None,
                        new: str | None) -> None:
    """In the caller's transaction: `annotator`'s label of `task_id` went from `old` to `new`
    on `clip_id`; its variants holding `old` get `new` (removed when None), theirs too."""
    if old == new:
        return
    children = conn.execute("SELECT id, json_extract(recipe_json, '$.copy_labels') FROM clips "
                            "WHERE parent_clip_id = ?", (clip_id,)).fetchall()
    for variant, copies in children:
        own = _labels(conn, variant, task_id)
        if own.get(annotator) != old:
            continue  # set on the variant itself
        if old is None and not (copies and _all_copies(own, _labels(conn, clip_id, task_id))):
            continue
        if new is None:
            conn.execute("DELETE FROM annotations WHERE clip_id = ? AND task_id = ? "
                         "AND annotator = ?", (variant, task_id, annotator))
        else:
            conn.execute(
                "INSERT INTO annotations (clip_id, task_id, annotator, label) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(clip_id, task_id, annotator) DO UPDATE SET "
                "label = excluded.label, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
                (variant, task_id, annotator, new))
        follow_parent_label(conn, variant, task_id, annotator, old, new)


def _labels(conn, clip_id: int, task_id: int) -> Labels:
    return dict(conn.execute("SELECT annotator, label FROM annotations WHERE clip_id = ? "
                             "AND task_id = ?", (clip_id, task_id)).fetchall())


def _all_copies(own: Labels, parents: Labels) -> bool:
    """Every label the variant has for the task is its parent's (the annotator's new one on the
    parent aside, as it is what is being copied)."""
    return all(parents.get(who) == label for who, label in own.items())
