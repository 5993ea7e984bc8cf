"""Background jobs of the Training tab (worker threads, each with its own Store; no Qt here).

One poll answers everything the tab shows: the job list (with each job's last step and best dev
accuracy), a liveness check of every job that claims to run (`control.refresh` turns a dead
trainer into `failed` with its exit code), the selected job's new events since the last poll, its
log tail and its checkpoints. Everything is read from SQLite and the job's folder, so a window
opened later (or after a crash) shows a running job exactly like the window that launched it.
"""

from __future__ import annotations

import json
import threading

from mmla_core.store.db import open_store
from mmla_core.store.jobs import job_events
from mmla_core.train import control, logfile

ACTIVE = ("created", "running", "stopping")


def list_training_jobs(store) -> list[dict]:
    """Every job, newest first (refreshed by control), with its config parsed."""
    jobs = [dict(job) for job in control.list_jobs(store)]
    for job in jobs:
        job["config"] = json.loads(job.get("config_json") or "{}")
    return jobs


LOG_FIRST_BYTES = 64 * 1024  # a job shown for the first time: the end of its log only


def selected_job(store, job_id: int | None) -> dict | None:
    """One job's row, refreshed (a dead trainer becomes failed); None when it is gone."""
    if job_id is None:
        return None
    try:
        job = dict(control.refresh(store, job_id))
    except control.JobControlError:
        return None
    job["config"] = json.loads(job.get("config_json") or "{}")
    return job


def poll(store, job_id: int | None, after_id: int, log_offset: int = -1,
         with_list: bool = True) -> dict:
    """The tab's refresh: the job list (`with_list`; it reads every job's events, so not on
    every tick), and for the selected job its row and what is new: events after `after_id`,
    log text after byte `log_offset` (-1: the log's last lines, to start from)."""
    job = None if with_list else selected_job(store, job_id)
    jobs = list_training_jobs(store) if with_list or job is None else None
    if jobs is not None:
        job = next((j for j in jobs if int(j["id"]) == job_id), None)
    result = {"jobs": jobs, "job": job, "job_id": job_id, "after_id": after_id, "events": [],
              "log": "", "log_offset": log_offset, "checkpoints": [], "advice": None}
    if job is None:
        return result
    result["events"] = job_events(store, job_id, after_id)
    path = logfile.log_path(job)
    result["log_path"] = None if path is None else str(path)
    result["log_found"] = path is not None and path.is_file()
    if path is not None:
        start = max(log_offset, 0)
        result["log"], result["log_offset"] = logfile.read_log_from(
            path, start, limit=LOG_FIRST_BYTES if log_offset < 0 else 1 << 20)
    result["checkpoints"] = control.checkpoints(job)
    if job["status"] == "failed":
        result["advice"] = logfile.oom_advice(
            "\n".join(filter(None, (job.get("stderr_tail"), logfile.log_tail(job)))),
            job["config"])
    return result


LOG_HINT = "The trainer's log (train.log) appears here."


def log_hint(job: dict | None, result: dict) -> str:
    """What the empty log pane says: where the log is awaited, or that it is gone (a run
    folder moved or deleted leaves a finished job with no log to show)."""
    if job is None or result.get("log_found") or not result.get("log_path"):
        return LOG_HINT
    if job["status"] in ACTIVE:
        return f"train.log not written yet ({result['log_path']})."
    return (f"No train.log at {result['log_path']}: the run's folder was moved or deleted "
            "(its events and curves are kept in the project).")


_THREAD = threading.local()


def poll_project(db_path: str, job_id: int | None, after_id: int, log_offset: int = -1,
                 with_list: bool = True) -> dict:
    """`poll` on this pool thread's own long-lived Store (a Store is bound to its thread): a
    poll twice a second should not pay for opening the database and checking its migrations.
    One Store per thread, on the current project: another project closes the old one."""
    return poll(_thread_store(db_path), job_id, after_id, log_offset, with_list)


def _thread_store(db_path: str):
    held = getattr(_THREAD, "held", None)
    if held is not None and held[0] == db_path:
        return held[1]
    _THREAD.held = None
    if held is not None:
        held[1].close()
    _THREAD.held = (db_path, open_store(db_path))
    return _THREAD.held[1]
