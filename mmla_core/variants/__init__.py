"""Modality-conflict variants (MMA-Bench style): recipes, planning, in-memory and MP4 builds.

A variant is a clip with a parent and a recipe (DESIGN rule 5). `recipes` names and checks
them; `plan` decides everything random from the seed; `inmemory` builds arrays for probing;
`writer` writes the MP4 (stream copy where it can); `store_ops` keeps rows and files together;
`batch` does a whole dataset on all cores; `presets` holds MMA-Bench's six scenarios.
"""

from mmla_core.variants.recipes import (
    RECIPES,
    RecipeError,
    VariantError,
    badge,
    normalize_steps,
    parse_spec,
)

__all__ = ["RECIPES", "RecipeError", "VariantError", "badge", "normalize_steps", "parse_spec"]
