"""Records copied from MMLA's own LLaMA-Factory files (tests/data/mmla_records/) and their parts."""

from __future__ import annotations

import json
from pathlib import Path

from mmla_core.datasets.sharegpt import MMLA_FILE
from mmla_core.tasks import mmla_task_for_folder
from tests.support.paths import TEST_DATA

RECORDS = TEST_DATA / "mmla_records"


def load(name: str) -> list[tuple[str, dict]]:
    files = json.loads((RECORDS / name).read_text(encoding="utf-8"))
    return [(file, record) for file, records in files.items() for record in records]


def task_of(file_name: str):
    match = MMLA_FILE.match(Path(file_name).stem)
    task = mmla_task_for_folder(match["dataset"])
    assert task is not None and task.task_key == match["key"]
    return task


def turns(record: dict) -> tuple[str, str]:
    by_role = {turn["from"]: turn["value"] for turn in record["conversations"]}
    return by_role["human"], by_role["gpt"]
