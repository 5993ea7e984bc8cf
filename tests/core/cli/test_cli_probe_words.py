"""`mmla media probe` vs `mmla probe` (the old media form still works, with a notice), and
`mmla probe compare A B` on two stored probes."""

from __future__ import annotations

import shutil

import pytest

from mmla_core.cli import main
from mmla_core.demo import demo_folder
from tests.support.probe_helpers import write_probe


@pytest.fixture
def project(demo_db, tmp_path):
    """A private copy of the session's demo project (these tests write probes into it)."""
    return shutil.copy(demo_db, tmp_path / "project.sqlite")


def run(db, *args) -> int:
    return main(["--db", str(db), *args])


def test_media_probe_and_the_old_spelling_with_a_notice(project, capsys):
    assert run(project, "media", "probe", "demo") == 0
    assert "notice" not in capsys.readouterr().err
    assert run(project, "probe", "demo") == 0
    err = capsys.readouterr().err
    assert "now `mmla media probe [DATASET]`" in err
    assert run(project, "probe") == 0  # every dataset, as before


def test_media_probe_with_nothing_to_probe_says_so(project, capsys):
    """README's `mmla media probe` on the demo project (probed when made) printed nothing."""
    assert run(project, "media", "probe") == 0
    assert run(project, "media", "probe", "demo") == 0
    out = capsys.readouterr().out
    assert out.count("probed files re-checked, none changed; nothing left to probe") == 2
    clips = shutil.copytree(demo_folder(), project.parent / "clips")
    assert run(project, "import", str(clips)) == 0
    assert run(project, "import", str(clips)) == 0  # the summary says "8 unchanged": enough
    assert "nothing left to probe" not in capsys.readouterr().out


def test_probe_compare_prints_both_answers_and_the_differences(project, capsys):
    base = write_probe(project, 1, {"aligned": (0.3, 0.5)})
    tuned = write_probe(project, 1, {"aligned": (0.3, 0.5), "audio_swap": (0.7, 0.2)},
                        adapter="/runs/sft/adapter")
    capsys.readouterr()
    assert run(project, "probe", "compare", str(base), str(tuned)) == 0
    out = capsys.readouterr().out
    assert "B: probe #2: tiny-qwen2_5_omni + adapter sft/adapter" in out
    assert "≠ surprise 0.50 | joy 0.70 (broken)" in out
    assert out.rstrip().endswith("3 of 18 cells answered differently; B fixed 0, broke 3")
    assert run(project, "probe", "compare", str(base)) == 2  # usage
    assert "two probe run ids" in capsys.readouterr().err


def test_model_prefix_and_unknown_models_name_the_registered_ones(project, capsys):
    from mmla_core.store import open_store
    from mmla_core.store.results import ModelRefError, add_model, find_model, list_runs

    with open_store(project) as store:
        add_model(store, "tiny-qwen2_5_omni", "qwen2_5_omni", "/models/omni")
        assert find_model(store, "tiny")["name"] == "tiny-qwen2_5_omni"
        add_model(store, "tiny-qwen2_vl", "qwen2_vl", "/models/vl")
        with pytest.raises(ModelRefError, match="any of tiny-qwen2_5_omni, tiny-qwen2_vl"):
            find_model(store, "tiny")
        assert find_model(store, "tiny-qwen2_vl")["path"] == "/models/vl"
    assert run(project, "eval", "--model", "nope", "--dataset", "demo", "--task", "MELD",
               "--split", "test", "--in-process") == 1
    err = capsys.readouterr().err
    assert "no model 'nope' is registered in this project; registered models: " \
           "tiny-qwen2_5_omni, tiny-qwen2_vl" in err
    assert "nope: no such folder" in err  # what a folder or hub id would need
    assert "resume it with" not in err  # refused before a run starts: nothing to resume
    with open_store(project) as store:
        assert list_runs(store) == []
    # the same through the model worker, which is how `mmla eval` runs by default
    assert run(project, "eval", "--model", "Qwen/NotCached", "--dataset", "demo", "--task",
               "MELD") == 1
    assert "hf download Qwen/NotCached" in capsys.readouterr().err
    with open_store(project) as store:
        assert list_runs(store) == []
