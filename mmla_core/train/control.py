"""Job control for LoRA training runs: launch, stop, resume, delete and watch detached trainers.

The GUI and the CLI never run a trainer in their own process. `launch` starts a supervisor
(`python -m mmla_core.train.supervise`) in a session of its own, so closing the window, or even
killing its process, leaves the run going; the supervisor starts the trainer and records how it
ended. Everything else here reads SQLite and the output folder, so a reopened GUI reattaches by
polling again. `refresh` catches the one case nobody records: a supervisor that died itself.

Cheap to import (no torch): the GUI calls it from its poll timer's worker.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from mmla_core.store import jobs, open_store
from mmla_core.store.db import Store
from mmla_core.store.results import find_model
from mmla_core.train import outputs
from mmla_core.train.config import TrainConfig, TrainConfigError
from mmla_core.train.devices import resolve_device
from mmla_core.train.logfile import log_tail
from mmla_core.train.merge import give_back_dropped_events
from mmla_core.train.preflight import validate
from mmla_core.train.processes import (
    PID_ROLES,
    process_alive,
    read_pid_files,
    write_pid_file,
)
from mmla_core.train.resumable import resume_refusal
from mmla_core.train.samples import labels_record

ACTIVE = ("created", "running", "stopping")      # a process is (or is about to be) at work
FINISHED = ("done", "stopped", "failed")
MARKER_FILE, STOP_FILE, LOG_FILE = outputs.MARKER_FILE, outputs.STOP_FILE, outputs.LOG_FILE
STARTING_GRACE_S = 60.0          # a job row without a pid yet is a launch in progress
SUPERVISOR = "mmla_core.train.supervise"  # run detached with `python -m` (tests: a stand-in)


class JobControlError(ValueError):
    """An action refused on a job (still running, device busy, nothing to resume...)."""


# --- launch / resume -------------------------------------------------------------------------

def launch(db_path: str | Path, config: TrainConfig) -> int:
    """Validate, insert the job, write `<output_dir>/config.yaml`, start the detached supervisor.

    Raises TrainConfigError listing every problem of the config against the store, and
    JobControlError when the device is busy or the output folder already holds something.
    """
    db_path = Path(db_path).resolve()
    with open_store(db_path) as store:
        problems = validate(store, config)
        if problems:
            raise TrainConfigError(problems)
        config = _by_registered_name(store, config)
        with store.write():   # the busy check and the insert in one transaction: no double launch
            _refuse_busy_device(store, config.device)
            job_id = jobs.create_job(store, config.name, config.to_dict(), "")
            jobs.update_job(store, job_id, labels_json=json.dumps(labels_record(store, config)))
        try:
            out = _prepare_output_dir(store, db_path, job_id, config)
        except BaseException:
            jobs.delete_job(store, job_id)
            raise
        config = dataclasses.replace(config, output_dir=str(out))
        jobs.update_job(store, job_id, output_dir=str(out), log_path=str(out / LOG_FILE),
                        config_json=json.dumps(config.to_dict(), sort_keys=True))
        with _failed_if_not_started(store, job_id):
            (out / "config.yaml").write_text(config.to_yaml(), encoding="utf-8")
            _spawn_supervisor(store, db_path, job_id, out, resume=None)
    return job_id


def _by_registered_name(store: Store, config: TrainConfig) -> TrainConfig:
    """The config with its model as the registered name a prefix or id stood for (`tiny` ->
    `tiny-qwen2_5_omni`): the job's config.yaml is read again by the trainer, by a resume and
    by export-config, and `tiny` stops naming one model once another `tiny-*` is registered.
    A folder stays a folder."""
    if os.path.exists(config.model):
        return config
    row = find_model(store, config.model)
    return config if row is None else dataclasses.replace(config, model=row["name"])


@contextmanager
def _failed_if_not_started(store: Store, job_id: int):
    """A job whose supervisor could not be started ends `failed` with the reason, not `created`."""
    try:
        yield
    except Exception as exc:
        give_back_dropped_events(store, job_id)
        jobs.update_job(store, job_id, status="failed", finished_at=utc_now(),
                        stderr_tail=f"[job control] could not start the run: "
                                    f"{type(exc).__name__}: {exc}")
        raise


def resume(db_path: str | Path, job_id: int, checkpoint: str | None = None) -> str | None:
    """Start a stopped or failed job again from its latest checkpoint, or from `checkpoint` (a
    folder, or a step number). Refused as `resume_refusal` says (a job at work, a done one) or
    when it has no checkpoint to resume from. Returns a note when the latest checkpoint folders
    were incomplete (skipped), else None."""
    db_path = Path(db_path).resolve()
    with open_store(db_path) as store:
        job = refresh(store, job_id)
        refusal = resume_refusal(job)
        if refusal is not None:
            raise JobControlError(refusal)
        _refuse_other_projects_run(store, job, "resumed")
        target = _resume_target(job, checkpoint)
        config = job_config(job)
        out = Path(job["output_dir"])
        with store.write():
            _refuse_busy_device(store, config.device)
            for role in PID_ROLES:
                (out / f"{role}.pid").unlink(missing_ok=True)
            jobs.record_resume(store, job_id, utc_now(), *_resumed_from(out, target))
        with _failed_if_not_started(store, job_id):
            out.mkdir(parents=True, exist_ok=True)
            (out / STOP_FILE).unlink(missing_ok=True)   # else the resumed run stops at once
            if not (out / "config.yaml").exists():
                (out / "config.yaml").write_text(config.to_yaml(), encoding="utf-8")
            _spawn_supervisor(store, db_path, job_id, out, resume=target)
    if target != "latest":
        return None
    _, skipped = outputs.latest_complete_checkpoint(out)
    return outputs.incomplete_note(skipped) if skipped else None


def _resumed_from(out: Path, target: str) -> tuple[str | None, int | None]:
    """(checkpoint folder, its step) a resume starts from, for the job's record: `latest` is
    the newest complete checkpoint (what the trainer will pick)."""
    path = outputs.latest_complete_checkpoint(out)[0] if target == "latest" else Path(target)
    if path is None:
        return None, None
    step = path.name.removeprefix("checkpoint-")
    return str(path), int(step) if step.isdigit() else None


def _resume_target(job: dict, checkpoint: str | None) -> str:
    known = checkpoints(job)
    if checkpoint in (None, "", "latest"):
        if not known:
            raise JobControlError(f"training job {job['id']} has no checkpoint to resume from "
                                  f"(none in {job['output_dir']})")
        return "latest"
    if str(checkpoint).isdigit():
        by_step = {c["step"]: c["path"] for c in known}
        if int(checkpoint) not in by_step:
            steps = ", ".join(str(c["step"]) for c in known) or "none"
            raise JobControlError(f"training job {job['id']} has no checkpoint at step "
                                  f"{checkpoint} (saved steps: {steps})")
        return by_step[int(checkpoint)]
    path = Path(checkpoint).expanduser().resolve()
    if not path.is_dir():
        raise JobControlError(f"checkpoint folder {path} does not exist")
    if not outputs.checkpoint_is_complete(path):
        raise JobControlError(f"checkpoint folder {path} is incomplete (no "
                              f"{outputs.CHECKPOINT_STATE}: its save was cut short)")
    return str(path)


def _prepare_output_dir(store: Store, db_path: Path, job_id: int, config: TrainConfig) -> Path:
    if config.output_dir:
        out = Path(config.output_dir).expanduser()
        out = out if out.is_absolute() else db_path.parent / out
    else:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", config.name).strip("._") or "run"
        out = outputs.runs_root(db_path) / f"{job_id}-{safe}"
    try:
        outputs.refuse_nested(store, out, job_id)
        if out.exists() and any(out.iterdir()):
            raise outputs.OutputDirError(
                f"output folder {out} is not empty: choose another one (a new run would mix "
                "its checkpoints with what is there)")
    except outputs.OutputDirError as exc:
        raise JobControlError(str(exc)) from None
    outputs.claim(out, job_id, db_path)
    return out


def _spawn_supervisor(store: Store, db_path: Path, job_id: int, out: Path,
                      resume: str | None) -> None:
    """Detached: own session (no SIGHUP/SIGINT from the GUI's terminal), no inherited fds."""
    cmd = [sys.executable, "-m", SUPERVISOR, "--db", str(db_path), "--job", str(job_id)]
    if resume:
        cmd += ["--resume", resume]
    detach = {"start_new_session": True} if os.name != "nt" else {"creationflags": getattr(
        subprocess, "DETACHED_PROCESS", 0) | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    with open(out / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, close_fds=True, env=child_env(),
                                **detach)
    write_pid_file(out, "supervisor", proc.pid)
    jobs.update_job(store, job_id, pid=proc.pid)
    jobs.mark_running(store, job_id)   # unless the supervisor has already recorded the end
    # Reap it when it ends (while we live), so a finished supervisor is not left a zombie.
    threading.Thread(target=proc.wait, name=f"reap-train-{job_id}", daemon=True).start()


def child_env() -> dict[str, str]:
    """The environment for the supervisor and the trainer: unbuffered output (the log is read
    live) and this checkout importable even when the package is not installed."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


# --- stop / delete ---------------------------------------------------------------------------

def request_stop(store: Store, job_id: int, force: bool = False) -> None:
    """Ask the trainer to save a checkpoint and exit (status 'stopping' + a STOP file, which the
    trainer checks after every step). `force` also sends SIGTERM, for a trainer that hangs."""
    job = refresh(store, job_id)
    if job["status"] not in ACTIVE:
        raise JobControlError(f"training job {job_id} is not running (it is {job['status']})")
    _refuse_other_projects_run(store, job, "stopped")
    jobs.mark_stopping(store, job_id)
    if job["output_dir"]:
        Path(job["output_dir"], STOP_FILE).write_text("stop requested\n")
    if force and job["output_dir"]:
        # Only processes named by a pid file with a start time: a bare pid may have been reused.
        for pid, start in read_pid_files(Path(job["output_dir"])).values():
            if start is not None and process_alive(pid, start):
                os.kill(int(pid), signal.SIGTERM)   # the supervisor also passes it on


def _refuse_other_projects_run(store: Store, job: dict, what: str) -> None:
    """A copied database must not drive the original's run (write its STOP file, resume into
    its folder): refused when the folder's marker names another project."""
    other = job["output_dir"] and outputs.other_project(store, Path(job["output_dir"]))
    if other:
        raise JobControlError(
            f"training job {job['id']} cannot be {what} from this project: its folder "
            f"{job['output_dir']} belongs to the project {other} (this database is a copy of "
            "it?); open that project")


def delete(store: Store, job_id: int, remove_files: bool = True) -> str | None:
    """Forget a job (row + events) and, by default, its output folder. Refused while running.
    Returns a note when the folder was left because it is not this project's (outputs.py)."""
    job = refresh(store, job_id)
    if job["status"] in ACTIVE:
        raise JobControlError(f"training job {job_id} is {job['status']}: stop it before "
                              "deleting it")
    note = None
    if remove_files and job["output_dir"]:
        note = outputs.remove(store, job, [Path(c["path"])
                                           for c in checkpoints(job, complete_only=False)])
    jobs.delete_job(store, job_id)
    return note


# --- state -----------------------------------------------------------------------------------

def refresh(store: Store, job_id: int) -> dict:
    """The job row, after marking it failed if it claims to run but no process of it is alive.

    The supervisor records every ending it sees; this catches the supervisor itself dying
    (killed, machine restarted). Pid reuse is ruled out by comparing process start times."""
    job = _existing_job(store, job_id)
    if job["status"] not in ACTIVE or _job_alive(job):
        return job
    note = ("[job control] no process of this run is alive: it was killed or the machine "
            "restarted before the end could be recorded")
    tail = "\n".join(x for x in (log_tail(job), note) if x)
    with store.write():   # a resume since the read: neither its events nor its status touched
        if jobs.fail_unended(store, job, utc_now(), tail):
            give_back_dropped_events(store, job_id)
    return _existing_job(store, job_id)


def _existing_job(store: Store, job_id: int) -> dict:
    job = jobs.get_job(store, job_id)
    if job is None:
        raise JobControlError(f"no training job {job_id}")
    return job


def has_ended(job: dict) -> bool:
    """Finished and recorded: the trainer writes done/stopped a moment before it exits, and the
    supervisor adds the exit code after; wait for both before showing the final state."""
    return job["status"] in FINISHED and not _job_alive(job)


def _job_alive(job: dict) -> bool:
    pids = list(read_pid_files(Path(job["output_dir"])).values()) if job["output_dir"] else []
    if not pids and job["pid"]:
        pids = [(job["pid"], None)]
    if not pids:   # launch/resume has set the row up but not started the supervisor yet
        latest_start = job.get("resumed_at") or job["started_at"] or job["created_at"]
        return job["status"] == "created" and _age_s(latest_start) < STARTING_GRACE_S
    return any(process_alive(pid, start) for pid, start in pids)


def list_jobs(store: Store) -> list[dict]:
    """Every job, newest first, refreshed, with best dev accuracy, test accuracy and last step
    (from the events, so also for a run whose trainer has not written its summary yet)."""
    for job_id in jobs.unended_job_ids(store):
        refresh(store, job_id)
    rows = jobs.jobs_newest_first(store)
    for row in rows:
        summary = _event_summary(store, row)
        row["best_eval_accuracy"] = _max(row.get("best_eval_accuracy"), summary["best"])
        row["test_accuracy"], row["last_step"] = summary["test"], summary["last_step"]
    return rows


# (db file, job id, created_at) -> what its events say so far. The GUI polls list_jobs twice a
# second; rescanning every job's events (tens of thousands per run) each time cost ~30 ms, so an
# ended run is read once and a running one only for events newer than the last one seen. A
# resume (a new resumed_at) starts over: it dropped the events past its checkpoint (the maxima
# seen would stay too high), and the new events may reuse their ids (not AUTOINCREMENT).
_SUMMARIES: dict[tuple, dict] = {}


def _event_summary(store: Store, job: dict) -> dict:
    key = (str(store.path), job["id"], job["created_at"])
    seen = _SUMMARIES.get(key)
    if seen is None or seen["resumed_at"] != job.get("resumed_at"):
        seen = {"after": 0, "best": None, "test": None, "last_step": None,
                "resumed_at": job.get("resumed_at")}
    run = (job["started_at"], job.get("resumed_at"), job["finished_at"])
    if seen.get("final") == run:
        return seen    # an ended run gets no new events until it is resumed (new resumed_at)
    new = jobs.event_summary(store, job["id"], seen["after"])   # only rows newer than seen
    if new["last_id"] is not None:
        seen = {**seen, "after": new["last_id"], "best": _max(seen["best"], new["best"]),
                "test": _max(seen["test"], new["test"]),
                "last_step": _max(seen["last_step"], new["last_step"])}
    if job["status"] in FINISHED and job["finished_at"] and not _job_alive(job):
        seen = {**seen, "final": run}
    _SUMMARIES[key] = seen
    return seen


def _max(a, b):
    return b if a is None else a if b is None else max(a, b)


def job_config(job: dict) -> TrainConfig:
    return TrainConfig.from_dict(json.loads(job["config_json"]))


def export_config(job_or_config: dict | TrainConfig, db_path: str | Path,
                  config_path: str | Path) -> tuple[TrainConfig, dict[str, str]]:
    """What the GUI's Export / Copy and `mmla train export-config` hand out: the config with
    output_dir cleared (this machine's folder means nothing elsewhere; the trainer picks one
    next to --db) and its single / torchrun / accelerate lines naming `config_path` and the
    project database (without --db the trainer would fall back to the default project)."""
    config = job_or_config if isinstance(job_or_config, TrainConfig) else \
        job_config(job_or_config)
    config = dataclasses.replace(config, output_dir="")
    return config, config.command_lines(str(config_path), db_path=str(Path(db_path).resolve()))


def checkpoints(job: dict, *, complete_only: bool = True) -> list[dict]:
    """`[{step, path}]` of the job's complete `checkpoint-<step>` folders, oldest first (one
    cut short by a kill during its save cannot be resumed from, so it is not offered; delete
    asks for all of them)."""
    out = Path(job["output_dir"] or "")
    if not job["output_dir"] or not out.is_dir():
        return []
    found = []
    for path in out.glob("checkpoint-*"):
        step = path.name.removeprefix("checkpoint-")
        if step.isdigit() and path.is_dir() and (
                not complete_only or outputs.checkpoint_is_complete(path)):
            found.append({"step": int(step), "path": str(path)})
    return sorted(found, key=lambda c: c["step"])


def trained_adapters(store: Store) -> list[dict]:
    """Finished runs that exported an adapter, for the probe panel's and CLI's model pickers."""
    found = []
    for job in list_jobs(store):
        if job["status"] not in ("done", "stopped") or not job["output_dir"]:
            continue
        adapter = Path(job["adapter_path"] or Path(job["output_dir"], "adapter"))
        if not adapter.is_dir():
            continue
        config = json.loads(job["config_json"])
        found.append({"job_id": job["id"], "name": job["name"], "model": config.get("model"),
                      "adapter_path": str(adapter), "tasks": config.get("tasks", []),
                      "mode": config.get("mode"),
                      "best_eval_accuracy": job["best_eval_accuracy"]})
    return found


# --- devices ---------------------------------------------------------------------------------

def _refuse_busy_device(store: Store, device: str) -> None:
    wanted = resolve_device(device)
    for job_id in jobs.unended_job_ids(store):
        other = refresh(store, job_id)
        if other["status"] in ACTIVE and resolve_device(job_config(other).device) == wanted:
            raise JobControlError(
                f"{wanted} is busy with training job {other['id']} '{other['name']}' "
                f"({other['status']}): stop it or wait for it to end, or pick another device")


def describe_starts(job: dict) -> str:
    """'started 2026-12-06 17:50:01; resumed 2 times, last 2026-12-06 18:02:13 from
    checkpoint-40 (step 40)': the first run's start, kept through resumes, and the resumes
    (the Training tab's line; `mmla train show` lists each resume)."""
    text = f"started {shown_time(job.get('started_at')) or 'not yet'}"
    resumes = jobs.job_resumes(job)
    if not resumes:
        return text
    last = resumes[-1]
    times = "once" if len(resumes) == 1 else f"{len(resumes)} times"
    where = Path(last["checkpoint"]).name if last.get("checkpoint") else "a checkpoint"
    step = f" (step {last['step']})" if last.get("step") is not None else ""
    return f"{text}; resumed {times}, last {shown_time(last.get('at'))} from {where}{step}"


def shown_time(stamp: str | None) -> str:
    """`2026-12-06 17:50:01` (UTC) of a stored ISO time, '' for none."""
    return (stamp or "")[:19].replace("T", " ")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _age_s(stamp: str | None) -> float:
    if not stamp:
        return 0.0
    then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return (datetime.now(UTC) - then).total_seconds()
