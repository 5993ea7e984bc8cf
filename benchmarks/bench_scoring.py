"""Label scoring with a shared prefix, against one full forward per label and against generation.

(1) Shared-prefix scoring (prefix + shared answer tokens once, then every candidate over the
    expanded KV cache) vs the naive reference (one full forward, encoders included, per
    candidate), for MIntRec (20 labels) and MOSI (2 labels): same log-probs (1e-4 in float32;
    bf16 is only checked to 1e-2 relative), then the speed-up. Targets: >= 10x and >= 1.5x.
(2) Clips/s of label scoring vs the paper's way (greedy generation, then MMLA's parser), the
    baseline capped at the token length of the longest "<task>: <label>" answer + the end token,
    as a trained model would stop (random weights never do). Target >= 1.5x.
    Scoring saves the decode steps (a prefill + one candidate pass instead of a prefill + up
    to N sequential steps). On the tiny CPU model a decode step costs ~1 ms against ~90 ms of
    processor + encoders per clip, so (2) is bounded near 1.0x there; on real model sizes each
    step is a pass over all the weights (tens of ms on a GPU), which is where it pays.
(3) With --device cuda: latency of one clip, clips/s per batch size, peak GPU memory.

Clips are synthetic talking clips (5 s, 640x360, 25 fps, speech), pre-decoded, sampled at 2 fps;
both sides of each comparison get the same processed inputs. Times are the best of N runs, the
two sides alternating (the machine may be shared).

    python benchmarks/bench_scoring.py [--quick]                       # CPU, tiny Omni model
    python benchmarks/make_random_model.py /data/omni7b --size 7b      # on the GPU machine
    python benchmarks/bench_scoring.py --model /data/omni7b --device cuda --batch-sizes 1,2,4,8,16
"""

from __future__ import annotations

import argparse
import datetime
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mmla_core.media import synth
from mmla_core.models.engine import Engine
from mmla_core.models.generation import generate_answers
from mmla_core.models.inputs import InferenceSettings, build_model_inputs_batch
from mmla_core.models.prompting import plan_prompt
from mmla_core.models.scoring import answer_token_ids, naive_scores, score_candidates
from mmla_core.models.tiny import build_tiny
from mmla_core.tasks import builtin_task
from mmla_core.variants.inmemory import load_arrays

TASKS = ("MIntRec", "MOSI")
TEXTS = ("Could you help me carry these boxes?", "I can't believe you lost the keys again.",
         "Thank you so much, this is wonderful!", "Sorry, I didn't mean to hurt you.")


def make_clips(folder: Path, count: int, settings: InferenceSettings):
    from mmla_core.models.inputs import clip_input_from_arrays, sample_frame_times

    clips = []
    for i in range(count):
        path = synth.make_clip(folder / f"clip{i}.mp4", text=TEXTS[i % len(TEXTS)],
                               duration_s=5.0, width=640, height=360, seed=i)
        arrays = load_arrays(path, TEXTS[i % len(TEXTS)],
                             times=sample_frame_times(path, settings))
        clips.append(clip_input_from_arrays(arrays, i))
    return clips


def _sync(engine: Engine) -> None:
    if engine.info.device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


@dataclass
class Timing:
    ours_s: float
    base_s: float
    ours_cpu_s: float  # process CPU time: what other programs on a shared machine cannot inflate
    base_cpu_s: float
    results: tuple

    @property
    def ratio(self) -> float:
        return self.base_s / self.ours_s

    @property
    def cpu_ratio(self) -> float:
        return self.base_cpu_s / self.ours_cpu_s


def timed_pair(engine, ours, baseline, repeats: int) -> Timing:
    """Best-of-`repeats` wall and CPU seconds of two callables, run alternately (shared-machine
    noise hits both alike; the minimum is the least disturbed run)."""
    results = (ours(), baseline())  # warm-up (allocator, kernels) and the values to compare
    wall, cpu = [math.inf, math.inf], [math.inf, math.inf]
    for _ in range(repeats):
        for side, fn in enumerate((ours, baseline)):
            _sync(engine)
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            _sync(engine)
            wall[side] = min(wall[side], time.perf_counter() - start)
            cpu[side] = min(cpu[side], time.process_time() - start_cpu)
    return Timing(wall[0], wall[1], cpu[0], cpu[1], results)


def timed(engine, fn, repeats: int) -> float:
    return timed_pair(engine, fn, lambda: None, repeats).ours_s


def inputs_for(engine: Engine, clips, task, settings):
    plans = [plan_prompt(task, c.transcript) for c in clips]
    raw = build_model_inputs_batch(engine.processor, engine.info.family, clips,
                                   [p.text for p in plans], settings)
    return engine._to_device(raw), plans[0]


def bench_shared_vs_naive(engine, clip, settings, repeats: int) -> list[float]:
    ratios = []
    for name in TASKS:
        task = builtin_task(name)
        inputs, plan = inputs_for(engine, [clip], task, settings)
        cands = answer_token_ids(engine.processor, plan.answers)
        args = (engine.model, engine.info.family, inputs, plan.labels, cands)
        timing = timed_pair(engine, lambda a=args: score_candidates(*a),
                            lambda a=args: naive_scores(*a), repeats)
        ours, ref = timing.results
        diff = max(abs(a - b) for a, b in zip(ours[0].sum_logprobs, ref[0].sum_logprobs,
                                               strict=True))
        scale = max(abs(v) for v in ref[0].sum_logprobs)
        tolerance = 1e-4 if engine.info.dtype == "float32" else 1e-2 * max(1.0, scale)
        assert diff <= tolerance, f"{name}: shared-prefix and naive differ by {diff}"
        ratios.append(timing.ratio)
        print(f"RESULT scoring_shared_prefix: task={name} labels={len(plan.labels)} "
              f"seq={inputs['input_ids'].shape[1]} shared_ms={timing.ours_s * 1000:.1f} "
              f"naive_ms={timing.base_s * 1000:.1f} max_abs_diff={diff:.2e} "
              f"ratio={timing.ratio:.2f} cpu_time_ratio={timing.cpu_ratio:.2f} "
              f"target={10 if len(plan.labels) >= 20 else 1.5}")
    return ratios


