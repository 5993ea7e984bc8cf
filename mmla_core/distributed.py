"""Where this process sits in a torchrun / accelerate launch, read from the launcher's
environment without importing torch: its rank and the world size, its local rank (the GPU of
its machine it takes) and the key every rank of one launch shares. Used by evaluation ranks
(eval/__main__.py, eval/run_plan.py) and the trainer (train/run.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["launch_key_from_env", "local_rank", "shard_from_env"]


def shard_from_env(env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(rank, world size) from torchrun / accelerate (`RANK`/`WORLD_SIZE`, else the LOCAL_ ones)."""
    env = os.environ if env is None else env
    rank = env.get("RANK", env.get("LOCAL_RANK", "0"))
    world = env.get("WORLD_SIZE", env.get("LOCAL_WORLD_SIZE", "1"))
    return int(rank), int(world)


def local_rank(env: Mapping[str, str] | None = None) -> int:
    """This rank's index on its machine (0 outside a launch)."""
    env = os.environ if env is None else env
    return int(env.get("LOCAL_RANK", "0"))


def launch_key_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """The same string in every rank of one launch (None for a single process).

    torchrun's rendezvous id when given, plus the master port and the launcher's pid: the
    ranks of one `torchrun` / `accelerate launch` on a machine are children of one agent.
    """
    env = os.environ if env is None else env
    if shard_from_env(env)[1] <= 1:
        return None
    if env.get("MMLA_LAUNCH_KEY"):
        return env["MMLA_LAUNCH_KEY"]
    rdzv = env.get("TORCHELASTIC_RUN_ID", "")
    return f"{rdzv}:{env.get('MASTER_PORT', '')}:{os.getppid()}"
