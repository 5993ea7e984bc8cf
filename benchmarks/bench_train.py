"""Our trainer vs the plain transformers + peft script a researcher would write, side by side.

Both train the same model on the same samples with the same settings and seed, in this process,
alternating (A B A B ...) so machine load hits both alike. The baseline is the textbook loop:
`from_pretrained`, `get_peft_model` with the same language-model-only LoRA, `Trainer` with the
default callbacks, the same collator; no evaluation, no checkpoints, nothing written anywhere.
Ours is `run_training` with a job row: per-step events to SQLite + events.jsonl (batched), the
stop poll, train.log. Evaluation and checkpoints are pushed past the end so both measure the
training loop; samples/s is timed by the same callback in both, from the first step's log to
the last one's (the Trainer's own `train_runtime` would also count ours' final dev evaluation,
which the baseline does not do). Reported: the median samples/s over the repeats, their ratio
(target >= 0.95) and the max |loss difference| over the curve.

    python benchmarks/bench_train.py                       # tiny text model, CPU
    python benchmarks/bench_train.py --family qwen2_5_omni --steps 10
    python benchmarks/bench_train.py --model /data/omni-7b-random --device cuda --frames 10 \\
        --fps 2 --max-pixels 200704 --batch-sizes 1,2,4,8      # + peak memory, largest batch
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.support


def _step_clock(batch_size: int):
    """A TrainerCallback timing whole steps: log of step 1 to log of the last step."""
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):
        def __init__(self):
            self.times: list[float] = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.times.append(time.perf_counter())

        @property
        def samples_per_s(self) -> float:
            return (len(self.times) - 1) * batch_size / (self.times[-1] - self.times[0])

    return StepClock()


def _project(tmp: Path) -> Path:
    from mmla_core.store import open_store
    from tests.support.train_fixtures import add_toy_dataset

    db = tmp / "bench.sqlite"
    with open_store(db) as store:
        add_toy_dataset(store)
        store.conn.execute("SELECT 1")
    return db


def _config(args, model: str, out: Path, batch_size: int):
    from tests.support.train_fixtures import toy_config

    return toy_config(model, output_dir=str(out), max_steps=args.steps, batch_size=batch_size,
                      eval_every=10_000, save_every=10_000, test_split="none",
                      frames=args.frames, fps=args.fps, max_pixels=args.max_pixels,
                      device=args.device, lora_rank=args.rank, target_modules=args.targets,
                      lora_dropout=0.0, learning_rate=1e-3)


def run_ours(args, db: Path, model: str, out: Path, batch_size: int) -> tuple[float, list]:
    from mmla_core.store import open_store
    from mmla_core.store.jobs import create_job
    from mmla_core.train.run import run_training

    shutil.rmtree(out, ignore_errors=True)
    config = _config(args, model, out, batch_size)
    with open_store(db) as store:
        job_id = create_job(store, "bench", config.to_dict(), str(out))
    clock = _step_clock(batch_size)
    run_training(config, db, job_id=job_id, callbacks=[clock])
    with open_store(db) as store:
        losses = [r["loss"] for r in store.query(
            "SELECT loss FROM training_events WHERE job_id = ? AND kind = 'train' ORDER BY step",
            (job_id,))]
    return clock.samples_per_s, losses


def run_plain(args, db: Path, model: str, out: Path, batch_size: int) -> tuple[float, list]:
    """What a researcher writes: load, wrap with peft, Trainer.train(). Same data pipeline."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, set_seed

    from mmla_core.models.loader import load_model
    from mmla_core.store import open_store
    from mmla_core.train.data import Collator, TrainDataset
    from mmla_core.train.samples import build_samples, effective_modality
    from mmla_core.train.trainer import lora_target_regex, training_arguments

    shutil.rmtree(out, ignore_errors=True)
    config = _config(args, model, out, batch_size)
    loaded = load_model(model, device=None if args.device == "auto" else args.device)
    family = loaded.check.family
    set_seed(config.seed)
    peft_model = get_peft_model(loaded.model, LoraConfig(
        r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
        task_type="CAUSAL_LM", target_modules=lora_target_regex(family, config.target_modules)))
    with open_store(db) as store:
        samples = build_samples(store, config, "train")
    data = TrainDataset(samples, db, config, effective_modality(config, family))
    targs = training_arguments(config, out, loaded.device,
                               workers=2 if loaded.device.startswith("cuda") else 0)
    targs.eval_strategy, targs.save_strategy = "no", "no"
    clock = _step_clock(batch_size)
    trainer = Trainer(model=peft_model, args=targs, train_dataset=data,
                      data_collator=Collator(loaded.processor, family, data.settings),
                      callbacks=[clock])
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    del trainer, peft_model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return clock.samples_per_s, losses


