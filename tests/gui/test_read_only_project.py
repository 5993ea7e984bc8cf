"""A project on a read-only mount opens, lists its clips and says it is read-only (issue 15,
item 14); before, opening it failed ("attempt to write a readonly database")."""

from __future__ import annotations

import os
import subprocess

import pytest

from mmla_core.store.db import open_store

pytestmark = pytest.mark.gui


@pytest.fixture
def read_only_project(tiny_project):
    folder = tiny_project.db_path.parent
    with open_store(tiny_project.db_path) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if os.geteuid() != 0:  # permissions do the job for anyone but root
        os.chmod(tiny_project.db_path, 0o444)
        folder.chmod(0o555)
        yield tiny_project
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {mounted.stderr.strip()}")
    yield tiny_project
    subprocess.run(["umount", "-l", str(folder)], check=True)  # lazy: open handles allowed


def test_window_lists_a_read_only_project_and_says_so(make_window, read_only_project, qtbot):
    window = make_window(read_only_project.db_path)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 3, timeout=15_000)
    qtbot.waitUntil(lambda: "(read-only)" in window.windowTitle(), timeout=15_000)
