"""MMLA's own LLaMA-Factory files as input: exact utterance, task and label for every form, and
their cluster video paths found under `mmla import --media-root DIR`, confined to DIR."""

from __future__ import annotations

import json

import pytest

from mmla_core.cli import main
from mmla_core.datasets import import_sharegpt
from mmla_core.datasets.sharegpt import utterance_of
from mmla_core.store import open_store
from mmla_core.store.catalog import dataset_by_name, list_clips, task_by_name
from mmla_core.store.labels import gold_label
from tests.support.mmla_records import RECORDS, task_of, turns
from tests.support.mmla_tree import tiny_clip

FORMS = ("video_sft.json", "text_sft.json")


def write_mmla_files(folder, fixture: str) -> dict:
    """Each fixture file written under its MMLA name; {path: its records}."""
    files = {}
    for file_name, records in json.loads((RECORDS / fixture).read_text("utf-8")).items():
        path = folder / file_name
        path.write_text(json.dumps(records, ensure_ascii=False, indent=4), encoding="utf-8")
        files[path] = records
    return files


def imported(store, name: str) -> dict[str, tuple]:
    """external id -> (split, transcript, label, media path) of dataset `name`."""
    dataset = dataset_by_name(store, name)
    task_id = next(t for t, _ in _tasks(store, dataset["id"]))
    return {c["external_id"]: (c["split"], c["transcript"], gold_label(store, c["id"], task_id),
                               c["media_path"])
            for c in list_clips(store, dataset_id=dataset["id"])}


def _tasks(store, dataset_id):
    from mmla_core.store.catalog import tasks_for_dataset

    return tasks_for_dataset(store, dataset_id)


@pytest.mark.parametrize("fixture", FORMS)
def test_every_mmla_file_gives_the_exact_utterance_task_and_label(tmp_path, fixture):
    files = write_mmla_files(tmp_path, fixture)
    with open_store(tmp_path / "p.sqlite") as store:
        for path, records in files.items():
            report = import_sharegpt(store, path)
            task = task_of(path.name)
            assert report.labels == len(records) and task_by_name(store, task.name)
            got = imported(store, path.stem)
            for record in records:
                human, gpt = turns(record)
                split, transcript, label, _ = got[str(record["id"])]
                assert split == path.stem.split("_")[1]
                assert transcript == utterance_of(human)
                assert label == task.canonical_label(gpt.partition(": ")[2])
    assert imported_utterance(tmp_path, fixture) is not None


def imported_utterance(tmp_path, fixture):
    """The MIntRec record 0 utterance, which keeps its own final period in both forms."""
    with open_store(tmp_path / "p.sqlite") as store:
        name = ("MIntRec_dev_intent_llamafactory" if fixture == "video_sft.json"
                else "MIntRec_dev_text_intent_llamafactory")
        transcript = imported(store, name)["0"][1]
    assert transcript == "that's a really good point."
    return transcript


def local_copy(root, *names: str) -> None:
    """A local copy of MMLA's data: <root>/<DS folder>/video/<file>."""
    root.mkdir(parents=True, exist_ok=True)
    source = tiny_clip(root / ".src.mp4")
    for name in names:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())


def test_media_root_maps_cluster_paths_by_dataset_folder_and_file(tmp_path, capsys):
    files = write_mmla_files(tmp_path, "video_sft.json")
    data = tmp_path / "MMLA-Datasets"
    local_copy(data, "MIntRec/video/MIntRec_S05_E15_248.mp4",
               "MIntRec/video/MIntRec_S05_E10_206.mp4",
               "CH-SIMSv2.0/video/Ch-sims_video_0001_0012.mp4",  # the Hugging Face folder name
               "MOSI/MIntRec_S05_E20_276.mp4")                   # another dataset's file
    (data / "MIntRec" / "video" / "MIntRec_S05_E20_276.mp4").symlink_to(
        data / "MOSI" / "MIntRec_S05_E20_276.mp4")
    outside = tmp_path / "outside.mp4"
    local_copy(tmp_path, "outside.mp4")
    (data / "Ch-sims" / "video").mkdir(parents=True)
    (data / "Ch-sims" / "video" / "Ch-sims_video_0005_0005.mp4").symlink_to(outside)
    db = tmp_path / "p.sqlite"
    mintrec = next(p for p in files if p.name.startswith("MIntRec_"))
    chsims = next(p for p in files if p.name.startswith("Ch-sims_"))
    for path, code in ((mintrec, 0), (chsims, 3)):  # 3: a record stays text-only, reported
        assert main(["--db", str(db), "import", str(path), "--media-root", str(data),
                     "--no-probe"]) == code
    out = capsys.readouterr().out
    with open_store(db) as store:
        media = {k: v[3] for k, v in imported(store, mintrec.stem).items()}
        ch_media = {k: v[3] for k, v in imported(store, chsims.stem).items()}
    assert media == {"0": "MIntRec/video/MIntRec_S05_E15_248.mp4",
                     "2": "MIntRec/video/MIntRec_S05_E10_206.mp4",
                     "13": "MIntRec/video/MIntRec_S05_E20_276.mp4"}  # a link inside the root
    assert ch_media == {"0": "CH-SIMSv2.0/video/Ch-sims_video_0001_0012.mp4", "16": None}
    assert "Ch-sims_video_0005_0005.mp4" in out  # its link leads out of the root: refused


def test_without_a_media_root_the_warning_names_the_real_option(tmp_path):
    files = write_mmla_files(tmp_path, "video_sft.json")
    path = next(p for p in files if p.name.startswith("MOSI_"))
    with open_store(tmp_path / "p.sqlite") as store:
        report = import_sharegpt(store, path)
    assert report.text_only == report.added == 2
    assert all("pass --media-root DIR to `mmla import`" in i.message
               and "pass media_root" not in i.message for i in report.issues)
    assert "outside the dataset root" in report.issues[0].message


def test_text_files_bare_video_names_are_found_under_the_dataset_folder(tmp_path):
    files = write_mmla_files(tmp_path, "text_sft.json")
    path = next(p for p in files if p.name == "MIntRec_dev_text_intent_llamafactory.json")
    data = tmp_path / "data"
    local_copy(data, "MIntRec/video/MIntRec_S05_E15_248.mp4")
    with open_store(tmp_path / "p.sqlite") as store:
        report = import_sharegpt(store, path, media_root=data)
        media = {k: v[3] for k, v in imported(store, path.stem).items()}
    assert media == {"0": "MIntRec/video/MIntRec_S05_E15_248.mp4", "2": None}
    (issue,) = report.issues
    assert "MIntRec_S05_E10_206.mp4" in issue.message and "not found" in issue.message


def test_media_root_is_refused_where_it_does_not_apply(tmp_path, capsys):
    local_copy(tmp_path / "clips", "a.mp4")
    db = str(tmp_path / "p.sqlite")
    assert main(["--db", db, "import", str(tmp_path / "clips"), "--media-root",
                 str(tmp_path)]) == 2  # a flag a folder import does not take: usage
    assert "sharegpt" in capsys.readouterr().err
    files = write_mmla_files(tmp_path, "video_sft.json")
    assert main(["--db", db, "import", str(next(iter(files))), "--media-root",
                 str(tmp_path / "nope")]) != 0
    assert "no such folder" in capsys.readouterr().err
