"""Real multi-process runs on CPU (gloo): torchrun and accelerate launch start the ranks.

Kept small (tiny models, a few steps): together these tests take well under a minute and a half
on two busy cores.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file

from mmla_core.eval.runs import run_evaluation
from mmla_core.store import open_store
from mmla_core.store.jobs import create_job
from mmla_core.store.results import run_predictions
from mmla_core.train.run import run_training
from tests.support import models_fixtures
from tests.support.multiprocess_helpers import (
    DYING_LOAD,
    LAUNCH_TIMEOUT_S,
    accelerate_launch,
    rank_env,
    torchrun,
)
from tests.support.train_fixtures import toy_config, toy_db, toy_project, toy_text_model

omni_dir = models_fixtures.omni_dir
__all__ = ["toy_db", "toy_project", "toy_text_model"]

DEMO_SAMPLES = 8   # the bundled demo clips, all splits, each with a MELD label


def _eval_args(db, model) -> list[str]:
    return ["-m", "mmla_core.eval", "--db", str(db), "--model", str(model),
            "--task", "MELD", "--dataset", "demo", "--split", "all", "--frames", "2",
            "--max-pixels", str(56 * 56), "--batch-size", "1"]


def _eval_runs(db) -> list[dict]:
    with open_store(db) as store:
        return [{**run, "predictions": run_predictions(store, run["id"])}
                for run in store.query("SELECT * FROM runs WHERE kind = 'eval' ORDER BY id")]


def test_torchrun_eval_with_a_killed_rank_resumed_by_accelerate(demo_db, omni_dir, tmp_path):
    db = tmp_path / "p.sqlite"
    shutil.copy(demo_db, db)
    # each rank: the real entry through fake_rank, its engine the real one but for dying_load
    killed = torchrun("-m", "tests.support.fake_rank", DYING_LOAD, "-",
                      *_eval_args(db, omni_dir)[1:], env=rank_env(MMLA_TEST_DIE_RANK="1"))
    assert killed.returncode != 0, killed.stderr[-3000:]
    [run] = _eval_runs(db)
    before = {(p["sample_key"], p["id"], p["latency_ms"]) for p in run["predictions"]}
    assert run["status"] != "done" and 1 <= len(before) < DEMO_SAMPLES

    resumed = accelerate_launch(*_eval_args(db, omni_dir), "--resume", str(run["id"]))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"rank 0/2: run {run['id']}" in resumed.stderr
    assert f"rank 1/2: run {run['id']}" in resumed.stderr
    [run] = _eval_runs(db)
    keys = [p["sample_key"] for p in run["predictions"]]
    assert run["status"] == "done" and len(keys) == len(set(keys)) == DEMO_SAMPLES
    after = {(p["sample_key"], p["id"], p["latency_ms"]) for p in run["predictions"]}
    assert before <= after   # what the killed launch wrote was kept, not predicted again
    assert not any(p["error"] for p in run["predictions"])

    single_id = run_evaluation(db, model=str(omni_dir), task="MELD", dataset="demo", split=None,
                               settings={"num_frames": 2, "max_pixels": 56 * 56}, batch_size=1)
    [sharded, single] = _eval_runs(db)
    assert single["id"] == single_id and single["status"] == "done"
    for a, b in zip(sharded["predictions"], single["predictions"], strict=True):
        assert (a["sample_key"], a["parsed_label"]) == (b["sample_key"], b["parsed_label"])
        sa, sb = json.loads(a["scores_json"]), json.loads(b["scores_json"])
        assert torch.allclose(torch.tensor(list(sa.values())), torch.tensor(list(sb.values())),
                              atol=1e-5)


def _wait_for_checkpoint(proc: subprocess.Popen, events, step: int) -> bool:
    deadline = time.monotonic() + LAUNCH_TIMEOUT_S
    while proc.poll() is None and time.monotonic() < deadline:
        if events.is_file() and any(
                json.loads(line).get("kind") == "checkpoint" and json.loads(line)["step"] >= step
                for line in events.read_text().splitlines() if line.strip()):
            return True
        time.sleep(0.05)
    return False


def test_ddp_lora_run_stops_on_request_and_matches_one_process(toy_project, toy_text_model,
                                                               tmp_path):
    same = {"max_steps": 40, "save_every": 2, "eval_every": 1000, "test_split": "none",
            "lr_scheduler": "constant", "lora_dropout": 0.0}
    ddp = toy_config(toy_text_model, output_dir=str(tmp_path / "ddp"), batch_size=2, **same)
    with open_store(toy_project) as store:
        job_id = create_job(store, ddp.name, ddp.to_dict(), ddp.output_dir)
    (tmp_path / "ddp.yaml").write_text(ddp.to_yaml())
    proc = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "mmla_core.train", str(tmp_path / "ddp.yaml"), "--db", str(toy_project),
         "--job", str(job_id)], env=rank_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        reached = _wait_for_checkpoint(proc, tmp_path / "ddp" / "events.jsonl", 2)
        (tmp_path / "ddp" / "STOP").touch()   # what the GUI's Stop does
        out, err = proc.communicate(timeout=LAUNCH_TIMEOUT_S)
    finally:
        proc.kill()
    assert reached and proc.returncode == 0, err[-3000:]
    stopped = [line for line in out.splitlines() if line.startswith("stopped at step")]
    assert len(stopped) == 2 and stopped[0].split()[3] == stopped[1].split()[3]  # both ranks
    step = int(stopped[0].split()[3].rstrip(";"))
    assert 2 <= step < 40
    with open_store(toy_project) as store:
        job = store.query("SELECT * FROM training_jobs WHERE id = ?", (job_id,))[0]
        train_steps = [e["step"] for e in store.query(
            "SELECT step FROM training_events WHERE job_id = ? AND kind = 'train'", (job_id,))]
    assert job["status"] == "stopped" and train_steps == list(range(1, step + 1))  # rank 0 only
    jsonl = [json.loads(x) for x in (tmp_path / "ddp" / "events.jsonl").read_text().splitlines()]
    assert [e["step"] for e in jsonl if e["kind"] == "train"] == train_steps
    assert (tmp_path / "ddp" / "train.1.log").is_file()
    assert "training stopped at step" in (tmp_path / "ddp" / "train.1.log").read_text()

    one = toy_config(toy_text_model, output_dir=str(tmp_path / "one"), batch_size=4,
                     **{**same, "max_steps": 2})
    run_training(one, toy_project)
    a = load_file(tmp_path / "ddp" / "checkpoint-2" / "adapter_model.safetensors")
    b = load_file(tmp_path / "one" / "checkpoint-2" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and any("lora_B" in k for k in a)
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    assert any(not torch.allclose(b[k], torch.zeros_like(b[k])) for k in b if "lora_B" in k)
