"""Which process is ours: pid files with start times, so a reused pid is never mistaken for a
running trainer or supervisor (Linux /proc; elsewhere a plain liveness check)."""

from __future__ import annotations

from pathlib import Path

from mmla_core.procs import process_alive, process_start_time

__all__ = ["PID_ROLES", "process_alive", "process_start_time", "read_pid_files",
           "write_pid_file"]

PID_ROLES = ("supervisor", "trainer")   # <output_dir>/<role>.pid: "pid start-time"


def write_pid_file(out: Path, role: str, pid: int) -> None:
    """`<out>/<role>.pid` = "pid start-time": one file per writer (launch writes the supervisor's,
    the supervisor the trainer's), so no read-modify-write race between them."""
    start = process_start_time(pid)
    (out / f"{role}.pid").write_text(f"{pid} {'' if start is None else start}\n")


def read_pid_files(out: Path) -> dict[str, tuple[int, int | None]]:
    found = {}
    for role in PID_ROLES:
        try:
            parts = (out / f"{role}.pid").read_text().split()
            found[role] = (int(parts[0]), int(parts[1]) if len(parts) > 1 else None)
        except (OSError, ValueError, IndexError):
            continue
    return found
