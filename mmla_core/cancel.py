"""The cancel token every long job checks between its steps (evaluation batches, probe rows,
model checks): anything with `is_set()` (a threading or multiprocessing Event, which is what
the model worker shares with its client) or a plain callable returning true to stop; None
never cancels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["ALL_REQUESTS", "CANCEL_SLOTS", "CancelToken", "RequestCancel", "is_cancelled"]

CANCEL_SLOTS = 16     # request ids a worker remembers as cancelled (the newest win)
ALL_REQUESTS = -1     # a slot holding this cancels whatever runs (the worker is stopping)


class _Event(Protocol):
    def is_set(self) -> bool: ...


CancelToken = _Event | Callable[[], bool] | None


def is_cancelled(cancel: CancelToken) -> bool:
    """Whether the job holding `cancel` should stop now."""
    if cancel is None:
        return False
    return bool(cancel.is_set() if hasattr(cancel, "is_set") else cancel())


class RequestCancel:
    """One request's cancel token in a worker shared by several callers: set when its id (or
    ALL_REQUESTS) is in the shared slots, so cancelling one window's job never stops another's.
    `slots` is a multiprocessing Array of CANCEL_SLOTS request ids (0 = empty)."""

    def __init__(self, slots, request_id: int):
        self.slots, self.request_id = slots, request_id

    def is_set(self) -> bool:
        cancelled = set(self.slots[:])
        return self.request_id in cancelled or ALL_REQUESTS in cancelled
