"""Export clips and labels: LLaMA-Factory sharegpt files (MMLA's naming), JSONL and CSV.

LLaMA-Factory files follow MMLA's SFT data (reference/seeds_systems.md 1.3-1.4): one file per
split named `<DS>_<split>_<task_key>_llamafactory.json` (`..._text_...` for text-only LLMs), the
`sft` prompt behind `<video>`, the answer `"<task word>: <label>"`, absolute media paths, and a
`dataset_info.json` entry per file merged into whatever the folder already registers. For
`video_audio` (Qwen2.5-Omni with `use_audio_in_video`) each `<video>` is followed by `<audio>` and
the clip's own file is listed under `audios` too (reference/ml_stack.md 3.2-3.3).
JSONL / CSV exports re-import through the folder manifest importer (`import_folder`).

Which labels and clips: a `verdicts.Selection` (label source, default curated; rejected clips
left out unless `include_rejected`; `only_accepted`). What it gave (source, per-kind counts,
clips each rule left out) is written to the export's own metadata file (`mmla_export.json` in a
folder export, `<file>.mmla_export.json` next to a file) and logged in the `exports` table.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from mmla_core.datasets.lf_tokens import (
    DEFAULT_CUTOFF_LEN,
    TokenCounter,
    cutoff_len_for,
    media_tokens,
)
from mmla_core.fsutil import write_text_atomic
from mmla_core.media.decode import MediaError
from mmla_core.paths import PathEscapeError
from mmla_core.prompts import TEMPLATES, VALUE_FIRST, VIDEO_TOKEN, answer, render, text_form
from mmla_core.store.catalog import (
    clip_media_path,
    find_dataset,
    list_clips,
    task_by_name,
)
from mmla_core.store.db import Store
from mmla_core.store.exports import record_export
from mmla_core.store.task_rows import task_names_by_id
from mmla_core.store.verdicts import ClipGate, Selection, describe_record
from mmla_core.tasks import Task
from mmla_core.variants.export_audio import export_audio_path

MODES = ("video", "video_audio", "text")
AUDIO_TOKEN = "<audio>"
DATASET_INFO = "dataset_info.json"
EXPORT_INFO = "mmla_export.json"  # the export's own metadata (labels used, clips left out)
BROKEN_MEDIA = ("missing_file", "empty_file", "unreadable", "unsafe_path", "not_a_file")
# Reasons a labelled clip is left out because of its media: each is listed (`media_problems`)
# and makes `mmla export` exit 3, never a silent drop.
MEDIA_REASONS = frozenset({"broken_media", "unsafe_path", "missing_file", "no_video",
                           "no_audio", "no_media"})
# `path` is relative to the clip's own media folder (the dataset's root, or for a variant the
# project's variants folder); `file` is the absolute path, what a consumer opens
CLIP_FIELDS = ("id", "dataset", "split", "external_id", "path", "transcript", "health", "file")

# how the summary words a reason (mmla_export.json keeps the keys); a conflict variant has no
# label of its own unless it was made with --copy-labels ("Copy labels")
SKIP_WORDS = {"no_label": "without a label (no_label; a variant has one only when made with "
                          "--copy-labels)"}


FOLDER_FORMATS = ("llamafactory", "eaf", "mmla")  # exports that write a folder of files


class ExportError(ValueError):
    """An export that cannot be written as asked (unknown dataset/task, bad mode, bad target)."""


class ExportedFiles(list):
    """The files written (a list of Paths) plus what went into them and what was left out."""

    def __init__(self) -> None:
        super().__init__()
        self.written: dict[str, int] = {}  # file name -> records
        self.skipped: Counter[str] = Counter()  # reason -> clips
        self.media_problems: list[str] = []  # one line per clip left out for its media
        self.write_problems: list[str] = []  # one line per clip whose file could not be written
        self.empty_splits: list[str] = []
        self.other_splits: Counter[str] = Counter()  # split -> clips of splits not exported
        self.labels: dict = {}  # verdicts.Selection.record: source, counts, left out
        self.info_path: Path | None = None
        self.tokens: dict[str, dict] = {}  # file name -> longest sample (tokens, id), cutoff_len
        self.counted_with = ""
        self.warnings: list[str] = []

    @property
    def cutoff_len(self) -> int:
        """The LLaMA-Factory cutoff_len that keeps every sample written whole."""
        return max((t["cutoff_len"] for t in self.tokens.values()), default=DEFAULT_CUTOFF_LEN)

    def note_tokens(self, file_name: str, longest: int, record_id) -> None:
        self.tokens[file_name] = {"longest_tokens": longest, "longest_id": record_id,
                                  "cutoff_len": cutoff_len_for(longest)}
        if longest > DEFAULT_CUTOFF_LEN:
            self.warnings.append(
                f"{file_name}: sample {record_id!r} is {longest} tokens, past LLaMA-Factory's "
                f"default cutoff_len {DEFAULT_CUTOFF_LEN}: train with cutoff_len: "
                f"{cutoff_len_for(longest)} or it is cut off without a word")

    @property
    def records(self) -> int:
        return sum(self.written.values())

    def summary(self) -> str:
        files = ", ".join(f"{name} ({n})" for name, n in self.written.items()) or "no files"
        skipped = ", ".join(f"{n} {SKIP_WORDS.get(why, why)}"
                            for why, n in sorted(self.skipped.items())) or "none"
        line = f"wrote {files}; skipped: {skipped}; {describe_record(self.labels)}"
        if self.empty_splits:  # else "wrote no files" of a folder of clips with no split
            others = ", ".join(f"{split or '(none)'} {n}" for split, n in self.other_splits.items())
            line += (f"; no file for split {', '.join(s or '(none)' for s in self.empty_splits)} "
                     f"(no clip of it kept; clips of splits not exported: {others or 'none'})")
        if self.tokens:
            longest = max(t["longest_tokens"] for t in self.tokens.values())
            line += (f"; longest sample {longest} tokens ({self.counted_with}), "
                     f"cutoff_len {self.cutoff_len}")
        return "; ".join([line, *(f"WARNING {w}" for w in self.warnings)])


class ClipRecords(list):
    """`clip_records`' dicts plus `labels`, the Selection.record of what they hold."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: dict = {}


