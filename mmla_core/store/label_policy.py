"""The one label policy: which label a (clip, task) has, from a named source (DESIGN rule 11).

Every consumer of labels (training samples and the Train preview, evaluation gold, every export
format, the probe's gold, results, the agreement view) asks this module, so a curator's work
reaches everything built from it. A source is one of:

- ``curated`` (the default): the adjudicated label if there is one, else the latest label by a
  person, else the imported label;
- ``import``: the imported (source) label only;
- ``annotator:NAME``: that annotator's label only (``annotator:import`` = ``import``);
- ``majority``: the label most of the raters gave, the imported label counting as one rater and
  each person as one; adjudications are not votes. A tie is *unresolved*: no label, reported
  in `PolicyLabels.unresolved` with the tied labels, never guessed.

Who is who, from `annotations.annotator`: ``import`` marks imported labels; a name starting
with ``adjudicated:`` (``adjudicated:NAME``, written by `adjudicate`) is an adjudication by
NAME; every other name is a person. "Latest" is by `annotations.updated_at`, ties by row id.

Each label comes with its *kind* (`KINDS`): adjudicated / person / import / majority, and every
(clip, task) the source could not settle is counted as unresolved. `PolicyLabels.summary(keys)`
gives {"source", "counts"} over the (clip, task) pairs a consumer really used: that is what
training jobs, evaluation runs and exports record and the dialogs show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from mmla_core.store.db import Store

CURATED = "curated"
IMPORT = "import"
MAJORITY = "majority"
ANNOTATOR_PREFIX = "annotator:"
ADJUDICATED_PREFIX = "adjudicated:"  # annotations.annotator of an adjudication: adjudicated:NAME
IMPORT_ANNOTATOR = "import"
SOURCES = (CURATED, IMPORT, f"{ANNOTATOR_PREFIX}NAME", MAJORITY)  # for help texts
KINDS = ("adjudicated", "person", "import", "majority", "unresolved")


class LabelSourceError(ValueError):
    """A label source that is not one of `SOURCES`."""


def parse_source(text: str | None) -> str:
    """The canonical source name for `text` (None/empty = curated); raises LabelSourceError."""
    text = (text or CURATED).strip()
    if text in (CURATED, IMPORT, MAJORITY):
        return text
    if text.startswith(ANNOTATOR_PREFIX):
        name = text[len(ANNOTATOR_PREFIX):].strip()
        if not name:
            raise LabelSourceError("label source 'annotator:' needs a name: annotator:NAME")
        return IMPORT if name == IMPORT_ANNOTATOR else f"{ANNOTATOR_PREFIX}{name}"
    raise LabelSourceError(
        f"unknown label source {text!r}: use curated, import, annotator:NAME or majority")


def annotator_kind(annotator: str) -> str:
    """adjudicated | import | person, from an `annotations.annotator` value."""
    if annotator == IMPORT_ANNOTATOR:
        return "import"
    if annotator.startswith(ADJUDICATED_PREFIX):
        return "adjudicated"
    return "person"


def is_person(annotator: str) -> bool:
    return annotator_kind(annotator) == "person"


@dataclass
class PolicyLabels:
    """The labels one source gives, with each label's kind and the unresolved (clip, task)s."""

    source: str
    labels: dict[int, dict[int, str]] = field(default_factory=dict)  # clip -> task -> label
    kinds: dict[tuple[int, int], str] = field(default_factory=dict)  # (clip, task) -> kind
    unresolved: dict[tuple[int, int], list[str]] = field(default_factory=dict)  # tied labels

    def get(self, clip_id: int, task_id: int) -> str | None:
        return self.labels.get(clip_id, {}).get(task_id)

    def counts(self, keys: Iterable[tuple[int, int]] | None = None) -> dict[str, int]:
        """{kind: n} over `keys` (every (clip, task) the source considered when None); each of
        adjudicated / person / import / unresolved is present, majority only for that source."""
        wanted = None if keys is None else set(keys)
        tally: Counter[str] = Counter()
        for key, kind in self.kinds.items():
            if wanted is None or key in wanted:
                tally[kind] += 1
        for key in self.unresolved:
            if wanted is None or key in wanted:
                tally["unresolved"] += 1
        names = [k for k in KINDS if k != "majority" or self.source == MAJORITY]
        return {kind: tally.get(kind, 0) for kind in names}

    def summary(self, keys: Iterable[tuple[int, int]] | None = None) -> dict:
        """{"source", "counts"}: what a job, run or export records about its labels."""
        return {"source": self.source, "counts": self.counts(keys)}


def describe(summary: dict | None) -> str:
    """One line for a dialog or the CLI: 'labels: curated (adjudicated 1, person 2, ...)'."""
    if not summary:
        return "labels: not recorded"
    given = summary.get("counts", {})  # stored JSON may have its keys sorted: KINDS order
    counts = ", ".join(f"{kind} {given[kind]}" for kind in KINDS if kind in given)
    return f"labels: {summary.get('source', CURATED)} ({counts})"


