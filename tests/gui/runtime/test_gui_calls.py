"""runtime/gui_calls: a worker thread's progress reaches its widget on the GUI thread, and is
dropped once that widget is deleted (a batch or a download outlives its panel or dialog)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QWidget
from shiboken6 import isValid

from mmla_app.runtime.gui_calls import gui_callback

pytestmark = pytest.mark.gui


def _call_from_a_thread(callback, *args) -> None:
    worker = threading.Thread(target=callback, args=args)
    worker.start()
    worker.join()


def test_a_worker_threads_call_runs_on_the_gui_thread(qtbot):
    owner = QWidget()
    qtbot.addWidget(owner)
    calls = []
    report = gui_callback(owner, lambda *args: calls.append((threading.get_ident(), args)))
    _call_from_a_thread(report, 3, 10, "model.safetensors")
    assert calls == []  # posted, not called on the worker thread
    qtbot.waitUntil(lambda: calls != [], timeout=5_000)
    assert calls == [(threading.main_thread().ident, (3, 10, "model.safetensors"))]


def test_calls_for_a_deleted_owner_are_dropped(qtbot):
    owner = QWidget()
    calls = []
    report = gui_callback(owner, lambda *args: calls.append(args))
    _call_from_a_thread(report, 1, 2)  # queued while the owner lives...
    owner.deleteLater()  # ...and it is deleted before the GUI thread gets to it
    QCoreApplication.sendPostedEvents(owner, QEvent.Type.DeferredDelete)
    assert not isValid(owner)
    _call_from_a_thread(report, 2, 2)  # the job goes on after the panel is gone
    seen = []
    probe = gui_callback(QWidget(), seen.append)  # a later call through the same relay
    _call_from_a_thread(probe, "after")
    qtbot.waitUntil(lambda: seen == ["after"], timeout=5_000)
    assert calls == []
