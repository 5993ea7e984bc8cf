"""Per-sample provenance (rendered prompt, input hash, token counts, log-likelihoods), the run's
environment, and `mmla runs export` by extension / lmms-eval's sample log."""

import csv
import hashlib
import json
import shutil

import pytest

from mmla_core.cli import main
from mmla_core.store import open_store
from tests.support import models_fixtures

omni_dir = models_fixtures.omni_dir
omni_engine = models_fixtures.omni_engine
text_dir = models_fixtures.text_dir
models_demo_db = models_fixtures.models_demo_db


def test_each_prediction_carries_its_rendered_input_hash_and_token_counts(omni_engine):
    from mmla_core.models.inputs import InferenceSettings
    from mmla_core.tasks import builtin_task

    clips = [models_fixtures.synthetic_clip(0), models_fixtures.synthetic_clip(
        1, seconds=3.0, transcript="No way, that is not what I said at all.")]
    settings = InferenceSettings(max_pixels=models_fixtures.SMALL_PIXELS)
    task = builtin_task("MIntRec")
    batched = omni_engine.predict_batch(clips, task, settings, batch_size=2)
    alone = [omni_engine.predict(c, task, settings) for c in clips]
    again = omni_engine.predict(clips[0], task, settings)
    assert again.input_hash == alone[0].input_hash and again.chat_text == alone[0].chat_text
    for one, other in zip(batched, alone, strict=True):
        # counts leave padding out; the hash may differ, because the batch really fed other
        # numbers (Whisper normalises each clip's log-mel over the padded length)
        assert one.token_counts == other.token_counts
        assert one.chat_text.startswith("<|im_start|>system") and one.prompt_text in one.chat_text
        assert one.logprobs.keys() == set(task.labels)
    first, second = batched
    assert len(first.input_hash) == 64 and first.input_hash != second.input_hash
    counts = first.token_counts
    assert counts["video"] > 0 and counts["audio"] > 0 and counts["text"] > 0
    assert second.token_counts["audio"] > counts["audio"]  # 3 s of audio against 2 s


@pytest.fixture
def project(tmp_path, models_demo_db):
    return shutil.copy(models_demo_db, tmp_path / "p.sqlite")


def _mmla(db, *args) -> int:
    return main(["--db", str(db), *args])


@pytest.fixture
def text_run(project, text_dir):
    """An evaluation of the tiny text LM on the demo test clips (run 1)."""
    assert _mmla(project, "eval", "--model", str(text_dir), "--task", "MIntRec", "--dataset",
                 "demo", "--split", "test", "--in-process") == 0
    return project


def test_run_rows_store_prompt_hash_counts_and_logprobs(text_run):
    with open_store(text_run) as store:
        rows = store.query("SELECT * FROM predictions WHERE run_id = 1")
        environment = json.loads(store.scalar("SELECT environment_json FROM runs WHERE id = 1"))
    assert rows
    for row in rows:
        assert row["prompt_text"].endswith("<|im_start|>assistant\n")
        assert len(row["input_hash"]) == 64
        counts = json.loads(row["token_counts_json"])
        assert counts["text"] > 20 and set(counts) == {"text"}  # a text LM sees no media
        logprobs = json.loads(row["logprobs_json"])
        assert max(logprobs, key=logprobs.get) == row["parsed_label"]
    assert environment["torch"] and environment["transformers"] and environment["peft"]
    assert environment["mmla_studio"] and environment["python"]
    assert environment["git_commit"] is None or len(environment["git_commit"]) == 40


def test_runs_show_prints_the_environment(text_run, capsys):
    capsys.readouterr()
    assert _mmla(text_run, "runs", "show", "1") == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("environment:"))
    assert '"transformers": "' in line and '"git_commit"' in line


def test_export_writes_by_extension_and_refuses_others(text_run, tmp_path, capsys):
    assert _mmla(text_run, "runs", "export", "1", str(tmp_path / "r.jsonl")) == 0
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    assert isinstance(record["logprobs_json"], dict) and record["input_hash"]
    assert _mmla(text_run, "runs", "export", "1", str(tmp_path / "r.csv")) == 0
    with open(tmp_path / "r.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == len(lines)
    capsys.readouterr()
    assert _mmla(text_run, "runs", "export", "1", str(tmp_path / "r.txt")) == 2  # usage
    assert "cannot tell the format from '.txt'" in capsys.readouterr().err
    assert not (tmp_path / "r.txt").exists()
    code = _mmla(text_run, "runs", "export", "1", str(tmp_path / "r.parquet"))
    try:
        import pyarrow.parquet as pq
    except ImportError:
        assert code == 1 and "Parquet needs pyarrow" in capsys.readouterr().err
    else:
        assert code == 0 and pq.read_table(tmp_path / "r.parquet").num_rows == len(lines)


def test_lmms_eval_export_has_its_per_sample_fields(text_run, tmp_path):
    out = tmp_path / "samples.jsonl"
    assert _mmla(text_run, "runs", "export", "1", str(out), "--format", "lmms-eval") == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    with open_store(text_run) as store:
        rows = store.query("SELECT * FROM predictions WHERE run_id = 1 ORDER BY clip_id")
    assert [r["doc_id"] for r in records] == list(range(len(rows)))
    for record, row in zip(records, rows, strict=True):
        assert {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "doc_hash",
                "prompt_hash", "target_hash", "accuracy"} <= set(record)
        assert record["target"] == row["gold_label"]
        assert record["accuracy"] == float(row["is_correct"])
        labels = list(json.loads(row["logprobs_json"]))
        assert record["arguments"][0] == row["prompt_text"]
        assert record["arguments"][1] == f"intent: {labels[0]}"
        assert len(record["arguments"]) == 2 * len(labels)
        assert record["resps"][0] == [[json.loads(row["logprobs_json"])[labels[0]], None]]
        assert record["filtered_resps"] == [pair[0] for pair in record["resps"]]
        assert record["prompt_hash"] == hashlib.sha256(row["prompt_text"].encode()).hexdigest()
    assert _mmla(text_run, "runs", "export", "1", str(tmp_path / "s.csv"), "--format",
                 "lmms-eval") == 2  # usage: lmms-eval writes .jsonl
