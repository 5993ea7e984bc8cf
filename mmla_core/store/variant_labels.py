"""A variant made with its parent's labels (`--copy-labels`, "Copy labels") keeps them in step:
a label changed on the parent (a person's relabel, an adjudication, its undo, a changed source
label at a re-import) changes the variant's copy too, so exports of the variants carry the
curated label, not the one the parent had when the variant was made.

Only a copy still holding the parent's old value follows: a label someone set on the variant
itself (another value) is theirs and stays. A label added to the parent later is not copied
(which variants were made with copied labels is not recorded; make them again to copy it).
"""

from __future__ import annotations

DESCENDANTS = ("WITH RECURSIVE tree(id) AS (SELECT id FROM clips WHERE parent_clip_id = ? "
               "UNION SELECT c.id FROM clips c JOIN tree t ON c.parent_clip_id = t.id) "
               "SELECT id FROM tree")


def follow_parent_label(conn, clip_id: int, task_id: int, annotator: str, old: str | None,
                        new: str | None) -> None:
    """In the caller's transaction: `annotator`'s label of `task_id` went from `old` to `new`
    on `clip_id`; its variants' copies of `old` become `new` (removed when `new` is None)."""
    if old is None or old == new:
        return
    ids = [(row[0], task_id, annotator, old) for row in conn.execute(DESCENDANTS, (clip_id,))]
    if not ids:
        return
    if new is None:
        conn.executemany("DELETE FROM annotations WHERE clip_id = ? AND task_id = ? "
                         "AND annotator = ? AND label = ?", ids)
        return
    conn.executemany("UPDATE annotations SET label = ?, updated_at = "
                     "strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE clip_id = ? AND task_id = ? "
                     "AND annotator = ? AND label = ?", [(new, *row) for row in ids])
