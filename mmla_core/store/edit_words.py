"""What an undone or redone edit was, in the curator's words (the status line after Undo).

It reads the clip's checks and the task's name, so it lives on the store's floor; the plural
helpers are in the `words` leaf, which the store itself uses.
"""

from __future__ import annotations

from mmla_core.checks import CheckError, check_by_key
from mmla_core.store.checks import clip_checks
from mmla_core.store.db import Store
from mmla_core.store.labels import Edit
from mmla_core.store.task_rows import task_name

__all__ = ["edit_description"]


def edit_description(store: Store, edit: Edit) -> str:
    """What an undo/redo touched, as the curator knows it: the check's title, not its key;
    the task's name for a label."""
    if edit.kind == "check":
        try:
            check = check_by_key(clip_checks(store, edit.clip_id), edit.check_key or "")
        except CheckError:
            return f"check {edit.check_key}"
        return f"the check “{check.label}”"
    if edit.kind == "label":
        task = task_name(store, edit.task_id)
        what = "adjudication" if edit.owner else "label"
        return f"the {task} {what}" if task else f"a{'n' if what[0] == 'a' else ''} {what}"
    return "a transcript edit"
