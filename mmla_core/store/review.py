"""Review state: who reviewed a clip and with what verdict, progress, the next clip to review.

A review is one row per (clip, annotator) in `clip_reviews`; marking again replaces it. The
verdict follows MMA-Bench's AND gate over the annotator's own check answers (`checks.verdict`)
unless the curator gives one: an explicit reject is always allowed, an explicit accept is refused
when one of their checks says No. Progress and "next unreviewed" count original clips only:
conflict variants are derived from them and are reviewed through their parent.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmla_core.checks import ACCEPT, REJECT
from mmla_core.store.catalog import tasks_for_dataset
from mmla_core.store.checks import clip_check_state
from mmla_core.store.db import Store
from mmla_core.store.labels import labels_for_clip
from mmla_core.store.verdicts import overall_verdicts
from mmla_core.tasks import Task, task_from_row

AUTO = "auto"  # mark_reviewed: derive the verdict from the annotator's check answers
VERDICTS = (ACCEPT, REJECT)


class ReviewError(ValueError):
    """A review that cannot be recorded as asked."""


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.done} of {self.total} reviewed"


def mark_reviewed(store: Store, clip_id: int, annotator: str,
                  verdict: str | None = AUTO) -> str | None:
    """Record that `annotator` reviewed the clip; returns the verdict stored (or None)."""
    if not annotator.strip():
        raise ReviewError("an annotator name is needed to review")
    state = clip_check_state(store, clip_id, annotator)
    gate = state.verdict
    if verdict == AUTO:
        verdict = gate
    elif verdict not in (*VERDICTS, None):
        raise ReviewError(f"verdict must be one of {VERDICTS} or none, got {verdict!r}")
    if verdict == ACCEPT and gate == REJECT:
        failed = [c.key for c in state.checks if state.mine.get(c.key) == "no"]
        raise ReviewError(f"cannot accept clip {clip_id}: check(s) {', '.join(failed)} "
                          "answered No (accept needs every check Yes)")
    with store.write() as conn:
        conn.execute(
            "INSERT INTO clip_reviews (clip_id, annotator, verdict) VALUES (?, ?, ?) "
            "ON CONFLICT(clip_id, annotator) DO UPDATE SET verdict = excluded.verdict, "
            "reviewed_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            (clip_id, annotator, verdict),
        )
    return verdict


def clear_review(store: Store, clip_id: int, annotator: str) -> None:
    with store.write() as conn:
        conn.execute("DELETE FROM clip_reviews WHERE clip_id = ? AND annotator = ?",
                     (clip_id, annotator))


def reviewed_by(store: Store, clip_id: int) -> list[dict]:
    """[{annotator, verdict, reviewed_at}] of the clip, oldest review first."""
    return store.query(
        "SELECT annotator, verdict, reviewed_at FROM clip_reviews WHERE clip_id = ? "
        "ORDER BY reviewed_at, annotator", (clip_id,),
    )


def review_progress(store: Store, dataset_id: int, annotator: str | None = None) -> Progress:
    """How many of the dataset's (original) clips `annotator` (or anyone) has reviewed."""
    total = store.scalar(
        "SELECT count(*) FROM clips WHERE dataset_id = ? AND parent_clip_id IS NULL",
        (dataset_id,),
    )
    sql = ("SELECT count(DISTINCT r.clip_id) FROM clip_reviews r JOIN clips c ON c.id = r.clip_id "
           "WHERE c.dataset_id = ? AND c.parent_clip_id IS NULL")
    params: tuple = (dataset_id,)
    if annotator is not None:
        sql, params = sql + " AND r.annotator = ?", (dataset_id, annotator)
    return Progress(int(store.scalar(sql, params)), int(total))


def next_unreviewed(store: Store, dataset_id: int, annotator: str,
                    after: int | None = None) -> int | None:
    """The first clip (by id) after `after` that `annotator` has not reviewed, wrapping round.

    `after` itself comes back only when it is the one clip left; None when all are reviewed.
    """
    rows = store.conn.execute(
        "SELECT c.id FROM clips c WHERE c.dataset_id = ? AND c.parent_clip_id IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM clip_reviews r WHERE r.clip_id = c.id "
        "AND r.annotator = ?) ORDER BY c.id", (dataset_id, annotator),
    ).fetchall()
    ids = [r[0] for r in rows]
    if not ids:
        return None
    if after is None:
        return ids[0]
    later = [i for i in ids if i > after]
    earlier = [i for i in ids if i < after]
    return (later or earlier or [after])[0]


