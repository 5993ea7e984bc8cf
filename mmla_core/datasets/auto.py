"""Import whatever the user points at: an MMLA tree, a clip folder, a sharegpt file, or ELAN
`.eaf` files (one, or a folder of them).

Shared by `mmla import` and the GUI's File > Import / drag and drop, so both pick the same
importer for the same path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mmla_core.datasets.eaf_import import import_eaf
from mmla_core.datasets.folder import folder_contents, import_folder
from mmla_core.datasets.mmla_layout import import_mmla
from mmla_core.datasets.report import DatasetImportError, ImportReport
from mmla_core.datasets.sharegpt import import_sharegpt
from mmla_core.store import Store

KINDS = ("auto", "mmla", "folder", "sharegpt", "eaf")
FILE_KINDS = {".json": "sharegpt", ".jsonl": "sharegpt", ".eaf": "eaf"}


def detect_kind(path: Path) -> str:
    """mmla: a folder with DATASET/{split}.tsv (or one such folder); sharegpt: .json/.jsonl;
    eaf: a .eaf file, or a folder holding .eaf files; folder: media files and/or a manifest.
    A folder with none of these is an error, not an empty dataset."""
    if path.is_file():
        kind = FILE_KINDS.get(path.suffix.lower())
        if kind is None:
            raise DatasetImportError(f"{path}: not a file mmla imports (a .eaf, .json or .jsonl "
                                     "file; or a folder)")
        return kind
    if not path.is_dir():
        raise DatasetImportError(f"{path}: no such file or folder")
    if any(path.glob("*.tsv")) or any(path.glob("*/*.tsv")):
        return "mmla"
    contents = folder_contents(path)
    if contents.eaf:
        return "eaf"
    if contents.media or contents.manifest:
        return "folder"
    raise DatasetImportError(contents.nothing_message(path))


def import_path(store: Store, path: str | Path, *, kind: str = "auto", name: str | None = None,
                manifest: Path | None = None, task: str | None = None,
                only: list[str] | None = None,
                progress: Callable[[int, int], None] | None = None,
                overwrite_curated: bool = False,
                media_root: str | Path | None = None) -> list[ImportReport]:
    """`overwrite_curated`: take the source's values over a person's edits (undoable edits).
    `media_root`: where a sharegpt file's media are looked up (MMLA's cluster paths included)."""
    path = Path(path)
    kind = detect_kind(path) if kind == "auto" else kind
    if media_root is not None and kind != "sharegpt":
        raise DatasetImportError(f"{path}: a media root applies to sharegpt (.json/.jsonl) "
                                 f"files only, not to a {kind} import")
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
