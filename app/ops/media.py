"""Media files: File > Re-check media files. Returns an `Op` declaring its `Changes`; it runs
with `run_job` on the project's runner (probing changed files can take a while).

The same core call as `mmla media probe`: every probed file is stat-ed against the size and time
its probe recorded; a missing file is marked `missing_file`, a changed one probed again, and the
unprobed ones are probed (mmla_core.datasets.media_check).
"""

from __future__ import annotations

from mmla_app.ops.op import Op
from mmla_core.changes import CLIPS, Changes
from mmla_core.datasets import check_media


def _write_recheck(store, dataset_id: int | None, progress):
    return check_media(store, dataset_id, progress=progress)


def recheck_media(dataset_id: int | None = None, *,
                  progress=lambda done, total: None) -> Op:
    """Re-check one dataset's media (None: every dataset's); returns a `MediaCheck`."""
    return Op(_write_recheck, (dataset_id, progress), Changes.of(CLIPS))