def resolve_labels(store: Store, source: str = CURATED, *, dataset_id: int | None = None,
                   task_id: int | None = None,
                   clip_ids: Iterable[int] | None = None) -> PolicyLabels:
    """The labels `source` gives for every labelled (clip, task) in the scope, in one query.

    Scope: a dataset, a task and/or a set of clips (None = no limit). A (clip, task) with no
    label from the source (e.g. `annotator:bob` where bob did not label it) is simply absent.
    """
    source = parse_source(source)
    rows = _annotation_rows(store, dataset_id, task_id, clip_ids)
    result = PolicyLabels(source)
    pick = _pick_majority if source == MAJORITY else _single_pick(source)
    for key, group in _by_clip_task(rows):
        pick(result, key, group)
    return result


def label_of(store: Store, clip_id: int, task_id: int, source: str = CURATED) -> str | None:
    """One (clip, task)'s label from `source` (None: none, or an unresolved majority tie)."""
    return resolve_labels(store, source, task_id=task_id, clip_ids=[clip_id]).get(clip_id, task_id)


# --- how each source picks ----------------------------------------------------------------------

def _annotation_rows(store: Store, dataset_id, task_id, clip_ids) -> list[tuple]:
    """(clip, task, annotator, label) rows, latest first within each (clip, task)."""
    where, params = ["1"], []
    if dataset_id is not None:
        where.append("c.dataset_id = ?")
        params.append(dataset_id)
    if task_id is not None:
        where.append("a.task_id = ?")
        params.append(task_id)
    if clip_ids is not None:
        where.append("a.clip_id IN (SELECT value FROM json_each(?))")
        params.append("[" + ",".join(str(int(c)) for c in clip_ids) + "]")
    return store.conn.execute(
        "SELECT a.clip_id, a.task_id, a.annotator, a.label FROM annotations a "
        f"JOIN clips c ON c.id = a.clip_id WHERE {' AND '.join(where)} "
        "ORDER BY a.clip_id, a.task_id, a.updated_at DESC, a.id DESC", tuple(params),
    ).fetchall()


def _by_clip_task(rows):
    group: list[tuple[str, str]] = []
    key = None
    for clip_id, task_id, annotator, label in rows:
        if (clip_id, task_id) != key:
            if group:
                yield key, group
            key, group = (clip_id, task_id), []
        group.append((annotator, label))
    if group:
        yield key, group


def _take(result: PolicyLabels, key: tuple[int, int], label: str, kind: str) -> None:
    result.labels.setdefault(key[0], {})[key[1]] = label
    result.kinds[key] = kind


def _single_pick(source: str):
    """A picker for the sources that take one row: curated, import, annotator:NAME."""
    if source == CURATED:
        def pick(result, key, group):  # rows come latest first
            for kind in ("adjudicated", "person", "import"):
                hit = next((lab for who, lab in group if annotator_kind(who) == kind), None)
                if hit is not None:
                    _take(result, key, hit, kind)
                    return
        return pick
    wanted = IMPORT_ANNOTATOR if source == IMPORT else source[len(ANNOTATOR_PREFIX):]

    def pick_named(result, key, group):
        hit = next((lab for who, lab in group if who == wanted), None)
        if hit is not None:
            _take(result, key, hit, annotator_kind(wanted))
    return pick_named


def _pick_majority(result: PolicyLabels, key: tuple[int, int], group) -> None:
    votes = Counter(lab for who, lab in group if annotator_kind(who) != "adjudicated")
    if not votes:
        return
    ranked = votes.most_common()
    top = [lab for lab, n in ranked if n == ranked[0][1]]
    if len(top) > 1:
        result.unresolved[key] = sorted(top)
    else:
        _take(result, key, top[0], "majority")



def people_who_labelled(store: Store, dataset_id: int | None = None) -> list[str]:
    """Every person (not import, not an adjudication row) with a label, in name order."""
    sql = ("SELECT DISTINCT a.annotator FROM annotations a JOIN clips c ON c.id = a.clip_id "
           "WHERE a.annotator != ? AND a.annotator NOT LIKE ?")
    params: tuple = (IMPORT_ANNOTATOR, ADJUDICATED_PREFIX + "%")
    if dataset_id is not None:
        sql, params = sql + " AND c.dataset_id = ?", (*params, dataset_id)
    return sorted(name for (name,) in store.conn.execute(sql, params))


def gold_labels(
    store: Store, *, dataset_id: int | None = None, task_id: int | None = None,
    source: str = "curated",
) -> dict[int, dict[int, str]]:
    """{clip id: {task id: label}} by `source`, curated by default; `resolve_labels` where the
    per-kind counts are needed too."""
    return resolve_labels(store, source, dataset_id=dataset_id, task_id=task_id).labels
