"""Background writers for the concurrency test, each in its own process, as in the real app.

`python writers.py training DB SECONDS` logs trainer events the way the detached training process
does (mmla_core.store.jobs.add_events, one step at a time, a few ms apart); `python writers.py
evaluation DB SECONDS` writes prediction batches the way the model worker does
(mmla_core.store.results.upsert_eval_predictions). Each prints one JSON line at the end:
{"written": rows committed, "errors": [messages]}. An exception is recorded and the writer goes
on, so the test sees every error, not only the first.
"""

from __future__ import annotations

import json
import sys
import time

from mmla_core.store.db import open_store
from mmla_core.store.jobs import add_events, create_job
from mmla_core.store.results import start_run, upsert_eval_predictions

PAUSE_S = 0.002  # a trainer logs every step; an evaluation writes every batch


def training(store, until: float) -> tuple[int, list[str]]:
    job_id = create_job(store, "concurrency", {"lr": 1e-4}, "/tmp/none")
    written, errors, step = 0, [], 0
    while time.monotonic() < until:
        step += 1
        try:
            add_events(store, job_id, [{"step": step, "epoch": step / 100, "kind": "train",
                                        "loss": 1.0 / step, "learning_rate": 1e-4}])
            written += 1
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(PAUSE_S)
    return written, errors


def evaluation(store, until: float) -> tuple[int, list[str]]:
    clip_id = store.scalar("SELECT min(id) FROM clips")
    run_id = start_run(store, "eval", settings={"concurrency": True})
    written, errors, batch = 0, [], 0
    while time.monotonic() < until:
        batch += 1
        rows = [{"run_id": run_id, "clip_id": clip_id, "prompt_template": "t", "prompt_hash": "h",
                 "prompt_kind": "zero_shot", "parsed_label": "joy", "gold_label": "joy",
                 "scores_json": {"joy": 0.9}, "sample_key": f"{batch}|{i}"} for i in range(8)]
        try:
            written += upsert_eval_predictions(store, rows)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(PAUSE_S)
    return written, errors


def main(kind: str, db_path: str, seconds: float) -> None:
    with open_store(db_path) as store:
        write = {"training": training, "evaluation": evaluation}[kind]
        written, errors = write(store, time.monotonic() + seconds)
    print(json.dumps({"written": written, "errors": errors[:20]}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
