"""The detached supervisor of one training run.

`python -m mmla_core.train.supervise --db DB --job ID [--resume latest|CHECKPOINT_DIR]`, started by
`control.launch` / `control.resume` in a session of its own. It runs the trainer
(`python -m mmla_core.train <output_dir>/config.yaml --db DB --job ID`) as its child with stdout and
stderr appended to `<output_dir>/train.log`, waits, and records how the run ended: exit code
(negative for a signal, e.g. -9), finished_at, status and the last log lines. A crash, a SIGKILL or
a CUDA OOM in the trainer therefore always ends as a readable row, never as a job stuck "running".

SIGTERM is forwarded to the trainer (a forced stop); the supervisor itself keeps waiting so the end
is still recorded.

The trainer's command is `TRAINER`, a module constant; no flag or environment variable changes it
(the tests run `tests.support.fake_supervisor` instead of this module, which sets `TRAINER` to its
fake trainer before calling `main`).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from mmla_core.eval.shards import ShardError
from mmla_core.store import jobs, open_store
from mmla_core.train import control, logfile, processes
from mmla_core.train.merge import give_back_dropped_events, merge_run_folder

TRAINER = (sys.executable, "-m", "mmla_core.train")  # the run's arguments follow it


def trainer_command(config_path: Path, db: Path, job_id: int, resume: str | None) -> list[str]:
    cmd = [*TRAINER, str(config_path), "--db", str(db), "--job", str(job_id)]
    return [*cmd, "--resume", resume] if resume else cmd


def final_status(exit_code: int, status_now: str) -> str:
    """done / stopped as the trainer set it; a clean exit it did not record is judged from the
    stop request; any nonzero exit or signal is a failure."""
    if exit_code != 0:
        return "failed"
    if status_now in ("done", "stopped"):
        return status_now
    return "stopped" if status_now == "stopping" else "done"


def describe_exit(exit_code: int) -> str:
    if exit_code >= 0:
        return f"exit code {exit_code}"
    try:
        name = signal.Signals(-exit_code).name
    except ValueError:
        name = "unknown signal"
    return f"signal {-exit_code} ({name})"


def run(db: Path, job_id: int, resume: str | None) -> int:
    store = open_store(db)
    try:
        job = jobs.get_job(store, job_id)
        if job is None:
            _say(f"no training job {job_id} in {db}")
            return 1
        out = Path(job["output_dir"])
        cmd = trainer_command(out / "config.yaml", db, job_id, resume)
        exit_code = _run_trainer(cmd, out, job_id)
        _merge_shards(store, out)
        _record_end(store, job_id, exit_code, job["resumed_at"])
        return 0
    finally:
        store.close()


def _merge_shards(store, out: Path) -> None:
    """A trainer that could not write the database (--db-mode auto on a network file system)
    left its events in the output folder: fold them into the job now."""
    if not (out / "status.json").is_file():
        return

    try:
        _say(merge_run_folder(store, out).describe())
    except (ShardError, OSError, ValueError) as exc:
        _say(f"merging {out} failed: {exc}; run `mmla runs merge {out}`")


def _run_trainer(cmd: list[str], out: Path, job_id: int) -> int:
    log_file = out / control.LOG_FILE
    _say(f"job {job_id}: {shlex.join(cmd)}")
    env = dict(control.child_env(), MMLA_TRAIN_LOG_CAPTURED="1")  # stdout already is train.log:
    # the trainer then leaves its traceback to run_training's log (no second copy)
    with open(log_file, "ab") as log:
        try:
            child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, cwd=out, env=env)
        except OSError as exc:
            _say(f"could not start the trainer: {exc}")
            return 127
    processes.write_pid_file(out, "trainer", child.pid)
    oom_kills_before = oom_kill_count()
    signal.signal(signal.SIGTERM, lambda signum, frame: _forward(child, signum))
    exit_code = child.wait()   # PEP 475: a handled SIGTERM does not interrupt the wait
    _say(f"trainer pid {child.pid} ended: {describe_exit(exit_code)}")
    if exit_code in (-signal.SIGKILL, 128 + signal.SIGKILL):
        _say(kill_cause(oom_kills_before, oom_kill_count()))
    return exit_code


def oom_kill_count() -> int | None:
    """How many processes the kernel's OOM killer has ended: in our cgroup (v2 memory.events,
    v1 oom_control), else machine-wide (/proc/vmstat); None where none can be read."""
    candidates = []
    try:
        line = next(x for x in Path("/proc/self/cgroup").read_text().splitlines()
                    if x.startswith("0::"))
        candidates.append(Path("/sys/fs/cgroup") / line[3:].lstrip("/") / "memory.events")
    except (OSError, StopIteration):
        pass
    candidates += [Path("/sys/fs/cgroup/memory/memory.oom_control"), Path("/proc/vmstat")]
    for path in candidates:
        try:
            fields = dict(x.split()[:2] for x in path.read_text().splitlines() if " " in x)
            return int(fields["oom_kill"])
        except (OSError, KeyError, ValueError):
            continue
    return None


def kill_cause(before: int | None, after: int | None) -> str:
    """What killed the trainer with SIGKILL, said only from evidence (OOM advice reads this)."""
    if before is None or after is None:
        return ("killed by signal 9 (the kernel's out-of-memory kill count cannot be read "
                "here: a manual kill or the OOM killer)")
    if after > before:
        return (f"the kernel's out-of-memory killer ended the trainer (oom_kill "
                f"{before} -> {after})")
    return "killed by signal 9 from outside (no out-of-memory kill recorded by the kernel)"


def _forward(child: subprocess.Popen, signum: int) -> None:
    _say(f"got signal {signum}: passing it to the trainer")
    if child.poll() is None:
        child.send_signal(signum)


def _record_end(store, job_id: int, exit_code: int, resumed_at: str | None) -> None:
    """The job's end, as this supervisor's run (`resumed_at`: the job's when it started); a
    job resumed since is another supervisor's now, and a deleted one is gone: nothing then."""
    def ending(job: dict) -> tuple[str, str, str]:
        # A clean exit keeps what the trainer reported (a failed test evaluation), else the log.
        kept = job["stderr_tail"] if exit_code == 0 and job["stderr_tail"] else None
        return (final_status(exit_code, job["status"]), control.utc_now(),
                kept or logfile.log_tail(job))

    with store.write():   # one transaction: a resume lands wholly before or after it
        job = jobs.get_job(store, job_id)
        ours = job is not None and job["resumed_at"] == resumed_at
        if ours:   # the events a resume dropped come back when its trainer never started
            give_back_dropped_events(store, job_id)
            ours = jobs.record_job_end(store, job_id, exit_code, ending, resumed_at)
    if not ours:   # deleted, or resumed since: its events and its end are the new run's
        _say(f"job {job_id} was deleted or resumed meanwhile: this run's end is not recorded")


def _say(message: str) -> None:
    """A supervisor line in train.log (our stdout), told apart from the trainer's own lines."""
    sys.stdout.write(f"[supervisor] {message}\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmla_core.train.supervise",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--job", type=int, required=True)
    parser.add_argument("--resume", default=None)
    args = parser.parse_args(argv)
    return run(args.db.resolve(), args.job, args.resume)


if __name__ == "__main__":
    sys.exit(main())
