"""An import that finds no clip is a failure, not a success "with problems": `mmla import` exits
1 (as for a path that is not there) saying the path, the kind it was read as and what that kind
looks for, and nothing is written: no empty dataset, and a dataset imported before is untouched.
A re-import whose rows are all unchanged is not "no clip": it succeeds with 0 new."""

from __future__ import annotations

import sqlite3

import pytest

from mmla_core.cli import main as cli
from mmla_core.datasets import DatasetImportError
from mmla_core.datasets.auto import import_path
from mmla_core.store import open_store
from tests.support.mmla_tree import make_mmla_tree

MMLA_ROWS = "id\tutterance\tintent\na1\tthank you so much\tThank\na2\tsorry\tApologise\n"


def every_row(db) -> dict[str, list[tuple]]:
    """Each table's rows: what the project holds, to see an import changed nothing."""
    conn = sqlite3.connect(db)
    try:
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {table: sorted(map(repr, conn.execute(f'SELECT * FROM "{table}"')))
                for table in tables}
    finally:
        conn.close()


def run(db, *args: str) -> int:
    return cli(["--db", str(db), "import", *map(str, args), "--no-probe"])


@pytest.fixture()
def db(tmp_path):
    path = tmp_path / "project.sqlite"
    open_store(path).close()
    return path


@pytest.mark.parametrize("kind", ["mmla", "auto"])
def test_a_folder_not_named_as_an_mmla_dataset_fails_saying_what_was_looked_for(
        db, tmp_path, capsys, kind):
    folder = tmp_path / "myclips"
    folder.mkdir()
    (folder / "train.tsv").write_text(MMLA_ROWS)
    before = every_row(db)
    assert run(db, folder, "--kind", kind) == 1  # a failed command, as for a missing path
    err = capsys.readouterr().err
    assert f"{folder}: no clip to import as MMLA tree (mmla:" in err, err
    assert "train/dev/test.tsv" in err and "'myclips' is not an MMLA dataset folder name" in err
    assert "MIntRec" in err and "MELD" in err and "(train.tsv) were not read" in err
    assert every_row(db) == before  # no dataset, no task, nothing


def test_a_dataset_folder_whose_rows_all_fail_writes_nothing(db, tmp_path, capsys):
    folder = tmp_path / "mmla" / "MIntRec"
    folder.mkdir(parents=True)
    (folder / "train.tsv").write_text("id\tintent\na1\tThank\n")  # no utterance column
    before = every_row(db)
    assert run(db, tmp_path / "mmla", "--kind", "mmla") == 1
    err = capsys.readouterr().err
    assert "missing column(s) utterance" in err and "no row to import in train.tsv" in err, err
    assert every_row(db) == before


def test_a_dataset_imported_before_is_untouched_when_its_source_now_gives_nothing(
        db, tmp_path, capsys):
    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": {"train": 3}}, with_video=False)
    assert run(db, tree.root) == 3  # imported (text-only: its one issue is the missing video/)
    assert run(db, tree.root) == 3  # all unchanged: a success with 0 new, not "nothing"
    assert "0 added, 0 updated, 3 unchanged" in capsys.readouterr().out
    imported = every_row(db)
    (tree.folder("MIntRec") / "train.tsv").write_text("id\tintent\n")  # emptied, broken
    assert run(db, tree.root) == 1
    assert "no row to import in train.tsv" in capsys.readouterr().err
    assert every_row(db) == imported


def test_one_empty_dataset_beside_one_that_imports_is_a_partial_success(db, tmp_path, capsys):
    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": {"train": 2}}, with_video=False)
    (tree.root / "myclips").mkdir()
    (tree.root / "myclips" / "train.tsv").write_text(MMLA_ROWS)
    assert run(db, tree.root) == 3
    assert "'myclips' is not an MMLA dataset folder name" in capsys.readouterr().out
    conn = sqlite3.connect(db)
    assert [name for (name,) in conn.execute("SELECT name FROM datasets")] == ["MIntRec"]
    conn.close()


def test_a_sharegpt_file_and_a_manifest_with_no_usable_record_write_nothing(db, tmp_path):
    """Nor the task the manifest's tasks.json defines: it is stored with the first clip."""
    records = tmp_path / "talk.json"
    records.write_text('[{"conversations": []}, 7]')
    manifest_folder = tmp_path / "clips"
    manifest_folder.mkdir()
    (manifest_folder / "manifest.csv").write_text("path,transcript\n,hello\n")  # names no clip
    (manifest_folder / "tasks.json").write_text('[{"name": "Mood", "labels": ["up", "down"]}]')
    before = every_row(db)
    with open_store(db) as store:
        with pytest.raises(DatasetImportError, match=r"talk\.json: no clip to import as "
                           r"sharegpt file \(sharegpt:"):
            import_path(store, records)
        with pytest.raises(DatasetImportError, match=r"no clip to import as Folder of clips "
                           r".*manifest\.csv:2: row has no 'path'"):
            import_path(store, manifest_folder)
    assert every_row(db) == before
