"""`mmla export mmla OUT --dataset D --task T`: a dataset in the MMLA benchmark layout, with the
curated labels and transcripts, as `mmla_layout` imports it and MMLA's own scripts read it.

`OUT/<TASK>/{train,dev,test}.tsv` with MMLA's columns `id`, `utterance` and the task's label
column (`emotion`, `intent`, ...; reference/seeds_systems.md 1.3), and each clip's video as
`OUT/<TASK>/video/<TASK>_<id>.mp4`: a copy of the clip's file, or with `link=True` a hard link
where the file system allows it (no space used; but a tool that rewrites an exported video in
place then rewrites the clip's own file). Never a symlink: the importer refuses links leading
out of the folder.
The folder is named after the task, as MMLA's loaders expect (`MELD/`, `MIntRec/`), so only
MMLA's 12 tasks can be written this way. Conflict variants are not part of MMLA's layout and
are left out (LLaMA-Factory and JSONL exports carry them). Labels come from the label source
and the verdict rule (`store.verdicts.Selection`) as every other export's; a clip without one is
left out, a clip whose video cannot be written is written text-only and listed.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from mmla_core.datasets.export import ExportedFiles, ExportError, log_export
from mmla_core.fsutil import atomic_path, write_text_atomic
from mmla_core.paths import PathEscapeError
from mmla_core.store.catalog import clip_media_path, find_dataset, list_clips, task_by_name
from mmla_core.store.db import Store
from mmla_core.store.verdicts import Selection
from mmla_core.tasks import Task, mmla_task_for_folder

SPLITS = ("train", "dev", "test")
VIDEO_DIR = "video"
MAX_NAME_BYTES = 255  # a file name's limit on Linux, macOS and Windows file systems


def export_mmla_layout(store: Store, out_dir: str | os.PathLike, *, dataset: str | int,
                       task: str, splits: Iterable[str] = SPLITS,
                       selection: Selection | None = None, link: bool = False) -> ExportedFiles:
    """Write `out_dir/<TASK>/<split>.tsv` and `video/`; returns the TSV files written."""
    selection = selection or Selection()
    ds = find_dataset(store, dataset)
    if ds is None:
        raise ExportError(f"no dataset {dataset!r} in the project")
    task_id, task_obj = _mmla_task(store, task)
    folder = Path(out_dir) / task_obj.name
    policy = selection.resolve(store, dataset_id=ds["id"], task_id=task_id)
    gate = selection.gate(store, ds["id"])
    clips = list_clips(store, dataset_id=ds["id"], include_variants=False)
    result, used = ExportedFiles(), []
    folder.mkdir(parents=True, exist_ok=True)
    splits = tuple(splits)
    result.other_splits.update(c["split"] or "" for c in clips if c["split"] not in splits)
    for split in splits:
        rows = []
        for clip in (c for c in clips if c["split"] == split):
            key = (clip["id"], task_id)
            label, why = policy.get(*key), _left_out(gate, policy, key, clip)
            used += [key] if why in (None, "unresolved") else []
            if label is None or why is not None:
                result.skipped[why or "no_label"] += 1
                continue
            rows.append((clip["external_id"], clip["transcript"] or "", label))
            _video(clip, folder, task_obj, result, link)
        if rows:
            path = folder / f"{split}.tsv"
            write_text_atomic(path, _tsv(task_obj, rows))
            result.append(path)
            result.written[path.name] = len(rows)
        else:
            result.empty_splits.append(split)
    result.labels = selection.record(policy, used, gate)
    log_export(store, "mmla", folder, result, dataset_id=ds["id"], task_id=task_id,
               details={"dataset": ds["name"], "task": task_obj.name, "splits": list(splits)})
    return result


def _left_out(gate, policy, key: tuple[int, int], clip: dict) -> str | None:
    """Why the clip has no row (the verdict rule, a tie, no label, an id no file can be named
    after), or None."""
    if not gate.keep(clip["id"]):
        return gate.reason(clip["id"]) or "left_out"
    if key in policy.unresolved:
        return "unresolved"
    if policy.get(*key) is None:
        return "no_label"
    return None if _plain_name(clip["external_id"]) else "id_not_a_file_name"


def _mmla_task(store: Store, name: str) -> tuple[int, Task]:
    found = task_by_name(store, name)
    if found is None:
        raise ExportError(f"no task named {name!r} (see `mmla tasks`)")
    if mmla_task_for_folder(found[1].name) is None:
        raise ExportError(f"{found[1].name} is not one of MMLA's 12 tasks: the MMLA layout "
                          "names its folder after one (export llamafactory, jsonl or csv)")
    return found


def _tsv(task: Task, rows: list[tuple[str, str, str]]) -> str:
    """MMLA's columns; a tab, newline or quote inside a cell is quoted (csv, as pandas reads)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(["id", "utterance", task.task_key])
    writer.writerows(rows)
    return buffer.getvalue()


def _video(clip: dict, folder: Path, task: Task, result: ExportedFiles, link: bool) -> None:
    """`video/<TASK>_<id>.mp4` for the clip, or a line in `media_problems` saying why not."""
    if not clip["media_path"]:
        return  # a text-only clip: a text-only row, as MMLA's text-only datasets are
    where = f"clip {clip['id']} ({clip['external_id']}, {clip['split']})"
    try:
        source = clip_media_path(clip)
    except PathEscapeError as exc:
        result.media_problems.append(f"{where}: {exc}; written text-only")
        return
    if source.suffix.lower() != ".mp4":
        result.media_problems.append(f"{where}: {source.name} is not an .mp4 (MMLA's layout "
                                     "holds .mp4 videos); written text-only")
        return
    if not source.is_file():
        result.media_problems.append(f"{where}: {source}: file not found; written text-only")
        return
    target = folder / VIDEO_DIR / f"{task.name}_{clip['external_id']}.mp4"
    if len(target.name.encode("utf-8")) > MAX_NAME_BYTES:
        result.media_problems.append(f"{where}: {task.name}_<id>.mp4 would be "
                                     f"{len(target.name.encode('utf-8'))} bytes, over a file "
                                     f"name's {MAX_NAME_BYTES}; written text-only")
        return
    try:
        target.parent.mkdir(exist_ok=True)
        _link_or_copy(source, target) if link else _copy(source, target)
    except OSError as exc:  # a full disk, a read-only folder: this clip, not the export
        result.media_problems.append(f"{where}: cannot write {target}: {exc.strerror or exc}; "
                                     "written text-only")


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (the same file: no space used, its mode untouched) or, across file systems,
    a copy; either replaces `target` in one step."""
    if target.exists() and os.path.samefile(source, target):
        return
    link = target.with_name(f".{target.name}.pid{os.getpid()}.link")
    try:
        link.unlink(missing_ok=True)
        os.link(source, link)
        os.replace(link, target)
        return
    except OSError:
        link.unlink(missing_ok=True)
    _copy(source, target)


def _copy(source: Path, target: Path) -> None:
    """A copy replacing `target` in one step; a hard link there from an earlier `--link`
    export is replaced, never written through (that would rewrite the clip's file)."""
    with atomic_path(target, suffix=".mp4") as tmp:
        shutil.copyfile(source, tmp)


def _plain_name(external_id: str) -> bool:
    """An id that can be a file name inside `video/` (what `mmla_layout` looks videos up by)."""
    return bool(external_id) and not any(bad in external_id for bad in ("/", "\\", "..", "\0"))
