"""What watching a running training job costs the GUI: CPU of the 500 ms poll, in % of one core.

A writer process plays the trainer: one event per commit at ~10 events/s (harsher than the real
trainer, which batches to ~2 commits/s) plus a log line each, into a project that already holds
a long history (the running job's earlier events and a few finished runs). The poller, in this
process, repeats every 500 ms for --seconds:

- `control`: control.refresh + jobs.job_events(after_id) + logfile.log_tail (the pattern the
  brief of issue 8 names);
- `tab`: the Training tab's whole poll (mmla_app.training.training_poll.poll: job
  list with every job's best accuracy and last step, the selected job's new events, log tail,
  checkpoints), when the app package is importable.

The first poll (loading the selected job's history) is timed apart; the loop measures the steady
state. Baseline, same run: the same loop doing nothing but sleeping. Figure: poller CPU time (user +
sys of this process; the writer is another process) / wall time, as % of one core. Target < 2%.

    python benchmarks/bench_train_monitor.py [--seconds 20] [--history 20000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from mmla_core.store import jobs, open_store
from mmla_core.train import control, logfile, processes
from mmla_core.train.config import TrainConfig

POLL_S = 0.5
WRITER = textwrap.dedent("""
    import sqlite3, sys, time
    db, log = sys.argv[1], sys.argv[3]
    job, seconds, step = int(sys.argv[2]), float(sys.argv[4]), int(sys.argv[5])
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    end = time.monotonic() + seconds
    with open(log, "a") as f:
        while time.monotonic() < end:
            step += 1
            conn.execute("INSERT INTO training_events (job_id, step, epoch, kind, loss, "
                         "learning_rate, samples_per_s, tokens_per_s, gpu_mem_mb) VALUES "
                         "(?, ?, ?, 'train', ?, 1e-4, 3.2, 2400.0, 18000.0)",
                         (job, step, step / 1000, 1.0 / step))
            f.write(f"step {step} loss {1.0 / step:.4f}\\n")
            f.flush()
            time.sleep(0.1)
""")


def make_project(folder: Path, history: int) -> tuple[Path, int]:
    """A project with 3 finished runs and one running run, `history` events each."""
    db = folder / "bench.sqlite"
    with open_store(db) as store:
        for n in range(4):
            config = TrainConfig(name=f"run{n}", model="m", tasks=["MIntRec"], device="cpu")
            out = folder / f"run{n}"
            (out / "checkpoint-50").mkdir(parents=True)
            (out / "train.log").write_text("".join(f"step {i}\n" for i in range(2000)))
            job_id = jobs.create_job(store, config.name, config.to_dict(), str(out))
            jobs.update_job(store, job_id, status="done" if n < 3 else "running",
                            log_path=str(out / "train.log"),
                            finished_at=control.utc_now() if n < 3 else None)
            jobs.add_events(store, job_id, [
                {"step": i, "kind": "eval" if i % 50 == 0 else "train", "loss": 1.0 / (i + 1),
                 "eval_accuracy": 0.5 if i % 50 == 0 else None} for i in range(history)])
    return db, job_id


def poll_loop(seconds: float, poll) -> dict:
    """Call `poll()` every POLL_S for `seconds`; CPU and per-call time of this process."""
    durations = []
    cpu0, wall0 = time.process_time(), time.monotonic()
    next_tick = wall0
    while time.monotonic() - wall0 < seconds:
        t0 = time.perf_counter()
        poll()
        durations.append(time.perf_counter() - t0)
        next_tick += POLL_S
        time.sleep(max(0.0, next_tick - time.monotonic()))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    return {"cpu_pct": 100 * cpu / wall, "polls": len(durations),
            "median_ms": 1000 * statistics.median(durations),
            "max_ms": 1000 * max(durations)}


def control_poller(store, job_id: int):
    state = {"after": 0, "events": 0}

    def poll() -> None:
        job = control.refresh(store, job_id)
        events = jobs.job_events(store, job_id, state["after"])
        if events:
            state["after"] = events[-1]["id"]
            state["events"] += len(events)
        logfile.log_tail(job)

    return poll, state


def tab_poller(store, job_id: int):
    from mmla_app.training.training_poll import poll as tab_poll

    state = {"after": 0, "events": 0}

    def poll() -> None:
        result = tab_poll(store, job_id, state["after"])
        if result["events"]:
            state["after"] = result["events"][-1]["id"]
            state["events"] += len(result["events"])

    return poll, state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--history", type=int, default=20000, help="events per job already "
                        "stored (20,000 = a 30 min run at 10 events/s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, job_id = make_project(Path(tmp), args.history)
        print(f"project: 4 jobs x {args.history} events; poll every {POLL_S * 1000:.0f} ms for "
              f"{args.seconds:.0f} s while a writer process adds ~10 events/s")
        print(f"{'poller':<10} {'CPU % of one core':>18} {'polls':>6} {'events seen':>12} "
              f"{'median ms':>10} {'max ms':>8} {'first ms':>9}")
        pollers = [("baseline", lambda store, job: (lambda: None, {"events": 0})),
                   ("control", control_poller)]
        try:
            import mmla_app.training.training_poll  # noqa: F401
            pollers.append(("tab", tab_poller))
        except ImportError:
            print("(mmla_app not importable: the Training tab's poll is skipped)")
        for name, make in pollers:
            _run_one(db, job_id, Path(tmp), args, name, make)
    return 0


def _run_one(db: Path, job_id: int, folder: Path, args, name: str, make) -> None:
    with open_store(db) as store:
        step = int(store.scalar("SELECT MAX(step) FROM training_events WHERE job_id = ?",
                                (job_id,)))
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(job_id),
                                   str(folder / "run3" / "train.log"), str(args.seconds + 3),
                                   str(step)])
        (folder / "run3" / "trainer.pid").write_text(f"{writer.pid} "
                                                    f"{processes.process_start_time(writer.pid)}\n")
        try:
            time.sleep(1.0)   # writer started and writing
            poll, state = make(store, job_id)
            t0 = time.perf_counter()
            poll()   # selecting the job loads its history once; the steady state is measured
            first_ms = 1000 * (time.perf_counter() - t0)
            result = poll_loop(args.seconds, poll)
        finally:
            writer.terminate()
            writer.wait()
        print(f"{name:<10} {result['cpu_pct']:>17.2f}% {result['polls']:>6} "
              f"{state['events']:>12} {result['median_ms']:>10.2f} {result['max_ms']:>8.1f} "
              f"{first_ms:>9.1f}")


if __name__ == "__main__":
    sys.exit(main())
