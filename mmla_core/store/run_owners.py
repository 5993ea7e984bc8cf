"""Who runs a run, and the sweep that fails a run whose process is gone.

A run made by a process that runs the model itself (`mmla probe`, `mmla probe-table
--run-missing`, `mmla checks-model`, `mmla eval --in-process`, or the model worker) records its
owner when it starts: host name, pid and the process's start time, under "owner" in the run's
environment_json, and next to it under "job" the job it runs (`run_fates`: the worker's op,
"probe" or "probe_set" for a probe run). No schema change; runs started before owners were
recorded are never swept, and those started before jobs were recorded get every job's words.
A SIGKILL (the OOM killer) gives that process no chance to end its run, so `fail_orphan_runs`,
called where runs are listed or started, marks such a run failed, saying what is kept and what
a rerun does (`run_fates.kind_fate`: the words every cut-short run gets).

Whoever fails a run on behalf of a process that died (the sweep, the worker's client) names
that process, the owner it saw: the write is one conditional UPDATE on the run as that owner
left it (`fail_owned_run`). A write held up behind a database lock until the user has resumed
the run in a new process (which stamps itself as the owner in the same UPDATE that sets the
run running again: `reopen_run`) then changes nothing, and the late writer learns it lost.
"""

from __future__ import annotations

import json
import os
import socket

from mmla_core.procs import process_alive
from mmla_core.run_fates import kind_fate
from mmla_core.store.db import Store

__all__ = ["fail_orphan_runs", "fail_owned_run", "fail_with_cause", "orphan_reason",
           "record_run_owner", "reopen_run"]

_ORPHAN_PREFIX = "the process that ran it (pid "

_RUNNING_OWNED = (
    "SELECT id, kind, json_extract(environment_json, '$.owner.pid') AS pid, "
    "json_extract(environment_json, '$.job') AS job, "
    "json_extract(environment_json, '$.owner.start') AS start FROM runs "
    "WHERE status = 'running' AND launch_key IS NULL "
    "AND json_extract(environment_json, '$.owner.host') = ? "
    "AND json_extract(environment_json, '$.owner.pid') IS NOT NULL "
    "AND coalesce(json_extract(settings_json, '$.world_size'), 1) <= 1"
)
# the run is still the one `owner` (host, pid, start time) ran: nobody took it over since
_OWNED_BY = ("id = ? AND json_extract(environment_json, '$.owner.host') = ? "
             "AND json_extract(environment_json, '$.owner.pid') = ? "
             "AND json_extract(environment_json, '$.owner.start') IS ?")
_OWNER_JSON = "json_set(coalesce(environment_json, '{}'), '$.owner', json(?))"


def _owned_by(run_id: int, owner: dict) -> tuple:
    """The parameters of `_OWNED_BY`."""
    start = owner.get("start")
    return (int(run_id), owner["host"], int(owner["pid"]), None if start is None else int(start))


def record_run_owner(store: Store, run_id: int, owner: dict, job: str | None = None) -> None:
    """Stamp `owner` ({host, pid, start}: procs.process_owner) on the run's environment, and the
    `job` it runs (a `run_fates` key) when given: the sweep words that job's rerun."""
    with store.write() as conn:
        conn.execute(f"UPDATE runs SET environment_json = {_OWNER_JSON} WHERE id = ?",
                     (json.dumps(owner), int(run_id)))
        if job:
            conn.execute("UPDATE runs SET environment_json = json_set(environment_json, "
                         "'$.job', ?) WHERE id = ?", (job, int(run_id)))


def orphan_reason(run_id: int, kind: str, pid: int, host: str, job: str | None = None) -> str:
    """The failed run's error: its process is gone, what is kept and what a rerun does (of
    `job`, else of every job that writes `kind`)."""
    return (f"{_ORPHAN_PREFIX}{pid} on {host}) is gone; "
            f"{kind_fate(kind, run_id, job)}")


def fail_orphan_runs(store: Store) -> list[int]:
    """Mark failed every run still "running" whose owner process on this host is gone (or whose
    pid now names a process with another start time); the ids it failed.

    Never touched: runs owned on another host (their process cannot be seen from here), runs
    with no recorded owner (started before owners were recorded), and multi-rank runs (world
    size > 1 or a launch key): one rank's process being gone does not end the run, the other
    ranks may still be writing it. Off POSIX, or on a store opened read-only, nothing is swept.
    """
    if os.name != "posix" or store.read_only:
        return []
    host = socket.gethostname()
    failed = []
    for run in store.query(_RUNNING_OWNED, (host,)):
        start = None if run["start"] is None else int(run["start"])
        if process_alive(int(run["pid"]), start):
            continue
        reason = orphan_reason(run["id"], run["kind"], int(run["pid"]), host, run["job"])
        owner = {"host": host, "pid": run["pid"], "start": start}
        # unless it ended meanwhile, or a resume took it over since it was read
        if fail_owned_run(store, int(run["id"]), owner, reason):
            failed.append(int(run["id"]))
    return failed


def fail_owned_run(store: Store, run_id: int, owner: dict, message: str) -> bool:
    """Mark a run failed with `message` if it is still running under `owner`, the process
    that died; False when it ended meanwhile or another process owns it now (a resume)."""
    with store.write() as conn:
        cursor = conn.execute(
            "UPDATE runs SET status = 'failed', error = ?, "
            f"finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE {_OWNED_BY} "
            "AND status = 'running'", (message, *_owned_by(run_id, owner)))
    return cursor.rowcount > 0


def fail_with_cause(store: Store, run_id: int, owner: dict, message: str) -> bool:
    """Mark a run `owner` (the worker process that died) ran failed with the cause its
    client saw (an exit code, a signal); False when the run is no longer that owner's.

    The sweep may get there first (a window lists its runs while the worker dies): its guess
    ("the process ... is gone") is then replaced, since the client knows why it died."""
    if fail_owned_run(store, run_id, owner, message):
        return True
    with store.write() as conn:
        cursor = conn.execute(
            f"UPDATE runs SET error = ? WHERE {_OWNED_BY} AND status = 'failed' "
            "AND error LIKE ?", (message, *_owned_by(run_id, owner), _ORPHAN_PREFIX + "%"))
    return cursor.rowcount > 0


def reopen_run(store: Store, run_id: int, owner: dict, job: str, **fields) -> None:
    """Set an ended run running again (a resume) under `owner`, this process, with `fields`
    (other columns), in one UPDATE: from then on a late "failed" write for its last owner
    finds the run no longer that owner's, and the sweep sees a live owner."""
    assignments = "".join(f", {name} = ?" for name in fields)
    with store.write() as conn:
        conn.execute(
            "UPDATE runs SET status = 'running', error = NULL, finished_at = NULL, "
            f"environment_json = json_set({_OWNER_JSON}, '$.job', ?){assignments} "
            "WHERE id = ?", (json.dumps(owner), job, *fields.values(), int(run_id)))
