"""ELAN export: one `.eaf` per clip, every annotator's work on a tier of its own.

One EAF per clip, linked to the clip's own media file: an EAF document is time-aligned to its
media (MEDIA_DESCRIPTOR), so opening it plays the clip under its tiers, and ELAN's multiple-file
tools (search, statistics, inter-annotator reliability) work over a folder of EAFs.

Tiers of a clip's document (`docs/user-guide.md`, "ELAN"), each one annotation spanning the clip:
- `transcript`;
- `TASK@NAME`: NAME's label for TASK, ANNOTATOR="NAME" (`import` is the dataset's own label,
  `adjudicated:NAME` an adjudication), for every task the clip has a label for, attached to
  the dataset or not; the task's label set is the tier's controlled vocabulary;
- `check:KEY@NAME`: NAME's answer to alignment check KEY (yes / no / unsure);
- `verdict@NAME`: NAME's review verdict (accept / reject);
- `TASK`: the label the label policy gives (`store.label_policy`, curated by default), its
  ANNOTATOR naming the source and the kind of label it came from ("curated (person)");
  `verdict`: the clip's verdict (a reject wins). Both are views: an import reads the
  per-annotator tiers of our own files and leaves these alone.
The `@NAME` suffix is what ELAN's inter-rater tools match tiers by. Values no annotator gave
stay out: nobody's "No" is folded into someone else's "yes".
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from mmla_core.datasets.eaf_xml import EafDocument, EafError, Tier, eaf_xml, read_eaf
from mmla_core.datasets.export import ExportedFiles, ExportError, log_export
from mmla_core.fsutil import write_text_atomic
from mmla_core.paths import PathEscapeError, confine
from mmla_core.store.annotator_work import (
    check_answers_by_clip,
    labels_by_clip,
    reviews_by_clip,
    tasks_by_id,
)
from mmla_core.store.catalog import find_dataset, list_clips, tasks_for_dataset
from mmla_core.store.checks import dataset_checks
from mmla_core.store.db import Store
from mmla_core.store.labels import CHECK_ANSWERS
from mmla_core.store.verdicts import Selection
from mmla_core.tasks import Task

__all__ = ["EafDocument", "EafError", "eaf_file_name", "export_eaf", "read_eaf", "tier_name"]

TRANSCRIPT_TIER, VERDICT_TIER, CHECK_PREFIX, ANNOTATOR_SEP = "transcript", "verdict", "check:", "@"
CHECK_CV, VERDICT_CV, VERDICTS = "check-answers", "verdict", ("accept", "reject")
# HEADER PROPERTY names: where the file came from, so an import finds its clip again
PROP_DATASET, PROP_SPLIT, PROP_CLIP = "mmla:dataset", "mmla:split", "mmla:clip"
PROP_LABELS = "mmla:labels"  # the label source of the plain task tiers; marks our own files
UNWRITABLE = "unwritable"  # ExportedFiles.skipped reason: the clip's file could not be written


def tier_name(base: str, annotator: str) -> str:
    return f"{base}{ANNOTATOR_SEP}{annotator}"


class _ProjectWork:
    """Everyone's labels, answers and verdicts of one dataset, read once for the whole export."""

    def __init__(self, store: Store, dataset_id: int, annotator: str | None,
                 selection: Selection):
        self.annotator = annotator
        self.policy = selection.resolve(store, dataset_id=dataset_id)
        self.gate = selection.gate(store, dataset_id)  # the verdict rule, and each clip's verdict
        self.used: set[tuple[int, int]] = set()  # (clip, task) pairs a policy tier holds
        self.tasks = tasks_by_id(store)
        self.attached = [task_id for task_id, _ in tasks_for_dataset(store, dataset_id)]
        self.checks = [c.key for c in dataset_checks(store, dataset_id)]
        self.labels = labels_by_clip(store, dataset_id)
        self.answers = check_answers_by_clip(store, dataset_id)
        self.reviews = reviews_by_clip(store, dataset_id)
        self.vocabularies = {t.name: list(t.labels) for t in self.tasks.values()}
        self.vocabularies[CHECK_CV], self.vocabularies[VERDICT_CV] = (list(CHECK_ANSWERS),
                                                                      list(VERDICTS))

    def mine(self, rows: list[tuple], who_at: int) -> list[tuple]:
        return [r for r in rows if self.annotator is None or r[who_at] == self.annotator]

    def clip_tiers(self, clip: dict) -> list[Tier]:
        labels = self.mine(self.labels.get(clip["id"], []), 1)
        task_ids = list(dict.fromkeys([*self.attached, *(r[0] for r in labels)]))
        tiers = [Tier(TRANSCRIPT_TIER, clip["transcript"] or None)]
        for task_id in task_ids:
            if self.annotator is None:
                tiers.append(self._policy_tier(clip["id"], task_id))
            tiers += self._task_tiers(self.tasks[task_id], [r for r in labels if r[0] == task_id])
        answers = self.mine(self.answers.get(clip["id"], []), 1)
        for key in dict.fromkeys([*self.checks, *(r[0] for r in answers)]):
            tiers += self._per_annotator(CHECK_PREFIX + key, CHECK_CV,
                                         [(who, a) for k, who, a in answers if k == key])
        reviews = self.mine(self.reviews.get(clip["id"], []), 0)
        if self.annotator is None:
            verdict = self.gate.verdicts.get(clip["id"])  # the one rule (store.verdicts)
            who = ", ".join(w for w, v in reviews if v == verdict)
            tiers.append(Tier(VERDICT_TIER, verdict, who, VERDICT_CV))
        tiers += self._per_annotator(VERDICT_TIER, VERDICT_CV, reviews)
        return tiers

    def _policy_tier(self, clip_id: int, task_id: int) -> Tier:
        """The `TASK` tier: the policy's label, ANNOTATOR naming where it came from."""
        task, key = self.tasks[task_id], (clip_id, task_id)
        label, source = self.policy.get(clip_id, task_id), self.policy.source
        if label is not None:
            self.used.add(key)
            return Tier(task.name, label, f"{source} ({self.policy.kinds[key]})", task.name)
        tied = self.policy.unresolved.get(key)
        if tied:
            self.used.add(key)
            return Tier(task.name, None, f"{source} (unresolved: {' / '.join(tied)})", task.name)
        return Tier(task.name, None, source, task.name)

    def _task_tiers(self, task: Task, rows: list[tuple[int, str, str]]) -> list[Tier]:
        return self._per_annotator(task.name, task.name, [(who, label) for _, who, label in rows])

    def _per_annotator(self, base: str, vocabulary: str,
                       values: Sequence[tuple[str, str | None]]) -> list[Tier]:
        """A tier per annotator with a value; with `annotator` set, that one's tier even when
        empty (ready to annotate in ELAN)."""
        if self.annotator is not None and not values:
            values = [(self.annotator, None)]
        return [Tier(tier_name(base, who), value, who, vocabulary) for who, value in values]


