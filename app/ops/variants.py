"""Variant writes (the Variants panel): one variant, a clip's MMA-Bench set, a dataset batch,
delete. Each returns an `Op` (mmla_app.ops.op) declaring its `Changes`; they write media files,
so the panel runs them with `run_job` (a runner job), not on the writer thread.

A new variant is a new clip row under its parent (CLIPS); with "Copy labels" it also gets the
parent's labels (LABELS). Deleting one removes its row, its labels and answers, and its file.
"""

from __future__ import annotations

from mmla_app.ops.op import Op
from mmla_core.changes import CLIPS, LABELS, Changes
from mmla_core.store.catalog import get_clip
from mmla_core.variants.batch import make_variants
from mmla_core.variants.presets import preset_specs
from mmla_core.variants.store_ops import VariantRemoval
from mmla_core.variants.store_ops import create_variant as store_create
from mmla_core.variants.store_ops import delete_variant as store_delete


def _made(clip_id: int, copy_labels: bool) -> Changes:
    return Changes.of(CLIPS, *((LABELS,) if copy_labels else ()), clip_ids=(clip_id,))


def _write_variant(store, clip_id: int, steps: list, seed: int, copy_labels: bool):
    return store_create(store, clip_id, steps, seed, copy_labels=copy_labels)


def create_variant(clip_id: int, steps: list, seed: int, copy_labels: bool) -> Op:
    """One variant of `clip_id` from `steps` (recipes applied in order)."""
    return Op(_write_variant, (clip_id, steps, seed, copy_labels), _made(clip_id, copy_labels))


def _write_mmabench(store, clip_id: int, seed: int, copy_labels: bool):
    clip = get_clip(store, clip_id)
    if clip is None:
        raise ValueError(f"clip {clip_id} is no longer in the project")
    return make_variants(store, int(clip["dataset_id"]), preset_specs("mmabench"), seed,
                         clip_ids=[clip_id], workers=1, copy_labels=copy_labels)


def make_mmabench_set(clip_id: int, seed: int, copy_labels: bool) -> Op:
    """MMA-Bench's conflicts of one clip (a BatchReport)."""
    return Op(_write_mmabench, (clip_id, seed, copy_labels), _made(clip_id, copy_labels))


def _write_batch(store, dataset_id: int, specs: list, seed: int, progress, cancel):
    return make_variants(store, dataset_id, specs, seed, cancel=cancel, progress=progress)


def make_dataset_variants(dataset_id: int, specs: list, seed: int, *, progress,
                          cancel) -> Op:
    """Every spec for every source clip of the dataset; `progress(done, total)` from the job's
    thread, `cancel` an Event (a cancelled batch resumes when run again)."""
    return Op(_write_batch, (dataset_id, specs, seed, progress, cancel),
              Changes.of(CLIPS))


def _write_delete(store, variant_id: int) -> VariantRemoval:
    return store_delete(store, variant_id)


def delete_variant(variant_id: int) -> Op:
    """The variant's row, labels, answers and owned file (a VariantRemoval: the files removed,
    and those left outside this project's variants folder)."""
    return Op(_write_delete, (variant_id,), Changes.of(CLIPS, LABELS, clip_ids=(variant_id,)))
