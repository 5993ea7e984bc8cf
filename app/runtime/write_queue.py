"""The GUI's one write path: a single writer thread, writes in submission order.

Every GUI write (labels, check answers, notes, transcripts, reviews, undo/redo) runs here, after
every earlier write, on a long-lived `Store` per project file; results come back on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from mmla_core.store.db import open_store

log = logging.getLogger(__name__)

SuccessFn = Callable[[Any], None]
ErrorFn = Callable[[Exception], None]


class WriteQueue(QObject):
    """The GUI's one write path: every write runs, in submission order, on a single writer
    thread that keeps its own Store per project file (Datasette's writer-thread model).

    Order matters to the curator: "label 3, then label 5" must end as 5, and Ctrl+Z right after a
    key press must undo that key press. Results come back on the GUI thread (queued signal).
    """

    _finished = Signal(object, object, object)  # (callbacks, result, error)

    def __init__(self) -> None:
        super().__init__()

        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmla-writer")
        self._stores: dict[Path, Any] = {}  # touched only on the writer thread
        self._finished.connect(self._deliver)

    def submit(self, db_path: str | Path, fn: Callable, *args: Any,
               on_success: SuccessFn | None = None, on_error: ErrorFn | None = None) -> None:
        future = self._executor.submit(self._run, Path(db_path), fn, args)
        callbacks = (on_success, on_error)
        future.add_done_callback(
            lambda f: self._finished.emit(callbacks, *_outcome(f)))

    def _run(self, db_path: Path, fn: Callable, args: tuple) -> Any:
        store = self._stores.get(db_path)
        if store is None:
            store = self._stores[db_path] = open_store(db_path)
        return fn(store, *args)

    @Slot(object, object, object)  # emitted on the writer thread: a real, queued slot
    def _deliver(self, callbacks, result, error) -> None:
        on_success, on_error = callbacks
        if error is None and on_success is not None:
            on_success(result)
        elif error is not None:
            if on_error is not None:
                on_error(error)
            else:
                log.error("write failed", exc_info=error)

    def drain(self) -> None:
        """Block until every submitted write has committed (app exit, tests)."""
        self._executor.submit(lambda: None).result()

    def close_stores(self) -> None:
        def close_all() -> None:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
        self._executor.submit(close_all).result()


def _outcome(future) -> tuple[Any, BaseException | None]:
    error = future.exception()
    return (None, error) if error is not None else (future.result(), None)


_WRITES: WriteQueue | None = None


def write_queue() -> WriteQueue:
    """The process-wide write queue (created on first use, on the GUI thread)."""
    global _WRITES
    if _WRITES is None:
        _WRITES = WriteQueue()
    return _WRITES


def submit_write(db_path: str | Path, fn: Callable, *args: Any,
                 on_success: SuccessFn | None = None, on_error: ErrorFn | None = None) -> None:
    """Run the write `fn(store, *args)` after every earlier write, on the writer thread."""
    write_queue().submit(db_path, fn, *args, on_success=on_success, on_error=on_error)
