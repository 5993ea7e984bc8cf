"""Export clips and labels: LLaMA-Factory sharegpt files (MMLA's naming), JSONL and CSV.

LLaMA-Factory files follow MMLA's SFT data (reference/seeds_systems.md 1.3-1.4): one file per
split named `<DS>_<split>_<task_key>_llamafactory.json` (`..._text_...` for text-only LLMs), the
`sft` prompt behind `<video>`, the answer `"<task word>: <label>"`, absolute media paths, and a
`dataset_info.json` entry per file merged into whatever the folder already registers. For
`video_audio` (Qwen2.5-Omni with `use_audio_in_video`) each `<video>` is followed by `<audio>` and
the clip's own file is listed under `audios` too (reference/ml_stack.md 3.2-3.3).
JSONL / CSV exports re-import through the folder manifest importer (`import_folder`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from mmla_core.fsutil import write_text_atomic
from mmla_core.media.decode import MediaError
from mmla_core.paths import PathEscapeError
from mmla_core.prompts import TEMPLATES, VIDEO_TOKEN, answer, render
from mmla_core.store.catalog import (
    clip_media_path,
    find_dataset,
    gold_labels,
    list_clips,
    task_by_name,
)
from mmla_core.store.db import Store
from mmla_core.tasks import Task
from mmla_core.variants.export_audio import export_audio_path

MODES = ("video", "video_audio", "text")
AUDIO_TOKEN = "<audio>"
DATASET_INFO = "dataset_info.json"
BROKEN_MEDIA = ("missing_file", "empty_file", "unreadable", "unsafe_path")
CLIP_FIELDS = ("id", "dataset", "split", "external_id", "path", "transcript", "health")


class ExportError(ValueError):
    """An export that cannot be written as asked (unknown dataset/task, bad mode, bad target)."""


class ExportedFiles(list):
    """The files written (a list of Paths) plus what went into them and what was left out."""

    def __init__(self) -> None:
        super().__init__()
        self.written: dict[str, int] = {}  # file name -> records
        self.skipped: Counter[str] = Counter()  # reason -> clips
        self.empty_splits: list[str] = []

    def summary(self) -> str:
        files = ", ".join(f"{name} ({n})" for name, n in self.written.items()) or "no files"
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) or "none"
        return f"wrote {files}; skipped: {skipped}"


def export_llamafactory(
    store: Store, out_dir: str | os.PathLike, *, dataset: str | int, task: str | Task,
    splits: Iterable[str] = ("train", "dev"), mode: str = "video", prompt_kind: str = "sft",
) -> ExportedFiles:
    """Write one sharegpt file per split and register each in `out_dir/dataset_info.json`."""
    if mode not in MODES:
        raise ExportError(f"mode must be one of {MODES}, got {mode!r}")
    kind = "text_sft" if (mode == "text" and prompt_kind == "sft") else prompt_kind
    if kind not in TEMPLATES:
        raise ExportError(f"prompt_kind must be one of {tuple(TEMPLATES)}, got {prompt_kind!r}")
    ds = _dataset_row(store, dataset)
    task_id, task_obj = _task(store, task)
    labels = gold_labels(store, dataset_id=ds["id"], task_id=task_id)
    clips = list_clips(store, dataset_id=ds["id"])
    out, result = Path(out_dir), ExportedFiles()
    out.mkdir(parents=True, exist_ok=True)
    for split in splits:
        records = []
        for clip in (c for c in clips if c["split"] == split):
            label = labels.get(clip["id"], {}).get(task_id)
            record = _record(clip, task_obj, label, mode, kind)
            if isinstance(record, str):
                result.skipped[record] += 1
            else:
                records.append(record)
        if not records:
            result.empty_splits.append(split)
            continue
        path = out / llamafactory_file_name(ds["name"], split, task_obj, mode)
        write_text_atomic(path, json.dumps(records, ensure_ascii=False, indent=2) + "\n")
        result.append(path)
        result.written[path.name] = len(records)
    if result:
        merge_dataset_info(out, [p.name for p in result], mode)
    return result


def llamafactory_file_name(dataset: str, split: str, task: Task, mode: str) -> str:
    safe = "".join("_" if ch in '/\\:*?"<>|' else ch for ch in dataset)
    text = "text_" if mode == "text" else ""
    return f"{safe}_{split}_{text}{task.task_key}_llamafactory.json"


def _record(clip: dict, task: Task, label: str | None, mode: str, kind: str) -> dict | str:
    """The sharegpt record, or the reason the clip is left out."""
    if label is None:
        return "no_label"
    record: dict = {"id": clip["external_id"]}
    prefix = ""
    if mode != "text":
        problem = _media_problem(clip, mode)
        if problem:
            return problem
        try:
            media_file = clip_media_path(clip)  # a variant's file is under its media_root
        except PathEscapeError:
            return "unsafe_path"
        record["videos"] = [str(media_file)]
        prefix = VIDEO_TOKEN
        if mode == "video_audio":
            try:  # a variant whose audio differs from its video's gets its own 16 kHz WAV
                record["audios"] = [str(export_audio_path(clip, media_file))]
            except (MediaError, OSError):
                return "broken_media"
            prefix += AUDIO_TOKEN
    prompt = render(task, clip["transcript"], kind=kind)
    record["conversations"] = [
        {"from": "human", "value": prefix + prompt},
        {"from": "gpt", "value": answer(task, label, kind=kind)},
    ]
    return record


def _media_problem(clip: dict, mode: str) -> str | None:
    if not clip["media_path"]:
        return "no_media"
    health = set((clip["health"] or "").split(","))
    if health & set(BROKEN_MEDIA):
        return "broken_media"
    if clip["has_video"] == 0 or "no_video" in health:
        return "no_video"
    if mode == "video_audio" and (clip["has_audio"] == 0 or "no_audio" in health):
        return "no_audio"
    return None


def merge_dataset_info(out_dir: Path, file_names: list[str], mode: str) -> Path:
    """Add/replace our entries in dataset_info.json, keeping every other entry as it was."""
    info_path = out_dir / DATASET_INFO
    info: dict = {}
    if info_path.exists():
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ExportError(f"{info_path}: cannot read it ({exc}); not overwriting it") from exc
        if not isinstance(info, dict):
            raise ExportError(f"{info_path}: not a JSON object; not overwriting it")
    columns = {"messages": "conversations"}
    if mode != "text":
        columns["videos"] = "videos"
    if mode == "video_audio":
        columns["audios"] = "audios"
    for name in file_names:
        info[Path(name).stem] = {"file_name": name, "formatting": "sharegpt", "columns": columns}
    write_text_atomic(info_path, json.dumps(info, ensure_ascii=False, indent=2) + "\n")
    return info_path


# --- JSONL / CSV -------------------------------------------------------------------------------

def clip_records(store: Store, *, dataset: str | int | None = None,
                 split: str | None = None) -> list[dict]:
    """One dict per clip: CLIP_FIELDS plus `labels` {task name: gold label}."""
    dataset_id = _dataset_row(store, dataset)["id"] if dataset is not None else None
    names = dict(store.conn.execute("SELECT id, name FROM tasks").fetchall())
    labels = gold_labels(store, dataset_id=dataset_id)
    records = []
    for clip in list_clips(store, dataset_id=dataset_id):
        if split is not None and clip["split"] != split:
            continue
        records.append({
            "id": clip["id"], "dataset": clip["dataset_name"], "split": clip["split"],
            "external_id": clip["external_id"], "path": clip["media_path"],
            "transcript": clip["transcript"], "health": clip["health"],
            "labels": {names[t]: lab for t, lab in sorted(labels.get(clip["id"], {}).items())},
        })
    return records


def export_jsonl(store: Store, path: str | os.PathLike, *, dataset: str | int | None = None,
                 split: str | None = None) -> int:
    """One clip per line (`path` is relative to the dataset root); returns the clip count."""
    records = clip_records(store, dataset=dataset, split=split)
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, "".join(lines))
    return len(records)


def export_csv(store: Store, path: str | os.PathLike, *, dataset: str | int | None = None,
               split: str | None = None) -> int:
    """The JSONL columns with labels flattened into `label:<task>` columns."""
    records = clip_records(store, dataset=dataset, split=split)
    tasks = list(dict.fromkeys(name for r in records for name in r["labels"]))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CLIP_FIELDS, *(f"label:{name}" for name in tasks)])
    for r in records:
        row = [("" if r[f] is None else r[f]) for f in CLIP_FIELDS]
        writer.writerow([*row, *(r["labels"].get(name, "") for name in tasks)])
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, buffer.getvalue())
    return len(records)


def _dataset_row(store: Store, dataset: str | int) -> dict:
    row = find_dataset(store, dataset)
    if row is None:
        raise ExportError(f"no dataset {dataset!r} in {store.path}")
    return row


def _task(store: Store, task: str | Task) -> tuple[int, Task]:
    name = task.name if isinstance(task, Task) else task
    found = task_by_name(store, name)
    if found is None:
        raise ExportError(f"no task {name!r} in {store.path}")
    return found

