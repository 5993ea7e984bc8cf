"""The GPU suite: every GPU figure of issue 18 in one run, one `RESULT name value unit` line each.

On a CUDA machine it builds a full-size Qwen2.5-Omni-7B thinker with random weights from the
published config, on the GPU (make_random_model.py: no download; random weights time like the
trained ones), then measures, within a time budget (default 8 minutes of GPU time):

1. label scoring vs generate-then-parse, clips/s at batch 1, 2, 4, 8, 16 (5 s clips, 2 fps);
2. the full probe of one clip (6 MMA-Bench scenarios x 3 prompts), seconds;
3. LoRA training (rank 8, q/v) samples/s and peak memory at batch 1, 2, 4, 8, ours
   (mmla_core.train) against the plain transformers + peft script (bench_train.py);
4. flash-attn 2 vs SDPA scoring clips/s, when flash-attn is installed.

A stage that would not fit the remaining budget is skipped with a `RESULT name skipped -` line.
`--smoke` runs the same code on the CPU with a tiny model and small sizes, so the suite is
exercised by the tests (tests/core/test_gpu_suite.py) on machines without a GPU.

    benchmarks/gpu_suite.sh                 # on the GPU machine; figures -> docs/benchmarks.md
    benchmarks/gpu_suite.sh --smoke         # CPU check, ~1 minute
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.support

NO_CUDA = 2   # exit code: no usable GPU (and not --smoke)


def result(name: str, value, unit: str) -> None:
    text = value if isinstance(value, str) else f"{value:.4g}"
    print(f"RESULT {name} {text} {unit}", flush=True)


def skipped(name: str, why: str) -> None:
    print(f"# {name}: skipped, {why}", flush=True)
    result(name, "skipped", "-")


class Budget:
    """Seconds left of the suite's GPU time; a stage runs only when its estimate fits."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def allows(self, name: str, needs_s: float) -> bool:
        if self.left() >= needs_s:
            return True
        skipped(name, f"needs ~{needs_s:.0f} s, {max(self.left(), 0):.0f} s left")
        return False


def _model(args, folder: Path) -> str:
    if args.model:
        return args.model
    if args.smoke:
        from mmla_core.models.tiny import build_tiny

        return str(build_tiny(folder / "tiny-omni", "qwen2_5_omni"))
    from make_random_model import build

    start = time.perf_counter()
    build(folder / "omni-7b-random", "7b", "cuda", 0)
    result("build_7b_random_s", time.perf_counter() - start, "s")
    return str(folder / "omni-7b-random")


