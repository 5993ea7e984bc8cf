"""Import ELAN `.eaf` files: transcripts, labels, check answers and verdicts, per annotator.

An EAF names its media (MEDIA_DESCRIPTOR); the file's work goes to the project's clip with that
media, or to a new clip (in a dataset named after the folder) when there is none. What each tier
means (`eaf_tiers.classify`): `transcript`, a task (by tier name, or by its linguistic type or
controlled vocabulary), `check:KEY` or `verdict`; `NAME@WHO` (what `export_eaf` writes) or the
tier's ANNOTATOR says whose work it is, else it is the source's own (`import`).

People's work is the truth (DESIGN rule 11): a label, answer or verdict a person already has in
the project is kept and the difference reported, and a transcript a person edited is kept.
A bad file is one problem named by its path; the other files still import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from mmla_core.datasets.common import MEDIA_EXTENSIONS, open_dataset
from mmla_core.datasets.eaf import PROP_CLIP, PROP_DATASET, PROP_SPLIT
from mmla_core.datasets.eaf_tiers import ClipWork, TaskMatcher, classify
from mmla_core.datasets.eaf_xml import EafDocument, EafError, read_eaf
from mmla_core.datasets.report import DatasetImportError, ImportReport
from mmla_core.store.annotator_work import (
    MergeCounts,
    edited_transcripts,
    merge_check_answers,
    merge_labels,
    merge_reviews,
)
from mmla_core.store.catalog import (
    attach_task,
    clip_ids_by_key,
    clips_by_media_file,
    get_clip,
    upsert_clips,
)
from mmla_core.store.clip_rows import set_clip_media_root, set_clip_transcript
from mmla_core.store.db import Store
from mmla_core.store.media_state import mark_media_missing

EAF_KIND = "eaf"


def find_eaf_files(folder: Path) -> list[Path]:
    """The .eaf files under `folder` (hidden folders and files skipped), sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(dirpath) / f for f in sorted(filenames)
                  if f.lower().endswith(".eaf") and not f.startswith(".")]
    return found


def import_eaf(store: Store, path: str | os.PathLike, *, name: str | None = None) -> ImportReport:
    """Import one .eaf file, or every .eaf under a folder; new clips go to dataset `name`
    (default: the folder's name), rooted at that folder."""
    path = Path(path)
    if path.is_file():
        files, root = [path], path.resolve().parent
    elif path.is_dir():
        files, root = find_eaf_files(path), path.resolve()
        if not files:
            raise DatasetImportError(f"{path}: no .eaf files in this folder")
    else:
        raise DatasetImportError(f"{path}: no such file or folder")
    importer = _EafImporter(store, root, ImportReport(name or root.name), name is not None)
    for file in files:
        importer.import_file(file)
    return importer.report


@dataclass
class _Target:
    clip_id: int
    dataset_id: int
    new: bool


