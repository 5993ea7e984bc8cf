"""MMA-Bench's six scenarios (reference/seeds_systems.md 2.3) as variant recipes.

Aligned is the clip itself; the other five are one recipe each: audio swapped from a clip of a
different class, a wrong caption prepended (`Video_caption: <wrong class>.`), long irrelevant
text appended (10,000 random letters, as the benchmark does), frames zeroed ("eyes closed"),
audio removed ("ears shut"). `mmabench_in_memory` decodes the clip once and derives all six.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmla_core.store.catalog import get_clip
from mmla_core.store.db import Store
from mmla_core.variants.inmemory import VariantArrays, apply_plan, donor_loader, load_arrays
from mmla_core.variants.plan import DatasetContext, plan_variant
from mmla_core.variants.recipes import Step, VariantError, normalize_steps
from mmla_core.variants.store_ops import variants_dir
from mmla_core.variants.writer import check_parent

__all__ = ["MMABENCH", "PRESETS", "Scenario", "mmabench_in_memory", "preset_specs"]


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    steps: tuple[Step, ...]  # () = the clip itself


MMABENCH: tuple[Scenario, ...] = (
    Scenario("aligned", "Aligned", ()),
    Scenario("audio_swap", "Video≠Audio (audio swapped)", normalize_steps(["audio_swap"])),
    Scenario("misleading_caption", "Misleading caption",
             normalize_steps([("caption_misleading", {"mode": "prepend"})])),
    Scenario("long_context", "Long irrelevant context",
             normalize_steps([("context_long", {"words": 10_000, "style": "letters"})])),
    Scenario("frames_zeroed", "Frames zeroed", normalize_steps(["frames_black"])),
    Scenario("audio_removed", "Audio removed", normalize_steps(["audio_removed"])),
)
PRESETS = {"mmabench": MMABENCH}


def preset_specs(name: str) -> list[tuple[Step, ...]]:
    """The variants a preset makes (its non-empty scenarios), for `batch.make_variants`."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return [s.steps for s in PRESETS[name] if s.steps]


def mmabench_in_memory(store: Store, clip_id: int, seed: int = 0, *, times=None,
                       max_side: int | None = None) -> dict[str, VariantArrays]:
    """The six scenarios of one clip as arrays, decoding the clip once and each donor once.

    Keys are the scenario keys in MMABENCH order; 'aligned' is the clip itself (recipe None).
    """
    row = get_clip(store, clip_id)
    if row is None:
        raise VariantError(f"clip {clip_id}", "mmabench", "no such clip in the project")
    ctx = DatasetContext(store, row["dataset_id"])
    out_dir = variants_dir(store, row["dataset_name"])
    plans = {s.key: plan_variant(ctx, clip_id, s.steps, seed, out_dir)
             for s in MMABENCH if s.steps}
    media = next((p.parent_media for p in plans.values() if p.parent_media), None)
    if media is not None:
        check_parent(next(p for p in plans.values() if p.parent_media))
    base = load_arrays(media, ctx.clip(clip_id).transcript, times=times, max_side=max_side)
    donors = donor_loader({k: v for p in plans.values() for k, v in p.donor_media.items()})
    result = {"aligned": base}
    result.update({key: apply_plan(base, plan, donors) for key, plan in plans.items()})
    return result