def accepted_clip_ids(store: Store, dataset_id: int, annotator: str | None = None) -> set[int]:
    """Original clips `annotator` accepted, or (None) whose overall verdict is accept
    (`verdicts.overall_verdict`: any reject wins unless a later accept by an adjudicator)."""
    if annotator is None:
        verdicts = overall_verdicts(store, dataset_id)
        originals = {r[0] for r in store.conn.execute(
            "SELECT id FROM clips WHERE dataset_id = ? AND parent_clip_id IS NULL", (dataset_id,))}
        return {cid for cid, v in verdicts.items() if v == ACCEPT and cid in originals}
    rows = store.conn.execute(
        "SELECT r.clip_id FROM clip_reviews r JOIN clips c ON c.id = r.clip_id "
        "WHERE c.dataset_id = ? AND r.annotator = ? AND r.verdict = ?",
        (dataset_id, annotator, ACCEPT)).fetchall()
    return {cid for (cid,) in rows}


# --- one clip's labels and notes (what the annotation panel shows) ------------------------------

@dataclass
class ClipLabelState:
    clip_id: int
    tasks: list[tuple[int, Task]]                     # the dataset's tasks, then any other labelled
    labels: dict[int, dict[str, tuple[str, str]]]     # task id -> annotator -> (label, updated_at)
    notes: dict[str, str]                             # annotator -> note


def clip_label_state(store: Store, clip_id: int) -> ClipLabelState | None:
    """Every task of the clip's dataset, every annotator's label for it, and the notes."""
    dataset_id = store.scalar("SELECT dataset_id FROM clips WHERE id = ?", (clip_id,))
    if dataset_id is None:
        return None
    tasks = tasks_for_dataset(store, int(dataset_id))
    labels: dict[int, dict[str, tuple[str, str]]] = {}
    for row in labels_for_clip(store, clip_id):
        labels.setdefault(row["task_id"], {})[row["annotator"]] = (row["label"], row["updated_at"])
    extra = sorted(set(labels) - {task_id for task_id, _ in tasks})
    for row in store.query(f"SELECT * FROM tasks WHERE id IN ({','.join('?' * len(extra))})",
                           tuple(extra)):
        tasks.append((int(row["id"]), task_from_row(row)))
    return ClipLabelState(clip_id, tasks, labels, notes_for_clip(store, clip_id))


# --- notes ---------------------------------------------------------------------------------------

def note_for(store: Store, clip_id: int, annotator: str) -> str:
    row = store.conn.execute(
        "SELECT note FROM clip_notes WHERE clip_id = ? AND annotator = ?", (clip_id, annotator),
    ).fetchone()
    return row[0] if row else ""


def notes_for_clip(store: Store, clip_id: int) -> dict[str, str]:
    """{annotator: note} of every non-empty note on the clip."""
    rows = store.conn.execute(
        "SELECT annotator, note FROM clip_notes WHERE clip_id = ? AND note != '' "
        "ORDER BY annotator", (clip_id,),
    )
    return dict(rows.fetchall())


def review_verdicts_by_clip(store: Store, dataset_id: int) -> dict[int, dict[str, str | None]]:
    """{clip id: {annotator: verdict}} of every review of the dataset's clips (a review without
    a verdict too), annotators in name order: what the review exports write."""
    reviews: dict[int, dict[str, str | None]] = {}
    for clip_id, annotator, verdict in store.conn.execute(
        "SELECT r.clip_id, r.annotator, r.verdict FROM clip_reviews r JOIN clips c "
        "ON c.id = r.clip_id WHERE c.dataset_id = ? ORDER BY r.clip_id, r.annotator",
        (dataset_id,),
    ):
        reviews.setdefault(clip_id, {})[annotator] = verdict
    return reviews
