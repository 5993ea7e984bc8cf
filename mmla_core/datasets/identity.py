"""Which stored clip a re-imported row is, and what of it a person has made their own.

A clip's identity within its dataset is its media file (or, text-only, its external id), not its
split: a manifest that adds or changes splits moves the clip (same row, so its labels, notes and
predictions stay on it) instead of adding a second copy beside it. And a re-import never
overwrites what a person edited (DESIGN rule 11): a curated transcript is kept, and each row
where the source now says something else is reported; `overwrite_curated` takes the source's
text instead, as an undoable edit on the stack of the person whose text it replaces (their
Ctrl+Z, or `mmla undo --annotator NAME`, brings their text back).
"""

from __future__ import annotations

from collections import defaultdict

from mmla_core.datasets.report import ImportReport
from mmla_core.store.catalog import move_clips, source_clips
from mmla_core.store.clip_rows import variant_clip_keys
from mmla_core.store.db import Store
from mmla_core.store.import_reads import curated_transcripts, human_labels
from mmla_core.store.label_policy import IMPORT_ANNOTATOR
from mmla_core.store.labels import set_transcript
from mmla_core.store.variant_labels import follow_parent_label
from mmla_core.store.variant_text import follow_parent_transcript

Pending = list  # of datasets.common.PendingClip (not imported: common imports this module)

QUOTE_CHARS = 60  # of a transcript, in a report line


def move_to_new_keys(store: Store, dataset_id: int, pending: Pending,
                     report: ImportReport) -> None:
    """Re-key stored clips whose row now comes with another split (or id) instead of adding
    them again. Only unambiguous matches move: one stored clip, one incoming row."""
    stored = source_clips(store, dataset_id)
    keys = {(r["split"], r["external_id"]) for r in stored}
    incoming = {(c.split, c.external_id) for c in pending}
    free = [r for r in stored if (r["split"], r["external_id"]) not in incoming]
    by_id, by_media = defaultdict(list), defaultdict(list)
    for row in free:
        by_id[row["external_id"]].append(row)
        if row["media_path"]:
            by_media[row["media_path"]].append(row)
    media_rows: defaultdict[str, int] = defaultdict(int)
    for clip in pending:
        media_rows[clip.media_path] += 1
    moves, taken = [], set()
    for clip in pending:
        if (clip.split, clip.external_id) in keys:
            continue
        candidates = by_id.get(clip.external_id, [])
        if not candidates and clip.media_path and media_rows[clip.media_path] == 1:
            candidates = by_media.get(clip.media_path, [])
        if len(candidates) != 1 or candidates[0]["id"] in taken:
            continue
        row = candidates[0]
        taken.add(row["id"])
        moves.append((row["id"], clip.split, clip.external_id))
        keys.add((clip.split, clip.external_id))
    if moves:
        move_clips(store, moves)
        report.moved += len(moves)


def leave_variants_alone(store: Store, dataset_id: int, pending: Pending,
                         report: ImportReport) -> None:
    """Rows naming a conflict variant the project made (our own JSONL / CSV export lists them,
    with a path under the project's variants folder) are not source clips: an import never
    writes a variant. Before, such a row turned the variant text-only (its media dropped)."""
    variants = variant_clip_keys(store, dataset_id)
    kept = [clip for clip in pending if (clip.split, clip.external_id) not in variants]
    report.variants_left += len(pending) - len(kept)
    report.skipped += len(pending) - len(kept)
    pending[:] = kept


def variants_follow_the_source(store: Store, pending: Pending,
                               before: dict[tuple[str, str], str],
                               ids: dict[tuple[str, str], int]) -> None:
    """A transcript the source changed (nobody had edited it) reaches the clip's variants, as a
    person's edit does (`store.variant_text`); call inside the import's transaction."""
    for clip in pending:
        key = (clip.split, clip.external_id)
        old = before.get(key)
        if old is not None and clip.transcript is not None and clip.transcript != old:
            follow_parent_transcript(store.conn, ids[key], old, clip.transcript)


def variants_follow_source_labels(store: Store,
                                  changes: dict[tuple[int, int], tuple[str | None, str]],
                                  ) -> None:
    """A source label that changed (or is new) reaches the variants holding a copy of the
    parent's labels (made with --copy-labels), as a person's relabel does
    (`store.variant_labels`)."""
    for (clip_id, task_id), (old, new) in changes.items():
        follow_parent_label(store.conn, clip_id, task_id, IMPORT_ANNOTATOR, old, new)


def keep_curated_transcripts(store: Store, dataset_id: int, pending: Pending,
                             report: ImportReport, overwrite: bool) -> None:
    """Curated transcripts stay (reported where the source differs) or, with `overwrite`,
    become the source's through an undoable edit."""
    curated = curated_transcripts(store, dataset_id)
    if not curated:
        return
    ids = {(r["split"], r["external_id"]): r["id"] for r in source_clips(store, dataset_id)}
    for clip in pending:
        clip_id = ids.get((clip.split, clip.external_id))
        if clip_id not in curated or clip.transcript is None:
            continue
        text, annotator = curated[clip_id]
        if clip.transcript == text:
            continue
        where = clip.where or f"{report.dataset}/{clip.external_id}"
        if overwrite:
            set_transcript(store, clip_id, clip.transcript, annotator)
            report.curated_overwritten += 1
            report.issue(where, f"transcript edited by {annotator} replaced by the source's "
                         f"{_quote(clip.transcript)} (--overwrite-curated; `mmla undo "
                         f"--annotator {annotator}` reverts it)")
            continue
        report.curated_kept += 1
        report.issue(where, f"the source now says {_quote(clip.transcript)}; the transcript "
                     f"edited by {annotator} ({_quote(text)}) is kept "
                     "(--overwrite-curated to take the source's)")
        clip.transcript = text


def report_curated_labels(store: Store, dataset_id: int, pending: Pending,
                          changed: dict[tuple[int, int], str], report: ImportReport,
                          ids: dict[tuple[str, str], int]) -> None:
    """Each source label that changed and now differs from a person's label of that clip is
    reported; the person's label is a row of its own that an import never writes."""
    if not changed:
        return
    people = human_labels(store, dataset_id)
    where = {ids[(c.split, c.external_id)]: c.where or f"{report.dataset}/{c.external_id}"
             for c in pending}
    for (clip_id, task_id), label in changed.items():
        others = [(who, value) for who, value in people.get((clip_id, task_id), [])
                  if value != label]
        if others:
            kept = ", ".join(f"{value!r} by {who}" for who, value in others)
            report.curated_kept += 1
            report.issue(where[clip_id], f"the source label is now {label!r}; the label(s) "
                         f"{kept} are kept")


def count_people_labels(store: Store, dataset_id: int, pending: Pending, report: ImportReport,
                        ids: dict[tuple[str, str], int]) -> None:
    """How many (clip, task) pairs of the rows a person labelled otherwise than the source: their
    label stays the curated one (a note, not an issue: nothing was overwritten)."""
    people = human_labels(store, dataset_id)
    for clip in pending:
        clip_id = ids.get((clip.split, clip.external_id))
        for task_id, label in clip.labels.items():
            theirs = people.get((clip_id, task_id), []) if clip_id is not None else []
            report.people_labels += any(value != label for _, value in theirs)


def _quote(text: str) -> str:
    return repr(text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…")
