"""Imports: a dataset folder, a file (sharegpt JSON, ELAN .eaf), the bundled demo clips. Each
returns an `Op` declaring its `Changes`; they run with `run_job` on the project's runner (an
import is long; it never waits behind the writer thread's queue, nor a label key behind it).

An import adds datasets and clips, and labels (the source's, or an .eaf's annotators, merged
so that a person's edit is kept).
"""

from __future__ import annotations

from pathlib import Path

from mmla_app.ops.op import Op
from mmla_core.changes import CLIPS, DATASETS, LABELS, Changes
from mmla_core.datasets import check_media
from mmla_core.datasets.auto import KindPick
from mmla_core.datasets.auto import import_path as import_dataset_path
from mmla_core.demo import ensure_demo

IMPORTED = Changes.of(DATASETS, CLIPS, LABELS)


def _write_import(store, path: str, name: str | None, media_root: str | None,
                  kind: str | KindPick, progress) -> list:
    """Import rows, then probe the new media and re-check the dataset's media probed before
    (as `mmla import` does); `progress(done, total, phase)` for both. A file changed since its
    probe is one more line of its dataset's report."""
    reports = import_dataset_path(store, Path(path), kind=kind, name=name, media_root=media_root,
                                  progress=lambda d, t: progress(d, t, "Importing"))
    for report in (r for r in reports if r.dataset_id is not None):
        checked = check_media(store, report.dataset_id,
                              progress=lambda d, t: progress(d, t, "Probing media"))
        report.media_health = dict(checked.counts)
        for change in checked.changes:
            report.issue(change.path, f"clip {change.external_id}: changed since its probe: "
                         f"{change.what}" + (f"; now {change.health}" if change.health else ""))
    return reports


def import_path(path: str | Path, *, name: str | None = None, media_root: str | None = None,
                kind: str | KindPick = "auto", progress=lambda done, total, phase: None) -> Op:
    """A folder (MMLA layout, clips + manifest, .eaf files) or a file, as `mmla import` takes
    it: `kind` is what it is (`--kind`: "auto", a kind, or a pick made before); `name` names a
    folder's or sharegpt's dataset (an MMLA tree keeps its own names); `media_root` is where a
    sharegpt file's media are (`--media-root`). Returns the reports."""
    return Op(_write_import, (str(path), name, media_root, kind, progress), IMPORTED)


def _write_demo(store) -> int:
    return ensure_demo(store)


def add_demo() -> Op:
    """The bundled demo dataset (imported once; its dataset id)."""
    return Op(_write_demo, (), IMPORTED)
