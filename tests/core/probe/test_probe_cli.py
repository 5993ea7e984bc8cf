"""`mmla probe`, `mmla probe show` and `mmla checks-model` end to end on the demo project."""

import csv
import shutil

from mmla_core.cli import main
from mmla_core.probe import load_probe
from mmla_core.store import open_store
from tests.support import models_fixtures
from tests.support.probe_helpers import first_clip

omni_dir = models_fixtures.omni_dir
models_demo_db = models_fixtures.models_demo_db


def test_probe_show_and_csv(models_demo_db, omni_dir, tmp_path, capsys):
    db = tmp_path / "project.sqlite"
    shutil.copy(models_demo_db, db)
    store = open_store(db)
    clip = first_clip(store)
    store.close()
    out_csv = tmp_path / "probe.csv"
    args = ["--db", str(db), "probe", str(clip), "--model", str(omni_dir), "--task", "MIntRec",
            "--scenarios", "aligned,audio_swap,frames_zeroed,misleading_caption",
            "--max-pixels", str(models_fixtures.SMALL_PIXELS), "--device", "cpu",
            "--attention", "--csv", str(out_csv)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "reliance profile" in printed and "frames_zeroed" in printed
    assert "attention at the answer position" in printed
    run_id = int(printed.split("probe run ", 1)[1].split(":", 1)[0])
    store = open_store(db)
    result = load_probe(store, run_id)
    store.close()
    assert len(result.cells) == 12
    # the matrix printed by `probe show` is the one printed by the run
    assert main(["--db", str(db), "probe", "show", str(run_id)]) == 0
    shown = capsys.readouterr().out
    assert shown == printed.rsplit("csv: ", 1)[0]
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12
    for row, cell in zip(rows, result.cells, strict=True):
        assert (row["scenario"], row["prompt"], row["predicted"]) == \
            (cell.scenario, cell.prompt, cell.predicted)
        assert float(row["p_predicted"]) == cell.p_predicted
        assert float(row[f"P({cell.predicted})"]) == cell.p_predicted
    assert rows[0]["kl_from_aligned"] == "" and float(rows[3]["kl_from_aligned"]) >= 0


def test_probe_needs_model_and_task_and_show_needs_a_run(models_demo_db, tmp_path, capsys):
    db = tmp_path / "project.sqlite"
    shutil.copy(models_demo_db, db)
    assert main(["--db", str(db), "probe", "1", "--task", "MIntRec"]) == 2  # usage
    assert main(["--db", str(db), "probe", "show"]) == 2
    assert main(["--db", str(db), "probe", "show", "999"]) == 1
    assert "no probe run 999" in capsys.readouterr().err


def test_checks_model_for_a_dataset(models_demo_db, omni_dir, tmp_path, capsys):
    db = tmp_path / "project.sqlite"
    shutil.copy(models_demo_db, db)
    assert main(["--db", str(db), "checks-model", "--dataset", "demo", "--model", str(omni_dir),
                 "--limit", "2", "--max-pixels", str(models_fixtures.SMALL_PIXELS),
                 "--device", "cpu"]) == 0
    assert "2 clip(s) answered" in capsys.readouterr().out
    store = open_store(db)
    try:
        assert store.scalar("SELECT count(*) FROM check_answers WHERE source = 'model'") == 8
        assert store.scalar("SELECT count(*) FROM check_answers WHERE source = 'human'") == 0
    finally:
        store.close()


def test_probe_table_over_several_clips(models_demo_db, omni_dir, tmp_path, capsys):
    db = tmp_path / "project.sqlite"
    shutil.copy(models_demo_db, db)
    for clip in ("1", "2"):
        assert main(["--db", str(db), "probe", clip, "--model", str(omni_dir), "--task", "MELD",
                     "--scenarios", "aligned,frames_zeroed", "--max-pixels",
                     str(models_fixtures.SMALL_PIXELS), "--device", "cpu", "--attention"]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "probe-table", "--task", "MELD"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 probes, 2 clips")
    lines = [line.split() for line in out.splitlines()]
    assert [row[0] for row in lines if row and row[0] in ("aligned", "frames_zeroed")] == [
        "aligned", "frames_zeroed"]
    assert "Cohen's d per layer" in out
    assert main(["--db", str(db), "probe-table"]) == 2
    # the table judges against today's labels (a person's relabel wins) and leaves a
    # rejected clip out, as every other output does
    from mmla_core.probe.matrix import load_probe, regold
    from mmla_core.probe.sets import latest_probes, set_table
    from mmla_core.store import open_store
    from mmla_core.store.catalog import task_by_name
    from mmla_core.store.labels import set_label
    from mmla_core.store.review import mark_reviewed
    from mmla_core.store.verdicts import Selection

    with open_store(db) as store:
        meld = task_by_name(store, "MELD")[0]
        probe = load_probe(store, latest_probes(store, [1], "MELD")[1])
        other = next(label for label in ("anger", "fear") if label != probe.gold)
        set_label(store, 1, meld, other, "ana")
        mark_reviewed(store, 2, "ana", "reject")
        fresh = regold(store, probe)
        assert fresh.gold == other and {c.gold for c in fresh.cells} == {other}
        assert all(c.correct == (c.predicted == other) for c in fresh.cells)
        assert regold(store, probe, "import").gold == probe.gold
        table = set_table(store, [1, 2], "MELD")
        assert table.clips == 1 and table.labels["left_out"]["rejected"] == 1
        assert table.labels["counts"]["person"] == 1
        assert set_table(store, [1, 2], "MELD",
                         selection=Selection(include_rejected=True)).clips == 2
    assert main(["--db", str(db), "probe-table", "--task", "MELD", "--clips", "1,2",
                 "--labels", "import", "--include-rejected"]) == 0
    assert "labels: import (adjudicated 0, person 0, import 2" in capsys.readouterr().out


def test_probe_table_run_missing_finds_its_probes_by_the_start_of_a_name(models_demo_db,
                                                                          omni_dir, tmp_path,
                                                                          capsys):
    """User guide '3. Probing a clip': `probe-table --model tiny --run-missing` probed the
    clips, then looked for probes of a model named exactly 'tiny': "0 probed", "no probe runs
    found", exit 1."""
    db = tmp_path / "project.sqlite"
    shutil.copy(models_demo_db, db)
    assert main(["--db", str(db), "models", "add", str(omni_dir), "--name",
                 "tiny-qwen2_5_omni"]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "probe-table", "--task", "MELD", "--model", "tiny",
                 "--clips", "1", "--run-missing", "--scenarios", "aligned", "--max-pixels",
                 str(models_fixtures.SMALL_PIXELS), "--device", "cpu"]) == 0
    assert "1 clip in the set, 1 probed (0 without a probe)" in capsys.readouterr().out
