"""Import LLaMA-Factory sharegpt files (MMLA's SFT data, or our own `export_llamafactory`).

A record is `{"id", "videos": [...], "audios"?: [...], "conversations": [{"from": "human",
"value": "<video>...prompt..."}, {"from": "gpt", "value": "intent: inform"}]}` (the `messages` /
`role` / `content` spelling is accepted too). The utterance is cut out of MMLA's prompts exactly:
"...the speaker says: <utterance> Based on the text..." (SFT files, video and text-only: the
utterance keeps its own punctuation), "...says: <utterance>. Based on..." in the zero-shot form
(whose "." infer.py added); a human turn in no MMLA form is kept whole.
The task is the one given, else the one named by an MMLA file name (`MIntRec_train_intent_...`,
`..._text_...`, or `<DS>/test_intent.json` as MMLA's `generate_test_json.py` writes the zero-shot
test set: the bare utterance, the bare lower-case label), else inferred per record from the
answer's task word (any of MMLA's spellings:
`dialogue act`, `dialogue_act`, `talk_type`...), its label and the prompt's label list.
Media (`videos`, MMLA's text-only `video`, `audios`, `images`) are confined to `media_root`
(default: the JSON file's folder); MMLA's cluster paths are found there by dataset folder and
file name (datasets/media_map.py).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mmla_core.datasets.common import (
    PendingClip,
    match_label,
    name_dataset,
    open_dataset,
    write_clips,
)
from mmla_core.datasets.entries import json_line
from mmla_core.datasets.media_map import locate
from mmla_core.datasets.report import DatasetImportError, ImportReport
from mmla_core.prompts import answer_word
from mmla_core.store.catalog import attach_task, ensure_task, list_tasks
from mmla_core.store.db import Store
from mmla_core.tasks import MMLA_TASKS, Task, mmla_task_for_folder

MEDIA_TOKENS = re.compile(r"<(?:video|audio|image)>\n?")
UTTERANCE = re.compile(r"speaker says: (?P<text>.*?) ?Based on the text, ", re.S)
ZERO_SHOT_MARK = "].Respond in the format: "  # only MMLA's zero-shot form glues these
CANDIDATES = re.compile(r"candidate labels for [^\n]*? are: \[(?P<labels>[^\]]*)\]")
MMLA_FILE = re.compile(
    r"^(?P<dataset>.+?)_(?P<split>train|dev|test)_(?:text_)?(?P<key>[a-z_]+)_llamafactory$"
)
# `<base>/<DATASET>/test_<task>.json`: MMLA's data_preprocess/generate_test_json.py
MMLA_TEST_FILE = re.compile(r"^(?P<split>train|dev|test)_(?P<key>[a-z_]+)$")
USER_ROLES, ASSISTANT_ROLES = ("human", "user"), ("gpt", "assistant")


@dataclass
class Record:
    where: str
    external_id: str
    human: str
    answer: str
    media: str | None


def import_sharegpt(
    store: Store, json_path: str | os.PathLike, *, name: str | None = None,
    task: str | Task | None = None, media_root: str | os.PathLike | None = None,
    overwrite_curated: bool = False,
) -> ImportReport:
    """Import one sharegpt JSON (or JSONL) file as dataset `name` (default: the file's stem)."""
    path = Path(json_path)
    if path.is_dir():
        raise DatasetImportError(f"{path}: a folder; a sharegpt import reads one .json or "
                                 ".jsonl file")
    if not path.is_file():
        raise DatasetImportError(f"{path}: no such file")
    root = Path(media_root).resolve() if media_root is not None else path.resolve().parent
    if not root.is_dir():
        raise DatasetImportError(f"media root {media_root}: no such folder")
    report = ImportReport(name or path.stem)
    name_dataset(store, report, root, "sharegpt", explicit_name=name is not None)
    raw = _load_records(path, report)
    if raw is None:
        return report
    match = mmla_file(path)
    resolver = TaskResolver(store, _fixed_task(store, task, match))
    pending: list[PendingClip] = []
    task_ids: set[int] = set()
    seen: set[str] = set()
    for where, index, fields in raw:
        record = _record(where, index, fields, report)
        if record is None or _duplicate(record, seen, report):
            continue
        media_path, media_issue = _media(root, record, match["dataset"] if match else None)
        clip = PendingClip(record.external_id, match["split"] if match else "", media_path,
                           utterance_of(record.human), where=record.where,
                           media_issue=media_issue)
        _label(clip, record, resolver, report)
        task_ids.update(clip.labels)
        pending.append(clip)
    if not pending:  # no record to import: no dataset made, one imported before untouched
        report.issue(path, "no record to import")
        return report
    dataset_id = open_dataset(store, report, root, "sharegpt", explicit_name=name is not None)
    for task_id in sorted(task_ids):
        attach_task(store, dataset_id, task_id)
    write_clips(store, dataset_id, pending, report, overwrite_curated=overwrite_curated)
    return report


def mmla_file(path: Path) -> dict[str, str] | None:
    """Dataset, split and task key an MMLA file's name gives, if it is one of MMLA's."""
    found = MMLA_FILE.match(path.stem)
    if found is not None:
        return found.groupdict()
    found = MMLA_TEST_FILE.match(path.stem)
    task = mmla_task_for_folder(path.resolve().parent.name)
    if found is None or task is None or task.task_key != found["key"]:
        return None
    return {"dataset": task.name, **found.groupdict()}


RawRecords = list[tuple[str, str, object]]  # (where, default id, parsed JSON)


def _load_records(path: Path, report: ImportReport) -> RawRecords | None:
    try:
        text = path.read_text(encoding="utf-8-sig")
        data = None if path.suffix.lower() == ".jsonl" else json_line(text)
    except (OSError, UnicodeDecodeError) as exc:
        report.issue(path, f"cannot read as UTF-8 text: {exc}")
        return None
    except json.JSONDecodeError as exc:
        report.issue(f"{path}:{exc.lineno}", f"not valid JSON ({exc.msg}); nothing imported")
        return None
    if path.suffix.lower() == ".jsonl":
        return _jsonl_records(path, text, report)
    if not isinstance(data, list):
        report.issue(path, "expected a JSON list of records; nothing imported")
        return None
    return [(f"{path}[{i}]", str(i), item) for i, item in enumerate(data)]


def _jsonl_records(path: Path, text: str, report: ImportReport) -> RawRecords:
    records: RawRecords = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            records.append((f"{path}:{number}", str(len(records)), json_line(line)))
        except json.JSONDecodeError as exc:
            report.skipped += 1
            report.issue(f"{path}:{number}", f"not valid JSON ({exc.msg} at column {exc.colno})")
    return records


def _record(where: str, index: str, fields: object, report: ImportReport) -> Record | None:
    if not isinstance(fields, dict):
        _skip(report, where, "record is not a JSON object")
        return None
    turns = fields.get("conversations") or fields.get("messages")
    if not isinstance(turns, list):
        _skip(report, where, "record has no 'conversations' list")
        return None
    human = _turn(turns, USER_ROLES)
    if human is None:
        _skip(report, where, "record has no human/user turn")
        return None
    media = (fields.get("videos") or fields.get("video") or fields.get("audios")
             or fields.get("images"))
    if isinstance(media, list):
        media = media[0] if media else None
    external_id = str(fields.get("id", index)).strip() or index
    media = str(media) if media is not None else None
    return Record(where, external_id, human, _turn(turns, ASSISTANT_ROLES) or "", media)


def _turn(turns: list, roles: tuple[str, ...]) -> str | None:
    for turn in turns:
        if isinstance(turn, dict) and (turn.get("from") or turn.get("role")) in roles:
            value = turn.get("value", turn.get("content"))
            return value if isinstance(value, str) else None
    return None


def _skip(report: ImportReport, where: str, message: str) -> None:
    report.skipped += 1
    report.issue(where, f"{message}; skipped")


def _duplicate(record: Record, seen: set[str], report: ImportReport) -> bool:
    if record.external_id in seen:
        _skip(report, record.where, f"duplicate id {record.external_id!r}")
        return True
    seen.add(record.external_id)
    return False


def utterance_of(human: str) -> str:
    """The utterance inside an MMLA prompt, exactly as the source wrote it; else the whole turn."""
    text = MEDIA_TOKENS.sub("", human)
    found = UTTERANCE.search(text)
    if found is None:
        return text.strip()
    utterance = found["text"]
    if ZERO_SHOT_MARK in text and utterance.endswith("."):
        utterance = utterance[:-1]  # infer.py's own "{context}."
    return utterance


def _media(root: Path, record: Record, dataset: str | None) -> tuple[str | None, str | None]:
    """(media path, None) or (None, why the named file was not used; write_clips reports it)."""
    if not record.media:
        return None, None
    relative, problem = locate(root, record.media, dataset)
    return relative, problem or None


def _label(clip: PendingClip, record: Record, resolver: TaskResolver, report: ImportReport) -> None:
    if not record.answer.strip():
        report.issue(record.where, "no gpt/assistant answer; imported unlabelled")
        return
    task, problem = resolver.resolve(record.human, record.answer)
    label = match_label(task, record.answer) if task is not None else None
    if task is not None and label is None:
        problem = f"answer {record.answer!r} is not a {task.name} label"
    if task is None or label is None:   # then `problem` says why (resolve's contract)
        report.issue(record.where, f"{problem}; imported unlabelled")
        return
    clip.labels[resolver.task_id(task)] = label


def _fixed_task(store: Store, task: str | Task | None, match: dict | None) -> Task | None:
    if isinstance(task, Task):
        return task
    known = {t.name: t for t in (*MMLA_TASKS, *list_tasks(store))}
    if task is not None:
        if task not in known:
            raise DatasetImportError(f"unknown task {task!r}; known: {', '.join(known)}")
        return known[task]
    if match is not None:
        found = mmla_task_for_folder(match["dataset"])
        if found is not None and found.task_key == match["key"]:
            return found
    return None


class TaskResolver:
    """The task a record answers: fixed, or inferred from its answer word, label and prompt."""

    def __init__(self, store: Store, fixed: Task | None):
        self.store, self.fixed = store, fixed
        self.tasks = list({t.name: t for t in (*MMLA_TASKS, *list_tasks(store))}.values())
        self.ids: dict[str, int] = {}
        self.cache: dict[tuple[str, str, str], tuple[Task | None, str]] = {}

    def task_id(self, task: Task) -> int:
        if task.name not in self.ids:
            self.ids[task.name] = ensure_task(self.store, task)
        return self.ids[task.name]

    def resolve(self, human: str, answer: str) -> tuple[Task | None, str]:
        """(task, '') or (None, why not)."""
        if self.fixed is not None:
            return self.fixed, ""
        word, sep, label = answer.partition(":")
        if not sep:
            return None, f"answer {answer!r} is not in '<task>: <label>' form; pass task="
        offered = CANDIDATES.search(human)
        key = (word.strip().lower(), label.strip().lower(), offered["labels"] if offered else "")
        if key not in self.cache:
            self.cache[key] = self._infer(*key)
        return self.cache[key]

    def _infer(self, word: str, label: str, offered: str) -> tuple[Task | None, str]:
        fits = [t for t in self.tasks if word in _answer_words(t) and t.canonical_label(label)]
        if len(fits) > 1 and offered:
            listed = {x.strip().lower() for x in offered.split(",")}
            fits = [t for t in fits if {x.lower() for x in t.labels} == listed] or fits
        if len(fits) == 1:
            return fits[0], ""
        if not fits:
            return None, f"no known task answers {word!r} with label {label!r}"
        names = ", ".join(t.name for t in fits)
        return None, f"answer fits several tasks ({names}); pass task="


def _answer_words(task: Task) -> set[str]:
    """Every spelling MMLA's files give the task in answers (`dialogue act`, `talk_type`...)."""
    return {task.prompt_word.lower(), task.task_key.lower(), answer_word(task, "text_sft").lower()}
