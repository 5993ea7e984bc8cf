"""File > Import file…: MMLA's LLaMA-Factory file with a media folder finds its cluster videos
in a local copy of MMLA's data, as `mmla import --media-root` does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from mmla_core.store.db import open_store
from tests.support.gui import menu_action
from tests.support.paths import TEST_DATA

pytestmark = pytest.mark.gui
WAIT = 15_000
NAME = "MIntRec_dev_intent_llamafactory.json"
RECORDS = TEST_DATA / "mmla_records"  # copied from MMLA


def media_paths(db_path, dataset: str) -> dict[str, str | None]:
    with open_store(db_path) as store:
        rows = store.query("SELECT c.external_id, c.media_path FROM clips c JOIN datasets d "
                           "ON d.id = c.dataset_id WHERE d.name = ?", (dataset,))
    return {r["external_id"]: r["media_path"] for r in rows}


def test_media_folder_maps_mmla_cluster_paths(window, qtbot, tmp_path, clip_files):
    records = json.loads((RECORDS / "video_sft.json").read_text(encoding="utf-8"))[NAME]
    path = tmp_path / NAME
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    data = tmp_path / "MMLA-Datasets"
    (data / "MIntRec" / "video").mkdir(parents=True)
    source = next(clip_files.glob("*.mp4"))
    for record in records[:2]:
        shutil.copyfile(source, data / "MIntRec" / "video" / Path(record["videos"][0]).name)
    menu_action(window, "Import file").trigger()
    dialog = window.import_file_dialog
    dialog.file_edit.setText(str(path))
    dialog.media_edit.setText(str(tmp_path / "nope"))
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert "Not a folder" in dialog.error.text() and dialog.isVisible()
    dialog.media_edit.setText(str(data))
    dialog.name_edit.setText("mintrec dev")
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(media_paths(window.db_path, "mintrec dev")) == 3, timeout=WAIT)
    assert media_paths(window.db_path, "mintrec dev") == {
        "0": "MIntRec/video/MIntRec_S05_E15_248.mp4",
        "2": "MIntRec/video/MIntRec_S05_E10_206.mp4", "13": None}
    qtbot.waitUntil(lambda: window.importer.progress.isHidden(), timeout=WAIT)


def test_media_folder_is_off_for_eaf_files(window, tmp_path):
    menu_action(window, "Import file").trigger()
    dialog = window.import_file_dialog
    dialog.file_edit.setText(str(tmp_path / "a.eaf"))
    assert not dialog.media_row.isEnabled()
    dialog.file_edit.setText(str(tmp_path / "a.json"))
    assert dialog.media_row.isEnabled()
    dialog.close()
