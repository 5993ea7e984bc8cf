"""Background jobs of the Training tab (worker threads, each with its own Store; no Qt here).

One poll answers everything the tab shows: the job list (with each job's last step and best dev
accuracy), a liveness check of every job that claims to run (`control.refresh` turns a dead
trainer into `failed` with its exit code), the selected job's new events since the last poll, its
log tail and its checkpoints. Everything is read from SQLite and the job's folder, so a window
opened later (or after a crash) shows a running job exactly like the window that launched it.
"""

from __future__ import annotations

import json

ACTIVE = ("created", "running", "stopping")


def list_training_jobs(store) -> list[dict]:
    """Every job, newest first (refreshed by control), with its config parsed."""
    from mmla_core.train import control

    jobs = [dict(job) for job in control.list_jobs(store)]
    for job in jobs:
        job["config"] = json.loads(job.get("config_json") or "{}")
    return jobs


def poll(store, job_id: int | None, after_id: int) -> dict:
    """The tab's whole refresh: the job list, and for the selected job what is new."""
    from mmla_core.store.jobs import job_events
    from mmla_core.train import control

    jobs = list_training_jobs(store)
    result = {"jobs": jobs, "job_id": job_id, "events": [], "log": "", "checkpoints": [],
              "advice": None}
    job = next((j for j in jobs if int(j["id"]) == job_id), None)
    if job is None:
        return result
    result["events"] = job_events(store, job_id, after_id)
    result["log"] = control.log_tail(job)
    result["checkpoints"] = control.checkpoints(job)
    if job["status"] == "failed":
        result["advice"] = control.oom_advice(
            "\n".join(filter(None, (job.get("stderr_tail"), result["log"]))), job["config"])
    return result
