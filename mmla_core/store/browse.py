"""The clip browser's data: every clip of a project as light rows, filtered and sorted in memory.

The browser must stay smooth with MMLA's 61,000 clips, so rows are loaded once with three flat
queries (no per-row SQL) and filtering/sorting are plain Python over pre-lowered strings: a
filter or sort over 61k rows takes tens of milliseconds and needs no database round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmla_core.store.db import Store
from mmla_core.store.label_policy import resolve_labels

HEALTH_CHOICES = ("any", "ok", "problem", "unprobed", "text_only")
VERDICT_CHOICES = ("any", "accept", "reject", "none")


@dataclass(slots=True)
class BrowseRow:
    id: int
    dataset: str
    split: str
    external_id: str
    transcript: str
    duration_s: float | None
    health: str
    parent_clip_id: int | None
    media_path: str | None
    media_root: str                  # the folder media_path is relative to
    recipe_json: str | None = None
    labels: dict[str, str] = field(default_factory=dict)  # task -> label shown
    verdict: str | None = None
    reviewed_by: str = ""
    search: str = ""

    @property
    def label_summary(self) -> str:
        return ", ".join(dict.fromkeys(self.labels.values()))


@dataclass(frozen=True)
class BrowseFilter:
    text: str = ""
    dataset: str | None = None
    split: str | None = None
    task: str | None = None
    label: str | None = None        # with task: only clips whose shown label for it is this
    verdict: str = "any"
    health: str = "any"
    unreviewed_only: bool = False


def browse_rows(store: Store, annotator: str, dataset_id: int | None = None, *,
                clip_id: int | None = None) -> list[BrowseRow]:
    """Every clip (or one dataset's, or one clip) with labels, verdict and reviewers, by id."""
    where = ""
    params: tuple[int, ...] = ()
    if dataset_id is not None:
        where, params = "WHERE c.dataset_id = ?", (dataset_id,)
    if clip_id is not None:
        where, params = "WHERE c.id = ?", (clip_id,)
    rows = {
        r[0]: BrowseRow(r[0], r[1], r[2] or "", r[3], r[4] or "", r[5], r[6], r[7], r[8], r[9],
                        r[10])
        for r in store.conn.execute(
            "SELECT c.id, d.name, c.split, c.external_id, c.transcript, c.duration_s, c.health, "
            "c.parent_clip_id, c.media_path, coalesce(c.media_root, d.root), c.recipe_json "
            f"FROM clips c JOIN datasets d ON d.id = c.dataset_id {where} ORDER BY c.id", params,
        )
    }
    _attach_labels(store, rows, annotator, where, params,
                   resolve_labels(store, dataset_id=dataset_id,
                                  clip_ids=None if clip_id is None else [clip_id]))
    _attach_reviews(store, rows, annotator, where, params)
    for row in rows.values():
        row.search = " ".join((str(row.id), row.external_id, row.transcript)).lower()
    return list(rows.values())


def _attach_labels(store, rows, annotator, where, params, curated) -> None:
    """Shown label per task: this annotator's, else the curated one (`label_policy`: an
    adjudication, else the latest person's, else the imported label), in task order."""
    names = dict(store.conn.execute("SELECT id, name FROM tasks").fetchall())
    mine: dict[int, dict[int, str]] = {}
    for clip_id, task_id, label in store.conn.execute(
        "SELECT a.clip_id, a.task_id, a.label FROM annotations a JOIN clips c "
        f"ON c.id = a.clip_id {where} {'AND' if where else 'WHERE'} a.annotator = ?",
        (*params, annotator),
    ):
        mine.setdefault(clip_id, {})[task_id] = label
    for clip_id in set(mine) | set(curated.labels):
        row = rows.get(clip_id)
        if row is None:
            continue
        shown = {**curated.labels.get(clip_id, {}), **mine.get(clip_id, {})}
        row.labels.update((names[t], shown[t]) for t in sorted(shown))


def _attach_reviews(store, rows, annotator, where, params) -> None:
    sql = (
        "SELECT r.clip_id, r.annotator, r.verdict FROM clip_reviews r "
        f"JOIN clips c ON c.id = r.clip_id {where} ORDER BY r.clip_id, r.annotator = ?, "
        "r.reviewed_at"
    )
    for clip_id, who, verdict in store.conn.execute(sql, (*params, annotator)):
        row = rows[clip_id]
        row.reviewed_by = f"{row.reviewed_by}, {who}" if row.reviewed_by else who
        if verdict is not None:
            row.verdict = verdict  # the annotator's own verdict sorts last, so it wins


def filter_rows(rows: list[BrowseRow], spec: BrowseFilter, annotator: str) -> list[int]:
    """Indexes of the rows that pass every part of the filter.

    Each word narrows the candidates of the previous one, so typing more gets faster.
    """
    keep: list[int] = list(range(len(rows)))
    for word in spec.text.lower().split():
        keep = [i for i in keep if word in rows[i].search]
    if spec != BrowseFilter(text=spec.text):
        keep = [i for i in keep if _passes_fields(rows[i], spec, annotator)]
    return keep


def _passes_fields(row: BrowseRow, spec: BrowseFilter, annotator: str) -> bool:
    if spec.dataset and row.dataset != spec.dataset:
        return False
    if spec.split and row.split != spec.split:
        return False
    if spec.task and spec.label and row.labels.get(spec.task) != spec.label:
        return False
    if spec.task and not spec.label and spec.task not in row.labels:
        return False
    if spec.verdict != "any" and (row.verdict or "none") != spec.verdict:
        return False
    if spec.health != "any" and _health_class(row.health) != spec.health:
        return False
    return not (spec.unreviewed_only and _reviewed_by(row, annotator))


def _health_class(health: str) -> str:
    return health if health in ("ok", "unprobed", "text_only") else "problem"


def _reviewed_by(row: BrowseRow, annotator: str) -> bool:
    return annotator in row.reviewed_by.split(", ")


SORT_KEYS = {
    "id": lambda r: r.id,
    "dataset": lambda r: r.dataset.lower(),
    "split": lambda r: r.split,
    "external_id": lambda r: r.external_id.lower(),
    "transcript": lambda r: r.transcript.lower(),
    "duration_s": lambda r: -1.0 if r.duration_s is None else r.duration_s,
    "health": lambda r: r.health,
    "labels": lambda r: r.label_summary.lower(),
    "verdict": lambda r: r.verdict or "",
    "reviewed_by": lambda r: r.reviewed_by.lower(),
}


def sort_indexes(rows: list[BrowseRow], indexes: list[int], column: str, *,
                 descending: bool = False) -> list[int]:
    key = SORT_KEYS[column]
    return sorted(indexes, key=lambda i: key(rows[i]), reverse=descending)


def next_unreviewed(rows: list[BrowseRow], order: list[int], after: int | None,
                    annotator: str) -> int | None:
    """Position (in `order`) of the first clip after `after` not reviewed by the annotator,
    wrapping around once."""
    n = len(order)
    start = 0 if after is None else after + 1
    for step in range(n):
        position = (start + step) % n
        if not _reviewed_by(rows[order[position]], annotator):
            return position
    return None


def nest_variants(rows: list[BrowseRow], order: list[int],
                  collapsed: frozenset[int] | set[int] = frozenset()) -> list[int]:
    """`order` (row indexes, filtered and sorted) with each variant moved right under its
    parent, variants of one parent by id, nested variants under theirs; the variants of a clip
    in `collapsed` (clip ids) are left out. A variant whose parent is filtered out stays where
    the sort put it. Linear in the rows: the 61k-clip browser stays instant."""
    if all(rows[i].parent_clip_id is None for i in order):
        return list(order)  # no variant among them: 3 ms instead of 15 on 61k clips
    position = {rows[i].id: i for i in order}
    children: dict[int, list[int]] = {}
    tops = []
    for i in order:
        parent = rows[i].parent_clip_id
        if parent is not None and parent in position:
            children.setdefault(position[parent], []).append(i)
        else:
            tops.append(i)
    if not children:
        return list(order)
    out: list[int] = []
    stack = list(reversed(tops))
    while stack:
        i = stack.pop()
        out.append(i)
        if rows[i].id not in collapsed:
            stack.extend(sorted(children.get(i, ()), key=lambda j: rows[j].id, reverse=True))
    return out
