"""Zero-shot vs SFT vs IT per task, and the config diff between two runs (finetune_compare)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmla_core.eval.finetune_compare import best_by_kind, config_diff, finetune_rows
from mmla_core.store import open_store
from mmla_core.store.catalog import (
    attach_task,
    ensure_task,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.results import add_model
from mmla_core.tasks import builtin_task
from tests.support.finetune_helpers import add_job, add_run

GOLD = ["joy", "anger", "neutral", "joy"]


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "p.sqlite") as store:
        dataset = upsert_dataset(store, "tiny", str(tmp_path), "folder")
        for name in ("MELD", "MOSI"):
            attach_task(store, dataset, ensure_task(store, builtin_task(name)))
        upsert_clips(store, dataset, [{"split": "test", "external_id": f"u{i}",
                                       "media_path": None, "transcript": "hi"}
                                      for i in range(len(GOLD))])
        add_model(store, "tiny-omni", "qwen2_5_omni", str(tmp_path))
        yield store


def test_runs_line_up_as_zero_shot_sft_and_it_per_task(store, tmp_path):
    zero = add_run(store, ["neutral"] * 4)                                   # 1/4
    sft_job, sft_adapter = add_job(store, tmp_path, "meld-sft", ["MELD"], "sft")
    sft = add_run(store, ["joy", "anger", "neutral", "anger"], adapter=sft_adapter,
                  settings={"training_job_id": sft_job, "training": {"mode": "sft"}})  # 3/4
    it_job, it_adapter = add_job(store, tmp_path, "mix-it", ["MELD", "MOSI"], "it")
    it = add_run(store, GOLD, adapter=it_adapter)  # made later with the job's adapter: 4/4
    other = add_run(store, GOLD, adapter=str(tmp_path / "elsewhere" / "adapter"))
    rows = finetune_rows(store, task="MELD")
    assert [(r.run_id, r.kind) for r in rows] == [
        (zero, "zero-shot"), (sft, "SFT"), (it, "IT"), (other, "adapter")]
    assert [r.accuracy for r in rows] == [25.0, 75.0, 100.0, 100.0]
    assert rows[1].job_name == "meld-sft" and rows[2].job_id == it_job
    assert rows[0].n == 4 and rows[0].split == "test"
    (line,) = best_by_kind(rows)
    assert (line["zero-shot"].run_id, line["SFT"].run_id, line["IT"].run_id) == (zero, sft, it)


def test_an_unfinished_run_is_listed_but_never_the_best_of_its_kind(store, capsys):
    """A run cancelled after its first batch (1 of 4 clips, right) must not beat a finished
    run of the whole split in MMLA's table: its accuracy is of a part."""
    from mmla_core.cli import main
    from mmla_core.store.results import finish_run

    done = add_run(store, ["joy", "anger", "joy", "anger"])                          # 2/4
    cancelled = add_run(store, ["joy"])                                               # 1/1
    finish_run(store, cancelled, "cancelled", error="interrupted after 1 of 4 samples")
    rows = finetune_rows(store, task="MELD")
    assert [(r.run_id, r.status) for r in rows] == [(done, "done"), (cancelled, "cancelled")]
    (line,) = best_by_kind(rows)
    assert line["zero-shot"].run_id == done
    assert main(["--db", str(store.path), "runs", "finetune", "--all"]) == 0
    assert "cancelled" in capsys.readouterr().out


def test_config_diff_names_what_differs_between_two_runs(store, tmp_path):
    job_a, adapter_a = add_job(store, tmp_path, "r8", ["MELD"], "sft", lora_rank=8)
    job_b, adapter_b = add_job(store, tmp_path, "r64", ["MELD"], "sft", lora_rank=64,
                               learning_rate=2e-4)
    run_a = add_run(store, GOLD, adapter=adapter_a, settings={"training_job_id": job_a})
    run_b = add_run(store, GOLD, adapter=adapter_b, settings={"training_job_id": job_b})
    diff = {key: (a, b) for key, a, b in config_diff(store, run_a, run_b)}
    assert diff["train.lora_rank"] == (8, 64)
    assert diff["train.learning_rate"] == (1e-4, 2e-4)
    assert diff["train.name"] == ("r8", "r64")
    assert "train.lora_alpha" not in diff  # equal values are not listed
    assert "eval.inference.num_frames" not in diff
    zero = add_run(store, GOLD)
    diff = {key: (a, b) for key, a, b in config_diff(store, zero, run_a)}
    assert diff["adapter"] == (None, adapter_a)
    assert diff["train.lora_rank"] == (None, 8)  # the zero-shot run has no training config


def test_unknown_run_is_named(store):
    with pytest.raises(ValueError, match="no run 99"):
        config_diff(store, 99, 98)


