"""LLaMA-Factory / JSONL / CSV export: MMLA's exact strings, dataset_info merge, round trips."""

from __future__ import annotations

import csv
import json

import pytest

from mmla_core.datasets import (
    ExportError,
    export_csv,
    export_jsonl,
    export_llamafactory,
    import_folder,
    import_mmla,
)
from mmla_core.store import open_store
from mmla_core.store.catalog import dataset_by_name, ensure_task, list_clips, task_by_name
from mmla_core.store.labels import gold_label, set_label
from mmla_core.tasks import builtin_task
from tests.support.mmla_tree import Row, make_mmla_tree, tiny_clip, write_tsv

MMLA_SAMPLE = (
    "<video>You are presented with a video in which the speaker says: apparently, teens are "
    "drinking the slushie stuff inside of these for the alcohol. Based on the text, video, and "
    "audio content, what is the intent of this speaker?\nThe candidate labels for intent are: "
    "[complain, praise, apologise, thank, criticize, agree, taunt, flaunt, joke, oppose, comfort, "
    "care, inform, advise, arrange, introduce, leave, prevent, greet, ask for help]. Respond in "
    "the format: 'intent: [label]'. Only one label should be provided."
)
SLUSHIE = "apparently, teens are drinking the slushie stuff inside of these for the alcohol."


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "project.sqlite") as s:
        yield s


@pytest.fixture()
def mintrec(store, tmp_path):
    """MIntRec with the paper's sample row, one row without video and one unlabelled row."""
    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": {"train": 3, "dev": 2}})
    folder = tree.folder("MIntRec")
    rows = [Row("S04_E01_100", SLUSHIE, "inform", True), *tree.rows["MIntRec"]["train"],
            Row("no_video", "text only", "joke", False), Row("no_label", "unlabelled", "", False)]
    write_tsv(folder / "train.tsv", builtin_task("MIntRec"), rows)
    tiny_clip(folder / "video" / "MIntRec_S04_E01_100.mp4")
    import_mmla(store, tree.root)
    return folder


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_video_export_matches_mmla_sample_character_for_character(store, mintrec, tmp_path):
    out = tmp_path / "lf"
    files = export_llamafactory(store, out, dataset="MIntRec", task="MIntRec")
    assert [p.name for p in files] == ["MIntRec_train_intent_llamafactory.json",
                                       "MIntRec_dev_intent_llamafactory.json"]
    train = load(files[0])
    sample = next(r for r in train if r["id"] == "S04_E01_100")
    assert sample["conversations"][0] == {"from": "human", "value": MMLA_SAMPLE}
    assert sample["conversations"][1] == {"from": "gpt", "value": "intent: inform"}
    assert sample["videos"] == [str((mintrec / "video" / "MIntRec_S04_E01_100.mp4").resolve())]
    assert list(sample) == ["id", "videos", "conversations"]
    assert files.written == {files[0].name: 4, files[1].name: 2}
    assert files.skipped == {"no_media": 1, "no_label": 1}
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_text_and_video_audio_modes(store, mintrec, tmp_path):
    out = tmp_path / "lf"
    text = export_llamafactory(store, out, dataset="MIntRec", task="MIntRec", splits=["train"],
                               mode="text")
    assert text[0].name == "MIntRec_train_text_intent_llamafactory.json"
    records = load(text[0])
    assert len(records) == 5 and "videos" not in records[0]
    sample = next(r for r in records if r["id"] == "S04_E01_100")
    assert sample["conversations"][0]["value"].startswith(f"The speaker says: {SLUSHIE} Based on "
                                                          "the text, what is the intent")
    both = export_llamafactory(store, out, dataset="MIntRec", task="MIntRec", splits=["dev"],
                               mode="video_audio")
    record = load(both[0])[0]
    assert record["conversations"][0]["value"].startswith("<video><audio>You are presented")
    assert record["audios"] == record["videos"]
    info = load(out / "dataset_info.json")
    assert info["MIntRec_dev_intent_llamafactory"]["columns"] == {
        "messages": "conversations", "videos": "videos", "audios": "audios"}
    assert info["MIntRec_train_text_intent_llamafactory"]["columns"] == {
        "messages": "conversations"}


def test_dataset_info_merge_keeps_other_entries(store, mintrec, tmp_path):
    out = tmp_path / "lf"
    out.mkdir()
    theirs = {"identity": {"file_name": "identity.json"}}
    (out / "dataset_info.json").write_text(json.dumps(theirs))
    export_llamafactory(store, out, dataset="MIntRec", task="MIntRec", splits=["train"])
    export_llamafactory(store, out, dataset="MIntRec", task="MIntRec", splits=["train", "dev"])
    info = load(out / "dataset_info.json")
    assert info["identity"] == theirs["identity"]
    assert info["MIntRec_train_intent_llamafactory"] == {
        "file_name": "MIntRec_train_intent_llamafactory.json", "formatting": "sharegpt",
        "columns": {"messages": "conversations", "videos": "videos"}}
    assert set(info) == {"identity", "MIntRec_train_intent_llamafactory",
                         "MIntRec_dev_intent_llamafactory"}
    (out / "dataset_info.json").write_text("{broken")
    with pytest.raises(ExportError, match="not overwriting"):
        export_llamafactory(store, out, dataset="MIntRec", task="MIntRec")
    assert (out / "dataset_info.json").read_text() == "{broken"


