"""Launching real multi-process jobs from tests: torchrun and accelerate launch, gloo on CPU.

The launchers run in this interpreter (`python -m torch.distributed.run`, which is `torchrun`,
and `python -m accelerate.commands.launch`), so the worktree's code is what the ranks import.
`dying_load` is an engine factory for the ranks: the real engine, except that the rank named by
MMLA_TEST_DIE_RANK exits hard (as a killed process would) on its second batch, after its first
batch is committed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from tests.support.paths import repo_env

LAUNCH_TIMEOUT_S = 180
DYING_LOAD = f"{__name__}:dying_load"  # an engine factory the ranks resolve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MMLA_LAUNCH_KEY", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", PYTHONWARNINGS="ignore",
               **extra)
    return repo_env(env)


def torchrun(*args: str, nproc: int = 2, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", str(nproc), *args]
    return subprocess.run(command, env=env or rank_env(), capture_output=True, text=True,
                          timeout=LAUNCH_TIMEOUT_S)


def accelerate_launch(*args: str, nproc: int = 2,
                      env: dict | None = None) -> subprocess.CompletedProcess:
    # --multi_gpu is accelerate's name for "several processes"; without CUDA they use gloo
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
               "--num_processes", str(nproc), "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "--main_process_port", str(free_port()), *args]
    return subprocess.run(command, env=env or rank_env(), capture_output=True, text=True,
                          timeout=LAUNCH_TIMEOUT_S)


def dying_load(path, **kwargs):
    from mmla_core.models.engine import Engine

    engine = Engine.load(path, **kwargs)
    if os.environ.get("RANK") != os.environ.get("MMLA_TEST_DIE_RANK"):
        return engine
    predict_batch, calls = engine.predict_batch, []

    def predict_then_die(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            sys.stderr.flush()
            os._exit(17)
        return predict_batch(*a, **kw)

    engine.predict_batch = predict_then_die
    return engine
