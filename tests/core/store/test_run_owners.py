"""A run whose process was killed (SIGKILL, the OOM killer) does not stay "running": its owner
(host, pid, start time) is recorded when it starts and `fail_orphan_runs` fails it."""

import json
import os
import signal
import subprocess
import sys

import pytest

from mmla_core.eval.recorder import RunRecorder
from mmla_core.procs import process_owner
from mmla_core.store import open_store, run_owners
from mmla_core.store.results import (
    finish_run,
    get_run,
    start_run,
    update_run,
)
from mmla_core.store.run_owners import (
    fail_orphan_runs,
    fail_with_cause,
    record_run_owner,
    reopen_run,
)
from tests.support.eval_project import make_project

# A CLI process that runs the model itself: starts a probe run, says its id, then works forever.
CHILD = """
import sys, time
from mmla_core.eval.recorder import RunRecorder
from mmla_core.store import open_store
with open_store(sys.argv[1]) as store:
    recorder = RunRecorder(store)
    print(recorder.start("probe", settings={"probe": {"clip_id": 1}}), flush=True)
    time.sleep(120)
"""


@pytest.fixture
def db(tmp_path):
    make_project(tmp_path / "p.sqlite")
    return tmp_path / "p.sqlite"


def owner_of(store, run_id: int) -> dict:
    return json.loads(get_run(store, run_id)["environment_json"])["owner"]


def test_a_killed_process_run_is_failed_by_the_sweep_with_the_reason(db):
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], stdout=subprocess.PIPE,
                             text=True, cwd=os.getcwd())
    try:
        run_id = int(child.stdout.readline())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    with open_store(db) as store:
        assert owner_of(store, run_id)["pid"] == child.pid
        assert get_run(store, run_id)["status"] == "running"   # nobody ended it
        assert fail_orphan_runs(store) == [run_id]
        run = get_run(store, run_id)
        assert run["status"] == "failed" and run["finished_at"]
        assert run["error"].startswith(f"the process that ran it (pid {child.pid} on "
                                       f"{owner_of(store, run_id)['host']}) is gone; ")
        assert "probe" in run["error"]
        assert fail_orphan_runs(store) == []   # once


def test_a_live_owner_another_host_no_owner_and_multi_rank_runs_stay_running(db):
    with open_store(db) as store:
        live = RunRecorder(store).start("eval", settings={})   # this process: alive
        dead = process_owner()
        dead["start"] = -1   # this pid, but another process's start time: a reused pid
        reused = start_run(store, "eval", settings={})
        record_run_owner(store, reused, dead)
        elsewhere = start_run(store, "eval", settings={})
        record_run_owner(store, elsewhere, {**dead, "host": "another-host.invalid"})
        no_owner = start_run(store, "eval", settings={})   # started before owners existed
        ranks = start_run(store, "eval", settings={"world_size": 2})
        record_run_owner(store, ranks, dead)
        launched = start_run(store, "eval", settings={}, launch_key="k1")
        record_run_owner(store, launched, dead)
        assert fail_orphan_runs(store) == [reused]
        for run_id in (live, elsewhere, no_owner, ranks, launched):
            assert get_run(store, run_id)["status"] == "running", run_id
        assert "mmla eval --resume" in get_run(store, reused)["error"]


def test_a_run_taken_over_is_owned_by_the_process_that_takes_it(db):
    with open_store(db) as store:
        planned = start_run(store, "eval", settings={})
        record_run_owner(store, planned, {**process_owner(), "start": -1})   # a killed planner
        RunRecorder(store, run_id=planned)
        assert owner_of(store, planned) == process_owner()
        assert fail_orphan_runs(store) == []


