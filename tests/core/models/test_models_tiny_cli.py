"""Tiny random models (deterministic, small, flagged) and `mmla models ...` / `mmla predict`."""

import json
import subprocess
import sys

import pytest

from mmla_core.cli import main
from mmla_core.models.registry import inspect_model
from tests.support import models_fixtures

omni_dir = models_fixtures.omni_dir
vl25_dir = models_fixtures.vl25_dir
models_demo_db = models_fixtures.models_demo_db


def test_tiny_builds_are_deterministic_small_and_flagged(tmp_path, omni_dir):
    from mmla_core.models.tiny import build_tiny

    again = build_tiny(tmp_path / "again", "qwen2_5_omni", seed=0)
    other = build_tiny(tmp_path / "other", "qwen2_5_omni", seed=1)
    first = inspect_model(omni_dir)
    assert inspect_model(again).weights_hash == first.weights_hash
    assert inspect_model(other).weights_hash != first.weights_hash
    assert (again / "tokenizer.json").read_bytes() == (omni_dir / "tokenizer.json").read_bytes()
    assert first.random_weights and json.loads((omni_dir / "mmla_tiny.json").read_text())[
        "random_weights"]
    assert json.loads((omni_dir / "config.json").read_text())["mmla_random_weights"] is True
    assert sum(f.stat().st_size for f in omni_dir.iterdir()) < 2 * 1024 * 1024


def test_every_family_predicts_flagged_as_random(vl25_dir):
    from mmla_core.models.engine import Engine
    from mmla_core.models.inputs import InferenceSettings
    from mmla_core.tasks import builtin_task

    engine = Engine.load(vl25_dir, device="cpu")
    result = engine.predict(models_fixtures.synthetic_clip(), builtin_task("MOSI"),
                            InferenceSettings(max_pixels=models_fixtures.SMALL_PIXELS))
    assert engine.info.random_weights and result.random_weights
    assert not engine.info.hears_audio and not result.audio_on
    assert engine.info.device == "cpu" and engine.info.dtype == "float32"
    assert engine.info.attn_implementation == "sdpa"
    engine.close()


def test_importing_models_and_cli_does_not_import_torch():
    code = ("import sys, mmla_core.models, mmla_core.models.engine, mmla_core.models.inputs, "
            "mmla_core.cli\n"
            "print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _mmla(db, *args) -> int:
    return main(["--db", str(db), *args])


@pytest.fixture
def project(tmp_path, models_demo_db):
    import shutil

    shutil.copy(models_demo_db, tmp_path / "p.sqlite")
    return tmp_path / "p.sqlite"


def test_models_tiny_add_ls_and_predict(tmp_path, project, omni_dir, capsys):
    assert _mmla(project, "models", "tiny", str(tmp_path / "t"), "--family", "text_lm") == 0
    assert (tmp_path / "t" / "mmla_tiny.json").is_file()
    assert _mmla(project, "models", "add", str(omni_dir), "--name", "omni") == 0
    assert "random weights" in capsys.readouterr().out
    assert _mmla(project, "models", "add", str(tmp_path / "t")) == 0
    capsys.readouterr()
    assert _mmla(project, "models", "ls", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert {(r["name"], r["family"], r["random_weights"]) for r in rows} == {
        ("omni", "qwen2_5_omni", 1), ("t", "text_lm", 1)}
    assert all(r["weights_hash"].startswith("wh1:") for r in rows)
    before = _count_predictions(project)
    assert _mmla(project, "predict", "demo/demo_03", "--model", "omni", "--task", "MIntRec",
                 "--max-pixels", str(models_fixtures.SMALL_PIXELS)) == 0
    out = capsys.readouterr().out
    assert "RANDOM WEIGHTS" in out and "audio heard" in out and "█" in out
    assert "ask for help" in out  # every label gets a bar line
    assert _mmla(project, "predict", "1", "--model", str(tmp_path / "t"), "--task", "MELD",
                 "--mode", "generation", "--max-new-tokens", "3") == 0
    assert "generation" in capsys.readouterr().out
    assert _count_predictions(project) == before  # predict writes nothing


def test_predict_takes_the_start_of_a_registered_name(project, omni_dir, capsys):
    """User guide '4. Evaluating': every --model takes an unambiguous start of a name; `mmla
    predict --model tiny` said "tiny: no such folder"."""
    assert _mmla(project, "models", "add", str(omni_dir), "--name", "tiny-qwen2_5_omni") == 0
    capsys.readouterr()
    assert _mmla(project, "predict", "demo/demo_03", "--model", "tiny", "--task", "MELD",
                 "--max-pixels", str(models_fixtures.SMALL_PIXELS)) == 0
    assert "model    tiny-qwen2_5_omni (qwen2_5_omni" in capsys.readouterr().out


def test_cli_reports_bad_models_clearly(tmp_path, project, capsys):
    assert _mmla(project, "models", "add", str(tmp_path)) == 1
    assert "no config.json" in capsys.readouterr().err
    assert _mmla(project, "predict", "1", "--model", str(tmp_path), "--task", "MELD") == 1
    assert "no config.json" in capsys.readouterr().err
    assert _mmla(project, "predict", "1", "--model", str(tmp_path), "--task", "Nope") == 1


def _count_predictions(db) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM predictions").fetchone()[0]
