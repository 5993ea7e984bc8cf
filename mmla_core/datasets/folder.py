"""Import a plain folder of media files, optionally described by a CSV / JSONL manifest.

Without a manifest every media file under the folder becomes a clip (external id = its relative
path without the extension, split ''). With one, the manifest names the clips: each row is one
(with its transcript, split and labels; `external_id` renames it, a row without `path` is
text-only), and a media file no row names is not imported, only counted and named in the
summary ("not in the manifest"): a row that points clip `a` at `a_take2.mp4` does not leave
`a.mp4` to become a second clip, and a clip imported before whose file is now unlisted stays as
it is. Manifest paths are confined to the folder (`mmla_core.paths.confine`): `../x.mp4`, an
absolute path elsewhere or a symlink leading out is reported and the row skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mmla_core.datasets.common import (
    MEDIA_EXTENSIONS,
    PendingClip,
    name_dataset,
    open_dataset,
    write_clips,
)
from mmla_core.datasets.entries import storable
from mmla_core.datasets.manifest import (
    TaskCatalog,
    read_manifest,
    read_task_sidecars,
    row_labels,
)
from mmla_core.datasets.manifest_pick import explicit_manifest, find_manifest
from mmla_core.datasets.report import DatasetImportError, ImportReport
from mmla_core.paths import PathEscapeError, confine, relative_to_root
from mmla_core.store.catalog import attach_task
from mmla_core.store.clip_rows import keys_by_media_path
from mmla_core.store.db import Store


def import_folder(
    store: Store, folder: str | os.PathLike, *, name: str | None = None,
    manifest: str | os.PathLike | None = None, overwrite_curated: bool = False,
) -> ImportReport:
    """Import `folder` as dataset `name` (default: the folder's name)."""
    root = Path(folder).resolve()
    if not root.is_dir():
        raise DatasetImportError(f"{folder}: not a folder")
    report = ImportReport(name or root.name)
    manifest_path = (explicit_manifest(Path(manifest)) if manifest is not None
                     else find_manifest(root, report))
    if manifest_path is None and not folder_contents(root).media:
        raise DatasetImportError("; ".join([folder_contents(root).nothing_message(root),
                                            *report.ignored]))
    explicit = name is not None
    name_dataset(store, report, root, "folder", explicit_name=explicit)
    media = scan_media(root, report)
    applier = (ManifestApplier(store, root, manifest_path, media, report)
               if manifest_path is not None else None)
    pending, task_ids = applier.apply() if applier is not None else (list(media.values()), set())
    if not pending:  # no clip to import: no dataset made, one imported before untouched
        report.issue(manifest_path or root, "no clip to import")
        return report
    dataset_id = open_dataset(store, report, root, "folder", explicit_name=explicit)
    if applier is not None:
        task_ids |= applier.catalog.defined_ids()
    for task_id in sorted(task_ids):
        attach_task(store, dataset_id, task_id)
    keep_existing_keys(store, dataset_id, pending, report, root)
    write_clips(store, dataset_id, pending, report, overwrite_curated=overwrite_curated)
    if applier is not None:
        unlisted = applier.unlisted()
        report.not_in_manifest(applier.manifest.name, unlisted,
                               kept=set(keys_by_media_path(store, dataset_id)) & set(unlisted))
    return report


@dataclass
class FolderContents:
    """Whether a manifest is there is manifest_pick.find_manifest's to say (its rule alone)."""

    eaf: bool = False      # an ELAN .eaf file somewhere under the folder
    media: bool = False    # a media file (MEDIA_EXTENSIONS) somewhere under it

    def nothing_message(self, folder: Path) -> str:
        kinds = ", ".join(sorted(MEDIA_EXTENSIONS))
        return (f"{folder}: nothing to import: no .eaf file, no media file ({kinds}) and no "
                "manifest (manifest.csv / *.jsonl) in this folder or below")


def folder_contents(root: Path) -> FolderContents:
    """What kinds of importable files the folder holds; stops at the first .eaf."""
    found = FolderContents()
    for _folder, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            suffix = Path(filename).suffix.lower()
            if suffix == ".eaf" and not filename.startswith("."):
                found.eaf = True
                return found
            found.media = found.media or suffix in MEDIA_EXTENSIONS
    return found


def keep_existing_keys(store: Store, dataset_id: int, pending: list[PendingClip],
                       report: ImportReport, root: Path) -> None:
    """A media file no manifest row describes (this time) stays the clip it already is.

    Without this, re-importing with its row missing or skipped would add the file again under
    split '' next to the clip that holds the curator's work. Files that are clips already keep
    their keys first: a clip a manifest once pointed at another file (`a` -> a_take2.mp4) keeps
    it, and the file whose name is that clip's id (a.mp4) is imported under its path, reported
    as scan_media reports two files sharing an id. A file a manifest row describes (its `where`
    names the row) takes the row's split, with or without a transcript column.
    """
    scanned = [c for c in pending if not c.where and c.media_path]
    if not scanned:
        return
    known = keys_by_media_path(store, dataset_id)
    taken = {(c.split, c.external_id) for c in pending if c.where or not c.media_path}
    fresh = []
    for clip in scanned:
        key = known.get(clip.media_path or "")
        if key is None or key in taken:
            fresh.append(clip)
            continue
        clip.split, clip.external_id = key
        taken.add(key)
    for clip in fresh:
        if (clip.split, clip.external_id) in taken and clip.media_path:
            report.issue(root / clip.media_path, f"its id {clip.external_id!r} is a clip "
                         f"with another file; imported with id {clip.media_path!r}")
            clip.external_id = clip.media_path
        taken.add((clip.split, clip.external_id))


def scan_media(root: Path, report: ImportReport) -> dict[str, PendingClip]:
    """{relative path: clip} for every media file under root (hidden folders skipped)."""
    found: dict[str, PendingClip] = {}
    ids: dict[str, str] = {}

    def unlisted(exc: OSError) -> None:
        report.issue(exc.filename, f"cannot list folder ({exc.strerror}); skipped")

    for dirpath, dirnames, filenames in os.walk(root, onerror=unlisted):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and _storable_name(Path(dirpath) / d, report))
        for filename in sorted(filenames):
            if Path(filename).suffix.lower() not in MEDIA_EXTENSIONS or filename.startswith("."):
                continue
            if not _storable_name(Path(dirpath) / filename, report):
                continue
            relative = (Path(dirpath) / filename).relative_to(root).as_posix()
            try:
                confine(root, relative)
            except PathEscapeError as exc:
                report.issue(root / relative, f"{exc}; skipped")
                continue
            external_id = str(PurePosixPath(relative).with_suffix(""))
            if external_id in ids:
                report.issue(root / relative, f"shares the id {external_id!r} with "
                             f"{ids[external_id]}; imported with id {relative!r}")
                external_id = relative
            ids[external_id] = relative
            found[relative] = PendingClip(external_id, "", relative, None)
    return found