def scoring_vs_generation(engine, clips, settings, batch_sizes, budget: Budget) -> None:
    from bench_scoring import _answer_cap, generate_then_parse, timed_pair

    from mmla_core.models.prompting import plan_prompt
    from mmla_core.tasks import builtin_task

    task = builtin_task("MIntRec")
    cap = _answer_cap(engine, plan_prompt(task, ""))
    engine._prefetch = False   # both sides build their inputs serially
    for size in batch_sizes:
        if not budget.allows(f"scoring_b{size}_clips_per_s", 20):
            return
        group = (clips * (size // len(clips) + 1))[:max(size, len(clips))]
        timing = timed_pair(
            engine, lambda g=group, s=size: engine.predict_batch(g, task, settings, batch_size=s),
            lambda g=group, s=size: generate_then_parse(engine, g, task, settings, s, cap), 1)
        result(f"scoring_b{size}_clips_per_s", len(group) / timing.ours_s, "clips/s")
        result(f"generate_parse_b{size}_clips_per_s", len(group) / timing.base_s, "clips/s")
        result(f"scoring_vs_generate_b{size}", timing.ratio, "x")
    engine._prefetch = None


def full_probe(engine, folder: Path, budget: Budget, smoke: bool) -> None:
    if not budget.allows("probe_6x3_s", 30):
        return
    from mmla_core.demo import ensure_demo
    from mmla_core.models.inputs import InferenceSettings
    from mmla_core.probe import run_probe
    from mmla_core.store import open_store

    with open_store(folder / "probe.sqlite") as store:
        dataset = ensure_demo(store)
        clip_id = int(store.scalar("SELECT id FROM clips WHERE dataset_id = ? AND "
                                   "parent_clip_id IS NULL ORDER BY id", (dataset,)))
        settings = InferenceSettings(num_frames=2, max_pixels=56 * 56) if smoke else \
            InferenceSettings()
        if not smoke:   # warm-up: kernels, allocator, lazy init
            run_probe(store, engine, clip_id, "MIntRec", settings=settings)
        _sync(engine)
        start = time.perf_counter()
        run_probe(store, engine, clip_id, "MIntRec", settings=settings)
        _sync(engine)
        result("probe_6x3_s", time.perf_counter() - start, "s")


def attention_kinds(engine, clips, settings, budget: Budget) -> None:
    import importlib.util

    if importlib.util.find_spec("flash_attn") is None or not engine.info.device.startswith(
            "cuda"):
        skipped("flash_attn_vs_sdpa", "flash-attn is not installed or there is no GPU")
        return
    from dataclasses import replace

    from bench_scoring import timed

    from mmla_core.tasks import builtin_task

    task = builtin_task("MIntRec")
    for attn in ("sdpa", "flash_attention_2"):
        if not budget.allows(f"scoring_b8_{attn}_clips_per_s", 20):
            return
        chosen = replace(settings, attn_implementation=attn)
        group = (clips * 8)[:8]
        took = timed(engine, lambda g=group, s=chosen: engine.predict_batch(
            g, task, s, batch_size=8), 2)
        result(f"scoring_b8_{attn}_clips_per_s", len(group) / took, "clips/s")


def _sync(engine) -> None:
    if engine.info.device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def training(args, model: str, folder: Path, budget: Budget) -> None:
    """Ours vs the plain script per batch size (bench_train.py's two sides), peak memory."""
    import torch
    from bench_train import _project, run_ours, run_plain

    cuda = torch.cuda.is_available() and not args.smoke
    train_args = argparse.Namespace(
        steps=args.train_steps, frames=10 if cuda else 2, fps=2.0,
        max_pixels=360 * 420 if cuda else 56 * 56, device="cuda" if cuda else "cpu", rank=8,
        targets=["q_proj", "v_proj"])
    db = _project(folder)
    for size in args.train_batch_sizes:
        if not budget.allows(f"train_b{size}_samples_per_s", 60 if cuda else 5):
            return
        for side, run in (("plain", run_plain), ("ours", run_ours)):
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            try:
                sps, _ = run(train_args, db, model, folder / f"train-{side}-{size}", size)
            except Exception as exc:   # OOM at a batch size ends the sweep
                result(f"train_b{size}_{side}_samples_per_s", "failed", type(exc).__name__)
                return
            result(f"train_b{size}_{side}_samples_per_s", sps, "samples/s")
            if cuda:
                result(f"train_b{size}_{side}_peak_gib",
                       torch.cuda.max_memory_allocated() / 2**30, "GiB")


def run_suite(args) -> int:
    import torch

    from mmla_core.models.engine import Engine
    from mmla_core.models.inputs import InferenceSettings

    if not args.smoke and not torch.cuda.is_available():
        print("gpu_suite: no CUDA GPU here (torch.cuda.is_available() is False). Run it on a "
              "machine with an NVIDIA GPU, or pass --smoke for the CPU check with a tiny model.",
              file=sys.stderr)
        return NO_CUDA
    budget = Budget(args.budget_s)
    device = "cpu" if args.smoke else "cuda"
    name = "cpu" if args.smoke else torch.cuda.get_device_name()
    print(f"# gpu_suite {datetime.date.today()} device={name} torch={torch.__version__} "
          f"budget={args.budget_s:.0f}s smoke={args.smoke}", flush=True)
    with tempfile.TemporaryDirectory(prefix="gpu-suite-") as tmp:
        folder = Path(tmp)
        model = _model(args, folder)
        from bench_scoring import make_clips

        settings = InferenceSettings(num_frames=None, sample_fps=2.0,
                                     max_pixels=56 * 56 if args.smoke else 360 * 420)
        clips = make_clips(folder, 1 if args.smoke else 4, settings)
        engine = Engine.load(model, device=device)
        scoring_vs_generation(engine, clips, settings, args.batch_sizes, budget)
        full_probe(engine, folder, budget, args.smoke)
        attention_kinds(engine, clips, settings, budget)
        engine.close()
        training(args, model, folder, budget)
    result("suite_s", args.budget_s - budget.left(), "s")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="CPU, tiny model, small sizes: checks the suite runs")
    parser.add_argument("--model", help="an existing model folder instead of building the 7B")
    parser.add_argument("--budget-s", type=float, default=480.0,
                        help="GPU seconds for everything (default 480 = 8 minutes)")
    args = parser.parse_args(argv)
    args.batch_sizes = [2] if args.smoke else [1, 2, 4, 8, 16]
    args.train_batch_sizes = [1] if args.smoke else [1, 2, 4, 8]
    args.train_steps = 2 if args.smoke else 6
    return run_suite(args)


if __name__ == "__main__":
    sys.exit(main())
