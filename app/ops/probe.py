"""Probe tab writes: a matrix row played as a real clip. Returns an `Op` (mmla_app.ops.op)
declaring its `Changes`, so the browser lists the variant clip the row became.
"""

from __future__ import annotations

from mmla_app.ops.op import Op
from mmla_core.changes import CLIPS, Changes
from mmla_core.variants.presets import MMABENCH
from mmla_core.variants.store_ops import create_variant


def _write_scenario(store, clip_id: int, scenario: str, seed: int) -> int:
    """The scenario as a variant clip (written once, then reused); the clip id to play (the
    clip itself for the aligned row)."""
    steps = next(s.steps for s in MMABENCH if s.key == scenario)
    return clip_id if not steps else create_variant(store, clip_id, steps, seed=seed).clip_id


def scenario_clip(clip_id: int, scenario: str, seed: int = 0) -> Op:
    """Double-click a matrix row: MMA-Bench's scenario of the clip as a clip of its own."""
    return Op(_write_scenario, (clip_id, scenario, seed), Changes.of(CLIPS, clip_ids=(clip_id,)))
