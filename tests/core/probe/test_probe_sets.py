"""The set table's CSV: accuracy under its header, Cohen's d under its own (layer) header."""

import csv
import json

from mmla_core.probe.sets import SetTable, set_table_csv


def test_cohens_d_block_has_its_own_layer_header(tmp_path):
    table = SetTable(clips=2, run_ids=[1, 2],
                     rows=[{"scenario": "aligned", "n": 2, "visual_focused": 0.5,
                            "audio_focused": None, "zero_shot": 1.0}],
                     cohens_d={"visual": [0.25, None, -1.0], "audio": [0.5, 0.125, 0.0]})
    rows = list(csv.reader(set_table_csv(table, tmp_path / "t.csv").open(encoding="utf-8")))
    assert rows[0] == ["scenario", "n", "visual_focused", "audio_focused", "zero_shot"]
    assert rows[1] == ["aligned", "2", "50.00", "", "100.00"]
    assert rows[2] == []
    assert rows[3] == ["layer", "L0", "L1", "L2"]
    assert rows[4] == ["cohens_d_visual", "0.2500", "", "-1.0000"]
    assert dict(zip(rows[3], rows[5], strict=True))["L1"] == "0.1250"


def test_table_without_attention_has_no_cohens_d_block(tmp_path):
    table = SetTable(clips=1, run_ids=[1], rows=[{"scenario": "aligned", "n": 1}])
    rows = list(csv.reader(set_table_csv(table, tmp_path / "t.csv").open(encoding="utf-8")))
    assert rows == [["scenario", "n", "visual_focused", "audio_focused", "zero_shot"],
                    ["aligned", "1", "", "", ""]]


def test_csv_goes_into_a_folder_not_made_yet(tmp_path):
    """`mmla probe-table --task T --csv out/t.csv` printed the table, then failed on the
    missing folder ('[Errno 2] No such file or directory'); `mmla runs export` makes it."""
    table = SetTable(clips=1, run_ids=[1], rows=[{"scenario": "aligned", "n": 1}])
    assert set_table_csv(table, tmp_path / "out" / "t.csv").is_file()


def test_a_probe_set_records_its_job_with_each_probe_run(demo_store):
    """A probe set's runs say so next to their owner, so a run its killed process left is
    failed with the probe set's rerun (store.run_owners); before, the sweep could not tell it
    from a single probe's run and gave both."""
    from mmla_core.models.engine import InferenceSettings
    from mmla_core.probe.matrix import run_probe
    from mmla_core.probe.sets import run_probe_set
    from tests.support.fake_engine import FakeEngine
    from tests.support.probe_helpers import first_clip

    clip, engine = first_clip(demo_store), FakeEngine("fake")
    settings = InferenceSettings(answer_mode="generation")  # the fake engine generates
    assert run_probe_set(demo_store, engine, [clip, clip + 1], "MELD", scenarios=["aligned"],
                         settings=settings) == "done"
    single = run_probe(demo_store, engine, clip, "MELD", scenarios=["aligned"],
                       settings=settings).run_id
    jobs = {r["id"]: json.loads(r["environment_json"])["job"]
            for r in demo_store.query("SELECT id, environment_json FROM runs")}
    assert jobs.pop(single) == "probe"
    assert list(jobs.values()) == ["probe_set", "probe_set"]
