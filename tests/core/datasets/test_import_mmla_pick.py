"""Which folder is an MMLA tree: one whose TSVs look like MMLA's (`<DS>/{train,dev,test}.tsv`
with `id`, `utterance` and a label column), not any folder holding a `*.tsv`. A stray TSV in a
media folder is ignored with a note naming it; a folder that reads both ways is refused, saying
which `--kind` to pass. (The GUI imports through the same `import_path`.)"""

from __future__ import annotations

import pytest

from mmla_core.cli import main as cli
from mmla_core.datasets import DatasetImportError
from mmla_core.datasets.auto import detect_kind, import_path
from mmla_core.datasets.mmla_pick import AmbiguousKindError
from mmla_core.store import open_store
from mmla_core.store.catalog import dataset_by_name, list_clips, list_datasets
from tests.support.mmla_tree import clip_folder, make_mmla_tree, tiny_clip

MMLA_HEADER = "id\tutterance\tintent\n"
UNREAD = "not an MMLA split file (MMLA reads <DS>/{train,dev,test}.tsv), ignored"


@pytest.fixture()
def folder(tmp_path):
    """A media folder: a.mp4, b.mp4."""
    return clip_folder(tmp_path / "clips")


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "project.sqlite") as project:
        yield project


def media_paths(store, name: str = "clips") -> list[str]:
    dataset = dataset_by_name(store, name)
    return sorted(c["media_path"] for c in list_clips(store, dataset_id=dataset["id"]))


def run_cli(tmp_path, *args: str) -> int:
    return cli(["--db", str(tmp_path / "project.sqlite"), "import", *args, "--no-probe"])


def test_a_stray_tsv_beside_the_clips_is_ignored_with_a_note(store, folder):
    (folder / "scores.tsv").write_text("clip\tscore\na\t3\n")
    assert detect_kind(folder) == "folder"
    (report,) = import_path(store, folder)
    assert media_paths(store) == ["a.mp4", "b.mp4"] and report.issues == []
    (note,) = [n for n in report.notes() if "scores.tsv" in n]
    assert "not an MMLA split file" in note and note.endswith("ignored")


def test_a_tsv_one_folder_down_named_like_a_split_but_not_mmla_s(store, folder):
    (folder / "notes").mkdir()
    (folder / "notes" / "annotations.tsv").write_text("clip\tcomment\na\tdark\n")
    (folder / "notes" / "train.tsv").write_text("clip\tscore\na\t3\n")
    (report,) = import_path(store, folder)
    assert media_paths(store) == ["a.mp4", "b.mp4"]
    notes = "\n".join(report.notes())
    assert "notes/annotations.tsv: not an MMLA split file" in notes
    assert "notes/train.tsv: not an MMLA split file (no id, utterance or label column; its " \
           "columns: clip, score), ignored" in notes


def test_the_cli_imports_the_media_and_names_the_ignored_tsv(tmp_path, folder, capsys):
    (folder / "notes").mkdir()
    (folder / "notes" / "annotations.tsv").write_text("clip\tcomment\n")
    assert run_cli(tmp_path, str(folder)) == 0
    out = capsys.readouterr().out
    assert "2 added" in out and "notes/annotations.tsv: not an MMLA split file" in out


def test_an_mmla_tree_is_still_one_and_its_own_stray_tsv_is_noted(store, tmp_path):
    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": {"train": 2, "dev": 1}})
    (tree.root / "README.tsv").write_text("what\twhere\n")
    assert detect_kind(tree.root) == "mmla" and detect_kind(tree.folder("MIntRec")) == "mmla"
    (report,) = import_path(store, tree.root)
    assert report.dataset == "MIntRec" and report.added == 3 and report.issues == []
    assert report.ignored == [f"README.tsv: {UNREAD}"]


