"""The full probe of one clip (6 MMA-Bench scenarios x 3 prompts, MIntRec's 20 labels) against
the same 18 cells as independent requests, plus the cost of capturing attention.

Probe: `mmla_core.probe.run_probe` decodes the clip once, derives the six scenarios in memory
and answers each scenario's three prompts over ONE pass of its media (processor, encoders and
the media tokens' KV cache), each prompt a cached extension of it (the visual and audio questions
also share the transcript, long_context's 10k letters included), then all 20 labels of a prompt
in one packed pass (`probe.shared_prefix`), writing one prediction row per cell. Baseline: 18
independent `engine.predict` calls, each building its own input from the project as an
evaluation request would (`clip_input_from_store`: decode the clip and its audio-swap donor,
build the variant), on the same loaded model and settings, writing nothing. Both give the same
scores (checked). Attention: the same probe with `attention=True` (per cell the last prompt
token once more with eager attention, over a view of the cell's own cached pass cropped by one
token: `probe.attention.leaf_profile`; long_context's 10k-letter prompt included in the full
run, --quick leaves it out of the attention comparison; --attention-only measures just that,
with and without long_context). Times are the best of N, the sides alternating.

    python benchmarks/bench_probe_matrix.py [--quick] [--attention-only] [--model DIR --device cuda]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from mmla_core.demo import ensure_demo
from mmla_core.models.engine import Engine
from mmla_core.models.inputs import InferenceSettings, clip_input_from_store
from mmla_core.models.tiny import build_tiny
from mmla_core.probe import DEFAULT_PROMPTS, DEFAULT_SCENARIOS, run_probe
from mmla_core.store import open_store
from mmla_core.store.catalog import task_by_name
from mmla_core.variants.presets import MMABENCH

TASK = "MIntRec"


def independent_cells(store, engine, clip_id, task, settings, seed, scenarios):
    steps = {s.key: s.steps for s in MMABENCH}
    out = {}
    for scenario in scenarios:
        for prompt in DEFAULT_PROMPTS:
            cell_settings = replace(settings, prompt_kind=prompt, seed=seed)
            clip = clip_input_from_store(store, clip_id, cell_settings,
                                         recipe_steps=steps[scenario] or None, seed=seed)
            out[(scenario, prompt)] = engine.predict(clip, task, cell_settings)
    return out


def best_of(fn, repeats):
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def matrix_vs_independent(store, engine, clip_id, task, settings, repeats, short) -> None:
    probe_s = base_s = float("inf")
    probe = base = None
    for _ in range(repeats):
        t, probe = best_of(lambda: run_probe(store, engine, clip_id, TASK,
                                             settings=settings), 1)
        probe_s = min(probe_s, t)
        t, base = best_of(lambda: independent_cells(store, engine, clip_id, task, settings,
                                                    0, DEFAULT_SCENARIOS), 1)
        base_s = min(base_s, t)
    diff = max(abs(c.scores[k] - base[(c.scenario, c.prompt)].scores[k])
               for c in probe.cells for k in c.scores)
    print(f"same scores as the independent cells: max |dP| = {diff:.2e}")
    verdict = "PASS" if base_s / probe_s >= 2 else "FAIL"
    print(f"RESULT probe_matrix_full_s={probe_s:.3f} independent_18_cells_s={base_s:.3f} "
          f"speedup={base_s / probe_s:.2f}x target>=2x {verdict}")
    short_probe, _ = best_of(lambda: run_probe(store, engine, clip_id, TASK,
                                               settings=settings, scenarios=short), repeats)
    short_base, _ = best_of(lambda: independent_cells(store, engine, clip_id, task,
                                                      settings, 0, short), repeats)
    print(f"RESULT probe_matrix_without_long_context cells={len(short)}x3 "
          f"probe_s={short_probe:.3f} independent_s={short_base:.3f} "
          f"speedup={short_base / short_probe:.2f}x")


def attention_overhead(store, engine, clip_id, settings, scenarios, repeats) -> None:
    """The same probe with and without attention capture, alternating, best of `repeats`."""
    plain_s = attn_s = float("inf")
    for _ in range(repeats):
        t, _ = best_of(lambda: run_probe(store, engine, clip_id, TASK, settings=settings,
                                         scenarios=scenarios), 1)
        plain_s = min(plain_s, t)
        t, _ = best_of(lambda: run_probe(store, engine, clip_id, TASK, settings=settings,
                                         scenarios=scenarios, attention=True), 1)
        attn_s = min(attn_s, t)
    print(f"RESULT probe_attention_overhead scenarios={len(scenarios)}x3 "
          f"plain_s={plain_s:.3f} with_attention_s={attn_s:.3f} "
          f"overhead={attn_s / plain_s:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--model", help="model folder (default: the tiny random Omni model)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--attention-only", action="store_true",
                        help="only the attention capture overhead (with and without long_context)")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or build_tiny(Path(tmp) / "tiny", "qwen2_5_omni")
        engine = Engine.load(model, device=args.device)
        store = open_store(Path(tmp) / "project.sqlite")
        dataset = ensure_demo(store)
        clip_id = int(store.scalar("SELECT id FROM clips WHERE dataset_id = ? AND "
                                   "parent_clip_id IS NULL ORDER BY id", (dataset,)))
        duration = store.scalar("SELECT duration_s FROM clips WHERE id = ?", (clip_id,))
        task = task_by_name(store, TASK)[1]
        settings = InferenceSettings()
        print(f"model {engine.info.name} on {engine.info.device}; clip {clip_id} "
              f"({duration or 0:.1f} s), {TASK} ({len(task.labels)} labels), "
              f"{len(DEFAULT_SCENARIOS)} scenarios x {len(DEFAULT_PROMPTS)} prompts")
        run_probe(store, engine, clip_id, TASK, settings=settings)  # warm-up (caches, lazy init)
        short = tuple(s for s in DEFAULT_SCENARIOS if s != "long_context")
        if not args.attention_only:
            matrix_vs_independent(store, engine, clip_id, task, settings, repeats, short)
        choices = (short, DEFAULT_SCENARIOS) if args.attention_only else \
            ((short,) if args.quick else (DEFAULT_SCENARIOS,))
        for scenarios in choices:
            attention_overhead(store, engine, clip_id, settings, scenarios, repeats)
        store.close()
        engine.close()


if __name__ == "__main__":
    main()
