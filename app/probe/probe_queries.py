"""The Probe tab's background jobs (each runs on a pool thread with its own Store)."""

from __future__ import annotations

import json

from mmla_core.models.prompting import default_template
from mmla_core.probe.matrix import DEFAULT_PROMPTS, ProbeResult, load_probe
from mmla_core.store.catalog import get_clip, tasks_for_dataset, variant_descendants
from mmla_core.store.form_choices import models_in_order, probes_of_clip
from mmla_core.store.run_owners import fail_orphan_runs


def load_choices(store, clip_id: int) -> dict:
    """Worker job: registered models, the clip's tasks (with their default prompt texts), its
    past probes and its existing variants."""
    clip = get_clip(store, clip_id)
    found = [t for _, t in tasks_for_dataset(store, clip["dataset_id"])] if clip else []
    tasks = [t.name for t in found]
    defaults = {t.name: {k: default_template(t, k) for k in DEFAULT_PROMPTS} for t in found}
    variants = [{"id": r["id"], "external_id": r["external_id"],
                 "label": json.loads(r["recipe_json"] or "{}").get("type", "")}
                for r in (variant_descendants(store, clip_id) if clip else [])
                if r["id"] != clip_id]
    models = models_in_order(store)
    fail_orphan_runs(store)  # a probe whose process was killed shows failed
    probes = probes_of_clip(store, clip_id)
    return {"tasks": tasks, "models": models, "probes": probes, "defaults": defaults,
            "variants": variants}


def load_result(store, run_id: int) -> ProbeResult:
    return load_probe(store, run_id)
