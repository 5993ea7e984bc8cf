"""Which process is ours: pid files with start times, so a reused pid is never mistaken for a
running trainer or supervisor (Linux /proc; elsewhere a plain liveness check)."""

from __future__ import annotations

import os
from pathlib import Path

PID_ROLES = ("supervisor", "trainer")   # <output_dir>/<role>.pid: "pid start-time"


def process_start_time(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22), or None
    where /proc is not available. With the pid it names one process, even after pid reuse."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def process_alive(pid: int, start: int | None = None) -> bool:
    """True when `pid` runs and (if `start` is known) is the process that started at `start`."""
    if Path("/proc/self/stat").exists():
        fields = _stat_fields(pid)
        if fields is None or fields[0] in ("Z", "X"):   # a zombie has ended already
            return False
        return start is None or int(fields[19]) == int(start)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # alive, someone else's
        pass
    return True


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may hold spaces and parentheses)."""
    try:
        return Path(f"/proc/{int(pid)}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


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
