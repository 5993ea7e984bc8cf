"""Delete a dataset from a project: its rows, then the variant files the app wrote for it.

The dataset's own folder (the imported media) is never touched: it may be shared or read-only
and it is the user's. Only files inside the project's `<project>.variants/` folder go; variant
files a copied database names in another project's variants folder are left, and the summary
says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mmla_core.store.catalog import find_dataset
from mmla_core.store.clip_rows import variant_clips
from mmla_core.store.dataset_delete import (
    DatasetFootprint,
    dataset_footprint,
    delete_dataset_rows,
    owned_runs,
)
from mmla_core.store.db import Store
from mmla_core.variants.store_ops import (
    left_note,
    remove_variant_files,
    split_owned,
    variants_dir,
    variants_root,
)
from mmla_core.words import count

__all__ = ["DatasetRemoval", "plan_removal", "remove_dataset"]


@dataclass(frozen=True)
class DatasetRemoval:
    footprint: DatasetFootprint
    files: list[Path]  # variant media files the app wrote (sidecars go with them)
    left: list[Path]   # variant files outside this project's variants folder: never removed
    root: Path         # this project's variants folder

    def summary(self) -> str:
        text = f"{self.footprint.summary()}, {count(len(self.files), 'variant file')}"
        left = left_note(self.left, self.root)
        return f"{text} ({left})" if left else text


def _dataset(store: Store, ref: str | int) -> dict:
    dataset = find_dataset(store, ref)
    if dataset is None:
        raise ValueError(f"no dataset named {ref!r} (see `mmla ls --datasets`)")
    return dataset


def plan_removal(store: Store, ref: str | int) -> DatasetRemoval:
    """What deleting dataset `ref` (name or id) would remove; nothing changes yet."""
    dataset = _dataset(store, ref)
    variants = variant_clips(store, dataset["id"])
    files, left = split_owned(store, variants)
    return DatasetRemoval(dataset_footprint(store, dataset), files, left, variants_root(store))


def remove_dataset(store: Store, ref: str | int) -> DatasetRemoval:
    """Delete the dataset's rows in one commit, then its variant files; returns what went."""
    removal = plan_removal(store, ref)
    dataset_id = removal.footprint.dataset_id
    delete_dataset_rows(store, dataset_id, owned_runs(store, dataset_id))
    remove_variant_files(removal.files)
    folder = variants_dir(store, removal.footprint.name)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    return removal