def export_llamafactory(
    store: Store, out_dir: str | os.PathLike, *, dataset: str | int, task: str | Task,
    splits: Iterable[str] = ("train", "dev"), mode: str = "video", prompt_kind: str = "sft",
    selection: Selection | None = None, tokenizer=None, tokenizer_name: str | None = None,
) -> ExportedFiles:
    """Write one sharegpt file per split and register each in `out_dir/dataset_info.json`.

    Each file's longest sample is counted in tokens (`tokenizer`, else an estimate: lf_tokens)
    and the cutoff_len that keeps it whole goes into mmla_export.json."""
    if mode not in MODES:
        raise ExportError(f"mode must be one of {MODES}, got {mode!r}")
    kind = "text_sft" if (mode == "text" and prompt_kind == "sft") else prompt_kind
    if kind not in TEMPLATES:
        raise ExportError(f"prompt_kind must be one of {tuple(TEMPLATES)}, got {prompt_kind!r}")
    selection = selection or Selection()
    ds = _dataset_row(store, dataset)
    task_id, task_obj = _task(store, task)
    policy = selection.resolve(store, dataset_id=ds["id"], task_id=task_id)
    gate = selection.gate(store, ds["id"])
    clips = list_clips(store, dataset_id=ds["id"])
    out, result, used = Path(out_dir), ExportedFiles(), []
    counter = TokenCounter(tokenizer, tokenizer_name)
    result.counted_with = counter.counted_with
    out.mkdir(parents=True, exist_ok=True)
    splits = tuple(splits)
    result.other_splits.update(c["split"] or "" for c in clips if c["split"] not in splits)
    for split in splits:
        records, longest = [], (0, None)
        for clip in (c for c in clips if c["split"] == split):
            key = (clip["id"], task_id)
            record = _gated_record(gate, policy, key, clip, task_obj, mode, kind)
            if isinstance(record, str):
                result.skipped[record] += 1
                if record in MEDIA_REASONS:
                    result.media_problems.append(_media_problem_line(clip, record))
                used += [key] if record == "unresolved" else []
            else:
                records.append(record)
                used.append(key)
                longest = max(longest, (_record_tokens(counter, record, clip, mode),
                                        record["id"]), key=lambda t: t[0])
        if not records:
            result.empty_splits.append(split)
            continue
        path = out / llamafactory_file_name(ds["name"], split, task_obj, mode)
        write_text_atomic(path, mmla_json(records))
        result.append(path)
        result.written[path.name] = len(records)
        result.note_tokens(path.name, *longest)
    if result:
        merge_dataset_info(out, [p.name for p in result], mode)
    result.labels = selection.record(policy, used, gate)
    log_export(store, "llamafactory", out, result, dataset_id=ds["id"], task_id=task_id,
                details={"dataset": ds["name"], "task": task_obj.name, "mode": mode,
                         "prompt_kind": kind, "splits": list(splits), "tokens": result.tokens,
                         "tokens_counted_with": result.counted_with,
                         "cutoff_len": result.cutoff_len})
    return result


