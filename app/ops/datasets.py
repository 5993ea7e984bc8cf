"""Dataset writes: delete a dataset (File > Delete dataset…). Returns an `Op` declaring its
`Changes`; the dialog runs it with `run_job` (a runner job: it removes variant files too).

A delete removes the dataset's clips and variants with their labels, answers and reviews, and
the runs it owns (mmla_core.store.dataset_delete); training jobs stay.
"""

from __future__ import annotations

from mmla_app.ops.op import Op
from mmla_core.changes import CLIPS, DATASETS, LABELS, RUNS, Changes
from mmla_core.datasets.remove import remove_dataset


def _write_delete(store, dataset_id: int):
    return remove_dataset(store, dataset_id)


def delete_dataset(dataset_id: int) -> Op:
    """The dataset's rows in one commit, then its variant files (a DatasetRemoval)."""
    return Op(_write_delete, (dataset_id,), Changes.of(DATASETS, CLIPS, LABELS, RUNS))
