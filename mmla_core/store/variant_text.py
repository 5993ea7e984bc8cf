"""A variant's transcript follows its parent's: a curator's edit (or its undo) of a clip's
transcript reaches the variants made from it, so probes, evaluations, training and exports of
a variant see the curated words, not the text the parent had when the variant was built. A
variant whose caption recipe replaced its text with a donor clip's follows that donor's.

A variant's text is its parent's, with what its text recipes add around it (`variants.transforms`:
a misleading caption `Video_caption: <label>. ` before it, long irrelevant text after it). Those
parts are kept and the parent's part is replaced. A caption recipe that *replaced* the text
with a donor clip's (mode replace) owes nothing to the parent's text and follows its donor's
instead. Left alone is a variant whose text no longer holds the old text (someone edited it).
"""

from __future__ import annotations

import json
import re

CAPTION_LINES = r"((?:Video_caption: [^\n]*?\. )*)"  # transforms.prepend_caption, repeatable


def follow_parent_transcript(conn, clip_id: int, old: str, new: str) -> list[int]:
    """Re-derive the transcripts of `clip_id`'s variants (and theirs) from `new`, in the
    caller's transaction; returns the variant ids changed."""
    if old == new or not old:  # from an empty text nothing tells the parent's part apart
        return []
    changed = []
    rows = conn.execute(
        "SELECT id, transcript, recipe_json, parent_clip_id FROM clips WHERE parent_clip_id = ? "
        "OR (parent_clip_id IS NOT NULL AND recipe_json LIKE '%\"replace\"%')",
        (clip_id,)).fetchall()
    for variant_id, text, recipe, parent in rows:
        donor = _text_donor(recipe)  # whose words the variant holds: its parent's, or a donor's
        if (donor if donor is not None else parent) != clip_id:
            continue
        updated = rederived(text or "", old, new)
        if updated is None or updated == text:
            continue
        conn.execute("UPDATE clips SET transcript = ? WHERE id = ?", (updated, variant_id))
        changed += [variant_id, *follow_parent_transcript(conn, variant_id, text or "", updated)]
    return changed


def rederived(text: str, old: str, new: str) -> str | None:
    """`text` (a variant's, made from a parent saying `old`) with the parent saying `new`;
    None when `text` is not `old` with a caption before and/or filler after it."""
    found = re.fullmatch(CAPTION_LINES + re.escape(old) + r"((?: .*)?)", text, re.DOTALL)
    if found is None:
        return None
    return " ".join(part for part in (found[1].strip(), new, found[2].strip()) if part)


def _text_donor(recipe_json: str | None) -> int | None:
    """The donor clip a caption recipe (mode replace) took the variant's text from, if any."""
    try:
        recipe = json.loads(recipe_json or "{}")
    except ValueError:
        return None
    donor = None
    for step in recipe.get("steps") or [] if isinstance(recipe, dict) else []:
        params = (step.get("params") or {}) if isinstance(step, dict) else {}
        if step.get("name") == "caption_misleading" and params.get("mode") == "replace":
            donor = params.get("donor_clip_id")  # the last replace wins, as it did the text
    return donor if isinstance(donor, int) else None
