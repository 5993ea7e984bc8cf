"""What each cell of the clip list shows, and its tooltip: compact where the column is narrow
(a one-mark verdict, 'ana +1'), the whole value always in the tooltip."""

from __future__ import annotations

import json
from functools import lru_cache

from mmla_app.curation.clip_columns import COLUMN_KEYS
from mmla_core.store.browse import BrowseRow
from mmla_core.variants.recipes import badge

VERDICT_MARKS = {"accept": "✓", "reject": "✗"}
# the cells a variant's recipe may run on into while they are empty (a variant rarely has
# labels or a verdict): 92 px cut 'caption prepended: 'praise'' to 'captio…'
OVERFLOW = tuple(COLUMN_KEYS.index(key) for key in ("labels", "verdict", "reviewed_by"))


def format_duration(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


def verdict_mark(verdict: str | None) -> str:
    """One mark per verdict (coloured by the model); an unknown verdict is shown as written."""
    return "" if not verdict else VERDICT_MARKS.get(verdict, verdict)


def reviewers_short(reviewed_by: str, annotator: str) -> str:
    """'ana +2': the curator's own name when they reviewed the clip (what they look for), else
    the first reviewer's, and how many others did. The whole list is in the tooltip."""
    names = [name for name in reviewed_by.split(", ") if name]
    if not names:
        return ""
    first = annotator if annotator in names else names[0]
    return first if len(names) == 1 else f"{first} +{len(names) - 1}"


def cell_text(row: BrowseRow, key: str, fold: str = "", annotator: str = "") -> str:
    """The text of the cell in column `key` (`fold`: the ▾ / ▸ of a clip with variants;
    `annotator`: the name Reviewed by shows first)."""
    if key == "id":
        return f"{fold} {row.id}" if fold else str(row.id)
    if key == "external_id" and row.parent_clip_id:
        return variant_text(row)
    if key == "duration_s":
        return format_duration(row.duration_s)
    if key == "health":
        return row.health.replace("_", " ")
    if key == "transcript":
        text = " ".join(row.transcript.split())  # one line, even for multi-line text
        return f"↳ {text}" if row.parent_clip_id else text
    if key == "labels":
        return row.label_summary
    if key == "verdict":
        return verdict_mark(row.verdict)
    if key == "reviewed_by":
        return reviewers_short(row.reviewed_by, annotator)
    value = getattr(row, key)
    return "" if value is None else str(value)


def variant_text(row: BrowseRow) -> str:
    """A variant row's External id: what it is ('↳ frames black'), not its long generated id."""
    return f"↳ {_recipe_text(row.recipe_json) or row.external_id}"


def overflow_span(row: BrowseRow) -> int:
    """How many columns a row's External id cell covers: a variant's recipe runs on into the
    empty Labels / Verdict / Reviewed by cells after it (as a spreadsheet's text does)."""
    if not row.parent_clip_id:
        return 1
    span = 1
    for column in OVERFLOW:
        if cell_text(row, COLUMN_KEYS[column]):
            break
        span += 1
    return span


@lru_cache(maxsize=4096)
def _recipe_text(recipe_json: str | None) -> str:
    """What a variant is ('frames black', 'audio ← clip 17'), from its stored recipe: its
    generated id is long and alike for every variant of a clip ('' when unreadable)."""
    try:
        return badge(json.loads(recipe_json or "{}"))
    except (ValueError, TypeError, KeyError, AttributeError):
        return ""


def cell_tooltip(row: BrowseRow, key: str) -> str | None:
    """The whole value of a cell that is cut or compact (and the columns past the transcript's
    end, in the External id's)."""
    if key == "external_id":
        tip = (f"{row.external_id}\n{row.dataset} · {row.split or 'no split'} · "
               f"{format_duration(row.duration_s)}\nhealth: {row.health}")
        return f"variant of clip {row.parent_clip_id}: {tip}" if row.parent_clip_id else tip
    if key == "verdict":
        return f"Verdict: {row.verdict}" if row.verdict else None
    if key == "reviewed_by":
        return f"Reviewed by {row.reviewed_by}" if row.reviewed_by else None
    return {"transcript": row.transcript, "health": row.health}.get(key)
