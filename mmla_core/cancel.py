"""The cancel token every long job checks between its steps (evaluation batches, probe rows,
model checks): anything with `is_set()` (a threading or multiprocessing Event, which is what
the model worker shares with its client) or a plain callable returning true to stop; None
never cancels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["CancelToken", "is_cancelled"]


class _Event(Protocol):
    def is_set(self) -> bool: ...


CancelToken = _Event | Callable[[], bool] | None


def is_cancelled(cancel: CancelToken) -> bool:
    """Whether the job holding `cancel` should stop now."""
    if cancel is None:
        return False
    return bool(cancel.is_set() if hasattr(cancel, "is_set") else cancel())