def test_each_tsv_in_a_dataset_folder_that_is_no_split_file_is_noted_in_its_report(
        store, tmp_path):
    """As in a media folder: a TSV the MMLA import leaves unread is named, in the report of
    the dataset folder it lies in (one at the tree's top: the first report), once."""
    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": {"train": 2}, "MELD": {"dev": 1}},
                          with_video=False)
    (tree.folder("MIntRec") / "notes.tsv").write_text("id\tutterance\tintent\n")
    (tree.folder("MELD") / "video_list.tsv").write_text("file\n")
    (tree.root / "docs").mkdir()
    (tree.root / "docs" / "splits.tsv").write_text("split\tcount\n")
    meld, mintrec = import_path(store, tree.root)
    assert (meld.dataset, mintrec.dataset) == ("MELD", "MIntRec")
    assert meld.ignored == [f"MELD/video_list.tsv: {UNREAD}", f"docs/splits.tsv: {UNREAD}"]
    assert mintrec.ignored == [f"MIntRec/notes.tsv: {UNREAD}"]
    (only,) = import_path(store, tree.root, only=["MIntRec"])  # MELD's own files: not asked
    assert only.ignored == [f"MIntRec/notes.tsv: {UNREAD}", f"docs/splits.tsv: {UNREAD}"]
    (one,) = import_path(store, tree.folder("MIntRec"))  # the dataset folder itself
    assert one.ignored == [f"notes.tsv: {UNREAD}"]


def test_the_cli_names_the_unread_tsv_of_an_mmla_tree(tmp_path, capsys):
    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": {"train": 1}})
    (tree.folder("MIntRec") / "notes.tsv").write_text("id\tnote\n")
    assert run_cli(tmp_path, str(tree.root)) == 0  # a note, not an issue
    out = capsys.readouterr().out
    assert "1 added" in out and f"MIntRec/notes.tsv: {UNREAD}" in out


def test_mmla_s_columns_match_as_the_importer_reads_them(tmp_path):
    """Any case, spaces for underscores, a generic `label` column, a BOM: as SplitParser."""
    (tmp_path / "MELD").mkdir()
    (tmp_path / "MELD" / "dev.tsv").write_text("\ufeffIndex\tID\tUtterance\tLabel\n")
    (tmp_path / "MELD-DA").mkdir()
    (tmp_path / "MELD-DA" / "test.tsv").write_text("id\tutterance\tDialogue Act\n")
    assert detect_kind(tmp_path / "MELD") == "mmla" and detect_kind(tmp_path / "MELD-DA") == "mmla"


