"""Import whatever the user points at: an MMLA tree, a clip folder or a sharegpt file.

Shared by `mmla import` and the GUI's File > Import / drag and drop, so both pick the same
importer for the same path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mmla_core.datasets.folder import import_folder
from mmla_core.datasets.mmla_layout import import_mmla
from mmla_core.datasets.report import DatasetImportError, ImportReport
from mmla_core.datasets.sharegpt import import_sharegpt
from mmla_core.store import Store

KINDS = ("auto", "mmla", "folder", "sharegpt")


def detect_kind(path: Path) -> str:
    """mmla: a folder with DATASET/{split}.tsv (or one such folder); sharegpt: .json/.jsonl."""
    if path.is_file() and path.suffix.lower() in (".json", ".jsonl"):
        return "sharegpt"
    if not path.is_dir():
        raise DatasetImportError(f"{path}: no such folder or JSON file")
    if any(path.glob("*.tsv")) or any(path.glob("*/*.tsv")):
        return "mmla"
    return "folder"


def import_path(store: Store, path: str | Path, *, kind: str = "auto", name: str | None = None,
                manifest: Path | None = None, task: str | None = None,
                only: list[str] | None = None,
                progress: Callable[[int, int], None] | None = None) -> list[ImportReport]:
    path = Path(path)
    kind = detect_kind(path) if kind == "auto" else kind
    if kind == "mmla":
        return import_mmla(store, path, only=only, progress=progress)
    if kind == "folder":
        return [import_folder(store, path, name=name, manifest=manifest)]
    if kind == "sharegpt":
        return [import_sharegpt(store, path, name=name, task=task)]
    raise DatasetImportError(f"unknown import kind {kind!r}; one of {KINDS}")
