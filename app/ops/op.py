"""An `Op`: one user action's write, with the change record it declares.

`fn(store, *args)` runs on the writer thread (in order with every other GUI write); when it has
committed, `submit` announces `changes` on the change bus with the initiator (the panel or
dialog that acted), so other views reload what they show and the initiator skips its own echo;
the project's watchers take its commits as the window's own (change_bus.hold_own_write).
A long write (a variant's media, an import, a dataset delete, an export) runs with `run_job`
instead: a job on the project's runner with its own Store, so a label key never waits behind an
encode; its changes are announced the same way once it returned, and the project's watcher
takes its commits as the window's own (no second reload from the change poll).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmla_app.runtime.change_bus import OWN_WRITE_AREAS, bracketed, change_bus, hold_own_write
from mmla_app.runtime.write_queue import ErrorFn, SuccessFn, submit_write
from mmla_core.changes import Changes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Op:
    fn: Callable[..., Any]   # fn(store, *args), on the writer thread (or a runner job)
    args: tuple
    changes: Changes         # what it changes, known before it runs
    # for a write whose clip is known only after it ran (undo/redo): result -> clip id
    clip_of_result: Callable[[Any], int | None] | None = None

    def changes_after(self, result: Any) -> Changes:
        clip_id = self.clip_of_result(result) if self.clip_of_result else None
        if clip_id is None:
            return self.changes
        return self.changes | Changes(self.changes.areas, frozenset({int(clip_id)}))


def submit(db_path: str | Path, op: Op, *, initiator: object,
           on_success: SuccessFn | None = None, on_error: ErrorFn | None = None) -> None:
    """Run `op` after every earlier write; once committed, announce its changes, then call
    `on_success(result)` (both on the GUI thread)."""

    ended = hold_own_write(db_path, op.changes.areas | OWN_WRITE_AREAS)  # not outside news

    def committed(bracket: tuple) -> None:
        result, before, after = bracket
        ended((before, after))
        change_bus().announce(op.changes_after(result), initiator)
        if on_success is not None:
            on_success(result)

    def failed(exc: Exception) -> None:
        ended(None)
        if on_error is not None:
            on_error(exc)
        else:
            log.error("%s failed", getattr(op.fn, "__name__", op.fn), exc_info=exc)

    submit_write(db_path, bracketed, op.fn, *op.args, on_success=committed, on_error=failed)


def run_job(project, op: Op, *, initiator: object, on_success: SuccessFn | None = None,
            on_error: ErrorFn | None = None, channel: str | None = None,
            in_order: bool = False) -> int:
    """Run a long write as a job on `project`'s runner (beside the writer thread); once it
    returned, announce its changes, then call `on_success(result)` (both on the GUI thread).

    The job finishes even when the dialog that started it has closed (the project outlives
    it); its changes still reach the bus, so the window follows. `channel`: the runner's
    latest-wins lane (one job at a time on it), or with `in_order` its queue (each job runs
    after the earlier ones and reports; returns how many were ahead)."""

    watcher, db_path = project.watcher, project.db_path
    key = watcher.own_job_started(op.changes.areas)  # its commits are not outside news

    def returned(bracket: tuple) -> None:
        result, before, after = bracket
        watcher.own_job_ended(key, (before, after))
        if project.db_path == db_path:  # else it wrote the project the window has left
            project.bus.announce(op.changes_after(result), initiator)
        if on_success is not None:
            on_success(result)

    def failed(exc: Exception) -> None:
        watcher.own_job_ended(key)  # what it committed before failing is announced as news
        if on_error is not None:
            on_error(exc)
        else:
            log.error("%s failed", getattr(op.fn, "__name__", op.fn), exc_info=exc)

    return project.runner.submit(bracketed, op.fn, *op.args, on_success=returned,
                                 on_error=failed, channel=channel, in_order=in_order)
