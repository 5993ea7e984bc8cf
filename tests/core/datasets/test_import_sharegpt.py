"""LLaMA-Factory sharegpt import: transcripts, task inference, confined paths, round trip."""

from __future__ import annotations

import json

import pytest

from mmla_core.datasets import DatasetImportError, export_llamafactory, import_mmla, import_sharegpt
from mmla_core.prompts import render
from mmla_core.store import open_store
from mmla_core.store.catalog import list_clips, task_by_name, tasks_for_dataset
from mmla_core.store.labels import gold_label
from mmla_core.tasks import builtin_task
from tests.support.mmla_tree import make_mmla_tree, tiny_clip


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "project.sqlite") as s:
        yield s


def record(task_name: str, transcript: str, label: str, video: str | None = None, **extra):
    task = builtin_task(task_name)
    rec = {**extra, "conversations": [
        {"from": "human", "value": "<video>" + render(task, transcript, kind="sft")},
        {"from": "gpt", "value": f"{task.prompt_word}: {label}"}]}
    if video is not None:
        rec["videos"] = [video]
    return rec


def clip_labels(store, dataset_id: int) -> dict[str, tuple[str, str | None, str | None]]:
    """external id -> (transcript, media path, 'task=label' of the clip's one label)."""
    tasks = tasks_for_dataset(store, dataset_id)
    result = {}
    for clip in list_clips(store, dataset_id=dataset_id):
        found = [f"{t.name}={gold_label(store, clip['id'], tid)}" for tid, t in tasks
                 if gold_label(store, clip["id"], tid)]
        result[clip["external_id"]] = (clip["transcript"], clip["media_path"],
                                       found[0] if found else None)
    return result


def test_transcripts_and_inferred_tasks(store, tmp_path):
    tiny_clip(tmp_path / "v1.mp4")
    records = [
        record("MIntRec", "well, i think so. Really", "inform", "v1.mp4", id="a"),
        record("MIntRec2.0", "sure", "inform", id="b"),  # same word+label: the list decides
        record("MUStARD", "what?", "sarcastic", id="c"),
        {"id": "d", "conversations": [{"from": "human", "value": "free text prompt"},
                                      {"from": "gpt", "value": "emotion: Joy"}]},
        record("MELD-DA", "hm", "question", id="e"),  # MELD-DA and IEMOCAP-DA share a list
    ]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(records))
    report = import_sharegpt(store, path)
    assert report.added == 5 and report.text_only == 4 and report.labels == 4
    (issue,) = report.issues
    assert issue.location == f"{path}[4]" and "(MELD-DA, IEMOCAP-DA); pass task=" in issue.message
    assert clip_labels(store, report.dataset_id) == {
        "a": ("well, i think so. Really", "v1.mp4", "MIntRec=inform"),
        "b": ("sure", None, "MIntRec2.0=inform"),
        "c": ("what?", None, "MUStARD=sarcastic"),
        "d": ("free text prompt", None, "MELD=joy"),
        "e": ("hm", None, None),
    }


def test_mmla_file_name_gives_split_and_task(store, tmp_path):
    path = tmp_path / "MOSI_dev_text_sentiment_llamafactory.json"
    path.write_text(json.dumps([record("MOSI", "great", "Positive"), record("MOSI", "no", "x")]))
    report = import_sharegpt(store, path)
    clips = list_clips(store, dataset_id=report.dataset_id)
    assert {c["split"] for c in clips} == {"dev"} and report.labels == 1
    (issue,) = report.issues
    assert issue.location == f"{path}[1]" and "not a MOSI label" in issue.message
    with pytest.raises(DatasetImportError, match="unknown task"):
        import_sharegpt(store, path, task="Nope")