class _EafImporter:
    def __init__(self, store: Store, root: Path, report: ImportReport, explicit_name: bool):
        self.store, self.root, self.report = store, root, report
        self.explicit_name = explicit_name  # a name the user chose is never renamed NAME-2
        self.tasks = TaskMatcher(store)
        self.by_media = clips_by_media_file(store)
        self.dataset_id: int | None = None  # the dataset new clips go to, made when needed

    def import_file(self, path: Path) -> None:
        try:
            doc = read_eaf(path)
        except EafError as exc:
            self._bad_file(path, str(exc).removeprefix(f"{path}: "))
            return
        work = classify(doc, self.tasks, lambda where, msg: self.report.issue(where, msg))
        media = self._media(doc)
        try:
            target = self._clip(doc, media, work)
        except DatasetImportError as exc:
            self._bad_file(path, str(exc))
            return
        if self.report.dataset_id is None:
            self.report.dataset_id = target.dataset_id
        self._merge(path, target, work)

    def _bad_file(self, path: Path, message: str) -> None:
        self.report.skipped += 1
        self.report.issue(path, f"not imported: {message}")

    # --- which clip ---------------------------------------------------------------------------

    def _media(self, doc: EafDocument) -> Path | None:
        """The media file the document names: RELATIVE_MEDIA_URL first (it survives moving
        the folder with its media), then MEDIA_URL; percent-encoded or not (older ELANs)."""
        for candidate in _named_media(doc):
            if candidate.is_file():
                return candidate.resolve()
        return None

    def _clip_of_missing_media(self, doc: EafDocument) -> _Target | None:
        """The stored clip whose media file the document names, when that file is missing:
        the work goes to it (never to a new text-only copy) and it is marked missing_file."""
        for candidate in _named_media(doc):
            path = _missing_path(candidate)
            clip_id = self.by_media.get(path) if path is not None else None
            if clip_id is None:
                continue
            clip = self._stored_clip(clip_id)
            self.report.media_missing += 1
            self.report.issue(doc.path, f"media file {path!r} is missing: its clip "
                              f"{clip['external_id']!r} ({clip['dataset_name']}) keeps it and "
                              "gets this file's work, marked missing_file, not text-only "
                              "(`mmla media probe` probes it again once it is back)")
            mark_media_missing(self.store, [(clip_id, f"{path}: file not found (at the import "
                                                      f"of {doc.path}).")])
            return _Target(clip_id, int(clip["dataset_id"]), False)
        return None

    def _clip(self, doc: EafDocument, media: Path | None, work: ClipWork) -> _Target:
        """The clip with the named media; else, in the import's own dataset, the clip with the
        file's id and the same media (or none: a text-only clip imported before); else new."""
        clip_id = self.by_media.get(str(media)) if media is not None else None
        if clip_id is not None:
            return self._clip_the_file_names(doc, self._stored_clip(clip_id))
        if media is None:
            kept = self._clip_of_missing_media(doc)
            if kept is not None:
                return kept
            named = ", ".join(m.get("MEDIA_URL", "?") for m in doc.media) or "none"
            self.report.issue(doc.path, f"media not found (named: {named}); imported "
                              "text-only")
        if self.dataset_id is None:
            self.dataset_id = open_dataset(self.store, self.report, self.root, EAF_KIND,
                                           explicit_name=self.explicit_name)
        dataset_id = self.dataset_id
        split = doc.properties.get(PROP_SPLIT, "")
        wanted = doc.properties.get(PROP_CLIP) or doc.path.stem
        ids = clip_ids_by_key(self.store, dataset_id)
        if media is None and (split, wanted) in ids:
            known = self._stored_clip(ids[(split, wanted)])
            if not known["media_path"]:
                return _Target(known["id"], dataset_id, False)
        external_id, n = wanted, 1
        while (split, external_id) in ids:  # that id is another clip: never merge into it
            n += 1
            external_id = f"{wanted}~{n}"
        if external_id != wanted:
            self.report.issue(doc.path, f"clip id {wanted!r} (split {split!r}) is another clip "
                              f"of dataset {self.report.dataset!r}; imported as {external_id!r}")
        return self._new_clip(dataset_id, split, external_id, media, work)

    def _clip_the_file_names(self, doc: EafDocument, by_media: dict) -> _Target:
        """The clip whose media the file names, unless the file says (its `mmla:dataset` and
        `mmla:clip`, as our export writes them) that it is another clip of that dataset: a
        text variant's file (misleading caption, long context) names its parent's media, and
        its transcript must not land on the parent. That clip gets the work; a project
        without it refuses the file."""
        named = doc.properties.get(PROP_CLIP)
        if (not named or named == by_media["external_id"]
                or doc.properties.get(PROP_DATASET) != by_media["dataset_name"]):
            return _Target(by_media["id"], int(by_media["dataset_id"]), False)
        split = doc.properties.get(PROP_SPLIT, by_media["split"])
        other = clip_ids_by_key(self.store, int(by_media["dataset_id"])).get((split, named))
        if other is None:
            raise DatasetImportError(
                f"it is clip {named!r} of dataset {by_media['dataset_name']!r} (its mmla:clip), "
                f"which this project lacks, and its media is clip "
                f"{by_media['external_id']!r}'s: not imported into that clip (a text "
                "variant's file names its parent's media)")
        return _Target(other, int(by_media["dataset_id"]), False)

    def _stored_clip(self, clip_id: int) -> dict:
        clip = get_clip(self.store, clip_id)
        if clip is None:   # deleted meanwhile, from another window or process
            raise DatasetImportError(f"clip {clip_id} was deleted during the import")
        return clip

    def _new_clip(self, dataset_id: int, split: str, external_id: str, media: Path | None,
                  work: ClipWork) -> _Target:
        media_root, media_path = None, None
        if media is not None:
            if media.is_relative_to(self.root):
                media_path = media.relative_to(self.root).as_posix()
            else:  # ELAN names media anywhere; the clip keeps that folder as its own root
                media_root, media_path = str(media.parent), media.name
        counts = upsert_clips(self.store, dataset_id, [{
            "external_id": external_id, "split": split, "media_path": media_path,
            "transcript": work.transcript or ""}])
        self.report.add_counts(counts)
        self.report.text_only += media_path is None
        clip_id = clip_ids_by_key(self.store, dataset_id)[(split, external_id)]
        set_clip_media_root(self.store, clip_id, media_root)
        if media is not None:
            self.by_media[str(media)] = clip_id
        return _Target(clip_id, dataset_id, True)

    # --- what goes into it --------------------------------------------------------------------

    def _merge(self, path: Path, target: _Target, work: ClipWork) -> None:
        if not target.new:
            self._transcript(path, target.clip_id, work.transcript)
        for task_id in dict.fromkeys(t for t, _, _ in work.labels):
            attach_task(self.store, target.dataset_id, task_id)
        labels = merge_labels(self.store, [(target.clip_id, *row) for row in work.labels])
        answers = merge_check_answers(self.store,
                                      [(target.clip_id, *row) for row in work.answers])
        reviews = merge_reviews(self.store, [(target.clip_id, *row) for row in work.verdicts])
        self.report.labels += labels.written + answers.written + reviews.written
        for counts in (labels, answers, reviews):
            self._report_kept(path, counts)

    def _transcript(self, path: Path, clip_id: int, text: str | None) -> None:
        clip = self._stored_clip(clip_id)
        if text is None or text == clip["transcript"]:
            self.report.unchanged += 1
            return
        if clip.get("parent_clip_id") is not None:  # derived from its parent's, never set
            self.report.unchanged += 1
            self.report.issue(path, "transcript: a conflict variant's text follows its parent "
                              f"clip's and is kept; the file says {text!r} (edit the parent's)")
            return
        if clip_id in edited_transcripts(self.store, [clip_id]):
            self.report.unchanged += 1
            self.report.issue(path, "transcript: the project's, edited by a person, kept; the "
                              f"file says {text!r}")
            return
        set_clip_transcript(self.store, clip_id, text)
        self.report.updated += 1

    def _report_kept(self, path: Path, counts: MergeCounts) -> None:
        names = self.tasks.names
        for _clip, key, annotator, ours, theirs in counts.kept:
            what = names.get(key, key) if isinstance(key, int) else key
            self.report.issue(path, f"{what}: {annotator}'s {ours!r} in the project kept; the "
                              f"file says {theirs!r}")


def _named_media(doc: EafDocument) -> list[Path]:
    """The media paths the document names, whether or not they exist: RELATIVE_MEDIA_URL
    first, then MEDIA_URL; percent-encoded or not (older ELANs)."""
    candidates: list[Path] = []
    for descriptor in doc.media:
        relative = descriptor.get("RELATIVE_MEDIA_URL", "")
        if relative:
            relative = relative.removeprefix("file:")
            candidates += [doc.path.parent / unquote(relative), doc.path.parent / relative]
        absolute = urlparse(descriptor.get("MEDIA_URL", ""))
        if absolute.scheme in ("file", "") and absolute.path:
            candidates += [Path(unquote(absolute.path)), Path(absolute.path)]
    return [c for c in candidates if c.suffix.lower() in MEDIA_EXTENSIONS]


def _missing_path(candidate: Path) -> str | None:
    """The absolute path of a named media file that does not exist (None: it exists, or the
    name cannot be a file at all: a NUL byte, a loop)."""
    try:
        if candidate.exists():
            return None
        return str(candidate.resolve())
    except (OSError, ValueError, RuntimeError):
        return None
