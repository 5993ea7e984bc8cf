"""Worker processes that die with the process that started them.

A SIGKILL of `mmla variants make` (or of an import) gives its pool no chance to shut down: the
workers, whose parent is the forkserver rather than the killed process, went on writing files
and holding memory. `die_with_parent` is the pool initializer that prevents this: on Linux the
kernel sends the worker SIGKILL when its direct parent dies (prctl PR_SET_PDEATHSIG), and on
every platform a daemon thread watches the process that owns the pool and exits as soon as it
is gone (which also covers a forkserver that outlives it).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

__all__ = ["die_with_parent", "pool_initializer", "process_alive", "process_owner",
           "process_start_time"]

PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 0.2


def die_with_parent(owner_pid: int) -> None:
    """Make this process exit when `owner_pid` (the pool's owner) or its own parent dies."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watcher thread below still covers it
    if os.name != "posix":
        return
    parent = os.getppid()
    if not process_alive(owner_pid) or (parent == 1 and owner_pid != 1):  # it died already
        os._exit(1)
    threading.Thread(target=_watch, args=(owner_pid, parent), daemon=True,
                     name="die-with-parent").start()


def _watch(owner_pid: int, parent: int) -> None:
    while process_alive(owner_pid) and os.getppid() == parent:
        time.sleep(WATCH_INTERVAL_S)
    os._exit(1)  # no cleanup: the owner is gone, nobody waits for our results


def pool_initializer() -> tuple:
    """(initializer, initargs) for ProcessPoolExecutor: its workers die with this process."""
    return die_with_parent, (os.getpid(),)


# --- which process: pid plus start time, so a reused pid is never mistaken for the owner ------

def process_start_time(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22), or None
    where /proc is not available. With the pid it names one process, even after pid reuse."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def process_alive(pid: int, start: int | None = None) -> bool:
    """True while process `pid` runs (a zombie has ended already) and, when its `start` is
    known (`process_start_time`), it is still the process that started then: a pid the
    system reused for another process is not taken for it. Without /proc (macOS) the start
    cannot be read and the pid's existence decides.

    Off POSIX it says True (conservative: no run is swept, no worker exits, no temp file is
    deleted): there `os.kill(pid, 0)` is no probe, signal 0 is CTRL_C_EVENT on Windows."""
    if os.name != "posix":
        return True
    if int(pid) <= 0:   # kill(0 or -n, 0) would probe a process group, not a process
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass   # it exists, owned by someone else
    fields = _stat_fields(pid)
    if fields is None:   # no /proc (macOS), or it ended this instant: kill(0) said it exists
        return True
    if fields[0] in ("Z", "X"):
        return False
    return start is None or int(fields[19]) == int(start)


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may hold spaces and parentheses)."""
    try:
        return Path(f"/proc/{int(pid)}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def process_owner(pid: int | None = None) -> dict:
    """This host's name, `pid` (default this process) and its start time: who owns a run."""
    pid = os.getpid() if pid is None else int(pid)
    return {"host": socket.gethostname(), "pid": pid, "start": process_start_time(pid)}
