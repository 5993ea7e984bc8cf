"""MMLA's output parser (`clean()` in thuiar/MMLA `src/Zero-shot_Inference/eval.py`).

The prediction is lower-cased and every candidate label is searched with word boundaries,
`(?<!\\w)label(?!\\w)`: exactly one label found -> that label, none -> "unknown", several ->
"multi" (both count as wrong). The boundaries are what keep "statement-opinion" from matching
inside "statement-non-opinion" and "agree" inside "agreement". One addition: a leading
"<task word>:" (the answer format MMLA asks for) is stripped first, so a task word that is also
a label cannot make every answer "multi".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["MULTI", "UNKNOWN", "clean", "matched_labels"]

UNKNOWN = "unknown"
MULTI = "multi"


@lru_cache(maxsize=4096)
def _pattern(label: str) -> re.Pattern:
    return re.compile(r"(?<!\w)" + re.escape(label.lower()) + r"(?!\w)")


def _strip_task_word(text: str, task_word: str | None) -> str:
    if not task_word:
        return text
    head = re.compile(r"^\s*" + re.escape(task_word.lower()) + r"\s*:")
    return head.sub("", text, count=1)


def matched_labels(prediction: str, labels: Iterable[str], task_word: str | None = None
                   ) -> list[str]:
    """Every label found in the prediction, in label order."""
    text = _strip_task_word((prediction or "").lower(), task_word)
    return [label for label in labels if _pattern(label).search(text)]


def clean(prediction: str, labels: Iterable[str], task_word: str | None = None) -> str:
    """The label the prediction names (as spelled in `labels`), or "unknown" / "multi"."""
    found = matched_labels(prediction, labels, task_word)
    if len(found) == 1:
        return found[0]
    return UNKNOWN if not found else MULTI
