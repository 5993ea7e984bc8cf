"""Pieces every importer shares: tolerant text decoding, label matching and the batched write."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

from mmla_core.datasets.entries import clean_pending, special_file
from mmla_core.datasets.identity import (
    count_people_labels,
    keep_curated_transcripts,
    leave_variants_alone,
    move_to_new_keys,
    report_curated_labels,
    variants_follow_source_labels,
    variants_follow_the_source,
)
from mmla_core.datasets.media_kept import keep_stored_media
from mmla_core.datasets.report import DatasetImportError, ImportReport
from mmla_core.prompts import answer_word
from mmla_core.store.catalog import (
    clip_ids_by_key,
    dataset_by_name,
    datasets_by_root,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.clip_rows import stored_transcripts
from mmla_core.store.db import Store
from mmla_core.store.import_reads import imported_labels
from mmla_core.store.labels import import_labels
from mmla_core.store.media_state import mark_media_missing
from mmla_core.tasks import Task

MEDIA_EXTENSIONS = frozenset(
    {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4a", ".wav", ".mp3", ".flac"}
)
MAX_ROW_ISSUES = 20  # per file and kind, for issues that tend to repeat on every row


@dataclass
class PendingClip:
    """One parsed source row, waiting for the batched write."""

    external_id: str
    split: str = ""
    media_path: str | None = None  # relative to the dataset root; None = text-only
    transcript: str | None = ""  # None: the source says nothing (keep what the project has)
    labels: dict[int, str] = field(default_factory=dict)  # task id -> exact label
    where: str = ""  # the source row ("manifest.csv:7"), for reports about this clip
    # why the media file the row names was not found (None: found, or none named); reported
    # by write_clips, which knows whether the clip is new (text-only) or keeps a stored file
    media_issue: str | None = None

    def as_row(self) -> dict:
        return {
            "external_id": self.external_id, "split": self.split,
            "media_path": self.media_path, "transcript": self.transcript,
        }


def read_text(path: Path, report: ImportReport) -> str | None:
    """The file as text. Bad UTF-8 bytes become U+FFFD and each such line is reported.

    A FIFO or other special file is reported, never opened (reading one would block forever).
    """
    special = special_file(path)
    if special is not None:
        report.issue(path, special)
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        report.issue(path, f"cannot read file: {exc.strerror or exc}")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):  # Excel's "Unicode text"
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    lines = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            lines.append(raw.decode("utf-8", errors="replace"))
            report.issue(
                f"{path}:{number}",
                f"not valid UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1}); "
                "bad bytes replaced with U+FFFD",
            )
    return "\n".join(lines).removeprefix("\ufeff")


def match_label(task: Task, raw: str) -> str | None:
    """The task's exact label for `raw`: any case, bare or in the `task: label` answer form."""
    label = task.canonical_label(raw)
    if label is None and ":" in raw:
        prefix, _, rest = raw.partition(":")
        names = {task.task_key.lower(), task.prompt_word.lower(), task.name.lower(),
                 answer_word(task, "text_sft").lower()}  # MMLA's text files: `talk_type: ...`
        if prefix.strip().lower() in names:
            label = task.canonical_label(rest)
    return label


FOLDER_KIND = "folder"


def open_dataset(store: Store, report: ImportReport, root: Path, kind: str, *,
                 explicit_name: bool = False) -> int:
    """The id of the dataset imported from `root`, created if new (`name_dataset`'s name);
    sets `report.dataset_id`."""
    name_dataset(store, report, root, kind, explicit_name=explicit_name)
    dataset_id = upsert_dataset(store, report.dataset, str(root), kind)
    report.dataset_id = dataset_id
    return dataset_id


def name_dataset(store: Store, report: ImportReport, root: Path, kind: str, *,
                 explicit_name: bool = False) -> None:
    """The name of the dataset imported from `root` into `report.dataset`, or the refusal
    (DatasetImportError), writing nothing: an importer asks first, reads its rows, and opens
    the dataset only when there are rows to write (asking again is harmless).

    A dataset's identity is its root. A name taken by a dataset with another root (a different
    folder that happens to share the name, or this one moved) never re-roots it: the import goes
    to a new dataset `NAME-2` (`-3`, ...) and the report says so; a name the user chose is
    refused instead. `mmla datasets move` re-roots on purpose. A name used by another kind of
    import (say a folder named like an MMLA dataset) would mix two id schemes: refused.
    """
    name, root_text = report.dataset, str(root)
    if not explicit_name and kind == FOLDER_KIND:
        _reimport_under_its_name(store, report, root_text)
        name = report.dataset
    existing = dataset_by_name(store, name)
    if existing is not None and existing["source_kind"] != kind:
        raise DatasetImportError(
            f"dataset {name!r} already exists ({existing['source_kind']} import of "
            f"{existing['root']}); import this {kind} under another name"
        )
    if existing is not None and existing["root"] != root_text:
        if explicit_name:
            raise DatasetImportError(
                f"dataset {name!r} is the folder {existing['root']}, not {root}: choose another "
                f"name, or `mmla datasets move {name} {root}` if it moved")
        report.renamed_from = name
        report.dataset = _name_for_root(store, name, root_text, kind)


