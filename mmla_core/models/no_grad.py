"""`@no_grad`: `torch.no_grad()` as a decorator that imports torch when the function runs, not
when its module is imported (torch is imported only inside functions: pyproject.toml's
`banned-module-level-imports`). The cost is one extra call per decorated call, next to a
forward pass."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["no_grad"]

P = ParamSpec("P")
R = TypeVar("R")


def no_grad(function: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(function)
    def without_grad(*args: P.args, **kwargs: P.kwargs) -> R:
        import torch

        with torch.no_grad():
            return function(*args, **kwargs)

    return without_grad
