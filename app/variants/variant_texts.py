"""What the Variants panel says: its status lines (created, failed, deleted, a batch's report)
and the family line, naming recipes as the panel's check boxes do."""

from __future__ import annotations

from mmla_core.variants.recipes import VariantError, recipe_title
from mmla_core.variants.store_ops import VariantRemoval
from mmla_core.words import count


def deleted_message(variant_id: int, removal: VariantRemoval) -> str:
    left = f"; {removal.left_note()}" if removal.left else ""
    return f"Deleted variant {variant_id} ({len(removal.removed)} file(s) removed{left})"


def family_text(state: dict) -> str:
    clip, parent = state["clip"], state.get("parent")
    own = count(len(state["variants"]), "variant")
    if parent is None:
        return f"{own} of clip {clip['id']}"
    return (f"Clip {clip['id']} is a variant of clip {parent['id']} "
            f"({count(len(state['siblings']), 'variant')} of it); {own} of its own")


def steps_title(recipe: dict) -> str:
    """The recipes as their check boxes name them ('Noisy audio + Black frames'), not by
    their CLI names ('audio_noise+frames_black')."""
    names = [step.get("name", "") for step in recipe.get("steps") or []]
    return " + ".join(map(recipe_title, names)) if names else recipe_title(recipe.get("type", ""))


def created_text(made) -> str:
    what = "Created" if made.created else "Already there:"
    return f"{what} variant {made.clip_id} ({steps_title(made.recipe)})"


def failure_text(exc: Exception) -> str:
    if isinstance(exc, VariantError):  # the recipe as the panel names it
        return f"{exc.clip}, {recipe_title(exc.recipe)}: {exc.why}"
    return str(exc)


def report_text(report) -> str:
    text = report.summary()
    if report.failed:
        text += "\n" + "\n".join(str(f) for f in report.failed[:5])
    return text
