"""Models, runs and predictions: everything needed to re-run any prediction (DESIGN rule 6)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from mmla_core.store.db import Store

PREDICTION_COLUMNS = (
    "run_id", "clip_id", "task_id", "model_id", "weights_hash", "adapter_path", "checkpoint",
    "prompt_template", "prompt_hash", "prompt_kind", "recipe_json", "num_frames", "sample_fps",
    "max_pixels", "audio_on", "seed", "answer_mode", "raw_output", "parsed_label", "gold_label",
    "is_correct", "scores_json", "latency_ms",
)
_INSERT_PREDICTION = (
    f"INSERT INTO predictions ({', '.join(PREDICTION_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(PREDICTION_COLUMNS))})"
)


def add_model(store: Store, name: str, family: str, path: str, *, weights_hash: str | None = None,
              random_weights: bool = False) -> int:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO models (name, family, path, weights_hash, random_weights) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET family = excluded.family, "
            "path = excluded.path, weights_hash = excluded.weights_hash, "
            "random_weights = excluded.random_weights",
            (name, family, path, weights_hash, int(random_weights)),
        )
    return int(store.scalar("SELECT id FROM models WHERE name = ?", (name,)))


def start_run(store: Store, kind: str, *, settings: dict | None = None, **fields) -> int:
    """A run groups the predictions of one evaluation, probe or check pass."""
    columns = {"kind": kind, "settings_json": json.dumps(settings or {}, sort_keys=True), **fields}
    with store.write() as conn:
        cursor = conn.execute(
            f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            tuple(columns.values()),
        )
    return int(cursor.lastrowid)


def finish_run(store: Store, run_id: int, status: str = "done") -> None:
    with store.write() as conn:
        conn.execute(
            "UPDATE runs SET status = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') "
            "WHERE id = ?", (status, run_id),
        )


def prediction_row(prediction: dict) -> tuple:
    """Order a prediction dict's fields for insertion; derives is_correct and JSON scores."""
    record = dict(prediction)
    if record.get("is_correct") is None and record.get("gold_label") is not None:
        record["is_correct"] = int(record.get("parsed_label") == record["gold_label"])
    if isinstance(record.get("scores_json"), dict):
        record["scores_json"] = json.dumps(record["scores_json"])
    record.setdefault("answer_mode", "scoring")
    record["audio_on"] = int(bool(record.get("audio_on")))
    return tuple(record.get(col) for col in PREDICTION_COLUMNS)


def insert_predictions(store: Store, predictions: Iterable[dict | tuple]) -> int:
    """Write a batch in one transaction (tuples must already be in PREDICTION_COLUMNS order)."""
    rows = [p if isinstance(p, tuple) else prediction_row(p) for p in predictions]
    with store.write() as conn:
        conn.executemany(_INSERT_PREDICTION, rows)
    return len(rows)


def run_accuracy(store: Store, run_id: int) -> tuple[int, int, float | None]:
    """(scored, correct, accuracy) for a run; served from the (run_id, is_correct) index."""
    scored, correct = store.conn.execute(
        "SELECT count(is_correct), total(is_correct) FROM predictions WHERE run_id = ?",
        (run_id,),
    ).fetchone()
    return int(scored), int(correct), (correct / scored if scored else None)


def list_runs(store: Store) -> list[dict]:
    return store.query(
        "SELECT r.*, m.name AS model_name, t.name AS task_name, "
        "(SELECT count(*) FROM predictions p WHERE p.run_id = r.id) AS prediction_count "
        "FROM runs r LEFT JOIN models m ON m.id = r.model_id "
        "LEFT JOIN tasks t ON t.id = r.task_id ORDER BY r.id DESC"
    )