def test_the_sweep_words_the_job_the_run_recorded(db):
    """A probe run says whether a single probe or a probe set wrote it; the sweep gives that
    job's rerun only. A run recorded before jobs were kept still gets both wordings."""
    dead = {**process_owner(), "start": -1}   # this pid, another start time: a killed process
    with open_store(db) as store:
        runs = {job: start_run(store, "probe", settings={}) for job in ("probe", "probe_set")}
        for job, run_id in runs.items():
            record_run_owner(store, run_id, dead, job)
        before = start_run(store, "probe", settings={})
        record_run_owner(store, before, dead)
        assert sorted(fail_orphan_runs(store)) == sorted([*runs.values(), before])
        checks = RunRecorder(store).start("checks", settings={})   # its kind's only job
        assert json.loads(get_run(store, checks)["environment_json"])["job"] == "checks"
        single, in_set, old = (get_run(store, r)["error"] for r in (*runs.values(), before))
    assert "probe the clip again" in single and "missing ones again" not in single
    assert "missing ones again" in in_set and "probe the clip again" not in in_set
    assert "if it was" not in single + in_set
    assert "if it was a probe, " in old and "if it was a probe set, " in old


def test_the_worker_clients_cause_replaces_the_sweeps_guess_never_another_error(db):
    """A window may sweep its runs while its worker dies: the sweep says "the process ... is
    gone", then the client, which saw the exit code, gives the cause. A run that failed for
    another reason, or ended, keeps what it has."""
    dead = {**process_owner(), "start": -1}
    with open_store(db) as store:
        swept, other, done = (start_run(store, "probe", settings={}) for _ in range(3))
        record_run_owner(store, swept, dead, "probe")
        assert fail_orphan_runs(store) == [swept]
        finish_run(store, other, "failed", error="out of memory on clip 3")
        finish_run(store, done)
        cause = "the model worker exited unexpectedly (exit code 1)"
        assert [fail_with_cause(store, r, dead, cause) for r in (swept, other, done)] == [
            True, False, False]
        assert get_run(store, swept)["error"] == cause
        assert get_run(store, other)["error"] == "out of memory on clip 3"
        assert get_run(store, done)["status"] == "done"


def test_a_late_failure_for_the_dead_worker_never_lands_on_the_run_a_resume_took_over(db):
    """The client's "failed" write, held up behind a database lock, arrives after the user
    resumed the run in a new process: the run stays running, the new process's, and the write
    says it lost. Nor does it replace the words the sweep gave when the new process died too."""
    dead = {**process_owner(), "start": -1}   # this pid, another start time: a killed worker
    cause = "the model worker exited unexpectedly (exit code 1)"
    with open_store(db) as store:
        run_id = start_run(store, "eval", settings={})
        record_run_owner(store, run_id, dead, "evaluate")
        reopen_run(store, run_id, process_owner(), "evaluate", total=9)   # the resume
        assert fail_with_cause(store, run_id, dead, cause) is False
        run = get_run(store, run_id)
        assert (run["status"], run["error"], run["total"]) == ("running", None, 9)
        assert owner_of(store, run_id) == process_owner()
        reopen_run(store, run_id, {**dead, "start": -2}, "evaluate")   # its worker died too
        assert fail_orphan_runs(store) == [run_id]
        swept = get_run(store, run_id)["error"]
        assert fail_with_cause(store, run_id, dead, cause) is False
        assert get_run(store, run_id)["error"] == swept


def test_the_sweep_never_fails_a_run_resumed_after_it_read_the_run(db, monkeypatch):
    """The sweep reads the running runs, finds the owner gone; before its write lands the
    user resumes the run in a new process: the run stays running, the new owner's."""
    dead = {**process_owner(), "start": -1}
    with open_store(db) as store:
        run_id = start_run(store, "eval", settings={})
        record_run_owner(store, run_id, dead, "evaluate")
        alive = run_owners.process_alive

        def resumed_while_checked(pid, start=None):
            update_run(store, run_id, status="running", error=None)   # what a resume does
            record_run_owner(store, run_id, process_owner(), "evaluate")
            return alive(pid, start)

        monkeypatch.setattr(run_owners, "process_alive", resumed_while_checked)
        assert fail_orphan_runs(store) == []
        assert get_run(store, run_id)["status"] == "running"
        assert owner_of(store, run_id) == process_owner()
