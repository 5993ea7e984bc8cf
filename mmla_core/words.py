"""Words for people: counts with the right plural, and what an undone edit was."""

from __future__ import annotations

from mmla_core.checks import CheckError, check_by_key
from mmla_core.store.checks import clip_checks
from mmla_core.store.task_rows import task_name

__all__ = ["count", "edit_description"]

_IRREGULAR = {"match": "matches", "batch": "batches", "this": "these"}


def count(n: int, word: str, plural: str | None = None) -> str:
    """'1 sample', '2 samples', '0 problems'; `plural` for words that do not take an s."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {plural or _IRREGULAR.get(word) or word + 's'}"


def edit_description(store, edit) -> str:
    """What an undo/redo touched, as the curator knows it: the check's title, not its key;
    the task's name for a label."""
    if edit.kind == "check":
        try:
            check = check_by_key(clip_checks(store, edit.clip_id), edit.check_key)
        except CheckError:
            return f"check {edit.check_key}"
        return f"the check “{check.label}”"
    if edit.kind == "label":
        task = task_name(store, edit.task_id)
        what = "adjudication" if getattr(edit, "owner", None) else "label"
        return f"the {task} {what}" if task else f"a{'n' if what[0] == 'a' else ''} {what}"
    return "a transcript edit"