def export_eaf(store: Store, out_dir: str | os.PathLike, *, dataset: str | int,
               annotator: str | None = None, split: str | None = None,
               selection: Selection | None = None) -> ExportedFiles:
    """One `.eaf` per clip with media and a known duration, into `out_dir`.

    `annotator=None` writes every annotator's tiers and the selection's label source's tier
    per task; a name writes only that annotator's work, with an empty tier for each task and
    check they have not done yet. The selection's verdict rule picks the clips (rejected ones
    left out by default). `.labels` of the result (and `mmla_export.json` in the folder, and
    the `exports` row): the source, its per-kind counts and the clips each rule left out.
    """
    selection = selection or Selection()
    ds = _dataset(store, dataset)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    work = _ProjectWork(store, ds["id"], annotator, selection)
    result = ExportedFiles()
    for clip in list_clips(store, dataset_id=ds["id"], split=split):
        if not work.gate.keep(clip["id"]):
            continue
        media, problem = _clip_media(clip)
        if media is None:
            result.skipped[problem] += 1
            continue
        path = out / eaf_file_name(clip)
        try:
            write_text_atomic(path, _clip_document(work, ds["name"], clip, media, out))
        except OSError as exc:  # this clip's file only: the others are still written
            result.skipped[UNWRITABLE] += 1
            result.write_problems.append(_write_problem(clip, path, exc))
            continue
        result.append(path)
        result.written[path.name] = 1
    result.labels = selection.record(work.policy, work.used, work.gate)
    log_export(store, "eaf", out, result, dataset_id=ds["id"], task_id=None,
                details={"dataset": ds["name"], "annotator": annotator, "split": split})
    return result


