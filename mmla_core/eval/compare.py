"""Run reports and run comparison: metrics side by side, and the samples where runs disagree.

A run's headline metrics are over its original clips (the samples MMLA scores); each conflict
variant type gets the same metrics plus its *flips*: clips whose answer changed from the one on
the original clip (MMA-Bench's behavioural signal of modality reliance). Error rows (the input
or the model failed on a sample) are counted, never scored. Comparing runs pairs their samples
by (clip, variant); a disagreement is a sample the runs answered differently, with the gold
label and each run's label and probability, ready to open in the player.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from mmla_core.eval.metrics import Metrics, classification_metrics, confusion_matrix
from mmla_core.eval.metrics import pooled_accuracy as _pooled
from mmla_core.store.db import Store
from mmla_core.store.results import get_run, run_counts, run_predictions
from mmla_core.store.task_rows import task_labels

ORIGINAL = "original"
UNPARSED = "unknown"  # a sample the model answered with no parsable label counts as wrong


@dataclass(frozen=True)
class VariantMetrics:
    variant: str  # "original" or the variant type
    metrics: Metrics
    flips: int | None  # answers changed from the original clip's (None for the original)


@dataclass(frozen=True)
class RunReport:
    run: dict
    settings: dict
    metrics: Metrics  # original clips
    by_variant: list[VariantMetrics]
    labels: list[str]  # confusion matrix axes (gold rows, predicted columns), original clips
    matrix: list[list[int]]
    written: int
    errors: int

    @property
    def run_id(self) -> int:
        return int(self.run["id"])

    def title(self) -> str:
        run, inference = self.run, self.settings.get("inference", {})
        parts = [f"#{run['id']}", run.get("model_name") or "?", run.get("task_name") or "?"]
        if run.get("adapter_path"):
            parts.append(f"+{run.get('checkpoint') or 'adapter'}")
        parts.append(inference.get("answer_mode", ""))
        parts.append("audio" if inference.get("audio_on", True) else "no audio")
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Disagreement:
    clip_id: int
    external_id: str
    variant: str
    gold: str
    answers: dict[int, tuple[str, float | None]]  # run id -> (label, its probability)

    def correct(self, run_id: int) -> bool:
        return self.answers[run_id][0] == self.gold


@dataclass
class Comparison:
    reports: list[RunReport]
    shared: int  # samples every run answered
    disagreements: list[Disagreement]
    only_right: dict[int, int] = field(default_factory=dict)  # run id -> samples only it got
    disagreement_count: int = 0  # all of them; `disagreements` holds the first `limit`
    notes: list[str] = field(default_factory=list)


def _label(row: dict) -> str:
    return row["parsed_label"] or UNPARSED


def run_report(store: Store, run_id: int, predictions: list[dict] | None = None) -> RunReport:
    """Metrics of one run (`predictions`: its rows, when the caller has them already)."""
    run = get_run(store, run_id)
    if run is None:
        raise ValueError(f"no run {run_id} in this project (see `mmla runs ls`)")
    rows = run_predictions(store, run_id) if predictions is None else predictions
    answered = [r for r in rows if not r["error"]]
    groups: dict[str, list[dict]] = {}
    for row in answered:
        groups.setdefault(row["variant"] or ORIGINAL, []).append(row)
    originals = groups.get(ORIGINAL, [])
    base = {r["clip_id"]: _label(r) for r in originals}
    by_variant = [_variant_metrics(name, rows, base) for name, rows in
                  sorted(groups.items(), key=lambda kv: (kv[0] != ORIGINAL, kv[0]))]
    gold, pred = [r["gold_label"] for r in originals], [_label(r) for r in originals]
    labels, matrix = confusion_matrix(gold, pred, task_labels(store, run["task_id"]))
    written, errors = run_counts(store, run_id)
    return RunReport(run, json.loads(run["settings_json"] or "{}"),
                     classification_metrics(gold, pred), by_variant, labels, matrix,
                     written, errors)


def _variant_metrics(name: str, rows: list[dict], base: dict[int, str]) -> VariantMetrics:
    metrics = classification_metrics([r["gold_label"] for r in rows], [_label(r) for r in rows])
    if name == ORIGINAL:
        return VariantMetrics(name, metrics, None)
    flips = sum(1 for r in rows if r["clip_id"] in base and base[r["clip_id"]] != _label(r))
    return VariantMetrics(name, metrics, flips)


def metrics_rows(reports: list[RunReport]) -> list[dict]:
    """One row per run and variant type: MMLA's columns (x100, 2 decimals) plus counts."""
    table = []
    for report in reports:
        for vm in report.by_variant:
            table.append({
                "run": report.run_id, "title": report.title(), "variant": vm.variant,
                "n": vm.metrics.n, **vm.metrics.percent(),
                "flips": "" if vm.flips is None else vm.flips,
                "errors": report.errors if vm.variant == ORIGINAL else "",
            })
    return table


def pooled_accuracy(reports: list[RunReport]) -> float | None:
    """Micro accuracy over the runs' original clips (MMLA's overall score across tasks)."""
    return _pooled(r.metrics for r in reports)


def _answers(rows: list[dict]) -> dict[tuple[int, str], dict]:
    return {(r["clip_id"], r["variant"] or ORIGINAL): r for r in rows if not r["error"]}


def _probability(row: dict) -> float | None:
    scores = json.loads(row["scores_json"]) if row.get("scores_json") else {}
    return scores.get(row["parsed_label"]) if row["parsed_label"] else None


def compare_runs(store: Store, run_ids: list[int], *, limit: int | None = None) -> Comparison:
    """Reports of every run and the samples they answered differently (first `limit`)."""
    if len(run_ids) < 2:
        raise ValueError("compare needs two or more runs")
    rows = {run_id: run_predictions(store, run_id) for run_id in run_ids}
    reports = [run_report(store, run_id, rows[run_id]) for run_id in run_ids]
    answers = {run_id: _answers(rows[run_id]) for run_id in run_ids}
    shared = sorted(set.intersection(*(set(a) for a in answers.values())))
    comparison = Comparison(reports, len(shared), [], only_right=dict.fromkeys(run_ids, 0),
                            notes=_notes(reports))
    for key in shared:
        sample = {run_id: answers[run_id][key] for run_id in run_ids}
        first = sample[run_ids[0]]
        right = [run_id for run_id, row in sample.items() if _label(row) == row["gold_label"]]
        if len(right) == 1:
            comparison.only_right[right[0]] += 1
        if len({_label(row) for row in sample.values()}) == 1:
            continue
        comparison.disagreement_count += 1
        if limit is None or len(comparison.disagreements) < limit:
            comparison.disagreements.append(Disagreement(
                key[0], first["external_id"], key[1], first["gold_label"],
                {run_id: (_label(row), _probability(row)) for run_id, row in sample.items()}))
    return comparison


def _notes(reports: list[RunReport]) -> list[str]:
    notes = []
    if len({r.run.get("task_id") for r in reports}) > 1:
        notes.append("the runs are on different tasks: compare their metrics, not samples")
    if len({r.run.get("dataset_id") for r in reports}) > 1:
        notes.append("the runs are on different datasets")
    random = [r.run_id for r in reports if r.settings.get("engine", {}).get("random_weights")]
    if random:
        notes.append(f"run(s) {', '.join(map(str, random))} used random weights: noise")
    return notes
