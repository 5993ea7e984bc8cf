"""Words for people: counts with the right plural. A leaf (imports nothing of the package),
so the store's own reports use it; what an undone edit was is `store.edit_words`."""

from __future__ import annotations

__all__ = ["count"]

_IRREGULAR = {"match": "matches", "batch": "batches", "this": "these"}


def count(n: int, word: str, plural: str | None = None) -> str:
    """'1 sample', '2 samples', '0 problems'; `plural` for words that do not take an s."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {plural or _IRREGULAR.get(word) or word + 's'}"
