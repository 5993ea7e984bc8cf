"""Writing 1,000,000 prediction rows in batches, and the per-run accuracy query over them.

Baseline (same run, same rows): sqlite-utils `insert_all` into an identical table, which is what a
hand-written logging script would use, and an accuracy query that recomputes
`parsed_label = gold_label` from the rows instead of reading the (run_id, is_correct) index.

    python benchmarks/bench_predictions.py [--rows 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from mmla_core.store import open_store
from mmla_core.store.catalog import ensure_task, upsert_clips, upsert_dataset
from mmla_core.store.results import (
    PREDICTION_COLUMNS,
    insert_predictions,
    prediction_row,
    run_accuracy,
    start_run,
)
from mmla_core.tasks import builtin_task

LABELS = builtin_task("MELD").labels
BATCH = 10_000
RUNS = 1  # one run holding every row: the worst case for the accuracy query


def fake_predictions(run_id: int, clip_ids: list[int], task_id: int, n: int, rng) -> list[tuple]:
    rows = []
    for i in range(n):
        gold, guess = rng.choice(LABELS), rng.choice(LABELS)
        scores = {label: round(rng.random(), 4) for label in LABELS}
        rows.append(prediction_row({
            "run_id": run_id, "clip_id": clip_ids[i % len(clip_ids)], "task_id": task_id,
            "prompt_template": "zero_shot", "prompt_hash": "0123456789abcdef",
            "num_frames": 8, "sample_fps": 2.0, "audio_on": 1, "seed": 0,
            "raw_output": f"emotion: {guess}", "parsed_label": guess, "gold_label": gold,
            "scores_json": json.dumps(scores), "latency_ms": 12.5,
        }))
    return rows


def setup(path: Path):
    store = open_store(path)
    dataset_id = upsert_dataset(store, "MELD", "/data", "mmla")
    task_id = ensure_task(store, builtin_task("MELD"))
    upsert_clips(store, dataset_id, [
        {"external_id": str(i), "split": "test", "media_path": None, "transcript": "x"}
        for i in range(2000)
    ])
    clip_ids = [r[0] for r in store.conn.execute("SELECT id FROM clips")]
    return store, task_id, clip_ids


def time_ours(store, task_id, clip_ids, rows_total, rng) -> tuple[float, list[int]]:
    run_ids = [start_run(store, "eval", task_id=task_id) for _ in range(RUNS)]
    elapsed = 0.0
    for run_id in run_ids:
        for _ in range(rows_total // RUNS // BATCH):
            batch = fake_predictions(run_id, clip_ids, task_id, BATCH, rng)
            start = time.perf_counter()
            insert_predictions(store, batch)
            elapsed += time.perf_counter() - start
    return elapsed, run_ids


def time_baseline(store, rows: list[tuple]) -> float:
    store.conn.execute("CREATE TABLE baseline_predictions AS SELECT * FROM predictions WHERE 0")
    table = store.db.table("baseline_predictions")
    records = [dict(zip(PREDICTION_COLUMNS, row, strict=True)) for row in rows]
    start = time.perf_counter()
    table.insert_all(records, batch_size=BATCH)
    return time.perf_counter() - start


def time_queries(store, run_id: int, repeats: int = 20) -> tuple[float, float]:
    def best(fn):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    ours = best(lambda: run_accuracy(store, run_id))
    naive = best(lambda: store.conn.execute(
        "SELECT count(*), sum(parsed_label = gold_label) FROM predictions WHERE run_id + 0 = ?",
        (run_id,)).fetchone())
    return ours, naive


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows_total = 80_000 if args.quick else args.rows
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        store, task_id, clip_ids = setup(Path(tmp) / "bench.sqlite")
        ours_s, run_ids = time_ours(store, task_id, clip_ids, rows_total, rng)
        sample = fake_predictions(run_ids[0], clip_ids, task_id, rows_total // 10, rng)
        base_s = time_baseline(store, sample) * 10
        query_s, naive_s = time_queries(store, run_ids[0])
        scored, _, acc = run_accuracy(store, run_ids[0])
        store.close()
    rate, base_rate = rows_total / ours_s, rows_total / base_s
    print(f"ours: {rows_total} rows in {ours_s:.2f} s = {rate:,.0f} rows/s (batches of {BATCH})")
    print(f"baseline sqlite-utils insert_all: {base_rate:,.0f} rows/s "
          f"(timed on {rows_total // 10} rows, extrapolated)")
    print(f"run accuracy over {scored} rows: {query_s * 1000:.1f} ms (acc {acc:.3f}); "
          f"naive recompute {naive_s * 1000:.1f} ms")
    print(f"RESULT predictions: rows_per_s={rate:.0f} ratio_vs_insert_all={rate / base_rate:.2f} "
          f"query_ms={query_s * 1000:.1f} query_ratio_vs_naive={naive_s / query_s:.1f}")


if __name__ == "__main__":
    main()