def _record_tokens(counter: TokenCounter, record: dict, clip: dict, mode: str) -> int:
    human, gpt = (turn["value"] for turn in record["conversations"])
    return counter.conversation(human, gpt) + media_tokens(mode, clip.get("duration_s"))


def _gated_record(gate: ClipGate, policy, key, clip: dict, task: Task, mode: str,
                  kind: str) -> dict | str:
    """The clip's record, or why it is left out (a verdict rule, unresolved, no label...)."""
    if not gate.keep(clip["id"]):
        return gate.reason(clip["id"]) or "left_out"
    if key in policy.unresolved:
        return "unresolved"
    return _record(clip, task, policy.get(*key), mode, kind)


def log_export(store: Store, fmt: str, target: Path, result: ExportedFiles, *,
                dataset_id: int | None, task_id: int | None, details: dict) -> None:
    """The export's metadata file and its `exports` row: what labels and clips it used."""
    info = {"format": fmt, **details, "files": dict(result.written), "labels": result.labels,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds")}
    result.info_path = write_export_info(target, info, folder=fmt in FOLDER_FORMATS)
    if store.read_only:  # the files are what was asked for; only the project's log of them
        result.warnings.append(f"the project is read-only ({store.read_only}): this export is "
                               f"not in its export log; {result.info_path} says what it used")
        return
    record_export(store, fmt, str(target), result.labels, dataset_id=dataset_id,
                  task_id=task_id, files=result.written)


def write_export_info(target: Path, info: dict, *, folder: bool) -> Path:
    """A folder export keeps one entry per file written in `mmla_export.json` (several exports
    may share a folder); a file export gets `<file>.mmla_export.json`."""
    if not folder:
        path = target.with_name(target.name + "." + EXPORT_INFO)
        write_text_atomic(path, json.dumps(info, ensure_ascii=False, indent=2) + "\n")
        return path
    path = target / EXPORT_INFO
    entries: dict = {}
    if path.exists():
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            entries = {}  # ours alone: a broken one is rewritten
    entries = entries if isinstance(entries, dict) else {}
    entries.update(dict.fromkeys(info["files"], info))
    write_text_atomic(path, json.dumps(entries, ensure_ascii=False, indent=2) + "\n")
    return path


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
    if mode == "text":
        _text_media(clip, record)
    else:
        problem = _media_problem(clip, mode)
        if problem:
            return problem
        try:
            media_file = clip_media_path(clip)  # a variant's file is under its media_root
        except PathEscapeError:
            return "unsafe_path"
        if not media_file.is_file():  # gone (or replaced by a FIFO) since it was probed
            return "missing_file"
        record["videos"] = [str(media_file)]
        prefix = VIDEO_TOKEN
        if mode == "video_audio":
            try:  # a variant whose audio differs from its video's gets its own 16 kHz WAV
                record["audios"] = [str(export_audio_path(clip, media_file))]
            except (MediaError, OSError):
                return "broken_media"
            prefix += AUDIO_TOKEN
    prompt = render(task, clip["transcript"], kind=kind)
    keys = text_form(task).turn_keys if kind == "text_sft" else VALUE_FIRST
    record["conversations"] = [
        _turn(keys, "human", prefix + prompt), _turn(keys, "gpt", answer(task, label, kind=kind)),
    ]
    return record


def _turn(keys: tuple[str, str], role: str, value: str) -> dict:
    """One turn with its keys in the order of MMLA's file (prompts.VALUE_FIRST / FROM_FIRST)."""
    fields = {"from": role, "value": value}
    return {key: fields[key] for key in keys}


def mmla_json(records: list[dict]) -> str:
    """A sharegpt file laid out as MMLA's are (`json.dump(..., ensure_ascii=False, indent=4)`:
    4-space indent, UTF-8 text unescaped, no newline at the end)."""
    return json.dumps(records, ensure_ascii=False, indent=4)


def _text_media(clip: dict, record: dict) -> None:
    """Text-only records name their clip under `video`, as MMLA's text files do (LLaMA-Factory
    ignores it; `import_sharegpt` reads it back), here by absolute path so it re-imports."""
    if clip["media_path"]:
        try:
            record["video"] = str(clip_media_path(clip))
        except PathEscapeError:
            pass  # an unsafe path is never written out


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


def _media_problem_line(clip: dict, reason: str) -> str:
    """`clip 7 (utt_3, train): unsafe_path: path 'x.mp4' is a symbolic link loop ...`"""
    detail = ""
    if reason == "unsafe_path":
        try:
            clip_media_path(clip)
        except PathEscapeError as exc:
            detail = str(exc)
    elif reason != "no_media" and clip["health"] not in (None, "ok"):
        detail = clip["health_detail"] or clip["health"]
    where = clip.get("media_path") or "text-only"
    return (f"clip {clip['id']} ({clip['external_id']}, {clip['split'] or 'no split'}, {where}): "
            f"{reason}" + (f": {detail}" if detail else ""))


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

def clip_records(store: Store, *, dataset: str | int | None = None, split: str | None = None,
                 selection: Selection | None = None) -> ClipRecords:
    """One dict per clip the selection keeps: CLIP_FIELDS plus `labels` {task name: label}."""
    selection = selection or Selection()
    dataset_id = _dataset_row(store, dataset)["id"] if dataset is not None else None
    names = task_names_by_id(store)
    policy = selection.resolve(store, dataset_id=dataset_id)
    gate = selection.gate(store, dataset_id)
    records, used = ClipRecords(), []
    for clip in list_clips(store, dataset_id=dataset_id):
        if (split is not None and clip["split"] != split) or not gate.keep(clip["id"]):
            continue
        labels = policy.labels.get(clip["id"], {})
        used += [(clip["id"], t) for t in labels]
        used += [key for key in policy.unresolved if key[0] == clip["id"]]
        records.append({
            "id": clip["id"], "dataset": clip["dataset_name"], "split": clip["split"],
            "external_id": clip["external_id"], "path": clip["media_path"],
            "transcript": clip["transcript"], "health": clip["health"],
            "file": _media_file(clip),
            "labels": {names[t]: lab for t, lab in sorted(labels.items())},
        })
    records.labels = selection.record(policy, used, gate)
    return records


def _media_file(clip: dict) -> str | None:
    """The clip's media file, absolute (None: text-only, or a path leading out of its root)."""
    if not clip["media_path"]:
        return None
    try:
        return str(clip_media_path(clip))
    except PathEscapeError:
        return None


def export_jsonl(store: Store, path: str | os.PathLike, *, dataset: str | int | None = None,
                 split: str | None = None, selection: Selection | None = None) -> ExportedFiles:
    """One clip per line (`path` relative to the clip's media folder, `file` absolute)."""
    records = clip_records(store, dataset=dataset, split=split, selection=selection)
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
    return write_records_file(store, "jsonl", path, "".join(lines), records,
                              dataset=dataset, split=split)


def export_csv(store: Store, path: str | os.PathLike, *, dataset: str | int | None = None,
               split: str | None = None, selection: Selection | None = None) -> ExportedFiles:
    """The JSONL columns with labels flattened into `label:<task>` columns."""
    records = clip_records(store, dataset=dataset, split=split, selection=selection)
    tasks = list(dict.fromkeys(name for r in records for name in r["labels"]))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CLIP_FIELDS, *(f"label:{name}" for name in tasks)])
    for r in records:
        row = [("" if r[f] is None else r[f]) for f in CLIP_FIELDS]
        writer.writerow([*row, *(r["labels"].get(name, "") for name in tasks)])
    return write_records_file(store, "csv", path, buffer.getvalue(), records,
                              dataset=dataset, split=split)


def write_records_file(store: Store, fmt: str, path: str | os.PathLike, text: str,
                       records: ClipRecords, *, dataset, split) -> ExportedFiles:
    """Write a one-file export atomically, then its metadata file and `exports` row."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, text)
    result = ExportedFiles()
    result.append(target)
    result.written[target.name] = len(records)
    result.labels = records.labels
    result.skipped.update({k: n for k, n in records.labels["left_out"].items() if n})
    dataset_id = _dataset_row(store, dataset)["id"] if dataset is not None else None
    log_export(store, fmt, target, result, dataset_id=dataset_id, task_id=None,
                details={"dataset": None if dataset is None else str(dataset), "split": split})
    return result


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

