"""What an ELAN tier means for a clip: its transcript, a task's label, a check answer, a verdict.

A tier is matched by its name, `BASE` or `BASE@WHO` (what `export_eaf` writes):
- `transcript` (or `transcription`, `utterance`): the clip's transcript;
- a task's name (any case), or a tier whose linguistic type or controlled vocabulary is named
  after a task (`MELD-lt`, CV `MELD`): that task's label, matched to its label set. A custom
  task the project lacks is defined from the vocabulary of our own exports;
- `check:KEY`: an alignment-check answer (yes / no / unsure); `verdict`: accept / reject.
Whose work: WHO from the name, else the tier's ANNOTATOR attribute, else `import` (the source's
own labels). In our own exports (`mmla:clip` header property) the plain `TASK` and `verdict`
tiers are views over the per-annotator tiers, so only the `@WHO` tiers are read.
A tier with several annotations (segmented) is reported: labels are whole-clip values, so its
label is taken only when every segment agrees, and transcript segments are joined in time order.
Tiers that match nothing (gestures, glosses) are not ours and are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mmla_core.datasets.common import match_label
from mmla_core.datasets.eaf import (
    ANNOTATOR_SEP,
    CHECK_PREFIX,
    PROP_CLIP,
    TRANSCRIPT_TIER,
    VERDICT_TIER,
    VERDICTS,
)
from mmla_core.datasets.eaf_xml import EafDocument, Tier
from mmla_core.store.catalog import ensure_task, list_tasks
from mmla_core.store.db import Store
from mmla_core.store.labels import CHECK_ANSWERS, IMPORT_ANNOTATOR
from mmla_core.tasks import MMLA_TASKS, Task, TaskError, make_custom_task

TRANSCRIPT_NAMES = (TRANSCRIPT_TIER, "transcription", "utterance")
Report = Callable[[str, str], None]  # (where, message)


@dataclass
class ClipWork:
    """What one document holds for its clip, per annotator."""

    transcript: str | None = None
    labels: list[tuple[int, str, str]] = field(default_factory=list)   # task, who, label
    answers: list[tuple[str, str, str]] = field(default_factory=list)  # check key, who, answer
    verdicts: list[tuple[str, str]] = field(default_factory=list)      # who, verdict


class TaskMatcher:
    """Tasks a tier can name: built in, in the project, or (in our own exports) a custom task
    the file's controlled vocabulary defines; a task is added to the project when first used."""

    def __init__(self, store: Store):
        self.store = store
        self.by_name: dict[str, Task] = {t.name.lower(): t for t in (*MMLA_TASKS,
                                                                      *list_tasks(store))}
        self.names: dict[int, str] = {}  # task id -> name, of the tasks used so far

    def match(self, doc: EafDocument, tier: Tier, base: str,
              report: Report) -> tuple[int, Task] | None:
        lt = doc.types.get(tier.type_ref, {})
        vocabulary = lt.get("CONTROLLED_VOCABULARY_REF", "")
        for candidate in (base, tier.type_ref, tier.type_ref.removesuffix("-lt"), vocabulary):
            task = self.by_name.get(candidate.strip().lower())
            if task is not None:
                return self._used(task)
        if PROP_CLIP in doc.properties and vocabulary == base and doc.vocabularies.get(base):
            return self._define(doc, base, report)
        return None

    def _define(self, doc: EafDocument, name: str, report: Report) -> tuple[int, Task] | None:
        try:
            task = make_custom_task(name, doc.vocabularies[name])
        except (TaskError, ValueError) as exc:
            report(str(doc.path), f"task {name!r} from the file's vocabulary not added: {exc}")
            return None
        self.by_name[name.lower()] = task
        return self._used(task)

    def _used(self, task: Task) -> tuple[int, Task]:
        task_id = ensure_task(self.store, task)
        self.names[task_id] = task.name
        return task_id, task


def split_tier_id(tier_id: str) -> tuple[str, str]:
    """(base, who): `MELD@alice` -> (MELD, alice); who may hold `@` (an e-mail) or `:`."""
    base, _, who = tier_id.partition(ANNOTATOR_SEP)
    return base.strip(), who.strip()


def classify(doc: EafDocument, tasks: TaskMatcher, report: Report) -> ClipWork:
    work = ClipWork()
    ours = PROP_CLIP in doc.properties
    for tier in doc.tiers.values():
        base, who = split_tier_id(tier.tier_id)
        if base.lower() in TRANSCRIPT_NAMES:
            work.transcript = _transcript(doc, tier, report)
            continue
        if ours and not who:
            continue  # the policy's TASK tier and the overall verdict: views, not anyone's work
        who = who or tier.annotator.strip() or IMPORT_ANNOTATOR
        if base.lower() == VERDICT_TIER:
            value = _one_value(doc, tier, report, VERDICTS)
            if value is not None:
                work.verdicts.append((who, value))
        elif base.lower().startswith(CHECK_PREFIX) and base[len(CHECK_PREFIX):].strip():
            value = _one_value(doc, tier, report, CHECK_ANSWERS)
            if value is not None:
                work.answers.append((base[len(CHECK_PREFIX):].strip(), who, value))
        elif (hit := tasks.match(doc, tier, base, report)) is not None:
            value = _one_value(doc, tier, report, None, hit[1])
            if value is not None:
                work.labels.append((hit[0], who, value))
    return work


def _values(tier: Tier) -> list[str]:
    """The tier's non-empty values in time order (unaligned ones keep their place)."""
    ordered = sorted(enumerate(tier.annotations),
                     key=lambda item: (item[1][0] if item[1][0] is not None else -1, item[0]))
    return [value.strip() for _, (_, _, value) in ordered if value.strip()]


def _transcript(doc: EafDocument, tier: Tier, report: Report) -> str | None:
    values = _values(tier)
    if len(values) > 1:
        report(str(doc.path), f"tier {tier.tier_id!r} is segmented ({len(values)} annotations):"
               " joined in time order as the clip's transcript")
    return " ".join(values) if values else None


def _one_value(doc: EafDocument, tier: Tier, report: Report, allowed: tuple[str, ...] | None,
               task: Task | None = None) -> str | None:
    """The tier's one whole-clip value, matched to the allowed values or the task's labels."""
    values = _values(tier)
    if not values:
        return None
    where = str(doc.path)
    if len(values) > 1:
        distinct = list(dict.fromkeys(values))
        if len(distinct) > 1:
            report(where, f"tier {tier.tier_id!r} is segmented ({len(values)} annotations: "
                   f"{', '.join(distinct[:5])}): one label per clip is kept here, none imported")
            return None
        report(where, f"tier {tier.tier_id!r} is segmented ({len(values)} annotations, all "
               f"{distinct[0]!r}): imported once")
    raw = values[0]
    if task is not None:
        label = match_label(task, raw)
        if label is None:
            report(where, f"tier {tier.tier_id!r}: {raw!r} is not a {task.name} label; skipped")
        return label
    assert allowed is not None  # every caller passes the allowed values or a task
    value = raw.lower()
    if value not in allowed:
        report(where, f"tier {tier.tier_id!r}: {raw!r} is not one of {', '.join(allowed)}; "
               "skipped")
        return None
    return value
