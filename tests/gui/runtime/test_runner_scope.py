"""RunnerScope: each panel's and dialog's share of the project's one Runner (runtime/runner.py):
its channels are its own, and closing it drops its results while its jobs run to their end."""

from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.gui
WAIT = 10_000


def test_two_scopes_keep_their_channels_and_a_closed_one_drops_its_results(
        qtbot, tiny_project, project_of):
    runner = project_of(tiny_project.db_path).runner
    first, second = runner.scope("a"), runner.scope("b")
    release, ran, got = threading.Event(), [], []

    def slow(value):
        release.wait(5)
        ran.append(value)
        return value

    first.submit(slow, "first", channel="choices", with_store=False, on_success=got.append)
    second.submit(slow, "second", channel="choices", with_store=False, on_success=got.append)
    first.close()  # the dialog closed: its job still runs, its result is dropped
    assert first.submit(slow, "late", with_store=False, on_success=got.append) == 0
    release.set()
    qtbot.waitUntil(lambda: sorted(ran) == ["first", "second"], timeout=WAIT)
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    assert got == ["second"]  # the same channel name in another scope was not replaced
