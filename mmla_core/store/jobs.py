"""Training jobs and their per-step events (written by the detached trainer process)."""

from __future__ import annotations

import json

from mmla_core.store.db import Store

EVENT_COLUMNS = (
    "step", "epoch", "kind", "loss", "eval_loss", "eval_accuracy", "learning_rate",
    "samples_per_s", "tokens_per_s", "gpu_mem_mb",
)


def create_job(store: Store, name: str, config: dict, output_dir: str) -> int:
    """A new job row whose id was never given before (not even to a deleted job)."""
    with store.write() as conn:
        (used,) = conn.execute(
            "SELECT max(coalesce((SELECT value FROM id_high_water WHERE name = 'training_jobs'),"
            " 0), coalesce((SELECT max(id) FROM training_jobs), 0))").fetchone()
        job_id = int(used) + 1
        conn.execute(
            "INSERT INTO training_jobs (id, name, config_json, output_dir) VALUES (?, ?, ?, ?)",
            (job_id, name, json.dumps(config, sort_keys=True), output_dir),
        )
        conn.execute("INSERT INTO id_high_water (name, value) VALUES ('training_jobs', ?) "
                     "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (job_id,))
    return job_id


def update_job(store: Store, job_id: int, **fields) -> None:
    assignments = ", ".join(f"{name} = ?" for name in fields)
    with store.write() as conn:
        conn.execute(f"UPDATE training_jobs SET {assignments} WHERE id = ?",
                     (*fields.values(), job_id))


def add_events(store: Store, job_id: int, events: list[dict]) -> None:
    rows = [(job_id, *(e.get(col) for col in EVENT_COLUMNS)) for e in events]
    with store.write() as conn:
        conn.executemany(
            f"INSERT INTO training_events (job_id, {', '.join(EVENT_COLUMNS)}) "
            f"VALUES (?, {', '.join('?' * len(EVENT_COLUMNS))})", rows,
        )


def job_by_output_dir(store: Store, output_dir: str) -> int | None:
    row = store.conn.execute("SELECT id FROM training_jobs WHERE output_dir = ? ORDER BY id "
                             "DESC", (output_dir,)).fetchone()
    return None if row is None else int(row[0])


def event_keys(store: Store, job_id: int) -> set[tuple]:
    """(kind, step) of a job's events: what a shard merge has already folded in."""
    rows = store.conn.execute("SELECT kind, step FROM training_events WHERE job_id = ?",
                              (job_id,))
    return {tuple(row) for row in rows}


def drop_events_after(store: Store, job_id: int, step: int) -> int:
    """Delete a job's events past `step` (a resume from that checkpoint replays those steps)."""
    with store.write() as conn:
        cursor = conn.execute("DELETE FROM training_events WHERE job_id = ? AND step > ?",
                              (job_id, step))
    return cursor.rowcount


def job_events(store: Store, job_id: int, after_id: int = 0) -> list[dict]:
    """Events newer than `after_id`, for incremental polling by the GUI."""
    return store.query(
        "SELECT * FROM training_events WHERE job_id = ? AND id > ? ORDER BY id", (job_id, after_id)
    )


def get_job(store: Store, job_id: int) -> dict | None:
    rows = store.query("SELECT * FROM training_jobs WHERE id = ?", (job_id,))
    return rows[0] if rows else None


def delete_job(store: Store, job_id: int) -> None:
    """The job row and (by cascade) its events."""
    with store.write() as conn:
        conn.execute("DELETE FROM training_events WHERE job_id = ?", (job_id,))
        conn.execute("DELETE FROM training_jobs WHERE id = ?", (job_id,))
