"""Bad manifests and model folders are refused clearly, and nothing already saved changes.

What tests/core/datasets/test_import_*.py and tests/core/models/test_models_loader.py already
check (each malformed row reported with its line, paths escaping the root, pickle-only and
remote-code refusals) is not repeated here. This file checks the other half of DESIGN rule 7: a
project holding a curator's work (labels, check answers, an edited transcript, a registered
model) is byte-for-byte the same after a bad import or a refused model, apart from the good rows
that import.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from mmla_core.cli import main as cli
from mmla_core.datasets.auto import import_path
from mmla_core.models.registry import ModelLoadError
from mmla_core.store.db import open_store
from mmla_core.store.labels import set_check_answer, set_label, set_transcript

KEPT_TABLES = ("annotations", "edit_history", "check_answers", "clip_notes", "clip_reviews",
               "models", "runs", "predictions", "tasks", "datasets")


def snapshot(db_path, clip_ids=None) -> dict:
    """Every row of the tables that hold a curator's work, plus the given clips' rows."""
    with open_store(db_path) as store:
        tables = {t: sorted(map(tuple, store.conn.execute(f"SELECT * FROM {t}")))
                  for t in KEPT_TABLES}
        rows = store.conn.execute("SELECT * FROM clips ORDER BY id").fetchall()
    tables["clips"] = [tuple(r) for r in rows if clip_ids is None or r[0] in clip_ids]
    return tables


@pytest.fixture
def curated(tmp_path, speaker_clip):
    """A folder dataset imported from a CSV manifest, then curated by alice."""
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(speaker_clip, folder / name)
    (folder / "manifest.csv").write_text("path,transcript,split,MELD\na.mp4,hello,train,joy\n"
                                         "b.mp4,bye,train,anger\n")
    db_path = tmp_path / "project.sqlite"
    with open_store(db_path) as store:
        import_path(store, folder)
        task_id = store.scalar("SELECT id FROM tasks WHERE name = 'MELD'")
        a, b = (store.scalar("SELECT id FROM clips WHERE external_id = ?", (e,)) for e in "ab")
        set_label(store, a, task_id, "fear", "alice")
        set_check_answer(store, b, "visual_only", "no", "alice")
        set_transcript(store, b, "bye, and thanks (curated)", "alice")
    return folder, db_path, {a, b}


BAD_MANIFEST = (
    "\ufeffpath,transcript,split,MELD\n"           # a BOM before the header
    "a.mp4,hello,train,joy\n"                      # unchanged row
    "../outside.mp4,escape,train,joy\n"            # escapes the root
    "/etc/passwd,absolute,train,joy\n"             # absolute path elsewhere
    "link_out.mp4,via symlink,train,joy\n"         # a symlink that leads out
    "c.mp4,new clip,train,not-a-meld-label\n"      # unknown label: clip without a label
    "\"unterminated,quote,train,joy\n"             # malformed quoting
    ",,,\n"                                        # an empty row
)


def test_a_bad_manifest_reimport_keeps_the_curated_project(curated, tmp_path, speaker_clip):
    folder, db_path, old_ids = curated
    before = snapshot(db_path, old_ids)
    outside = tmp_path / "elsewhere.mp4"
    shutil.copy(speaker_clip, outside)
    os.symlink(outside, folder / "link_out.mp4")
    shutil.copy(speaker_clip, folder / "c.mp4")
    (folder / "manifest.csv").write_text(BAD_MANIFEST, encoding="utf-8")
    with open_store(db_path) as store:
        (report,) = import_path(store, folder)
        new_clip = store.query("SELECT * FROM clips WHERE external_id = 'c'")
        per_file = store.query("SELECT media_path, count(*) AS n FROM clips "
                               "WHERE media_path IS NOT NULL GROUP BY media_path")
    problems = "\n".join(map(str, report.issues))
    for expected in ("../outside.mp4", "/etc/passwd", "link_out.mp4", "not-a-meld-label"):
        assert expected in problems, problems
    assert all(":" in issue.location for issue in report.issues
               if "manifest.csv" in issue.location)
    assert snapshot(db_path, old_ids) == before  # b's row was skipped: its curated text stays
    assert [(c["split"], c["transcript"]) for c in new_clip] == [("train", "new clip")]
    assert {r["n"] for r in per_file} == {1}  # b.mp4, left out this time, is not added again


def test_reimporting_the_folder_without_its_manifest_blanks_nothing(curated):
    folder, db_path, old_ids = curated
    before = snapshot(db_path, old_ids)
    (folder / "manifest.csv").unlink()
    with open_store(db_path) as store:
        import_path(store, folder)
    assert snapshot(db_path, old_ids)["annotations"] == before["annotations"]
    with open_store(db_path) as store:
        texts = {r["transcript"] for r in store.query("SELECT transcript FROM clips")}
    assert texts == {"hello", "bye, and thanks (curated)"}  # the same two clips, texts kept


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "cp1252"])
def test_manifest_encodings_import_or_say_which_line_is_not_utf8(tmp_path, speaker_clip,
                                                                  encoding):
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(speaker_clip, folder / "café.mp4")
    (folder / "manifest.csv").write_bytes("path,transcript,MELD\ncafé.mp4,déjà vu,joy\n"
                                          .encode(encoding))
    with open_store(tmp_path / "p.sqlite") as store:
        (report,) = import_path(store, folder)
        rows = store.query("SELECT external_id, transcript FROM clips")
    if encoding == "cp1252":  # not UTF-8 at all: each bad line named, nothing crashes
        assert any("not valid UTF-8" in str(i) and "manifest.csv:2" in str(i)
                   for i in report.issues)
    else:
        assert report.issues == [] and rows == [{"external_id": "café",
                                                 "transcript": "déjà vu"}]


# --- model folders ------------------------------------------------------------------------------

def _broken(model_dir, tmp_path, name: str):
    folder = tmp_path / name
    shutil.copytree(model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    if name == "remote_code":
        config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilLM"}
        (folder / "modeling_evil.py").write_text("raise SystemExit('remote code ran')\n")
    elif name == "pickle_only":
        import torch
        from safetensors.torch import load_file

        torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
        (folder / "model.safetensors").unlink()
    elif name == "no_weights":
        (folder / "model.safetensors").unlink()
    elif name == "truncated_config":
        (folder / "config.json").write_text(json.dumps(config)[:20])
        return folder
    elif name == "no_tokenizer":
        for file in folder.glob("tokenizer*"):
            file.unlink()
        (folder / "mmla_tiny.json").unlink()  # a real model folder, not a rebuilt tiny one
    (folder / "config.json").write_text(json.dumps(config))
    return folder


REFUSALS = {"remote_code": "trust_remote_code", "pickle_only": "pickle",
            "no_weights": "weights", "truncated_config": "config.json",
            "no_tokenizer": "no tokenizer files"}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_refused_model_folder_changes_nothing(curated, omni_dir, tmp_path, name, capsys):
    _, db_path, _ = curated
    assert cli(["--db", str(db_path), "models", "add", str(omni_dir), "--name", "good"]) == 0
    before = snapshot(db_path)
    folder = _broken(omni_dir, tmp_path, name)
    assert cli(["--db", str(db_path), "models", "add", str(folder)]) != 0
    message = capsys.readouterr().err
    assert str(folder) in message and REFUSALS[name] in message, message
    assert snapshot(db_path) == before


def test_a_model_folder_without_tokenizer_is_refused_at_load(omni_dir, tmp_path):
    from mmla_core.models.engine import Engine

    folder = _broken(omni_dir, tmp_path, "no_tokenizer")
    with pytest.raises(ModelLoadError, match="no tokenizer files") as caught:
        Engine.load(folder, device="cpu")
    assert str(folder) in str(caught.value)