def _storable_name(path: Path, report: ImportReport) -> bool:
    """A file or folder name that is not UTF-8 cannot be stored (nor shown): reported, skipped."""
    if storable(path.name):
        return True
    report.issue(path, "name is not valid UTF-8; skipped (rename it to import it)")
    return False


class ManifestApplier:
    """Merges manifest rows into the scanned media clips."""

    def __init__(self, store: Store, root: Path, manifest: Path,
                 media: dict[str, PendingClip], report: ImportReport):
        self.root, self.manifest, self.media, self.report = root, manifest, media, report
        rows, definitions = read_manifest(manifest, report)
        sidecars = read_task_sidecars([root, manifest.parent], report)
        self.rows = rows
        self.catalog = TaskCatalog(store, report, sidecars + definitions)
        self.claimed: set[str] = set()  # media files a manifest row took over
        self.keys: dict[tuple[str, str], int] = {}  # (split, external id) -> line

    def apply(self) -> tuple[list[PendingClip], set[int]]:
        """The clips the manifest's rows name (the folder's other media files are not clips:
        `unlisted`), and the ids of the tasks they label (`catalog.defined_ids`: those it
        defines, stored once there are clips to import)."""
        clips = [c for c in (self._row(line, f) for line, f in self.rows) if c is not None]
        self.catalog.close(self.manifest)
        return clips, {task_id for clip in clips for task_id in clip.labels}

    def unlisted(self) -> list[str]:
        """The media files under the folder that no manifest row names (relative paths)."""
        return [relative for relative in self.media if relative not in self.claimed]

    def _row(self, line: int, fields: dict) -> PendingClip | None:
        where = f"{self.manifest}:{line}"
        path = _text(fields.get("path") or fields.get("media_path"))
        external_id = _text(fields.get("external_id")) or _text(fields.get("id"))
        if not path and not external_id:
            self._skip(where, "row has no 'path' (nor an 'external_id' for a text-only "
                       "clip); skipped")
            return None
        media_path, media_issue = None, None
        if path:
            try:
                relative = relative_to_root(self.root, path)
            except PathEscapeError as exc:
                self._skip(where, f"{exc}; row skipped")
                return None
            media_path, media_issue = self._media(relative, path)
            external_id = external_id or str(PurePosixPath(relative).with_suffix(""))
        text = fields.get("transcript", fields.get("utterance"))
        clip = PendingClip(external_id, _text(fields.get("split")), media_path,
                           None if text is None else _text(text), where=where,
                           media_issue=media_issue)
        key = (clip.split, clip.external_id)
        if key in self.keys:
            self._skip(where, f"duplicate id {external_id!r} in split {clip.split!r} "
                       f"(first on line {self.keys[key]}); skipped")
            return None
        self.keys[key] = line
        clip.labels, problems = row_labels(fields, line, self.catalog)
        for problem in problems:
            self.report.issue(where, problem)
        return clip

    def _media(self, relative: str, path: str) -> tuple[str | None, str | None]:
        """(the row's media file, None) or (None, why not: reported by write_clips, where a
        clip already stored keeps its file and a new one imports text-only)."""
        if relative in self.media:
            self.claimed.add(relative)
            return relative, None
        if (self.root / relative).is_file():
            return relative, None
        return None, f"media file {path!r} not found under {self.root}"

    def _skip(self, where: str, message: str) -> None:
        self.report.skipped += 1
        self.report.issue(where, message)


def _text(value) -> str:
    if value is None:
        return ""
    return str(value).strip()
