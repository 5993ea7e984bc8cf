"""`mmla runs export`: a run's predictions as CSV, JSONL or Parquet, or lmms-eval's sample log.

The format comes from `--format` or else the file's extension; any other extension is refused
(a `.jsonl` must never silently get CSV). Parquet needs pyarrow, which is optional.

`lmms-eval` writes one JSON object per sample with the fields lmms-eval's evaluator logs with
`--log_samples` (lmms_eval/evaluator.py): doc_id, doc, target, arguments, resps, filtered_resps,
doc_hash, prompt_hash, target_hash, plus the per-sample metric (`accuracy`, 1.0 or 0.0). In
generation mode the one request is `[prompt, generation kwargs]`, resps `[[raw output]]` and
filtered_resps `[parsed label]`; in scoring mode each label is a loglikelihood request
`[prompt, answer]` (flattened as lmms-eval flattens them), resps `[[[logprob, null]], ...]` and
filtered_resps `[[logprob, null], ...]` (null: whether the answer is the greedy one is not
computed).
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from mmla_core.store.db import Store
from mmla_core.store.results import get_run, run_predictions
from mmla_core.store.task_rows import task_key

__all__ = ["FORMATS", "ExportFormatError", "export_run", "lmms_eval_samples"]

FORMATS = ("csv", "jsonl", "parquet", "lmms-eval")
_BY_SUFFIX = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
_JSON_COLUMNS = ("scores_json", "token_counts_json", "logprobs_json", "recipe_json")


class ExportFormatError(ValueError):
    """The format cannot be told from the file name, or its library is missing."""


def export_format(path: Path, requested: str | None) -> str:
    if requested:
        if requested not in FORMATS:
            raise ExportFormatError(f"unknown format {requested!r}; use {', '.join(FORMATS)}")
        if requested == "lmms-eval" and path.suffix.lower() != ".jsonl":
            raise ExportFormatError(f"{path}: lmms-eval's sample log is JSONL; name it .jsonl")
        return requested
    found = _BY_SUFFIX.get(path.suffix.lower())
    if found is None:
        raise ExportFormatError(
            f"{path}: cannot tell the format from {path.suffix or 'no extension'!r}; name the "
            "file .csv, .jsonl or .parquet, or pass --format lmms-eval with a .jsonl file")
    return found


def export_run(store: Store, run_id: int, path: str | Path, fmt: str | None = None) -> tuple:
    """Write the run's predictions; returns (rows written, the format used)."""
    path = Path(path)
    fmt = export_format(path, fmt)
    rows = run_predictions(store, run_id)
    if fmt == "parquet":
        _require_pyarrow()
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        _write_csv(path, rows)
    elif fmt == "jsonl":
        _write_jsonl(path, [_decoded(r) for r in rows])
    elif fmt == "parquet":
        _write_parquet(path, rows)
    else:
        _write_jsonl(path, lmms_eval_samples(store, run_id, rows))
    return len(rows), fmt


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise ExportFormatError(
            "Parquet needs pyarrow, which is not installed here: `pip install pyarrow` "
            "(or `pip install mmla-studio[parquet]`), or export .csv / .jsonl instead") from exc


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["run_id"])
        writer.writeheader()
        writer.writerows(rows)


def _write_jsonl(path: Path, records) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _write_parquet(path: Path, rows: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(rows[0]) if rows else ["run_id"]
    table = pa.table({c: [r.get(c) for r in rows] for c in columns})
    pq.write_table(table, path)


def _decoded(row: dict) -> dict:
    """JSON columns as objects, so a JSONL line is one nested record."""
    out = dict(row)
    for column in _JSON_COLUMNS:
        if isinstance(out.get(column), str):
            try:
                out[column] = json.loads(out[column])
            except ValueError:
                pass
    return out


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lmms_eval_samples(store: Store, run_id: int, rows: list[dict] | None = None) -> list[dict]:
    """One lmms-eval sample record per prediction (error rows are left out, as lmms-eval
    has no record for a request that never ran)."""
    run = get_run(store, run_id) or {}
    key = task_key(store, run.get("task_id"))
    settings = json.loads(run.get("settings_json") or "{}").get("inference", {})
    rows = run_predictions(store, run_id) if rows is None else rows
    records = []
    for doc_id, row in enumerate(r for r in rows if not r.get("error")):
        records.append(_lmms_record(doc_id, _decoded(row), key, settings))
    return records


def _lmms_record(doc_id: int, row: dict, task_key: str | None, settings: dict) -> dict:
    prompt = row.get("prompt_text") or row.get("prompt_template") or ""
    target = row.get("gold_label")
    doc = {k: row.get(k) for k in ("clip_id", "external_id", "split", "variant", "prompt_kind",
                                   "answer_mode", "input_hash", "token_counts_json")}
    if row.get("answer_mode") == "generation":
        generation = {"max_new_tokens": settings.get("max_new_tokens"), "do_sample": False}
        arguments, resps = [prompt, generation], [[row.get("raw_output")]]
        filtered = [row.get("parsed_label")]
    else:
        logprobs = row.get("logprobs_json") or {}
        labels = list(logprobs) or list(row.get("scores_json") or {})
        arguments = [part for label in labels
                     for part in (prompt, f"{task_key}: {label}" if task_key else label)]
        filtered = [[logprobs.get(label), None] for label in labels]
        resps = [[pair] for pair in filtered]
    return {
        "doc_id": doc_id, "doc": doc, "target": target, "arguments": arguments,
        "resps": resps, "filtered_resps": filtered,
        "doc_hash": _sha256(json.dumps(doc, indent=2, ensure_ascii=False, default=str)),
        "prompt_hash": _sha256(prompt), "target_hash": _sha256(str(target)),
        "accuracy": None if row.get("is_correct") is None else float(row["is_correct"]),
        "parsed_label": row.get("parsed_label"),
    }
