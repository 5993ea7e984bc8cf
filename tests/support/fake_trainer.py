"""A stand-in for `python -m mmla_core.train`, run by the supervisor when a test launches through
tests/support/fake_supervisor.py: same arguments, same DB writes (status, pid, events), timing
under the test's control.

FAKE_TRAINER_MODE (environment):
  quick  a few events, a checkpoint, an adapter, status done, exit 0
  wait   one event every 50 ms until a stop request (status 'stopping' or the STOP file), then
         a checkpoint, status stopped, exit 0; or until FAKE_TRAINER_STEPS steps -> done
  oom    prints a CUDA out-of-memory traceback and exits 1
--resume (latest or a checkpoint-<step> folder) continues after that checkpoint's step and first
drops the job's events past it, as the real trainer does (run.py, EventSink.forget_after).
FAKE_TRAINER_HOLD=PATH: before its first step, write PATH.held and wait until PATH exists.
Plain sqlite3 (no mmla_core import) so it starts in a few tens of milliseconds.
"""

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def connect(db: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def event(conn, job: int, step: int, kind: str = "train", accuracy=None) -> None:
    """One event in the job and in events.jsonl (cwd: the output folder), as EventSink writes."""
    with open("events.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"step": step, "epoch": step / 10, "kind": kind,
                                 "loss": 1.0 / step, "eval_accuracy": accuracy}) + "\n")
    conn.execute("INSERT INTO training_events (job_id, step, epoch, kind, loss, eval_accuracy) "
                 "VALUES (?, ?, ?, ?, ?, ?)", (job, step, step / 10, kind, 1.0 / step, accuracy))


def finish(conn, job: int, out: Path, step: int, status: str) -> None:
    (out / f"checkpoint-{step}").mkdir(exist_ok=True)
    (out / f"checkpoint-{step}" / "trainer_state.json").write_text(
        f'{{"global_step": {step}}}')  # what makes a checkpoint complete
    (out / "adapter").mkdir(exist_ok=True)
    (out / "adapter" / "adapter_config.json").write_text("{}")
    conn.execute("UPDATE training_jobs SET status = ? WHERE id = ?", (status, job))
    say(f"fake trainer: {status} at step {step}")


def stop_requested(conn, job: int, out: Path) -> bool:
    row = conn.execute("SELECT status FROM training_jobs WHERE id = ?", (job,)).fetchone()
    return (out / "STOP").exists() or row[0] == "stopping"


def forget_after(conn, job: int, out: Path, step: int) -> None:
    """Drop the events past `step` from events.jsonl and the job (EventSink.forget_after)."""
    path = out / "events.jsonl"
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(x for x in lines if json.loads(x)["step"] <= step),
                        encoding="utf-8")
    conn.execute("DELETE FROM training_events WHERE job_id = ? AND step > ?", (job, step))


def resumed_step(out: Path, resume: str | None) -> int:
    """The step of the checkpoint a resume starts from (0: a fresh run)."""
    if not resume:
        return 0
    if resume == "latest":
        steps = [int(p.name.removeprefix("checkpoint-")) for p in out.glob("checkpoint-*")]
        return max(steps, default=0)
    return int(Path(resume).name.removeprefix("checkpoint-"))


def hold() -> None:
    """Wait for the test's go (FAKE_TRAINER_HOLD), saying first that it is waiting."""
    gate = os.environ.get("FAKE_TRAINER_HOLD")
    if not gate:
        return
    Path(gate + ".held").write_text("held\n")
    while not Path(gate).exists():
        time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--db", required=True)
    parser.add_argument("--job", type=int, required=True)
    parser.add_argument("--resume")
    args = parser.parse_args()
    out = Path(args.config).parent
    mode = os.environ.get("FAKE_TRAINER_MODE", "quick")
    say(f"fake trainer: args {sys.argv[1:]} cwd {os.getcwd()}")
    conn = connect(args.db)
    conn.execute("UPDATE training_jobs SET status = 'running', pid = ?, started_at = "
                 "coalesce(started_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) WHERE id = ? AND "
                 "status != 'stopping'", (os.getpid(), args.job))  # as store.jobs does
    if mode == "oom":
        say("Traceback (most recent call last):\ntorch.OutOfMemoryError: CUDA out of memory. "
              "Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.1 GiB")
        return 1
    start = resumed_step(out, args.resume)
    forget_after(conn, args.job, out, start)
    hold()
    steps = 3 if mode == "quick" else int(os.environ.get("FAKE_TRAINER_STEPS", "1200"))
    steps = max(steps, start + 1)
    for step in range(start + 1, steps + 1):
        event(conn, args.job, step)
        say(f"fake trainer: step {step} loss {1.0 / step:.3f}")
        if mode == "wait":
            if stop_requested(conn, args.job, out):
                finish(conn, args.job, out, step, "stopped")
                return 0
            time.sleep(0.05)
    event(conn, args.job, steps, kind="eval", accuracy=0.75)
    finish(conn, args.job, out, steps, "done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