def test_a_new_job_reusing_a_deleted_jobs_id_does_not_take_its_runs(store, tmp_path):
    from mmla_core.store.jobs import delete_job

    old_job, old_adapter = add_job(store, tmp_path, "meld-sft", ["MELD"], "sft")
    created = store.scalar("SELECT created_at FROM training_jobs WHERE id = ?", (old_job,))
    tagged = add_run(store, GOLD, adapter=old_adapter, settings={
        "training_job_id": old_job, "training": {"mode": "sft", "job_created_at": created,
                                                 "output_dir": str(tmp_path / "meld-sft")}})
    by_folder = add_run(store, GOLD, adapter=old_adapter)   # evaluated later, by hand
    delete_job(store, old_job)
    store.conn.execute("UPDATE runs SET started_at = '2000-01-01T00:00:00.000Z' WHERE id = ?",
                       (by_folder,))
    new_job, _ = add_job(store, tmp_path, "meld-sft", ["MELD"], "it")
    assert new_job != old_job          # ids are never reused (m008); the tag rule still holds
    rows = {r.run_id: r for r in finetune_rows(store, task="MELD")}
    assert rows[tagged].job_id is None and rows[tagged].kind == "SFT"
    assert rows[by_folder].job_id is None and rows[by_folder].kind == "adapter"


def test_runs_whose_settings_differ_are_flagged_with_a_comparable_rerun(store, tmp_path, capsys):
    from mmla_core.cli import main
    from mmla_core.eval.comparable import adapter_settings, eval_command, zero_shot_rerun

    curated = {"source": "curated", "counts": {}}
    zero = add_run(store, ["neutral"] * 4, settings={
        "model": "tiny-omni", "labels": curated,
        "inference": {"num_frames": 4, "max_pixels": 151200, "prompt_kind": "zero_shot"}})
    job, adapter = add_job(store, tmp_path, "meld-sft", ["MELD"], "sft", frames=8)
    tuned_inference = {"num_frames": 8, "max_pixels": 100352, "prompt_kind": "sft"}
    sft = add_run(store, GOLD, adapter=adapter, settings={
        "training_job_id": job, "training": {"mode": "sft"}, "labels": curated,
        "selection": {"labels": "curated"}, "inference": tuned_inference})
    (line,) = best_by_kind(finetune_rows(store, task="MELD"))
    assert line["differs"] == {"SFT": [("num_frames", 4, 8), ("max_pixels", 151200, 100352),
                                       ("prompt_kind", "zero_shot", "sft")]}
    rerun = zero_shot_rerun(store, zero, sft)
    assert rerun["settings"] == tuned_inference and "adapter" not in rerun
    assert (rerun["model"], rerun["task"], rerun["split"]) == ("tiny-omni", "MELD", "test")
    command = eval_command(rerun)
    assert "--frames 8 --max-pixels 100352 --prompt-kind sft --labels curated" in command
    found = adapter_settings(store, str(tmp_path / "meld-sft" / "checkpoint-12"), "MELD")
    assert found["job_id"] == job and found["inference"] == tuned_inference
    assert finetune_rows(store, task="MELD", labels="import") == []
    assert main(["--db", str(store.path), "runs", "finetune"]) == 0
    out = capsys.readouterr().out
    # the values read in the order the runs are named: zero-shot's 4 frames, SFT's 8
    assert (f"! MELD zero-shot run {zero} vs SFT run {sft}: num_frames 4 vs 8, "
            "max_pixels 151200 vs 100352, prompt_kind zero_shot vs sft") in out
    assert "comparable zero-shot: mmla --db" in out and "--frames 8" in out
    same = add_run(store, ["joy", "anger", "neutral", "neutral"], settings={
        "model": "tiny-omni", "labels": curated, "inference": tuned_inference})  # the re-run
    (line,) = best_by_kind(finetune_rows(store, task="MELD"))
    assert line["zero-shot"].run_id == same and line["differs"] == {}


def test_a_rank_takes_the_adapters_training_settings_as_mmla_eval_does(store, tmp_path,
                                                                      monkeypatch, capsys):
    """`python -m mmla_core.eval --adapter A` (a torchrun rank) evaluates with the frames and
    prompt form A was trained with, unless its flags say otherwise, like `mmla eval`."""
    from mmla_core.eval.__main__ import main as rank_main
    from mmla_core.store.catalog import task_by_name
    from mmla_core.store.labels import set_label
    from mmla_core.store.results import get_run
    from tests.support import fake_engine

    fake_engine.install(monkeypatch)
    meld, _ = task_by_name(store, "MELD")
    for clip_id, label in enumerate(GOLD, start=1):
        set_label(store, clip_id, meld, label, "import")
    _, adapter = add_job(store, tmp_path, "meld-sft", ["MELD"], "sft", frames=6)
    Path(adapter).mkdir(parents=True)   # a missing adapter folder is refused before a run
    args = ["--db", str(store.path), "--model", "tiny-omni", "--task", "MELD",
            "--dataset", "tiny", "--adapter", adapter]
    assert rank_main(args) == 0
    assert rank_main([*args, "--frames", "2"]) == 0
    err = capsys.readouterr().err
    assert "inference settings of training job" in err and "num_frames 6" in err
    taken, given = (json.loads(get_run(store, run_id)["settings_json"])["inference"]
                    for run_id in (1, 2))
    assert (taken["num_frames"], taken["prompt_kind"]) == (6, "sft")
    assert given["num_frames"] == 2 and given["prompt_kind"] == "sft"
