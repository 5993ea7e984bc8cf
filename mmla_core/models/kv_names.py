"""The KV cache's name in and out of a transformers forward, on either side of its rename.

transformers 5.x renamed `past_key_values` to `cache` (a forward's keyword and its outputs'
field). 5.25 still takes and returns the old name with a FutureWarning on every probe, eval and
training step; 5.40 removes it, which our `transformers>=5.0,<6` range admits. So the scoring
passes the cache under the name the model's forward declares, and reads it from the field the
output has.
"""

from __future__ import annotations

import dataclasses
import inspect

__all__ = ["cache_keyword", "cache_of"]


def cache_keyword(module) -> str:
    """'cache' where `module.forward` takes it (its signature sees through deprecate_kwarg's
    wrapper), else the old 'past_key_values'."""
    module_type = type(module)
    if module_type not in _KEYWORDS:  # a signature read costs ~50 us: once per model class
        parameters = inspect.signature(module_type.forward).parameters
        _KEYWORDS[module_type] = "cache" if "cache" in parameters else "past_key_values"
    return _KEYWORDS[module_type]


_KEYWORDS: dict[type, str] = {}


def cache_of(output):
    """The KV cache a model or generate() output carries, by the field its class declares."""
    fields = {field.name for field in dataclasses.fields(output)} \
        if dataclasses.is_dataclass(output) else set()
    return output.cache if "cache" in fields else output.past_key_values