def compare(args, db: Path, model: str, tmp: Path) -> dict:
    ours, plain, diffs = [], [], []
    for repeat in range(args.repeats):  # alternate who goes first (warm caches, load drift)
        first_ours = repeat % 2 == 1
        if first_ours:
            ours_sps, ours_loss = run_ours(args, db, model, tmp / "ours", args.batch_size)
        plain_sps, plain_loss = run_plain(args, db, model, tmp / "plain", args.batch_size)
        if not first_ours:
            ours_sps, ours_loss = run_ours(args, db, model, tmp / "ours", args.batch_size)
        plain.append(plain_sps)
        ours.append(ours_sps)
        diffs.append(max(abs(a - b) for a, b in zip(ours_loss, plain_loss, strict=True)))
    return {"ours": statistics.median(ours), "plain": statistics.median(plain),
            "ratio": statistics.median(ours) / statistics.median(plain),
            "max_loss_diff": max(diffs), "steps": len(ours_loss)}


def gpu_sweep(args, db: Path, model: str, tmp: Path) -> list[dict]:
    """samples/s and peak memory per batch size on CUDA; the first OOM ends the sweep."""
    import torch

    rows = []
    for size in [int(b) for b in args.batch_sizes.split(",")]:
        torch.cuda.reset_peak_memory_stats()
        try:
            sps, _ = run_ours(args, db, model, tmp / f"gpu-{size}", size)
        except Exception as exc:  # OOM comes wrapped in several ways; report and stop
            rows.append({"batch": size, "error": f"{type(exc).__name__}: {str(exc)[:120]}"})
            break
        rows.append({"batch": size, "samples_per_s": sps,
                     "peak_gib": torch.cuda.max_memory_allocated() / 2**30})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: a tiny random model)")
    parser.add_argument("--family", default="text_lm")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--batch-sizes", default="1,2,4,8,16,32", help="CUDA sweep")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--max-pixels", type=int, default=56 * 56)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--targets", default="q_proj,v_proj")
    args = parser.parse_args(argv)
    args.targets = args.targets.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="bench-train-"))
    try:
        from tests.support.train_fixtures import sharpened_tiny

        db = _project(tmp)
        model = args.model or str(sharpened_tiny(tmp / "model", args.family))
        start = time.perf_counter()
        result = compare(args, db, model, tmp)
        print(f"model {Path(model).name} ({args.family if not args.model else 'given'}), "
              f"device {args.device}, {result['steps']} steps x batch {args.batch_size}, "
              f"{args.repeats} repeats ({time.perf_counter() - start:.0f} s)")
        print(f"  plain transformers+peft: {result['plain']:.1f} samples/s")
        print(f"  mmla_core.train:         {result['ours']:.1f} samples/s")
        print(f"  ratio ours/plain:        {result['ratio']:.3f}  (target >= 0.95)")
        print(f"  max |loss diff|:         {result['max_loss_diff']:.2e}")
        if args.device.startswith("cuda"):
            for row in gpu_sweep(args, db, model, tmp):
                print("  GPU", row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
