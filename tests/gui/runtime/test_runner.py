"""The Runner's queues (`in_order=True`): every request runs, in order, against the project it
was asked for, and reports; latest-wins channels beside them are not held up."""

from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.gui
WAIT = 10_000


def test_a_queue_runs_every_request_in_order_on_the_project_it_was_asked_for(
        qtbot, tiny_project, project_of, tmp_path):
    runner = project_of(tiny_project.db_path).runner
    release, got = threading.Event(), []

    def held(store, value):
        release.wait(5)
        return value, store.path

    ahead = [runner.submit(held, n, channel="import", in_order=True, on_success=got.append)
             for n in range(3)]
    assert ahead == [0, 1, 2]
    read = []
    runner.submit(lambda store: "read", channel="rows", on_success=read.append)
    qtbot.waitUntil(lambda: read == ["read"], timeout=WAIT)  # not behind the queue
    runner.set_db_path(tmp_path / "other.sqlite")  # a project switch drops no queued request
    release.set()
    qtbot.waitUntil(lambda: len(got) == 3, timeout=WAIT)
    assert [value for value, _ in got] == [0, 1, 2]
    assert {str(path) for _, path in got} == {str(tiny_project.db_path)}


def test_cancelling_a_queue_forgets_what_waits(qtbot, tiny_project, project_of):
    runner = project_of(tiny_project.db_path).runner
    release, ran, got = threading.Event(), [], []

    def held(value):
        release.wait(5)
        ran.append(value)
        return value

    for n in range(3):
        runner.submit(held, n, channel="q", in_order=True, with_store=False,
                      on_success=got.append)
    with pytest.raises(ValueError, match="in order"):
        runner.submit(held, 9, channel="q", with_store=False)
    runner.cancel("q")
    release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    assert ran == [0] and got == []
