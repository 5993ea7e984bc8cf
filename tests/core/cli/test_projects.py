"""Projects and datasets from the CLI: `mmla new`, `mmla datasets rm` (rows, runs, files)."""

from __future__ import annotations

import pytest

from mmla_core.cli import main
from mmla_core.datasets.remove import plan_removal, remove_dataset
from mmla_core.store import open_store
from mmla_core.store.catalog import upsert_clips, upsert_dataset
from mmla_core.store.results import insert_predictions, start_run
from mmla_core.variants.store_ops import create_variant
from tests.support.variant_media import build_project, make_media


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return make_media(tmp_path_factory.mktemp("rm_media"))


@pytest.fixture()
def project(tmp_path, media):
    """Dataset 'tiny' with a written variant, a dataset run, a probe run; dataset 'other' with
    a run of its own and a run mixing both datasets."""
    project = build_project(tmp_path / "p", media)
    with project.store() as store:
        variant = create_variant(store, project.ids["a"], ["audio_swap"], copy_labels=True)
        other = upsert_dataset(store, "other", str(tmp_path / "p" / "media"), "folder")
        upsert_clips(store, other, [{"split": "train", "external_id": "o1", "media_path": None,
                                     "transcript": "other clip"}])
        other_clip = store.scalar("SELECT id FROM clips WHERE dataset_id = ?", (other,))
        tiny = store.scalar("SELECT id FROM datasets WHERE name = 'tiny'")
        runs = {"dataset": start_run(store, "eval", dataset_id=tiny),
                "probe": start_run(store, "probe"), "other": start_run(store, "eval"),
                "mixed": start_run(store, "eval")}
        insert_predictions(store, [
            {"run_id": run, "clip_id": clip, "prompt_template": "t", "prompt_hash": "h"}
            for run, clip in ((runs["probe"], variant.clip_id), (runs["probe"], project.ids["a"]),
                              (runs["other"], other_clip), (runs["mixed"], project.ids["b"]),
                              (runs["mixed"], other_clip))])
    project.variant, project.runs = variant, runs
    return project


def count(store, sql: str, *params) -> int:
    return store.scalar(sql, params)


def test_plan_says_what_goes_and_changes_nothing(project):
    with project.store() as store:
        plan = plan_removal(store, "tiny")
        assert plan.footprint.clips == 9 and plan.footprint.variants == 1
        assert plan.footprint.runs == 2  # the dataset's run and the probe; not the mixed one
        assert plan.files == [project.variant.path]
        assert "8 clips, 1 variant, 9 labels" in plan.summary()
        assert plan.summary().endswith("1 variant file")
        assert count(store, "SELECT count(*) FROM clips") == 10


def test_remove_deletes_rows_runs_and_variant_files_but_not_the_media(project):
    with project.store() as store:
        remove_dataset(store, "tiny")
        assert [r["name"] for r in store.query("SELECT name FROM datasets")] == ["other"]
        assert count(store, "SELECT count(*) FROM clips") == 1
        assert count(store, "SELECT count(*) FROM annotations") == 0
        kept = {r["id"] for r in store.query("SELECT id FROM runs")}
        assert kept == {project.runs["other"], project.runs["mixed"]}
        assert count(store, "SELECT count(*) FROM predictions WHERE run_id = ?",
                     project.runs["mixed"]) == 1  # its prediction on 'other' stays
        assert store.integrity_ok()
    assert not project.variant.path.exists() and not project.variants_dir.exists()
    assert (project.root / "media" / "a.mp4").is_file()


def test_rm_in_a_copied_project_leaves_the_originals_variant_files(project, capsys):
    copy = project.root.parent / "elsewhere" / project.db_path.name
    copy.parent.mkdir()
    copy.write_bytes(project.db_path.read_bytes())
    assert main(["--db", str(copy), "datasets", "rm", "tiny", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "0 variant files (1 variant file left, e.g. " in out
    assert f"{project.variant.path}: outside this project's folder" in out
    assert project.variant.path.is_file()                      # the original's variant
    with open_store(copy) as store:
        assert count(store, "SELECT count(*) FROM clips") == 1  # the copy's rows went


def test_cli_rm_asks_and_no_keeps_everything(project, monkeypatch, capsys):
    monkeypatch.setattr("builtins.input", lambda _q: "n")
    assert main(["--db", str(project.db_path), "datasets", "rm", "tiny"]) == 1
    out = capsys.readouterr()
    assert "8 clips, 1 variant" in out.out and "nothing deleted" in out.err
    with open_store(project.db_path) as store:
        assert count(store, "SELECT count(*) FROM clips") == 10
    assert main(["--db", str(project.db_path), "datasets", "rm", "tiny", "--yes"]) == 0
    assert "deleted dataset 'tiny'" in capsys.readouterr().out
    with open_store(project.db_path) as store:
        assert count(store, "SELECT count(*) FROM clips") == 1
    assert main(["--db", str(project.db_path), "datasets", "rm", "nope", "--yes"]) == 1
    assert "no dataset named 'nope'" in capsys.readouterr().err


def test_new_makes_an_empty_project_and_refuses_an_existing_file(tmp_path, capsys):
    path = tmp_path / "study.sqlite"
    assert main(["new", str(path)]) == 0
    with open_store(path) as store:
        assert count(store, "SELECT count(*) FROM datasets") == 0
    assert main(["new", str(path)]) == 1
    assert "already exists" in capsys.readouterr().err
    nested = tmp_path / "missing" / "x.sqlite"
    assert main(["new", str(nested)]) == 0          # `new` is the command that makes folders
    assert nested.is_file()


def test_opening_a_project_in_a_missing_folder_is_refused_and_makes_nothing(tmp_path, capsys):
    path = tmp_path / "typo" / "dir" / "x.sqlite"
    assert main(["--db", str(path), "ls"]) == 1
    err = capsys.readouterr().err
    assert f"{path.parent} does not exist; `mmla new {path}` creates a project" in err
    assert not (tmp_path / "typo").exists()


def test_the_default_project_is_made_with_its_folder_on_first_use(tmp_path, monkeypatch):
    monkeypatch.delenv("MMLA_STUDIO_DB", raising=False)
    monkeypatch.setenv("MMLA_STUDIO_HOME", str(tmp_path / "fresh" / "home"))
    assert main(["ls"]) == 0
    assert (tmp_path / "fresh" / "home" / "project.sqlite").is_file()


def test_new_with_demo_imports_the_demo(tmp_path):
    path = tmp_path / "demo.sqlite"
    assert main(["new", str(path), "--demo"]) == 0
    with open_store(path) as store:
        assert [r["name"] for r in store.query("SELECT name FROM datasets")] == ["demo"]
