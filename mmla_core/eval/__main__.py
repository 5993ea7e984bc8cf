"""`python -m mmla_core.eval`: one rank of a data-parallel evaluation, as torchrun or accelerate
launch start it (one process per GPU; see docs/evaluation.md):

    torchrun --nproc_per_node 4 -m mmla_core.eval --db project.sqlite \\
        --model Qwen/Qwen2.5-Omni-7B --task MELD --dataset MELD --split test

Every rank plans the same samples and takes every Nth (eval.runs); the rank and world size come
from the launcher's environment. `python -m mmla_core.eval.runs` (the old command) still works.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mmla_core.config import default_db_path
from mmla_core.distributed import launch_key_from_env, local_rank, shard_from_env
from mmla_core.eval.arguments import (
    ArgumentError,
    adapter_defaults,
    add_eval_arguments,
    eval_kwargs,
)
from mmla_core.eval.runs import EvalError, run_evaluation
from mmla_core.store import StoreError, open_store

EXIT_OK, EXIT_FAILED = 0, 1


def main(argv: list[str] | None = None) -> int:
    """Run this rank's share; the exit code says whether it could (its run row says more)."""
    parser = argparse.ArgumentParser(prog="python -m mmla_core.eval",
                                     description="one rank of a data-parallel evaluation")
    parser.add_argument("--db", type=Path, default=None)
    add_eval_arguments(parser)
    parser.add_argument("--device", help="default: cuda:LOCAL_RANK when CUDA is there")
    args = parser.parse_args(argv)
    rank, world = shard_from_env()
    try:
        kwargs = eval_kwargs(args)
        kwargs.setdefault("db_mode", "auto")   # a rank on another machine: shards, not SQLite
        db = args.db or default_db_path()
        if args.adapter and args.resume is None:  # as `mmla eval` does: comparable runs
            with open_store(db, read_only=True) as store:
                note = adapter_defaults(store, kwargs, args)
            if rank == 0 and note:
                _say(note)
        run_id = run_evaluation(
            db, **kwargs, rank=rank, world_size=world,
            launch_key=launch_key_from_env(), device=args.device or _rank_device(),
            progress=lambda e: _rank_line(rank, e))
    except (ArgumentError, EvalError, StoreError, OSError) as exc:
        _say(f"mmla eval (rank {rank}/{world}): {exc}")
        return EXIT_FAILED
    where = f"run {run_id}" if run_id else f"shards in {args.out} (mmla runs merge {args.out})"
    _say(f"rank {rank}/{world}: {where}")
    return EXIT_OK


def _rank_device() -> str | None:
    if "LOCAL_RANK" not in os.environ:
        return None
    import torch

    local = local_rank()
    return f"cuda:{local}" if torch.cuda.is_available() and local < torch.cuda.device_count() \
        else None


def _rank_line(rank: int, event) -> None:
    if event.stage != "running" or event.done == event.total:
        _say(f"rank {rank}: {event.stage} {event.done}/{event.total} {event.message}")


def _say(line: str) -> None:
    """A rank's lines go to stderr (the launcher prefixes or collects them per rank)."""
    print(line, file=sys.stderr)  # noqa: T201 - a command's own output


if __name__ == "__main__":
    sys.exit(main())