def test_a_folder_of_only_a_stray_tsv_is_refused_naming_it(store, tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    (root / "scores.tsv").write_text("clip\tscore\n")
    with pytest.raises(DatasetImportError) as refused:
        import_path(store, root)
    assert "nothing to import" in str(refused.value) and "scores.tsv" in str(refused.value)
    assert list_datasets(store) == []


def test_mmla_s_split_file_among_the_clips_is_ambiguous(store, folder):
    (folder / "train.tsv").write_text(MMLA_HEADER + "a\thello\tjoke\n")
    with pytest.raises(AmbiguousKindError) as refused:
        import_path(store, folder)
    message = str(refused.value)
    assert "train.tsv" in message and "a.mp4" in message
    assert "--kind mmla" in message and "--kind folder" in message
    assert "File > Import" not in message  # the GUI asks with its own words (its kind choice)
    assert list_datasets(store) == []
    # what the GUI words its request from: the candidates seen, and each kind with what it takes
    assert refused.value.found in message and "train.tsv" in refused.value.found
    assert "a.mp4" in refused.value.found and "--kind" not in refused.value.found
    assert [kind for kind, _what in refused.value.choices] == ["mmla", "folder"]


def test_a_split_file_one_column_short_among_the_clips_is_ambiguous(store, folder):
    """Broken MMLA file or a list of its own? Not guessed: the refusal names the column."""
    (folder / "dev.tsv").write_text("id\tintent\na\tjoke\n")
    with pytest.raises(AmbiguousKindError, match="utterance") as refused:
        detect_kind(folder)
    assert "--kind folder" in str(refused.value)


def test_a_split_file_one_column_short_alone_is_mmla_and_the_importer_says_which(store, tmp_path):
    (tmp_path / "MIntRec").mkdir()
    (tmp_path / "MIntRec" / "dev.tsv").write_text("id\tintent\na\tjoke\n")
    assert detect_kind(tmp_path) == "mmla"
    with pytest.raises(DatasetImportError, match=r"missing column\(s\) utterance"):
        import_path(store, tmp_path)  # its only file is that one: no clip, a failure


def test_an_mmla_tree_with_media_outside_its_video_folders_is_ambiguous(store, tmp_path):
    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": {"train": 2}})
    (tree.root / "raw").mkdir()
    tiny_clip(tree.root / "raw" / "take1.mp4")
    with pytest.raises(AmbiguousKindError, match=r"raw/take1\.mp4"):
        detect_kind(tree.root)


def test_an_mmla_tree_with_a_manifest_at_its_top_is_ambiguous(tmp_path):
    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": {"train": 1}}, with_video=False)
    (tree.root / "manifest.jsonl").write_text('{"path": "MIntRec/video/x.mp4"}\n')
    with pytest.raises(AmbiguousKindError, match=r"manifest\.jsonl"):
        detect_kind(tree.root)
    (tree.root / "manifest.jsonl").write_text('{"note": "not a manifest"}\n')
    assert detect_kind(tree.root) == "mmla"


def test_the_cli_refusal_is_a_usage_error_and_kind_decides(tmp_path, folder, capsys, store):
    (folder / "train.tsv").write_text(MMLA_HEADER + "a\thello\tjoke\n")
    assert run_cli(tmp_path, str(folder)) == 2
    err = capsys.readouterr().err
    assert "--kind mmla" in err and "--kind folder" in err and "usage:" in err
    assert run_cli(tmp_path, str(folder), "--kind", "folder") == 0
    assert media_paths(store) == ["a.mp4", "b.mp4"]


def test_an_mmla_tree_with_eaf_files_beside_it_reads_as_mmla_or_eaf(tmp_path):
    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": {"train": 1}}, with_video=False)
    (tree.root / "session.eaf").write_text("<ANNOTATION_DOCUMENT/>")
    with pytest.raises(AmbiguousKindError) as refused:
        detect_kind(tree.root)
    assert [kind for kind, _what in refused.value.choices] == ["mmla", "eaf"]
    assert "--kind eaf (the .eaf files" in str(refused.value)


@pytest.mark.parametrize(("kind", "said"), [
    ("mmla", "no MMLA dataset folder"), ("eaf", "no .eaf files"),
    ("sharegpt", "a folder; a sharegpt import reads one .json or .jsonl file")])
def test_a_kind_the_folder_is_not_is_refused_saying_what_and_where(store, folder, kind, said):
    import_path(store, folder, name="kept")
    before = store.query("SELECT * FROM clips ORDER BY id")
    with pytest.raises(DatasetImportError) as refused:
        import_path(store, folder, kind=kind)
    assert said in str(refused.value) and str(folder) in str(refused.value)
    assert [d["name"] for d in list_datasets(store)] == ["kept"]
    assert store.query("SELECT * FROM clips ORDER BY id") == before


@pytest.mark.parametrize("kind", ["mmla", "folder"])
def test_the_kind_a_two_way_folder_was_imported_as_is_found_again(tmp_path, kind):
    """What the GUI offers when it asks again: the project's own datasets say it (each MMLA
    dataset folder's root for mmla, the folder's for a clip folder)."""
    from mmla_core.datasets.auto import kind_imported_before

    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": {"train": 1}})
    tiny_clip(tree.root / "take1.mp4")
    with open_store(tmp_path / f"{kind}.sqlite") as store:
        assert kind_imported_before(store, tree.root, ["mmla", "folder"]) is None
        import_path(store, tree.root, kind=kind)
        assert kind_imported_before(store, tree.root, ["mmla", "folder"]) == kind
        assert kind_imported_before(store, tree.root, ["eaf"]) is None
        assert kind_imported_before(store, tmp_path, ["mmla", "folder"]) is None
