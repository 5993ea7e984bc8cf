"""A tiny dataset laid out as MMLA's (`<DS>/dev.tsv` + `<DS>/video/<DS>_<id>.mp4`), imported and
exported to LLaMA-Factory, must give MMLA's own files byte for byte.

The expected bytes are the first records of MMLA's files, copied exactly (tests/data/
mmla_records/heads/, sources in tests/data/mmla_records/README.md). Two differences are ours on
purpose (docs/evaluation.md, "Where we differ from MMLA's files"): a record's `id` is the clip's id
(MMLA writes the row's position in its split) and a text-only record's `video` is the clip's
absolute path (MMLA writes a bare file name); the test puts ours in their place and compares the
rest, layout included (4-space indent, key order per file, no newline at the end).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mmla_core.datasets import export_llamafactory, import_mmla
from mmla_core.datasets.sharegpt import utterance_of
from mmla_core.store import open_store
from mmla_core.tasks import builtin_task
from tests.support.mmla_records import RECORDS, task_of, turns
from tests.support.mmla_tree import Row, tiny_clip, write_tsv

HEADS = RECORDS / "heads"
CLUSTER_ROOT = "/mnt/gemininjceph2/geminicephfs/wx-mm-spr-xxxx/zhanghanlei/Datasets/"
# MMLA's file -> (dataset folder, the export mode that writes that file)
FILES = {
    "MIntRec_dev_intent_llamafactory.json": ("MIntRec", "video"),
    "Ch-sims_dev_sentiment_llamafactory.json": ("Ch-sims", "video"),
    "MIntRec_dev_text_intent_llamafactory.json": ("MIntRec", "text"),
    "MUStARD_dev_text_speaking_style_llamafactory.json": ("MUStARD", "text"),
}


def their_bytes(file_name: str) -> str:
    return (HEADS / file_name).read_bytes().decode("utf-8")


def rows_of(file_name: str) -> list[Row]:
    """The TSV rows MMLA's records were made from: id from the video's name, utterance, label."""
    task = task_of(file_name)
    rows = []
    for record in json.loads(their_bytes(file_name)):
        video = Path(record.get("video") or record["videos"][0]).name
        external_id = re.sub(rf"^{re.escape(task.name)}_", "", video, flags=re.I)[:-len(".mp4")]
        human, gpt = turns(record)
        label = task.canonical_label(gpt.partition(": ")[2])
        rows.append(Row(external_id, utterance_of(human), label, True))
    return rows


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """MMLA's layout: `<root>/<DS>/dev.tsv` with the id/utterance/<task> columns, `video/`."""
    root = tmp_path_factory.mktemp("Datasets")
    source = tiny_clip(root / ".source.mp4")
    by_dataset: dict[str, list[Row]] = {}
    for file_name, (name, _) in FILES.items():
        known = {row.id for row in by_dataset.get(name, [])}
        by_dataset.setdefault(name, []).extend(
            row for row in rows_of(file_name) if row.id not in known)
    for name, rows in by_dataset.items():
        (root / name / "video").mkdir(parents=True)
        write_tsv(root / name / "dev.tsv", builtin_task(name), rows)
        for row in rows:
            (root / name / "video" / f"{name}_{row.id}.mp4").write_bytes(source.read_bytes())
    db = root.parent / "project.sqlite"
    with open_store(db) as store:
        import_mmla(store, root)
    return root.resolve(), db


def expected(file_name: str, root: Path) -> str:
    """MMLA's bytes with our root for their cluster's, and our two deliberate fields."""
    name, _ = FILES[file_name]
    text = their_bytes(file_name).replace(CLUSTER_ROOT, f"{root}/")
    for index, (row, record) in enumerate(zip(rows_of(file_name),
                                              json.loads(their_bytes(file_name)), strict=True)):
        text = text.replace(f'"id": {index},', f'"id": {json.dumps(row.id)},', 1)
        if "video" in record:  # text-only: the clip's absolute path for MMLA's bare name
            ours = str(root / name / "video" / f"{name}_{row.id}.mp4")
            text = text.replace(f'"video": {json.dumps(record["video"])},',
                                f'"video": {json.dumps(ours)},', 1)
    return text


@pytest.mark.parametrize("file_name", sorted(FILES))
def test_export_of_an_mmla_layout_is_mmlas_file_byte_for_byte(project, tmp_path, file_name):
    root, db = project
    name, mode = FILES[file_name]
    with open_store(db) as store:
        (path,) = export_llamafactory(store, tmp_path, dataset=name, task=name, splits=["dev"],
                                      mode=mode)
    assert path.name == file_name
    assert path.read_bytes().decode("utf-8") == expected(file_name, root)


def test_dataset_info_entries_are_mmlas(project, tmp_path):
    """MMLA's data/dataset_info.json entries for these files (HanleiZhang/MMLA @ c70d2198...)."""
    _, db = project
    with open_store(db) as store:
        export_llamafactory(store, tmp_path, dataset="MIntRec", task="MIntRec", splits=["dev"])
        export_llamafactory(store, tmp_path, dataset="MIntRec", task="MIntRec", splits=["dev"],
                            mode="text")
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["MIntRec_dev_intent_llamafactory"] == {
        "file_name": "MIntRec_dev_intent_llamafactory.json",
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "videos": "videos"}}
    assert info["MIntRec_dev_text_intent_llamafactory"] == {
        "file_name": "MIntRec_dev_text_intent_llamafactory.json",
        "formatting": "sharegpt",
        "columns": {"messages": "conversations"}}
    assert list(info["MIntRec_dev_intent_llamafactory"]) == ["file_name", "formatting", "columns"]
