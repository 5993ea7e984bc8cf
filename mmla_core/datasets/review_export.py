"""Review exports: a dataset's clips with labels, every person's check answers, the reviews and
the overall verdict, as JSONL (one clip per line) or flat CSV.

The rows come from the store (`store.annotator_work`, `store.review`, `store.verdicts`); this
module only shapes and writes them, through `datasets.export`'s logged file writer.
"""

from __future__ import annotations

import csv
import io
import json
import os

from mmla_core.datasets.export import (
    CLIP_FIELDS,
    ClipRecords,
    ExportedFiles,
    ExportError,
    clip_records,
    write_records_file,
)
from mmla_core.store.annotator_work import check_answers_by_clip
from mmla_core.store.catalog import find_dataset
from mmla_core.store.db import Store
from mmla_core.store.review import review_verdicts_by_clip
from mmla_core.store.verdicts import Selection, overall_verdicts


def review_records(store: Store, dataset: str | int, *, split: str | None = None,
                   selection: Selection | None = None) -> ClipRecords:
    """`clip_records` (clip fields + policy labels, the clips the selection keeps) plus, per
    clip, every human check answer, the reviews and the overall verdict (`verdicts`)."""
    dataset_id = dataset_id_of(store, dataset)
    records = clip_records(store, dataset=dataset_id, split=split, selection=selection)
    overall = overall_verdicts(store, dataset_id)
    answers: dict[int, dict[str, dict[str, str]]] = {}
    for clip_id, given in check_answers_by_clip(store, dataset_id).items():
        for key, annotator, answer in given:
            answers.setdefault(clip_id, {}).setdefault(key, {})[annotator] = answer
    reviews = review_verdicts_by_clip(store, dataset_id)
    for record in records:
        record["checks"] = answers.get(record["id"], {})
        record["reviews"] = reviews.get(record["id"], {})
        record["verdict"] = overall.get(record["id"])
    return records


def dataset_id_of(store: Store, dataset: str | int) -> int:
    if (row := find_dataset(store, dataset)) is not None:
        return int(row["id"])
    raise ExportError(f"no dataset {dataset!r} in {store.path}")


def export_review_jsonl(store: Store, path: str | os.PathLike, *, dataset: str | int,
                        split: str | None = None,
                        selection: Selection | None = None) -> ExportedFiles:
    """One clip per line: labels, check answers per annotator, reviews and the verdict."""
    records = review_records(store, dataset, split=split, selection=selection)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return write_records_file(store, "review-jsonl", path, text, records, dataset=dataset,
                              split=split)


def export_review_csv(store: Store, path: str | os.PathLike, *, dataset: str | int,
                      split: str | None = None,
                      selection: Selection | None = None) -> ExportedFiles:
    """Flat columns: clip fields, `label:<task>`, `check:<key>:<annotator>`, `verdict` and
    `reviewed_by` (annotators joined with ';')."""
    records = review_records(store, dataset, split=split, selection=selection)
    tasks = list(dict.fromkeys(t for r in records for t in r["labels"]))
    checks = list(dict.fromkeys(
        (key, who) for r in records for key, by in r["checks"].items() for who in by))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CLIP_FIELDS, *(f"label:{t}" for t in tasks),
                     *(f"check:{k}:{a}" for k, a in checks), "verdict", "reviewed_by"])
    for r in records:
        writer.writerow([
            *(("" if r[f] is None else r[f]) for f in CLIP_FIELDS),
            *(r["labels"].get(t, "") for t in tasks),
            *(r["checks"].get(k, {}).get(a, "") for k, a in checks),
            r["verdict"] or "", ";".join(r["reviews"]),
        ])
    return write_records_file(store, "review-csv", path, buffer.getvalue(), records,
                              dataset=dataset, split=split)
