"""Review verdicts, one rule everywhere: which clips training, evaluation and exports leave out.

A clip's overall verdict, from its reviews (`clip_reviews`, one per reviewer):

- **reject** when any reviewer rejected it, unless a reviewer who *adjudicated* a label of that
  clip (`label_policy.ADJUDICATED_PREFIX`) accepted it at or after the latest reject: an adjudicator
  settles disagreements, reviews included;
- else **accept** when at least one reviewer accepted it;
- else none (not reviewed, or reviewed without a verdict).

A conflict variant has its parent's verdict (variants are reviewed through their parent).

`Selection` is what a consumer was asked for (label source + verdict rule): by default rejected
clips are left out (`include_rejected` puts them back) and `only_accepted` keeps accepted clips
only. `ClipGate.keep` applies it clip by clip and counts what each rule left out, and
`Selection.record` is the JSON that training jobs, evaluation runs and exports store.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

from mmla_core.store.db import Store
from mmla_core.store.label_policy import (
    ADJUDICATED_PREFIX,
    CURATED,
    PolicyLabels,
    describe,
    parse_source,
    resolve_labels,
)

ACCEPT, REJECT = "accept", "reject"


@dataclass(frozen=True)
class Selection:
    """Which labels and which clips: the label source and the verdict rule."""

    labels: str = CURATED
    include_rejected: bool = False
    only_accepted: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", parse_source(self.labels))

    @classmethod
    def from_dict(cls, values: dict | None) -> Selection:
        values = values or {}
        return cls(values.get("labels") or CURATED, bool(values.get("include_rejected")),
                   bool(values.get("only_accepted")))

    def to_dict(self) -> dict:
        return asdict(self)

    def resolve(self, store: Store, **scope) -> PolicyLabels:
        """`label_policy.resolve_labels` with this source (scope: dataset_id, task_id, ...)."""
        return resolve_labels(store, self.labels, **scope)

    def gate(self, store: Store, dataset_id: int | None = None) -> ClipGate:
        return ClipGate(self, overall_verdicts(store, dataset_id))

    def record(self, policy: PolicyLabels, keys, gate: ClipGate) -> dict:
        """What a job, run or export stores: source, per-kind counts over `keys` (the (clip,
        task) pairs used), the verdict rule and how many clips each rule left out."""
        return {**policy.summary(keys), "include_rejected": self.include_rejected,
                "only_accepted": self.only_accepted, "left_out": gate.left_out_dict()}


class ClipGate:
    """Applies a Selection's verdict rule clip by clip, counting what it leaves out."""

    def __init__(self, selection: Selection, verdicts: dict[int, str | None]):
        self.selection = selection
        self.verdicts = verdicts
        self.left_out: Counter[str] = Counter()

    def reason(self, clip_id: int) -> str | None:
        """Why the rule leaves the clip out ('rejected' | 'not_accepted'), None to keep it."""
        verdict = self.verdicts.get(clip_id)
        if verdict == REJECT and not self.selection.include_rejected:
            return "rejected"
        if self.selection.only_accepted and verdict != ACCEPT:
            return "not_accepted"
        return None

    def keep(self, clip_id: int) -> bool:
        why = self.reason(clip_id)
        if why is not None:
            self.left_out[why] += 1
        return why is None

    def left_out_dict(self) -> dict[str, int]:
        return {"rejected": self.left_out.get("rejected", 0),
                "not_accepted": self.left_out.get("not_accepted", 0)}


def describe_record(record: dict | None) -> str:
    """'labels: curated (adjudicated 0, person 1, ...); left out: 1 rejected, 0 not accepted'."""
    if not record:
        return describe(None)
    line = describe(record)
    if "left_out" in record:
        out = record["left_out"]
        rule = ("only accepted clips kept" if record.get("only_accepted") else
                "rejected clips included" if record.get("include_rejected") else
                "rejected clips left out")
        line += (f"; left out: {out.get('rejected', 0)} rejected, "
                 f"{out.get('not_accepted', 0)} not accepted ({rule})")
    return line


def overall_verdicts(store: Store, dataset_id: int | None = None) -> dict[int, str | None]:
    """{clip id: overall verdict} of every reviewed clip (and its variants), by the rule above."""
    where, params = ("WHERE c.dataset_id = ?", (dataset_id,)) if dataset_id is not None \
        else ("", ())
    reviews: dict[int, list[tuple]] = {}
    for clip_id, annotator, verdict, at in store.conn.execute(
        "SELECT r.clip_id, r.annotator, r.verdict, r.reviewed_at FROM clip_reviews r "
        f"JOIN clips c ON c.id = r.clip_id {where} ORDER BY r.reviewed_at, r.annotator", params,
    ):
        reviews.setdefault(clip_id, []).append((annotator, verdict, at))
    adjudicators = _adjudicators(store, where, params)
    verdicts = {cid: overall_verdict(rows, adjudicators.get(cid, set()))
                for cid, rows in reviews.items()}
    for clip_id, root in _variant_roots(store, where, params):
        if root in verdicts:
            verdicts[clip_id] = verdicts[root]
    return verdicts


def overall_verdict(reviews, adjudicators=frozenset()) -> str | None:
    """The rule on one clip's [(annotator, verdict, reviewed_at)], oldest first."""
    rejects = [at for _, verdict, at in reviews if verdict == REJECT]
    if rejects:
        last_reject = max(rejects)
        settled = any(verdict == ACCEPT and who in adjudicators and at >= last_reject
                      for who, verdict, at in reviews)  # same millisecond: the accept wins
        return ACCEPT if settled else REJECT
    return ACCEPT if any(verdict == ACCEPT for _, verdict, _ in reviews) else None


def _adjudicators(store: Store, where: str, params) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for clip_id, annotator in store.conn.execute(
        "SELECT DISTINCT a.clip_id, a.annotator FROM annotations a JOIN clips c "
        f"ON c.id = a.clip_id {where} {'AND' if where else 'WHERE'} a.annotator LIKE ?",
        (*params, ADJUDICATED_PREFIX + "%"),
    ):
        found.setdefault(clip_id, set()).add(annotator[len(ADJUDICATED_PREFIX):])
    return found


def _variant_roots(store: Store, where: str, params) -> list[tuple[int, int]]:
    """(variant id, its original clip's id) for every variant in scope."""
    return store.conn.execute(
        "WITH RECURSIVE tree(id, root) AS (SELECT id, id FROM clips WHERE parent_clip_id IS NULL "
        "UNION ALL SELECT c.id, t.root FROM clips c JOIN tree t ON c.parent_clip_id = t.id) "
        f"SELECT t.id, t.root FROM tree t JOIN clips c ON c.id = t.id {where} "
        f"{'AND' if where else 'WHERE'} t.id != t.root", params,
    ).fetchall()
