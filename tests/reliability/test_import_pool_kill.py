"""A SIGKILLed `mmla import` takes its probe workers along (issue 15, item 8, the import part).

From 256 files on, the import probes media in a process pool (`datasets.probing`). Before, a
SIGKILL of the import left the forkserver and its workers alive. Now the workers run
`procs.pool_initializer` (PR_SET_PDEATHSIG + a watcher of the owner), and the forkserver ends
when its owner's pipe closes; a re-run resumes the probe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from mmla_core.datasets.probing import POOL_MIN_FILES
from mmla_core.store.db import open_store
from tests.support.processes import alive, descendants, wait_for

FILES = POOL_MIN_FILES + 44


def test_killed_import_leaves_no_probe_worker(tmp_path, speaker_clip):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(FILES):  # hard links: 300 files for the price of one
        os.link(speaker_clip, folder / f"clip_{i:03d}.mp4")
    db = tmp_path / "p.sqlite"
    command = [sys.executable, "-m", "mmla_core", "--db", str(db), "import", str(folder)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        pool = wait_for(lambda: len(descendants(child.pid)) >= 2 and descendants(child.pid),
                     timeout=60)
        assert pool, f"the probe pool never started: {child.stderr.read1().decode()}"
        time.sleep(0.2)  # let the workers take their first files
        pool |= descendants(child.pid)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    started = time.monotonic()
    gone = wait_for(lambda: not alive(pool), timeout=15)
    gone_s = time.monotonic() - started
    assert gone, f"probe processes of the killed import still alive: {sorted(alive(pool))}"
    rerun = subprocess.run([sys.executable, "-m", "mmla_core", "--db", str(db), "probe"],
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    with open_store(db) as store:
        health = dict(store.conn.execute("SELECT health, count(*) FROM clips GROUP BY health"))
    assert health == {"ok": FILES}
    print(f"\n{len(pool)} probe processes gone {gone_s:.2f} s after the kill; the re-run "
          f"probed the rest ({FILES} ok)")
