"""`python -m mmla_core.train CONFIG.yaml [--db DB --job ID] [--resume latest|DIR]`.

Also the command torchrun / accelerate launch run on every rank:
`torchrun --nproc_per_node 4 -m mmla_core.train run.yaml --db project.sqlite`.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from mmla_core.config import default_db_path
from mmla_core.eval.shards import resolve_db_mode
from mmla_core.store.db import READ_ONLY_ENV
from mmla_core.train.config import TrainConfig, TrainConfigError
from mmla_core.train.run import run_training

# Set by the supervisor: our stdout/stderr are appended to train.log, where run_training already
# writes a failure's traceback, so printing it again would show it twice.
LOG_CAPTURED_ENV = "MMLA_TRAIN_LOG_CAPTURED"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mmla_core.train",
                                     description="LoRA fine-tuning of a model on the project's "
                                                 "labelled clips (see docs/training.md)")
    parser.add_argument("config", help="the run's YAML (TrainConfig fields)")
    parser.add_argument("--db", help="project database (default: the app's project)")
    parser.add_argument("--job", type=int, help="training_jobs id: events and status go there")
    parser.add_argument("--resume", help="'latest' or a checkpoint-<step> folder")
    parser.add_argument("--db-mode", choices=("auto", "direct", "shards"), default="auto",
                        help="shards: open the project read-only and leave the events in the "
                             "output folder for `mmla runs merge` (a rank on another machine); "
                             "auto (default): shards when the database is on a network file "
                             "system or not writable")
    return parser.parse_args(argv)


def _db_mode(mode: str, db: Path) -> bool:
    """True when this process must not write the database (every open_store below, and in
    the data loader's workers, is then read-only)."""
    resolved, why = resolve_db_mode(mode, db)
    if resolved == "shards":
        os.environ[READ_ONLY_ENV] = "1"
        print(f"mmla_core.train: events to the output folder only ({why})",  # noqa: T201
              file=sys.stderr)
    return resolved == "shards"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = TrainConfig.from_yaml(Path(args.config).read_text(encoding="utf-8"))
        db = Path(args.db) if args.db else default_db_path()
        if not db.is_file():
            raise TrainConfigError(f"{db}: no project database; give --db")
        shards = _db_mode(args.db_mode, db)
        outcome = run_training(config, db, job_id=args.job, resume=args.resume, shards=shards)
    except (TrainConfigError, OSError) as exc:
        print(f"mmla_core.train: refused: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except Exception as exc:  # the supervisor keeps the stderr tail: traceback, then one line
        if not os.environ.get(LOG_CAPTURED_ENV):   # else run_training has logged it to train.log
            traceback.print_exc()
        print(f"mmla_core.train: failed: {type(exc).__name__}: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    best = outcome.best.get("eval_accuracy")
    print(f"{outcome.status} at step {outcome.global_step}; best dev accuracy "  # noqa: T201
          f"{'-' if best is None else f'{best:.3f}'}; adapter {outcome.adapter_path}; "
          f"test runs {outcome.test_runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
