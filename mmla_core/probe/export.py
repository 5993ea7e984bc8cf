"""A probe as CSV: one row per cell with its reliance figures and every label's probability.

(The PNG export of matrix + bars + attention plot is the GUI's.)
"""

from __future__ import annotations

import csv
from pathlib import Path

from mmla_core.probe.matrix import ProbeResult
from mmla_core.probe.reliance import cell_reliance

__all__ = ["CSV_COLUMNS", "probe_rows", "probe_to_csv"]

CSV_COLUMNS = ["run_id", "clip_id", "task", "model", "scenario", "prompt", "predicted",
               "p_predicted", "gold", "p_gold", "correct", "delta_p_gold", "flipped",
               "kl_from_aligned", "prediction_id"]


def probe_rows(result: ProbeResult) -> list[dict]:
    reliance = {(r.scenario, r.prompt): r for r in cell_reliance(result)}
    labels: list[str] = []
    for cell in result.cells:
        labels += [label for label in cell.scores if label not in labels]
    rows = []
    for cell in result.cells:
        rel = reliance.get((cell.scenario, cell.prompt))
        row = {"run_id": result.run_id, "clip_id": result.clip_id, "task": result.task,
               "model": result.model, "scenario": cell.scenario, "prompt": cell.prompt,
               "predicted": cell.predicted, "p_predicted": cell.p_predicted,
               "gold": cell.gold, "p_gold": cell.p_gold,
               "correct": "" if cell.correct is None else int(cell.correct),
               "delta_p_gold": "" if rel is None or rel.delta_p_gold is None
               else rel.delta_p_gold,
               "flipped": "" if rel is None else int(rel.flipped),
               "kl_from_aligned": "" if rel is None else rel.kl,
               "prediction_id": cell.prediction_id}
        if cell.attention:
            for i, (v, a, t) in enumerate(cell.attention):
                row.update({f"attn_L{i}_video": v, f"attn_L{i}_audio": a, f"attn_L{i}_text": t})
        row.update({f"P({label})": cell.scores.get(label, "") for label in labels})
        rows.append(row)
    return rows


def probe_to_csv(result: ProbeResult, path: str | Path) -> Path:
    rows = probe_rows(result)
    columns = list(CSV_COLUMNS)
    for row in rows:
        columns += [k for k in row if k not in columns]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)  # as `mmla runs export` does
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path
