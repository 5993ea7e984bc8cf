"""Import whatever the user points at: an MMLA tree, a clip folder, a sharegpt file, or ELAN
`.eaf` files (one, or a folder of them). Which folder is an MMLA tree: mmla_pick.py.

Shared by `mmla import` and the GUI's File > Import / drag and drop, so both pick the same
importer for the same path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mmla_core.datasets.eaf_import import import_eaf
from mmla_core.datasets.folder import folder_contents, import_folder
from mmla_core.datasets.manifest_pick import find_manifest
from mmla_core.datasets.mmla_layout import dataset_folders, import_mmla
from mmla_core.datasets.mmla_pick import refuse_if_clips_too, tsv_files
from mmla_core.datasets.report import DatasetImportError, ImportReport
from mmla_core.datasets.sharegpt import import_sharegpt
from mmla_core.store import Store
from mmla_core.store.catalog import datasets_by_root

# What a path can be imported as (`mmla import --kind`, the GUI import dialogs' kind choice):
# kind -> (its name in words, what importing as it reads)
KIND_MEANINGS = {
    "auto": ("Detect automatically", "picked by the path's look; a folder that reads two ways "
             "is refused until a kind is chosen"),
    "mmla": ("MMLA tree", "each dataset folder's train/dev/test.tsv rows, videos in <DS>/video/"),
    "folder": ("Folder of clips", "every media file a clip, or the rows of its manifest"),
    "sharegpt": ("sharegpt file", "a LLaMA-Factory .json / .jsonl file's records"),
    "eaf": ("ELAN .eaf files", "one .eaf file, or a folder of them"),
}
KINDS = tuple(KIND_MEANINGS)
FOLDER_IMPORT_KINDS = ("auto", "mmla", "folder", "eaf")  # the kinds a folder can be
FILE_IMPORT_KINDS = ("auto", "sharegpt", "eaf")  # the kinds a file can be
FILE_KINDS = {".json": "sharegpt", ".jsonl": "sharegpt", ".eaf": "eaf"}
NOTHING_LISTED = 5  # problems (and notes) named when an import finds no clip at all


@dataclass(frozen=True)
class KindPick:
    """The importer for a path, and the files it leaves out, each with why (report notes)."""

    kind: str
    ignored: tuple[str, ...] = ()


def detect_kind(path: Path) -> str:
    return pick_kind(path).kind


def pick_kind(path: Path, *, manifest: Path | None = None) -> KindPick:
    """mmla: a folder whose TSVs look like MMLA's (mmla_pick.py; one that is also a clip folder
    is refused, AmbiguousKindError); sharegpt: .json/.jsonl; eaf: a .eaf file, or a folder
    holding .eaf files; folder: media files and/or a manifest (any other TSV ignored, noted).
    A folder with none of these is an error, not an empty dataset. A folder given with a
    `manifest` (`--manifest FILE`) is a folder import: only that import reads one."""
    if manifest is not None and path.is_dir():
        return KindPick("folder")
    if path.is_file():
        kind = FILE_KINDS.get(path.suffix.lower())
        if kind is None:
            raise DatasetImportError(f"{path}: not a file mmla imports (a .eaf, .json or .jsonl "
                                     "file; or a folder)")
        return KindPick(kind)
    if not path.is_dir():
        raise DatasetImportError(f"{path}: no such file or folder")
    tsvs = tsv_files(path)
    if any(tsv.is_mmla for tsv in tsvs):
        refuse_if_clips_too(path, tsvs)
        return KindPick("mmla")
    ignored = tuple(tsv.ignored_note() for tsv in tsvs)
    contents = folder_contents(path)
    if contents.eaf:
        return KindPick("eaf", ignored)
    if contents.media:
        return KindPick("folder", ignored)
    has_manifest, not_manifests = _manifest_meant(path)
    if has_manifest:
        return KindPick("folder", ignored)
    raise DatasetImportError("; ".join([contents.nothing_message(path), *ignored,
                                        *not_manifests]))


def kind_imported_before(store: Store, path: Path, kinds: Iterable[str]) -> str | None:
    """The first of `kinds` this project imported `path` as before: a dataset of that kind is
    rooted where importing `path` as it roots one (each MMLA dataset folder for mmla, the
    folder itself otherwise). What the project holds, not a remembered setting: a folder that
    reads two ways is offered again as what it was made of."""
    folder = path.resolve()
    for kind in kinds:
        roots = ([f.resolve() for f in dataset_folders(folder)] if kind == "mmla"
                 and folder.is_dir() else [folder])
        if any(datasets_by_root(store, str(root), kind) for root in roots):
            return kind
    return None


def _manifest_meant(folder: Path) -> tuple[bool, list[str]]:
    """(whether the folder has a manifest by find_manifest's rule, the notes on the files that
    are not one). A file named or looking like one that find_manifest refuses counts: the folder
    importer refuses it, saying why (or --manifest FILE names another)."""
    notes = ImportReport(folder.name)
    try:
        return find_manifest(folder, notes) is not None, notes.ignored
    except DatasetImportError:
        return True, []


def import_path(store: Store, path: str | Path, *, kind: str | KindPick = "auto",
                name: str | None = None, manifest: Path | None = None, task: str | None = None,
                only: list[str] | None = None,
                progress: Callable[[int, int], None] | None = None,
                overwrite_curated: bool = False,
                media_root: str | Path | None = None) -> list[ImportReport]:
    """`kind`: "auto" (picked by `pick_kind`), a kind, or a pick made before (the files it
    ignores become notes of the report, or of the refusal).
    `overwrite_curated`: take the source's values over a person's edits (undoable edits).
    `media_root`: where a sharegpt file's media are looked up (MMLA's cluster paths included)."""
    path = Path(path)
    pick = (kind if isinstance(kind, KindPick)
            else pick_kind(path, manifest=manifest) if kind == "auto" else KindPick(kind))
    if media_root is not None and pick.kind != "sharegpt":
        raise DatasetImportError(f"{path}: a media root applies to sharegpt (.json/.jsonl) "
                                 f"files only, not to a {pick.kind} import")
    try:
        reports = _import_as(store, path, pick.kind, name=name, manifest=manifest, task=task,
                             only=only, progress=progress, overwrite_curated=overwrite_curated,
                             media_root=media_root)
    except DatasetImportError as exc:
        if not pick.ignored:
            raise
        raise type(exc)("; ".join([str(exc), *pick.ignored])) from exc
    for report in reports:
        report.ignored.extend(pick.ignored)
    if not any(report.clips for report in reports):
        raise DatasetImportError(nothing_imported(path, pick.kind, reports))
    return reports


def nothing_imported(path: Path, kind: str, reports: list[ImportReport]) -> str:
    """Why an import that found no clip failed: the path, the kind it was read as and what that
    kind reads, then each report's problems (the importers wrote nothing for them)."""
    title, reads = KIND_MEANINGS[kind]
    problems = [str(issue) for report in reports for issue in report.issues]
    notes = [note for report in reports for note in report.ignored]
    shown = problems[:NOTHING_LISTED] + notes[:NOTHING_LISTED]
    more = len(problems) + len(notes) - len(shown)
    return (f"{path}: no clip to import as {title} ({kind}: {reads}), so nothing was "
            "written: " + "; ".join(shown + ([f"... and {more} more"] if more else [])))


def _import_as(store: Store, path: Path, kind: str, *, name: str | None,
               manifest: Path | None, task: str | None, only: list[str] | None,
               progress: Callable[[int, int], None] | None, overwrite_curated: bool,
               media_root: str | Path | None) -> list[ImportReport]:
    keep = {"overwrite_curated": overwrite_curated}
    if kind == "mmla":
        return import_mmla(store, path, only=only, progress=progress, **keep)
    if kind == "folder":
        return [import_folder(store, path, name=name, manifest=manifest, **keep)]
    if kind == "sharegpt":
        return [import_sharegpt(store, path, name=name, task=task, media_root=media_root,
                                **keep)]
    if kind == "eaf":
        return [import_eaf(store, path, name=name)]
    raise DatasetImportError(f"unknown import kind {kind!r}; one of {KINDS}")