def test_bad_arguments_raise_export_error(store, mintrec, tmp_path):
    with pytest.raises(ExportError, match="no dataset"):
        export_llamafactory(store, tmp_path, dataset="Nope", task="MIntRec")
    with pytest.raises(ExportError, match="no task"):
        export_llamafactory(store, tmp_path, dataset="MIntRec", task="Nope")
    with pytest.raises(ExportError, match="mode"):
        export_llamafactory(store, tmp_path, dataset="MIntRec", task="MIntRec", mode="audio")


def test_a_split_with_nothing_to_write_is_named_with_the_splits_there_are(store, mintrec,
                                                                           tmp_path):
    """A dataset whose clips have no split (a clip folder) exported as train,dev wrote nothing
    and said only "wrote no files; skipped: none"."""
    files = export_llamafactory(store, tmp_path / "lf", dataset="MIntRec", task="MIntRec",
                                splits=("train", "test"))
    assert [p.name for p in files] == ["MIntRec_train_intent_llamafactory.json"]
    assert files.empty_splits == ["test"]
    summary = files.summary()
    assert "no file for split test (no clip of it kept; clips of splits not exported: dev 2)" \
        in summary
    nothing = export_llamafactory(store, tmp_path / "none", dataset="MIntRec", task="MIntRec",
                                  splits=("",))
    assert not nothing and "no file for split (none)" in nothing.summary()


def test_dialogue_act_answer_uses_spaced_task_word(store, tmp_path):
    make_mmla_tree(tmp_path, {"MELD-DA": {"dev": 2}})
    import_mmla(store, tmp_path)
    (path,) = export_llamafactory(store, tmp_path / "out", dataset="MELD-DA", task="MELD-DA",
                                  splits=["dev"])
    record = load(path)[0]
    assert path.name == "MELD-DA_dev_dialogue_act_llamafactory.json"
    assert record["conversations"][1]["value"].startswith("dialogue act: ")
    assert "'dialogue act: [label]'" in record["conversations"][0]["value"]


def labels_by_external_id(store, dataset: str, task: str) -> dict[str, str | None]:
    ds = dataset_by_name(store, dataset)
    task_id = task_by_name(store, task)[0]
    return {(c["split"], c["external_id"]): gold_label(store, c["id"], task_id)
            for c in list_clips(store, dataset_id=ds["id"])}


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_jsonl_and_csv_exports_reimport_with_the_same_labels(store, mintrec, fmt):
    clip = next(c for c in list_clips(store) if c["external_id"] == "no_label")
    mosi = ensure_task(store, builtin_task("MOSI"))  # a human label on a second task
    set_label(store, clip["id"], mosi, "negative", "alice")
    manifest = mintrec / f"export.{fmt}"
    written = (export_jsonl if fmt == "jsonl" else export_csv)(store, manifest, dataset="MIntRec")
    assert written.records == 8
    meta = json.loads(written.info_path.read_text(encoding="utf-8"))
    assert meta["labels"]["source"] == "curated" and meta["labels"]["counts"]["person"] == 1
    report = import_folder(store, mintrec, name="copy", manifest=manifest)
    assert report.issues == [] and report.added == 8 and report.text_only == 2
    for task in ("MIntRec", "MOSI"):
        assert labels_by_external_id(store, "copy", task) == labels_by_external_id(
            store, "MIntRec", task)
    copied = {c["external_id"]: c for c in list_clips(store, dataset_id=report.dataset_id)}
    assert copied["S04_E01_100"]["transcript"] == SLUSHIE
    assert copied["S04_E01_100"]["media_path"] == "video/MIntRec_S04_E01_100.mp4"


def test_csv_export_columns(store, mintrec, tmp_path):
    export_csv(store, tmp_path / "all.csv", split="dev")
    with (tmp_path / "all.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and list(rows[0])[:7] == ["id", "dataset", "split", "external_id",
                                                   "path", "transcript", "health"]
    assert all(r["label:MIntRec"] in builtin_task("MIntRec").labels for r in rows)


def test_a_read_only_project_exports_its_files_and_says_the_log_is_not_kept(demo_db, tmp_path):
    """A project opened read-only (a shared mount, a rank writing shards) still exports: the
    files and their mmla_export.json are written, only the project's export log is not."""
    with open_store(demo_db, read_only=True) as store:
        before = store.scalar("SELECT count(*) FROM exports")
        rows = export_csv(store, tmp_path / "out.csv", dataset="demo")
        files = export_llamafactory(store, tmp_path / "lf", dataset="demo", task="MELD")
        assert store.scalar("SELECT count(*) FROM exports") == before
    assert rows.records == 8 and (tmp_path / "out.csv.mmla_export.json").exists()
    assert files and (tmp_path / "lf" / "mmla_export.json").exists()
    for result in (rows, files):
        assert any("read-only" in w and "not in its export log" in w for w in result.warnings)
