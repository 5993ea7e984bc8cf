"""A training job resumed (`mmla train resume`, the Training tab's Resume) while a late write
for its last run is on its way: the job poll's "no process is alive" and the old supervisor's
recorded end both name the run they saw, so neither lands on the run that now trains."""

import json
import os
import subprocess
import sys

from mmla_core.store import jobs, open_store
from mmla_core.train import control, supervise
from tests.support import train_jobs_helpers
from tests.support.train_jobs_helpers import toy_config

project = train_jobs_helpers.project   # the fixture: a project whose trainer is the fake one


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def resume_now(store, job_id: int, step: int | None = None) -> None:
    """What control.resume and its supervisor's start write: a new run, its process alive,
    the events past the checkpoint's `step` dropped (the new trainer has not started yet)."""
    jobs.record_resume(store, job_id, control.utc_now(), None, step)
    jobs.update_job(store, job_id, pid=os.getpid())
    jobs.mark_running(store, job_id)


def running_job(store, out) -> int:
    """A job "running" whose processes are gone, with train events at steps 1..10 in the
    database and in its events.jsonl."""
    out.mkdir()
    (out / "train.log").write_text("step 1\n")
    job_id = jobs.create_job(store, "ghost", toy_config().to_dict(), str(out))
    jobs.update_job(store, job_id, status="running", pid=dead_pid())
    events = [{"step": step, "kind": "train", "loss": 1.0 / step} for step in range(1, 11)]
    jobs.add_events(store, job_id, events)
    (out / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return job_id


def last_step(store, job_id: int) -> int:
    return jobs.event_summary(store, job_id)["last_step"]


def test_a_poll_that_found_the_run_dead_never_fails_the_run_resumed_meanwhile(project,
                                                                            monkeypatch):
    with open_store(project) as store:
        job_id = running_job(store, project.parent / "run")
        tail = control.log_tail

        def resumed_while_the_poll_reads_the_log(job):   # between its read and its write
            resume_now(store, job_id, step=4)
            return tail(job)

        monkeypatch.setattr(control, "log_tail", resumed_while_the_poll_reads_the_log)
        job = control.refresh(store, job_id)
        assert last_step(store, job_id) == 4   # the resume's drop stands: steps 5.. run again
    assert (job["status"], job["finished_at"], job["pid"]) == ("running", None, os.getpid())
    assert job["resumed_at"] and job["stderr_tail"] is None


def test_the_old_supervisors_end_is_not_recorded_on_the_resumed_run(project):
    with open_store(project) as store:
        job_id = running_job(store, project.parent / "run")
        first_run = jobs.get_job(store, job_id)["resumed_at"]   # None: never resumed
        resume_now(store, job_id, step=4)
        supervise._record_end(store, job_id, -9, first_run)   # the old trainer was killed
        job = jobs.get_job(store, job_id)
        assert (job["status"], job["exit_code"], job["finished_at"]) == ("running", None, None)
        assert last_step(store, job_id) == 4
        supervise._record_end(store, job_id, 0, job["resumed_at"])   # the new run's own end
        assert jobs.get_job(store, job_id)["exit_code"] == 0
