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


# --- job status and summaries (job control, the trainer, its callbacks) ------------------------

_UNENDED = "('created', 'running', 'stopping')"
_SUMMARY_SQL = ("SELECT MAX(id) AS last_id, MAX(step) AS last_step, "
                "MAX(CASE WHEN kind = 'eval' THEN eval_accuracy END) AS best, "
                "MAX(CASE WHEN kind = 'test' THEN eval_accuracy END) AS test FROM training_events")


def jobs_newest_first(store: Store) -> list[dict]:
    return store.query("SELECT * FROM training_jobs ORDER BY id DESC")


def unended_job_ids(store: Store) -> list[int]:
    """Jobs whose row says created, running or stopping (their process may be gone)."""
    return [r["id"] for r in store.query(
        f"SELECT id FROM training_jobs WHERE status IN {_UNENDED}")]


def job_status(store: Store, job_id: int) -> str | None:
    return store.scalar("SELECT status FROM training_jobs WHERE id = ?", (job_id,))


def job_created_at(store: Store, job_id: int) -> str | None:
    return store.scalar("SELECT created_at FROM training_jobs WHERE id = ?", (job_id,))


def other_output_dirs(store: Store, job_id: int | None) -> list[dict]:
    """(id, name, output_dir) of every other job with an output folder."""
    return store.query("SELECT id, name, output_dir FROM training_jobs WHERE "
                       "output_dir IS NOT NULL AND output_dir != '' AND id IS NOT ?", (job_id,))


def event_summary(store: Store, job_id: int, after_id: int = 0) -> dict:
    """last_id, last_step, best (dev accuracy) and test accuracy of a job's events, only those
    with an id above `after_id` when given (a rowid range: cheap on a running job's new rows)."""
    if after_id:
        return store.query(f"{_SUMMARY_SQL} NOT INDEXED WHERE id > ? AND job_id = ?",
                           (after_id, job_id))[0]
    return store.query(f"{_SUMMARY_SQL} WHERE job_id = ?", (job_id,))[0]


def mark_running(store: Store, job_id: int) -> None:
    """created -> running, unless the supervisor has already recorded the end."""
    with store.write() as conn:
        conn.execute("UPDATE training_jobs SET status = 'running' WHERE id = ? AND "
                     "status = 'created'", (job_id,))


def mark_stopping(store: Store, job_id: int) -> None:
    with store.write() as conn:
        conn.execute("UPDATE training_jobs SET status = 'stopping' WHERE id = ? AND status IN "
                     "('created', 'running')", (job_id,))


def fail_unended(store: Store, seen: dict, finished_at: str, tail: str) -> bool:
    """Mark a job failed as `seen` (its row when its processes were found gone): unless it has
    ended meanwhile (the supervisor may record it just now) or was resumed since (a new
    `resumed_at` and supervisor pid: a late write must not fail the run that now trains).
    False when nothing was written."""
    with store.write() as conn:
        cursor = conn.execute(
            "UPDATE training_jobs SET status = 'failed', finished_at = ?, stderr_tail = ? "
            f"WHERE id = ? AND status IN {_UNENDED} AND pid IS ? AND resumed_at IS ?",
            (finished_at, tail, seen["id"], seen["pid"], seen.get("resumed_at")))
    return cursor.rowcount > 0


def record_resume(store: Store, job_id: int, at: str, checkpoint: str | None,
                  step: int | None) -> None:
    """A stopped or failed job set up to run again: status created, last run's end cleared,
    the resume appended to `resumes_json` and `resumed_at`; `started_at` (the first run's
    start) is kept. The events past the checkpoint's `step` go in the same transaction: every
    view shows the job at that step at once, not only once its trainer has started (it drops
    them from events.jsonl too). A reader that sees the new `resumed_at` sees them gone."""
    entry = json.dumps({"at": at, "checkpoint": checkpoint, "step": step})
    with store.write() as conn:
        if step is not None:
            drop_events_after(store, job_id, step)
        conn.execute(
            "UPDATE training_jobs SET status = 'created', pid = NULL, exit_code = NULL, "
            "finished_at = NULL, stderr_tail = NULL, resumed_at = ?, resumes_json = "
            "json_insert(coalesce(resumes_json, '[]'), '$[#]', json(?)) WHERE id = ?",
            (at, entry, job_id))


def job_resumes(job: dict) -> list[dict]:
    """`[{at, checkpoint, step}]` of a job row's resumes, oldest first ([] when never)."""
    try:
        found = json.loads(job.get("resumes_json") or "[]")
    except ValueError:
        return []
    return found if isinstance(found, list) else []


def record_trainer_start(store: Store, job_id: int, pid: int, started_at: str, log_path: str,
                         output_dir: str) -> str:
    """The trainer's process takes the job (running, unless a stop was asked already); returns
    the status it leaves. `started_at` is the first run's start: a resumed run keeps it (its
    own start is `resumed_at`)."""
    with store.write() as conn:
        conn.execute(
            "UPDATE training_jobs SET status = CASE status WHEN 'stopping' THEN "
            "'stopping' ELSE 'running' END, pid = ?, started_at = coalesce(started_at, ?), "
            "finished_at = NULL, "
            "log_path = ?, output_dir = ? WHERE id = ?",
            (pid, started_at, log_path, output_dir, job_id))
        return conn.execute("SELECT status FROM training_jobs WHERE id = ?",
                            (job_id,)).fetchone()[0]


# --- a job's adapter and its test runs (eval.comparable, eval.finetune_compare) ---------------

def jobs_with_output_newest_first(store: Store) -> list[dict]:
    return store.query("SELECT * FROM training_jobs WHERE output_dir IS NOT NULL "
                       "ORDER BY id DESC")


def job_identities(store: Store) -> list[dict]:
    """(id, name, config_json, output_dir, created_at) of every job."""
    return store.query("SELECT id, name, config_json, output_dir, created_at FROM training_jobs")


def job_test_runs(store: Store, job_id: int) -> list[dict]:
    """(settings_json, task) of the evaluation runs a job made, newest first."""
    return store.query(
        "SELECT r.settings_json, t.name AS task FROM runs r LEFT JOIN tasks t ON t.id = "
        "r.task_id WHERE r.kind = 'eval' AND json_extract(r.settings_json, "
        "'$.training_job_id') = ? ORDER BY r.id DESC", (job_id,))


def record_job_end(store: Store, job_id: int, exit_code: int, ending,
                   resumed_at: str | None) -> bool:
    """Record how a job's process ended, reading the row in the same transaction (a stop asked
    meanwhile is seen): `ending(job)` gives (status, finished_at, stderr_tail). `resumed_at`:
    the job's as its supervisor started (None for the first run). False when the job was
    deleted meanwhile, or resumed since (its new run is another supervisor's to record):
    nothing recorded."""
    with store.write() as conn:
        job = get_job(store, job_id)
        if job is None or job["resumed_at"] != resumed_at:
            return False
        status, finished_at, tail = ending(job)
        conn.execute("UPDATE training_jobs SET status = ?, exit_code = ?, finished_at = ?, "
                     "stderr_tail = ? WHERE id = ?",
                     (status, exit_code, finished_at, tail, job_id))
    return True