def test_media_paths_are_confined(store, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    tiny_clip(data / "in.mp4")
    tiny_clip(tmp_path / "secret.mp4")
    path = data / "records.json"
    path.write_text(json.dumps([
        record("MOSI", "one", "positive", "../secret.mp4", id="dotdot"),
        record("MOSI", "two", "negative", str(tmp_path / "secret.mp4"), id="abs_out"),
        record("MOSI", "three", "positive", str(data / "in.mp4"), id="abs_in"),
        record("MOSI", "four", "positive", "missing.mp4", id="missing"),
    ]))
    report = import_sharegpt(store, path, task="MOSI")
    media = {k: v[1] for k, v in clip_labels(store, report.dataset_id).items()}
    assert media == {"dotdot": None, "abs_out": None, "abs_in": "in.mp4", "missing": None}
    where = [i.location for i in report.issues]
    assert where == [f"{path}[0]", f"{path}[1]", f"{path}[3]"]
    assert "through '..'" in report.issues[0].message
    assert "outside the dataset root" in report.issues[1].message


def test_broken_files_and_records_are_reported(store, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": 1,\n "videos": [}')
    report = import_sharegpt(store, bad)
    assert report.dataset_id is None and "not valid JSON" in report.issues[0].message
    assert report.issues[0].location == f"{bad}:2"
    lines = tmp_path / "records.jsonl"
    lines.write_text("\n".join([
        json.dumps(record("MELD", "hi", "joy")), "{oops", json.dumps({"id": 3}), json.dumps(
            record("MELD", "dup", "anger", id="0")), json.dumps(record("MELD", "x", "bored"))]))
    report = import_sharegpt(store, lines)
    assert report.added == 2 and report.skipped == 3
    assert [i.location.rsplit(":", 1)[1] for i in report.issues] == ["2", "3", "4", "5"]
    with pytest.raises(DatasetImportError):
        import_sharegpt(store, tmp_path / "absent.json")


def test_own_llamafactory_export_round_trips_labels(store, tmp_path):
    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": {"train": 4, "dev": 3}})
    import_mmla(store, tree.root)
    out = tmp_path / "lf"
    files = export_llamafactory(store, out, dataset="MIntRec", task="MIntRec")
    source = {r.id: (r.utterance, r.label) for rows in tree.rows["MIntRec"].values() for r in rows}
    task_id = task_by_name(store, "MIntRec")[0]
    for path in files:
        kept = import_sharegpt(store, path, media_root=tree.folder("MIntRec"))
        assert kept.issues == [] and kept.text_only == 0
        text_only = import_sharegpt(store, path, name=f"{path.stem}_nomedia")
        assert text_only.text_only == text_only.added and len(text_only.issues) == text_only.added
        for report in (kept, text_only):
            clips = list_clips(store, dataset_id=report.dataset_id)
            got = {c["external_id"]: (c["transcript"], gold_label(store, c["id"], task_id))
                   for c in clips}
            assert got == {k: source[k] for k in got} and len(got) in (3, 4)
            assert {c["split"] for c in clips} == {path.stem.split("_")[1]}
    clip = list_clips(store, dataset_id=kept.dataset_id)[0]
    assert clip["media_path"].startswith("video/MIntRec_")


def test_mmla_zero_shot_test_file_gives_dataset_split_task_and_media(store, tmp_path):
    """`<DS>/test_<task>.json` as thuiar/MMLA data_preprocess/generate_test_json.py (@ bc5232da)
    writes it: `{"id": index, "video": f"{dataset_name}_{idx}.mp4", "conversations": [human:
    f"{utterance}", gpt: str(label).lower()]}`, the file read by infer.py from
    `<base_data_path>/<DATASET>/`, its videos in `<DATASET>/video/`."""
    folder = tmp_path / "IEMOCAP"
    (folder / "video").mkdir(parents=True)
    tiny_clip(folder / "video" / "IEMOCAP_Ses01F_impro01_F000.mp4")
    rows = [{"id": 0, "video": "IEMOCAP_Ses01F_impro01_F000.mp4",
             "conversations": [{"from": "human", "value": "Excuse me."},
                               {"from": "gpt", "value": "neutral"}]}]
    (folder / "test_emotion.json").write_text(json.dumps(rows, ensure_ascii=False, indent=4))
    report = import_sharegpt(store, folder / "test_emotion.json", name="IEMOCAP")
    assert report.added == 1 and report.issues == []
    (clip,) = list_clips(store)
    assert (clip["split"], clip["transcript"]) == ("test", "Excuse me.")
    assert clip["media_path"] == "video/IEMOCAP_Ses01F_impro01_F000.mp4"
    assert gold_label(store, clip["id"], task_by_name(store, "IEMOCAP")[0]) == "neutral"
