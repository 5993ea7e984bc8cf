"""Create and delete variant clips: the row (DESIGN rule 5) and the file, kept together.

A written variant lives in the project's own folder, `<db folder>/<db stem>.variants/<dataset>/`
(never in the dataset folder, which may be read-only or shared), and its row says so with
`media_root`. The file is written first and the row committed after it, so a crash leaves at
worst a finished, unrecorded file that the next request (same content key) simply records.
A variant that changes only text has no file of its own: its row points at the parent's media.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from mmla_core.media.probe import probe
from mmla_core.paths import PathEscapeError
from mmla_core.store.catalog import (
    CLIP_MEDIA_COLUMNS,
    add_variant_with_media,
    clip_media_path,
    delete_clip,
    get_clip,
    list_variants,
    move_variant_media,
    save_media_info,
    variant_descendants,
    variant_keys,
    variants_by_media_key,
)
from mmla_core.store.clip_rows import variant_id
from mmla_core.store.db import Store
from mmla_core.variants.plan import DatasetContext, VariantPlan, plan_variant, safe_name
from mmla_core.variants.recipes import VariantError, badge
from mmla_core.variants.writer import write_variant
from mmla_core.words import count

__all__ = ["CreatedVariant", "VariantRemoval", "app_made_file", "create_variant", "delete_variant",
           "describe_variants", "in_variants_root", "left_note", "media_columns",
           "record_variant", "remove_variant_files", "split_owned", "variants_dir",
           "variants_root"]

VARIANTS_SUFFIX = ".variants"
SIDECAR_SUFFIXES = (".16k.wav",)  # files export_audio writes beside a variant


@dataclass(frozen=True)
class CreatedVariant:
    clip_id: int
    created: bool  # False: the same variant existed already (same content key)
    path: Path | None  # its media file (the parent's for a text-only variant)
    recipe: dict


def variants_root(store: Store) -> Path:
    """`<db folder>/<db stem>.variants/`: this project's variants folder, the only place from
    which deleting a variant removes files (a copied database still names the original's)."""
    return store.path.parent / f"{store.path.stem}{VARIANTS_SUFFIX}"


def variants_dir(store: Store, dataset_name: str) -> Path:
    """`<db folder>/<db stem>.variants/<dataset name>/`: where a dataset's variants are written."""
    return variants_root(store) / safe_name(dataset_name)


def media_columns(plan: VariantPlan, parent: dict) -> dict:
    """Probe facts for the variant row: its own file's, or (text-only) the parent's."""
    if plan.out_path is None:
        return {column: parent.get(column) for column in CLIP_MEDIA_COLUMNS}
    return probe(plan.out_path).clip_columns()


def record_variant(store: Store, plan: VariantPlan, columns: dict, parent: dict, *,
                   copy_labels: bool = False, existing_id: int | None = None) -> int:
    """Insert the variant's row (or point `existing_id` at the file just written: a row made
    before long names kept their key may name another variant's file)."""
    out = None if plan.out_path is None else Path(plan.out_path)
    if existing_id is not None:
        if out is None:
            save_media_info(store, [(existing_id, columns)])
        else:
            move_variant_media(store, existing_id, str(out.parent), out.name, columns)
        return existing_id
    if out is None:
        root, path = parent.get("media_root"), parent.get("media_path")
    else:
        root, path = str(out.parent), out.name
    try:
        return add_variant_with_media(
            store, plan.parent_id, plan.external_id, media_root=root, media_path=path,
            transcript=plan.transcript, recipe=plan.recipe(), media_columns=columns,
            copy_labels=copy_labels,
        )
    except sqlite3.IntegrityError:  # another process recorded the same variant just now
        found = variant_id(store, plan.parent_id, plan.external_id)
        if found is None:
            raise
        return found


def already_made(store: Store, keys: dict[str, int], by_media_key: dict,
                 plan: VariantPlan) -> int | None:
    """The recorded variant `plan` asks for, when nothing needs writing: the same content key
    with its file in place, or (its text followed a transcript edit of the parent since) the
    same media key and text with its own file in place."""
    existing = keys.get(plan.key)
    if existing is not None and (plan.out_path is None or Path(plan.out_path).is_file()):
        return existing
    same = by_media_key.get((plan.media_key, plan.transcript)) if plan.media_key else None
    if same is None or plan.out_path is None:
        return same
    row = get_clip(store, same)
    path = None if row is None else _path_or_none(row)  # None: not its own file (paths.py)
    return same if path is not None and path.is_file() else None


def create_variant(store: Store, parent_id: int, steps, seed: int = 0, *,
                   copy_labels: bool = False) -> CreatedVariant:
    """Build (or find) the variant of `parent_id` that `steps` and `seed` describe.

    `steps`: recipe names, (name, params) pairs or {"name", "params"} dicts, applied in order.
    `copy_labels` gives the variant the parent's labels (all annotators), e.g. for export.
    Raises RecipeError for a bad request and VariantError when it cannot apply to this clip.
    """
    parent = get_clip(store, parent_id)
    if parent is None:
        raise VariantError(f"clip {parent_id}", "-", "no such clip in the project")
    ctx = DatasetContext(store, parent["dataset_id"], preload=False)
    plan = plan_variant(ctx, parent_id, steps, seed, variants_dir(store, parent["dataset_name"]))
    keys = variant_keys(store, parent["dataset_id"], parent_id=parent_id)
    made = already_made(store, keys, variants_by_media_key(store, parent["dataset_id"],
                                                    parent_id=parent_id), plan)
    if made is not None:
        row = get_clip(store, made)
        if row is None:
            raise VariantError(f"clip {parent_id}", "-", f"its variant {made} was deleted "
                               "while it was looked up")
        return CreatedVariant(made, False, _path_or_none(row), json.loads(row["recipe_json"]))
    existing = keys.get(plan.key)
    write_variant(plan)
    columns = media_columns(plan, parent)
    clip_id = record_variant(store, plan, columns, parent, copy_labels=copy_labels,
                             existing_id=existing)
    path = Path(plan.out_path) if plan.out_path else _path_or_none(parent)
    return CreatedVariant(clip_id, existing is None, path, plan.recipe())


def _path_or_none(row: dict) -> Path | None:
    try:
        return clip_media_path(row)
    except PathEscapeError:
        return None


def in_variants_root(store: Store, path: Path) -> bool:
    return path.resolve().is_relative_to(variants_root(store).resolve())


def app_made_file(row: dict) -> Path | None:
    """The variant's own media file, if it has one inside a variants folder (this project's or,
    for a copied database, another's)."""
    recipe = json.loads(row.get("recipe_json") or "{}")
    root = row.get("media_root")
    if not recipe.get("owns_media") or not root or not row.get("media_path"):
        return None
    if not Path(root).parent.name.endswith(VARIANTS_SUFFIX):
        return None  # never delete anything outside a folder this app made for variants
    return _path_or_none(row)


@dataclass(frozen=True)
class VariantRemoval:
    """What deleting a variant did: files removed, and files left because they lie outside this
    project's variants folder (a copied database names the original's)."""

    removed: list[Path]
    left: list[Path]
    root: Path

    def left_note(self) -> str:
        return left_note(self.left, self.root)


def left_note(left: list[Path], root: Path) -> str:
    """'' or 'N variant files left, e.g. PATH: outside this project's folder ROOT'."""
    if not left:
        return ""
    return (f"{count(len(left), 'variant file')} left, e.g. {left[0]}: outside this project's "
            f"folder {root}")


def split_owned(store: Store, rows: list[dict]) -> tuple[list[Path], list[Path]]:
    """(the app-made variant files inside this project's variants folder, those outside)."""
    made = [f for f in (app_made_file(row) for row in rows) if f is not None]
    return ([f for f in made if in_variants_root(store, f)],
            [f for f in made if not in_variants_root(store, f)])


def delete_variant(store: Store, variant_id: int) -> VariantRemoval:
    """Delete a variant (and the variants built on it): rows first, then their files (only
    those inside this project's variants folder). Refuses a clip that is not a variant.
    """
    rows = variant_descendants(store, variant_id)
    if not rows:
        raise ValueError(f"no clip {variant_id}")
    top = next(r for r in rows if r["id"] == variant_id)
    if top["parent_clip_id"] is None:
        raise ValueError(f"clip {variant_id} ({top['external_id']}) is not a variant; "
                         "only variants can be deleted here")
    files, left = split_owned(store, rows)
    delete_clip(store, variant_id)
    return VariantRemoval(remove_variant_files(files), left, variants_root(store))


def remove_variant_files(files: list[Path]) -> list[Path]:
    """Unlink variant media files and their sidecars (after their rows are gone)."""
    removed = []
    for media in files:
        for path in (media, *(media.with_suffix(s) for s in SIDECAR_SUFFIXES)):
            if path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def describe_variants(store: Store, parent_id: int) -> list[dict]:
    """One dict per direct variant: id, external_id, badge, recipe type, media path, health."""
    result = []
    for row in list_variants(store, parent_id):
        recipe = json.loads(row["recipe_json"] or "{}")
        result.append({
            "id": row["id"], "external_id": row["external_id"], "badge": badge(recipe),
            "type": recipe.get("type", ""), "path": _path_or_none(row),
            "health": row["health"], "transcript": row["transcript"],
        })
    return result
