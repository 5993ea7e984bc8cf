"""Edited prompt texts and existing variants in a probe (core + CLI), and probes over a set."""

import json
import shutil
from dataclasses import replace

import pytest

from mmla_core.cli import main
from mmla_core.models.inputs import InferenceSettings, clip_input_from_store
from mmla_core.probe import load_probe, run_probe
from mmla_core.probe.sets import set_table, set_table_csv
from mmla_core.store import open_store
from mmla_core.store.catalog import task_by_name
from mmla_core.variants.store_ops import create_variant
from tests.support import models_fixtures
from tests.support.probe_helpers import demo_copy, first_clip

omni_dir = models_fixtures.omni_dir
omni_engine = models_fixtures.omni_engine
models_demo_db = models_fixtures.models_demo_db

SMALL = InferenceSettings(max_pixels=models_fixtures.SMALL_PIXELS)
VISUAL = "{transcript}\nWhat do you SEE here? Options: [{labels}]. One class name."


@pytest.fixture
def store(models_demo_db, tmp_path):
    s = demo_copy(models_demo_db, tmp_path)
    yield s
    s.close()


def test_existing_variants_are_rows_and_edited_prompts_are_kept(store, omni_engine):
    clip = first_clip(store)
    written = create_variant(store, clip, ["frames_black"]).clip_id
    text_only = create_variant(store, clip, [("caption_misleading", {"mode": "prepend"})]).clip_id
    result = run_probe(store, omni_engine, clip, "MIntRec", settings=SMALL,
                       scenarios=("aligned",), prompts=("zero_shot", "visual_focused"),
                       templates={"visual_focused": VISUAL}, variants=[written, text_only])
    keys = (f"variant:{written}", f"variant:{text_only}")
    assert result.scenarios == ("aligned", *keys)
    assert result.row_title(keys[0]) == f"variant {written}: frames_black"
    assert len(result.cells) == 6 and all(c is not None for row in result.matrix() for c in row)
    task = task_by_name(store, "MIntRec")[1]
    # each variant cell equals an independent request on that variant clip, edited text included
    for key, vid in zip(keys, (written, text_only), strict=True):
        for prompt in result.prompts:
            settings = replace(SMALL, prompt_kind=prompt,
                               template=VISUAL if prompt == "visual_focused" else None)
            ref = omni_engine.predict(clip_input_from_store(store, vid, settings), task, settings)
            cell = result.cell(key, prompt)
            assert cell.predicted == ref.parsed_label
            assert cell.scores == pytest.approx(ref.scores, abs=1e-4)
    row = store.query("SELECT prompt_template FROM predictions WHERE id = ?",
                      (result.cell("aligned", "visual_focused").prediction_id,))[0]
    assert row["prompt_template"] == VISUAL
    again = load_probe(store, result.run_id)
    assert again == result and again.templates == {"visual_focused": VISUAL}


def test_a_bad_prompt_text_or_a_foreign_variant_is_refused(store, omni_engine):
    clip = first_clip(store)
    with pytest.raises(ValueError, match="visual_focused prompt text"):
        run_probe(store, omni_engine, clip, "MIntRec", settings=SMALL, scenarios=("aligned",),
                  templates={"visual_focused": "What is {colour}?"})
    other = create_variant(store, clip + 1, ["frames_black"]).clip_id
    with pytest.raises(ValueError, match="not a variant of clip"):
        run_probe(store, omni_engine, clip, "MIntRec", settings=SMALL, scenarios=("aligned",),
                  variants=[other])


def test_cli_prompts_and_variants_give_the_core_numbers(models_demo_db, omni_dir, omni_engine,
                                                        tmp_path, capsys):
    db = tmp_path / "project.sqlite"
    shutil.copy(models_demo_db, db)
    store = open_store(db)
    clip = first_clip(store)
    vid = create_variant(store, clip, ["audio_removed"]).clip_id
    store.close()
    assert main(["--db", str(db), "probe", str(clip), "--model", str(omni_dir), "--task",
                 "MIntRec", "--scenarios", "aligned", "--prompts", "visual_focused",
                 "--prompt-visual", VISUAL, "--variants", "existing", "--max-pixels",
                 str(models_fixtures.SMALL_PIXELS), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert f"variant {vid}: audio_removed" in out and "(edited)" in out
    run_id = int(out.split("probe run ", 1)[1].split(":", 1)[0])
    store = open_store(db)
    try:
        cli = load_probe(store, run_id)
        core = run_probe(store, omni_engine, clip, "MIntRec", settings=SMALL,
                         scenarios=("aligned",), prompts=("visual_focused",),
                         templates={"visual_focused": VISUAL}, variants=[vid])
        assert [(c.scenario, c.predicted) for c in cli.cells] == \
            [(c.scenario, c.predicted) for c in core.cells]
        for a, b in zip(cli.cells, core.cells, strict=True):
            assert a.scores == pytest.approx(b.scores, abs=1e-6)
    finally:
        store.close()


def test_probe_table_over_a_split_runs_the_missing_probes(models_demo_db, omni_dir, tmp_path,
                                                          capsys):
    db = tmp_path / "project.sqlite"
    shutil.copy(models_demo_db, db)
    store = open_store(db)
    clips = [r[0] for r in store.conn.execute(
        "SELECT id FROM clips WHERE parent_clip_id IS NULL ORDER BY id LIMIT 2")]
    store.close()
    base = ["--db", str(db), "probe-table", "--task", "MELD", "--model", str(omni_dir),
            "--clips", ",".join(map(str, clips))]
    assert main(base) == 1  # nothing probed yet
    assert "no probe runs found" in capsys.readouterr().err
    out_csv = tmp_path / "table.csv"
    assert main([*base, "--run-missing", "--scenarios", "aligned,frames_zeroed", "--device",
                 "cpu", "--max-pixels",
                 str(models_fixtures.SMALL_PIXELS), "--csv", str(out_csv)]) == 0
    out = capsys.readouterr().out
    assert "2 clips in the set, 2 probed (0 without a probe)" in out
    store = open_store(db)
    try:
        table = set_table(store, clips, "MELD", str(omni_dir))
        assert len(table.run_ids) == 2 and table.rows[0]["scenario"] == "aligned"
        assert table.rows[0]["n"] == 2
        text = set_table_csv(table, tmp_path / "again.csv").read_text()
        assert text == out_csv.read_text()
        settings = json.loads(store.query("SELECT settings_json FROM runs WHERE id = ?",
                                          (table.run_ids[0],))[0]["settings_json"])
        assert settings["inference"]["max_pixels"] == models_fixtures.SMALL_PIXELS
    finally:
        store.close()