def _answer_cap(engine, plan) -> int:
    tok = getattr(engine.processor, "tokenizer", engine.processor)
    return max(len(tok(a, add_special_tokens=False)["input_ids"]) for a in plan.answers) + 1


def generate_then_parse(engine, clips, task, settings, batch: int, cap: int) -> list[str]:
    """The paper's protocol: greedy answers, then MMLA's parser."""
    from mmla_core.answers import clean

    labels = []
    for start in range(0, len(clips), batch):
        inputs, plan = inputs_for(engine, clips[start: start + batch], task, settings)
        out = generate_answers(engine.model, engine.processor, inputs, max_new_tokens=cap)
        labels += [clean(t, plan.labels, plan.task_word) for t in out.texts]
    return labels


def bench_vs_generation(engine, clips, settings, batch: int, repeats: int) -> list[float]:
    """Both sides build their inputs the same way, serially (no input prefetch thread)."""
    engine._prefetch = False
    ratios = []
    for name in TASKS:
        task = builtin_task(name)
        cap = _answer_cap(engine, plan_prompt(task, ""))
        timing = timed_pair(
            engine, lambda t=task: engine.predict_batch(clips, t, settings, batch_size=batch),
            lambda t=task, c=cap: generate_then_parse(engine, clips, t, settings, batch, c),
            repeats)
        ratios.append(timing.ratio)
        print(f"RESULT scoring_vs_generation: task={name} clips={len(clips)} batch={batch} "
              f"max_new_tokens={cap} scoring_clips_per_s={len(clips) / timing.ours_s:.2f} "
              f"generate_parse_clips_per_s={len(clips) / timing.base_s:.2f} "
              f"ratio={timing.ratio:.2f} cpu_time_ratio={timing.cpu_ratio:.2f} target=1.5")
    engine._prefetch = None
    return ratios


def bench_gpu(engine, clips, settings, batch_sizes: list[int]) -> None:
    import torch

    task = builtin_task("MIntRec")
    torch.cuda.reset_peak_memory_stats()
    latency = timed(engine, lambda: engine.predict(clips[0], task, settings), 5)
    print(f"RESULT gpu_latency: clip=5s@2fps task=MIntRec ms={latency * 1000:.1f}")
    best = (0.0, 0)
    for size in batch_sizes:
        group = (clips * ((size * 3) // len(clips) + 1))[: size * 3]
        try:
            took = timed(engine, lambda g=group, s=size: engine.predict_batch(
                g, task, settings, batch_size=s), 2)
        except Exception as exc:  # OOM at a batch size ends the sweep
            print(f"RESULT gpu_throughput: batch={size} failed={type(exc).__name__}")
            break
        rate = len(group) / took
        best = max(best, (rate, size))
        print(f"RESULT gpu_throughput: batch={size} clips_per_s={rate:.2f}")
    peak = torch.cuda.max_memory_allocated() / 2**30
    print(f"RESULT gpu_best: clips_per_s={best[0]:.2f} batch={best[1]} peak_gib={peak:.1f} "
          f"target_clips_per_s=10 device={torch.cuda.get_device_name()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer clips and repeats")
    parser.add_argument("--model", help="model folder (default: a tiny random Omni thinker)")
    parser.add_argument("--device", default=None, help="cpu | cuda (default: auto)")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--batch-sizes", default="1", help="GPU sweep, e.g. 1,2,4,8,16")
    parser.add_argument("--max-pixels", type=int, default=360 * 420)
    parser.add_argument("--threads", type=int, help="torch CPU threads (1: steadier on a busy box)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = args.model or build_tiny(folder / "tiny-omni", "qwen2_5_omni")
        engine = Engine.load(model, device=args.device)
        info = engine.info
        import torch

        print(f"# {datetime.date.today()} model={info.name} family={info.family} "
              f"device={info.device} dtype={info.dtype} attn={info.attn_implementation} "
              f"threads={torch.get_num_threads()} random_weights={info.random_weights}")
        settings = InferenceSettings(num_frames=None, sample_fps=2.0, max_pixels=args.max_pixels)
        clips = make_clips(folder, 2 if args.quick else args.clips, settings)
        repeats = 3 if args.quick else 7
        shared = bench_shared_vs_naive(engine, clips[0], settings, repeats)
        batch = int(args.batch_sizes.split(",")[0])
        generation = bench_vs_generation(engine, clips, settings, batch, 1 if args.quick else 3)
        if info.device.startswith("cuda"):
            bench_gpu(engine, clips, settings, [int(b) for b in args.batch_sizes.split(",")])
        print(f"RESULT scoring: ratio_20_labels={shared[0]:.2f} ratio_2_labels={shared[1]:.2f} "
              f"ratio_vs_generation_min={min(generation):.2f} "
              f"ok={shared[0] >= 10 and shared[1] >= 1.5 and min(generation) >= 1.5}")
        engine.close()


if __name__ == "__main__":
    main()