def _clip_document(work: _ProjectWork, dataset: str, clip: dict, media: Path, out: Path) -> str:
    """One clip's EAF text: its tiers, its media (absolute and relative to `out`), where it
    came from."""
    properties = {PROP_DATASET: dataset, PROP_SPLIT: clip["split"],
                  PROP_CLIP: clip["external_id"]}
    if work.annotator is None:
        properties[PROP_LABELS] = work.policy.source
    return eaf_xml(
        work.clip_tiers(clip), round(clip["duration_s"] * 1000), media.resolve().as_uri(),
        relative_url=relative_media_url(media, out), properties=properties,
        mime=mimetypes.guess_type(media.name)[0] or "video/mp4", vocabularies=work.vocabularies)


def _write_problem(clip: dict, path: Path, exc: OSError) -> str:
    """'clip 7 (utt_3, train): OUT/train_utt_3.eaf: Is a directory': which clip, where, why."""
    where = ", ".join(str(v) for v in (clip["external_id"], clip["split"]) if v)
    why = exc.strerror or str(exc) or type(exc).__name__
    return f"clip {clip['id']} ({where}): {path}: {why}"


def relative_media_url(media: Path, folder: Path) -> str:
    """The media file relative to the EAF's folder, percent-encoded as a URL path: a `#` or a
    space in a file name must still name that file once the folder moves."""
    relative = Path(os.path.relpath(media.resolve(), folder.resolve())).as_posix()
    return quote(relative if relative.startswith(".") else f"./{relative}", safe="/.")


EAF_NAME_BYTES = 200  # a whole file name: room under 255 for the atomic write's ".NAME.pid.tmp"


def eaf_file_name(clip: dict) -> str:
    """`<split>_<external id>.eaf`, path-safe; a name past 200 bytes keeps its start and ends
    with a hash of the whole, so two long names that share a start still get two files."""
    name = f"{clip['split']}_{clip['external_id']}" if clip["split"] else clip["external_id"]
    name = re.sub(r"[^\w.\-]+", "_", name)
    if len(name.encode("utf-8")) + len(".eaf") <= EAF_NAME_BYTES:
        return name + ".eaf"
    digest = "_" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10] + ".eaf"
    room = EAF_NAME_BYTES - len(digest)
    return name.encode("utf-8")[:room].decode("utf-8", "ignore") + digest


def _dataset(store: Store, dataset: str | int) -> dict:
    row = find_dataset(store, dataset)
    if row is None:
        raise ExportError(f"no dataset {dataset!r} in {store.path}")
    return row


def _clip_media(clip: dict) -> tuple[Path | None, str]:
    """(the clip's media file, "") or (None, why it has none to export)."""
    if not clip["media_path"]:
        return None, "no_media"
    if not clip["duration_s"]:
        return None, "unprobed (run `mmla media probe`)"
    try:
        return confine(clip.get("media_root") or clip["dataset_root"], clip["media_path"]), ""
    except PathEscapeError:
        return None, "unsafe_path"