def _reimport_under_its_name(store: Store, report: ImportReport, root: str) -> None:
    """A folder imported before under another name (`--name talk`) is that dataset again when
    imported with no name: its clips, curated labels and transcripts, not a second copy of the
    folder holding the source's values. (A sharegpt file's folder may hold several datasets'
    files, so only folder imports are matched by their root.)"""
    same_name = dataset_by_name(store, report.dataset)
    if same_name is not None and same_name["root"] == root:
        return
    known = datasets_by_root(store, root, FOLDER_KIND)
    if known:
        report.found_as, report.dataset = report.dataset, known[0]["name"]


def _name_for_root(store: Store, name: str, root: str, kind: str) -> str:
    """`NAME-N`: the one already holding this root (a re-import), else the first free one."""
    number = 2
    while True:
        candidate = dataset_by_name(store, f"{name}-{number}")
        if candidate is None or (candidate["root"], candidate["source_kind"]) == (root, kind):
            return f"{name}-{number}"
        number += 1


def write_clips(
    store: Store, dataset_id: int, pending: list[PendingClip], report: ImportReport, *,
    overwrite_curated: bool = False,
) -> None:
    """Upsert the clips and their source labels in one transaction; only changes are written.

    Stored clips keep their identity (`identity.move_to_new_keys`), their media file
    (`media_kept.keep_stored_media`: one missing now is marked so, not dropped) and a person's
    transcript (`identity.keep_curated_transcripts`) whatever the source now says.
    """
    report.dataset_id = dataset_id
    clean_pending(pending, report)
    with store.write():
        leave_variants_alone(store, dataset_id, pending, report)
        move_to_new_keys(store, dataset_id, pending, report)
        missing = keep_stored_media(store, dataset_id, pending, report)
        report.text_only += sum(1 for clip in pending if clip.media_path is None)
        _keep_known_transcripts(store, dataset_id, pending)
        keep_curated_transcripts(store, dataset_id, pending, report, overwrite_curated)
        before = stored_transcripts(store, dataset_id)
        report.add_counts(upsert_clips(store, dataset_id, (c.as_row() for c in pending)))
        mark_media_missing(store, missing)
        ids = clip_ids_by_key(store, dataset_id)
        variants_follow_the_source(store, pending, before, ids)
        count_people_labels(store, dataset_id, pending, report, ids)
        existing = imported_labels(store, dataset_id)
        changed = {
            (ids[(clip.split, clip.external_id)], task_id): label
            for clip in pending for task_id, label in clip.labels.items()
            if existing.get((ids[(clip.split, clip.external_id)], task_id)) != label
        }
        if changed:
            report.labels += import_labels(store, [(c, t, lab) for (c, t), lab in changed.items()])
            known = {key for key in changed if key in existing}
            variants_follow_source_labels(store, {k: (existing.get(k), v)
                                                  for k, v in changed.items()})
            report_curated_labels(store, dataset_id, pending,
                                  {k: v for k, v in changed.items() if k in known}, report, ids)


def _keep_known_transcripts(store: Store, dataset_id: int, pending: list[PendingClip]) -> None:
    """A clip whose source gives no transcript keeps the one stored (imported or curated):
    re-importing a folder, or a manifest row that was skipped, must not blank it."""
    unknown = [clip for clip in pending if clip.transcript is None]
    if not unknown:
        return
    stored = stored_transcripts(store, dataset_id)
    for clip in unknown:
        clip.transcript = stored.get((clip.split, clip.external_id)) or ""


class RowIssueLimiter:
    """Reports the first MAX_ROW_ISSUES rows of one kind per file, then counts the rest."""

    def __init__(self, report: ImportReport, path: Path, what: str):
        self.report, self.path, self.what, self.count = report, path, what, 0

    def __call__(self, line: int, message: str) -> None:
        self.count += 1
        if self.count <= MAX_ROW_ISSUES:
            self.report.issue(f"{self.path}:{line}", message)

    def close(self) -> None:
        extra = self.count - MAX_ROW_ISSUES
        if extra > 0:
            self.report.issue(self.path, f"{extra} more rows: {self.what}")
