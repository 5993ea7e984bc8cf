"""Calls from a worker thread to a widget, made safe against the widget being deleted meanwhile.

A background job (a dataset's variant batch, a model download) reports progress while it runs,
and it runs on after the panel or dialog that started it has closed and been deleted (the
project outlives it; its Cancel is only honoured at the next step). Emitting a signal of that
widget, or of a QObject child of it, from the worker thread races the GUI thread deleting it:
an `isValid` check on the worker thread can pass just before the deletion, and the emit then
touches a freed C++ object (a segfault, not an exception).

So the worker never touches the widget's objects: `gui_callback(owner, fn)` returns a plain
callable that posts `(owner, fn, args)` through one process-wide relay QObject, made on the
GUI thread and never deleted (as the write queue is). On the GUI thread, where deletions
happen, the relay calls `fn(*args)` only while `owner` is still alive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from shiboken6 import isValid


class _Relay(QObject):
    """The process-wide carrier: emitted on any thread, delivered on the GUI thread.

    Its receiver is a declared `@Slot` of a QObject, so the queued delivery is Qt's own
    meta-method call; PySide's connections to undeclared Python callables have crashed when
    emitted from other threads (PYSIDE-3124; pymmcore-widgets added `@Slot` for it)."""

    posted = Signal(object, object, object)  # owner, fn, args

    def __init__(self) -> None:
        super().__init__()
        self.posted.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @Slot(object, object, object)
    def _deliver(self, owner: QObject, fn: Callable, args: tuple) -> None:
        if isValid(owner):  # GUI thread: the owner cannot be deleted while this runs
            fn(*args)


_RELAY: _Relay | None = None


def _relay() -> _Relay:
    global _RELAY
    if _RELAY is None:
        _RELAY = _Relay()
    return _RELAY


def gui_callback(owner: QObject, fn: Callable[..., Any]) -> Callable[..., None]:
    """Call this on the GUI thread: a callable a worker thread may call with any arguments;
    each call runs `fn(*args)` later on the GUI thread, and is dropped once `owner` (the
    widget `fn` updates) has been deleted."""
    relay = _relay()  # made here, on the GUI thread, so it delivers there

    def post(*args: Any) -> None:
        relay.posted.emit(owner, fn, args)

    return post
