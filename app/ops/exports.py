"""Exports (the Export dialog): labels + check answers + verdicts to CSV / JSONL, one ELAN .eaf
per clip, clips to LLaMA-Factory or MMLA's layout. The `Op` writes files (atomically: a failed
export leaves no half file) and records one `exports` row with the labels it used
(mmla_core.store.exports).

It declares no change area: no view lists the export log, and the project's clips, labels and
runs are as they were. The dialog runs it with `run_job` (a runner job: a tokenizer may load).
"""

from __future__ import annotations

from mmla_app.ops.op import Op
from mmla_core.changes import Changes
from mmla_core.datasets.eaf import export_eaf
from mmla_core.datasets.export import export_llamafactory
from mmla_core.datasets.mmla_export import export_mmla_layout
from mmla_core.datasets.review_export import export_review_csv, export_review_jsonl
from mmla_core.models.registered import load_tokenizer
from mmla_core.store.verdicts import Selection, describe_record

MAX_LISTED = 20  # clips the summary names one by one; the rest are counted


def _write_review(store, fmt: str, out: str, dataset_id: int, selection: Selection) -> str:
    writer = export_review_csv if fmt == "csv" else export_review_jsonl
    written = writer(store, out, dataset=dataset_id, selection=selection)
    return f"Wrote {written.records} clips to {out}; {describe_record(written.labels)}"


def _write_eaf(store, out: str, dataset_id: int, annotator: str | None,
               selection: Selection) -> str:
    files = export_eaf(store, out, dataset=dataset_id, annotator=annotator, selection=selection)
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(files.skipped.items())) or "none"
    summary = (f"Wrote {len(files)} .eaf files to {out}; skipped: {skipped}; "
               f"{describe_record(files.labels)}")
    problems = files.write_problems  # each clip whose file could not be written, as the CLI
    listed = [f"Not written: {line}" for line in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        listed.append(f"… and {len(problems) - MAX_LISTED} more clips not written")
    return "\n".join([summary, *listed])


def _write_llamafactory(store, out: str, dataset_id: int, options: dict,
                        selection: Selection) -> str:
    # loaded here, on the job's thread (transformers is slow to import)
    tokenizer = load_tokenizer(store, options["tokenizer"]) if options.get("tokenizer") else None
    files = export_llamafactory(
        store, out, dataset=dataset_id, task=options["task"], mode=options["mode"],
        splits=tuple(s.strip() for s in options["splits"].split(",") if s.strip()),
        selection=selection, tokenizer=tokenizer, tokenizer_name=options.get("tokenizer"))
    return files.summary()


def _write_mmla(store, out: str, dataset_id: int, options: dict, selection: Selection) -> str:
    files = export_mmla_layout(
        store, out, dataset=dataset_id, task=options["task"],
        splits=tuple(s.strip() for s in options["splits"].split(",") if s.strip()),
        selection=selection)
    problems = files.media_problems  # each clip written text-only for its video, as the CLI
    listed = [f"Text-only: {line}" for line in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        listed.append(f"… and {len(problems) - MAX_LISTED} more clips written text-only")
    return "\n".join([files.summary(), *listed])


def _write_export(store, fmt: str, out: str, dataset_id: int, options: dict) -> str:
    """One export; returns its one-line summary."""
    selection = Selection.from_dict(options.get("selection"))
    if fmt in ("csv", "jsonl"):
        return _write_review(store, fmt, out, dataset_id, selection)
    if fmt == "eaf":
        return _write_eaf(store, out, dataset_id, options.get("annotator"), selection)
    if fmt == "mmla":
        return _write_mmla(store, out, dataset_id, options, selection)
    return _write_llamafactory(store, out, dataset_id, options, selection)


def export(fmt: str, out: str, dataset_id: int, options: dict) -> Op:
    """`fmt`: csv / jsonl / eaf / llamafactory; `options`: selection (the label choice),
    annotator (eaf: only their work), task, mode, splits, tokenizer (llamafactory)."""
    return Op(_write_export, (fmt, out, dataset_id, options), Changes())
