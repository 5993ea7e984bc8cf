"""Read CSV / JSONL manifests and turn their label fields into (task, exact label) pairs.

A manifest row names its media (`path`, relative to the dataset folder), a `transcript`, a
`split` and labels in any of these forms:
- a column named after a task: `MELD,joy` (CSV) or `"MELD": "joy"` (JSONL);
- `label:<task>` columns, as `export_csv` writes them;
- a `task` field plus a field named by that task's `task_key`: `task=MELD, emotion=joy`;
- a `labels` object in JSONL: `{"labels": {"MELD": "joy", "MyTask": "b"}}`.
A task not built in and not in the store must be declared before it can be used: by a
`{"tasks": [{"name": ..., "labels": [...]}]}` line in the JSONL, or a `tasks.json` sidecar
(`[{"name": ..., "labels": [...]}]`) next to the manifest or in the dataset folder.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from mmla_core.datasets.common import match_label, read_text
from mmla_core.datasets.entries import csv_rows, is_regular_file, json_line
from mmla_core.datasets.report import ImportReport
from mmla_core.store.catalog import ensure_task, known_task_id, list_tasks
from mmla_core.store.db import Store
from mmla_core.tasks import MMLA_TASKS, Task, TaskError, make_custom_task

RESERVED_FIELDS = frozenset({
    "id", "external_id", "path", "media_path", "transcript", "split", "labels", "task", "tasks",
    "dataset", "health", "label",
})
LABEL_PREFIX = "label:"
TASKS_SIDECAR = "tasks.json"

Row = tuple[int, dict]  # (line number, fields)


def read_manifest(path: Path, report: ImportReport) -> tuple[list[Row], list[dict]]:
    """(rows, task definitions) of a CSV or JSONL manifest; bad lines are reported."""
    text = read_text(path, report)
    if text is None:
        return [], []
    if path.suffix.lower() == ".csv":
        return _read_csv(path, text, report), []
    return _read_jsonl(path, text, report)


def _read_csv(path: Path, text: str, report: ImportReport) -> list[Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    for fields in csv_rows(reader, report, path):
        clean = {
            (k or "").strip(): v.strip() for k, v in fields.items()
            if k is not None and isinstance(v, str) and v.strip()
        }
        if clean:
            rows.append((reader.line_num, clean))
    return rows


def _read_jsonl(path: Path, text: str, report: ImportReport) -> tuple[list[Row], list[dict]]:
    rows, definitions = [], []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            fields = json_line(line)
        except json.JSONDecodeError as exc:
            report.skipped += 1
            report.issue(f"{path}:{number}", f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(fields, dict):
            report.skipped += 1
            report.issue(f"{path}:{number}", f"expected a JSON object, got {type(fields).__name__}")
        elif "tasks" in fields and not ({"path", "external_id"} & fields.keys()):
            definitions += _definition_list(fields["tasks"], f"{path}:{number}", report)
        else:
            rows.append((number, fields))
    return rows, definitions


def _definition_list(value, where: str, report: ImportReport) -> list[dict]:
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return [{**item, "_where": where} for item in value]
    report.issue(where, "'tasks' must be a list of {\"name\": ..., \"labels\": [...]} objects")
    return []


def read_task_sidecars(folders: list[Path], report: ImportReport) -> list[dict]:
    """Task definitions from `tasks.json` files in the given folders (each read once)."""
    definitions = []
    for folder in dict.fromkeys(f.resolve() for f in folders):
        sidecar = folder / TASKS_SIDECAR
        if not is_regular_file(sidecar):
            continue
        try:
            data = json_line(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            report.issue(sidecar, f"cannot read task definitions: {exc}")
            continue
        if isinstance(data, dict):
            data = data.get("tasks", [])
        definitions += _definition_list(data, str(sidecar), report)
    return definitions


class TaskCatalog:
    """Tasks a manifest may use: built-in, already in the store, or declared by the manifest."""

    def __init__(self, store: Store, report: ImportReport, definitions: list[dict]):
        self.store, self.report = store, report
        self.tasks: dict[str, Task] = {t.name: t for t in (*MMLA_TASKS, *list_tasks(store))}
        self.ids: dict[str, int] = {}
        self.unknown: dict[str, list[int]] = {}  # task name -> [first line, rows]
        self.defined: list[Task] = []  # stored by defined_ids, once there are clips to import
        for definition in definitions:
            self._define(definition)

    def _define(self, definition: dict) -> None:
        where = definition.get("_where", "tasks")
        try:
            task = make_custom_task(
                str(definition.get("name", "")), [str(x) for x in definition.get("labels", [])],
                task_key=str(definition.get("task_key", "")),
                dimension=str(definition.get("dimension", "")),
            )
            known_task_id(self.store, task)  # refused here if the project's differs
        except (TaskError, ValueError, TypeError) as exc:
            self.report.issue(where, f"task definition not used: {exc}")
            return
        self.tasks[task.name] = task
        self.defined.append(task)

    def lookup(self, name: str) -> Task | None:
        task = self.tasks.get(name)
        if task is None:
            lowered = name.lower()
            task = next((t for n, t in self.tasks.items() if n.lower() == lowered), None)
        return task

    def defined_ids(self) -> set[int]:
        """The ids of the tasks the manifest defines, each stored now if new."""
        return {self.task_id(task) for task in self.defined}

    def task_id(self, task: Task) -> int:
        if task.name not in self.ids:
            self.ids[task.name] = ensure_task(self.store, task)
        return self.ids[task.name]

    def note_unknown(self, name: str, line: int) -> None:
        seen = self.unknown.setdefault(name, [line, 0])
        seen[1] += 1

    def close(self, manifest: Path) -> None:
        for name, (line, rows) in self.unknown.items():
            self.report.issue(
                f"{manifest}:{line}", f"unknown task {name!r} in {rows} row(s); labels skipped. "
                f"Declare it in {TASKS_SIDECAR} or a {{\"tasks\": [...]}} line",
            )


def raw_labels(fields: dict) -> list[tuple[str, str]]:
    """(task name, raw label) pairs in every supported form; field names as written."""
    pairs: list[tuple[str, str]] = []
    labels = fields.get("labels")
    if isinstance(labels, dict):
        pairs += [(str(k), v) for k, v in labels.items()]
    for key, value in fields.items():
        if key.lower().startswith(LABEL_PREFIX):
            pairs.append((key[len(LABEL_PREFIX):].strip(), value))
    return pairs


def row_labels(fields: dict, line: int, catalog: TaskCatalog) -> tuple[dict[int, str], list[str]]:
    """({task id: exact label}, problems) for one manifest row."""
    labels: dict[int, str] = {}
    problems: list[str] = []
    for name, raw in _candidate_pairs(fields, catalog):
        task = catalog.lookup(name)
        if task is None:
            catalog.note_unknown(name, line)
            continue
        if raw is None or str(raw).strip() == "":
            continue
        label = match_label(task, str(raw))
        if label is None:
            problems.append(f"unknown label {raw!r} for task {task.name}; label skipped")
        else:
            labels[catalog.task_id(task)] = label
    return labels, problems


def _candidate_pairs(fields: dict, catalog: TaskCatalog) -> list[tuple[str, object]]:
    pairs: list[tuple[str, object]] = list(raw_labels(fields))
    for key, value in fields.items():
        plain = key not in RESERVED_FIELDS and not key.lower().startswith(LABEL_PREFIX)
        if plain and catalog.lookup(key) is not None:
            pairs.append((key, value))
    task_name = fields.get("task")
    if isinstance(task_name, str) and task_name.strip():
        task = catalog.lookup(task_name.strip())
        if task is None:
            pairs.append((task_name.strip(), None))
        else:
            pairs.append((task.name, fields.get(task.task_key, fields.get("label"))))
    return pairs
