"""`procs.process_alive`, the one liveness check (run owners, training pid files, temp sweeps,
pool workers watching their owner): a live process, an ended one (also while it is a zombie
nobody has reaped), and a pid whose start time says it now names another process."""

import os
import subprocess
import sys

import pytest

from mmla_core.procs import process_alive, process_owner, process_start_time

posix = pytest.mark.skipif(os.name != "posix", reason="off POSIX every pid counts as alive")


@posix
def test_this_process_is_alive_and_a_reused_pid_is_not():
    start = process_start_time(os.getpid())
    assert process_alive(os.getpid()) and process_alive(os.getpid(), start)
    if start is not None:  # /proc (Linux): another start time names another process
        assert not process_alive(os.getpid(), start - 1)
    assert process_owner()["start"] == start


@pytest.mark.skipif(not (hasattr(os, "waitid") and os.path.exists("/proc/self/stat")),
                    reason="a zombie is told from /proc (Linux)")
def test_an_ended_process_is_gone_even_before_it_is_reaped():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # a zombie now
        assert not process_alive(child.pid)
    finally:
        child.wait()
    assert not process_alive(child.pid)


@posix
def test_no_pid_is_a_process_group():
    assert not process_alive(0) and not process_alive(-os.getpgrp())
