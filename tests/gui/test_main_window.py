"""The curation workspace, driven through its real widgets and keys on a tiny project."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt, QThread
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from mmla_app.curation.clip_table import COLUMN_KEYS
from mmla_app.runtime.runner import Runner
from mmla_app.runtime.write_queue import write_queue
from mmla_core.store.db import open_store
from tests.support.gui import status_said

pytestmark = pytest.mark.gui
WAIT = 15_000  # a read or write off the GUI thread, a frame decode: seconds when loaded


def click_row(qtbot, window, row: int) -> None:
    table = window.browser.table
    rect = table.visualRect(window.browser.model.index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def image_std(image: QImage) -> float:
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    width, height, stride = gray.width(), gray.height(), gray.bytesPerLine()
    pixels = np.frombuffer(gray.constBits(), np.uint8, count=stride * height)
    return float(pixels.reshape(height, stride)[:, :width].std())


def db_rows(db_path, sql: str, params: tuple = ()) -> list[tuple]:
    write_queue().drain()  # every write the window acknowledged has committed
    with open_store(db_path) as store:
        return [tuple(r) for r in store.conn.execute(sql, params)]


def key(qtbot, window, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(window.browser.table, k, modifier)


@pytest.fixture
def on_first_clip(window, qtbot):
    click_row(qtbot, window, 0)
    qtbot.waitUntil(lambda: window.player.is_ready() and window.annotation.clip_id is not None,
                    timeout=WAIT)
    return window


# --- browsing ------------------------------------------------------------------------------------

def test_table_lists_clips_with_labels_and_health(window):
    model, column = window.browser.model, COLUMN_KEYS.index
    assert [model.index(r, column("external_id")).data() for r in range(3)] == \
        ["utt_a", "utt_b", "utt_c"]
    assert model.index(0, column("labels")).data() == "surprise"
    assert model.index(0, column("health")).data() == "ok"
    assert model.index(2, column("health")).data() == "text only"


def test_click_shows_frame_transcript_and_labels(on_first_clip, tiny_project):
    window = on_first_clip
    assert window.transcript.editor.toPlainText() == "I can't believe you did that!"
    assert window.player.shown_frame_index() == 0
    assert window.header.title.text().startswith("utt_a")


def test_filter_by_text_split_and_label(window, qtbot):
    browser = window.browser
    qtbot.keyClicks(browser.text_edit, "wonderful")
    qtbot.waitUntil(lambda: browser.model.rowCount() == 1, timeout=WAIT)
    browser.text_edit.clear()
    qtbot.waitUntil(lambda: browser.model.rowCount() == 3, timeout=WAIT)
    browser.split_combo.setCurrentIndex(browser.split_combo.findData("dev"))
    assert browser.model.rowCount() == 1
    browser.split_combo.setCurrentIndex(0)
    browser.label_combo.setCurrentIndex(browser.label_combo.findData("MELD\tjoy"))
    assert [browser.model.row_at(r).external_id for r in range(browser.model.rowCount())] == [
        "utt_b"]


# --- labelling from the keyboard ------------------------------------------------------------

def test_label_key_undo_redo(on_first_clip, qtbot, tiny_project):
    window = on_first_clip
    clip = tiny_project.clip_ids[0]
    sql = "SELECT label FROM annotations WHERE clip_id = ? AND annotator = 'alice'"
    key(qtbot, window, Qt.Key.Key_3)  # MELD labels: neutral, surprise, fear, ...
    assert db_rows(tiny_project.db_path, sql, (clip,)) == [("fear",)]
    key(qtbot, window, Qt.Key.Key_5)
    assert db_rows(tiny_project.db_path, sql, (clip,)) == [("joy",)]
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert db_rows(tiny_project.db_path, sql, (clip,)) == [("fear",)]
    key(qtbot, window, Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert db_rows(tiny_project.db_path, sql, (clip,)) == [("joy",)]
    labels = window.browser.model.index(0, COLUMN_KEYS.index("labels"))
    qtbot.waitUntil(lambda: labels.data() == "joy", timeout=WAIT)


def test_checks_then_return_reviews_with_verdict_and_moves_on(on_first_clip, qtbot,
                                                             tiny_project):
    window = on_first_clip
    for _ in range(4):
        key(qtbot, window, Qt.Key.Key_Y)
    write_queue().drain()
    key(qtbot, window, Qt.Key.Key_Return)
    rows = db_rows(tiny_project.db_path,
                   "SELECT clip_id, verdict FROM clip_reviews WHERE annotator = 'alice'")
    assert rows == [(tiny_project.clip_ids[0], "accept")]
    qtbot.waitUntil(lambda: window.current_row is not None
                    and window.current_row.external_id == "utt_b", timeout=WAIT)
    qtbot.waitUntil(lambda: "1 of 3 reviewed by alice" in window.status_line.count_label.text(),
                    timeout=WAIT)
    answers = db_rows(tiny_project.db_path, "SELECT count(*) FROM check_answers "
                      "WHERE answer = 'yes' AND annotator = 'alice'")
    assert answers == [(4,)]


def test_transcript_edit_saves_and_undoes(on_first_clip, qtbot, tiny_project):
    window = on_first_clip
    key(qtbot, window, Qt.Key.Key_F2)
    editor = window.transcript.editor
    editor.selectAll()
    qtbot.keyClicks(editor, "Corrected text")
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    sql = "SELECT transcript FROM clips WHERE id = ?"
    assert db_rows(tiny_project.db_path, sql, (tiny_project.clip_ids[0],)) == [
        ("Corrected text",)]
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert db_rows(tiny_project.db_path, sql, (tiny_project.clip_ids[0],)) == [
        ("I can't believe you did that!",)]


# --- playing -------------------------------------------------------------------------------------

def test_space_plays_and_pauses_and_arrows_step_frames(on_first_clip, qtbot):
    window = on_first_clip
    key(qtbot, window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.player.shown_frame_index() == 1, timeout=WAIT)
    key(qtbot, window, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: window.player.shown_frame_index() == 0, timeout=WAIT)
    key(qtbot, window, Qt.Key.Key_Space)
    assert window.player.is_playing()
    qtbot.waitUntil(lambda: window.player.position() > 0.2, timeout=WAIT)
    key(qtbot, window, Qt.Key.Key_Space)
    assert not window.player.is_playing()


def test_waveform_seek_moves_the_player(on_first_clip, qtbot):
    window = on_first_clip
    window.waveform.seek_requested.emit(0.5)
    qtbot.waitUntil(lambda: abs(window.player.position() - 0.5) < 0.05, timeout=WAIT)
    qtbot.waitUntil(lambda: window.player.shown_frame_index() == 12, timeout=WAIT)


def test_window_grab_is_not_blank(on_first_clip, qtbot, tmp_path):
    window = on_first_clip
    image = window.grab().toImage()
    image.save(str(tmp_path / "window.png"))
    assert image_std(image) > 10


def test_empty_database_without_demo(make_window, tmp_path, qtbot):
    window = make_window(tmp_path / "empty.sqlite", demo=False)
    qtbot.waitUntil(lambda: status_said(window, "no datasets"),
                    timeout=WAIT)
    assert window.browser.model.rowCount() == 0


def test_open_database_switches_project(window, make_project, qtbot):
    other = make_project("other")
    window.open_database(other.db_path)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 3, timeout=WAIT)
    assert window.windowTitle().startswith("project.sqlite")


# --- the runner ----------------------------------------------------------------------------------

def test_runner_delivers_on_gui_thread_with_a_per_thread_store(tiny_project, qtbot):
    runner = Runner(tiny_project.db_path)
    got: list = []

    def job(store):
        return store.thread_id, threading.get_ident(), store.scalar("SELECT count(*) FROM clips")

    runner.submit(job, on_success=lambda r: got.append((r, QThread.currentThread())))
    qtbot.waitUntil(lambda: bool(got), timeout=WAIT)
    (store_thread, worker_thread, count), delivered_on = got[0]
    assert store_thread == worker_thread != threading.get_ident()
    assert count == 3
    assert delivered_on is QApplication.instance().thread()


def test_runner_channel_drops_stale_results(qtbot):
    runner = Runner("unused.sqlite")
    release = threading.Event()
    got, errors = [], []

    def slow(value):
        release.wait(5)
        return value

    runner.submit(slow, "first", channel="c", with_store=False, on_success=got.append)
    runner.submit(slow, "second", channel="c", with_store=False, on_success=got.append)
    runner.submit(slow, "third", channel="c", with_store=False, on_success=got.append)
    runner.submit(lambda: 1 / 0, channel="e", with_store=False, on_error=errors.append)
    release.set()
    qtbot.waitUntil(lambda: got == ["third"] and len(errors) == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    assert got == ["third"]  # "first" finished but was superseded; "second" never ran
    assert isinstance(errors[0], ZeroDivisionError)


# --- start-up ------------------------------------------------------------------------------------

def test_main_smoke_imports_demo_into_an_empty_db(tmp_path):
    from mmla_app.main import main
    from mmla_core.store.catalog import list_datasets
    from mmla_core.store.db import open_store

    db = tmp_path / "smoke.sqlite"
    assert main(["--db", str(db), "--demo", "--quit-after", "500"]) == 0
    with open_store(db) as store:
        assert [d["name"] for d in list_datasets(store)] == ["demo"]


def test_gui_modules_import_no_heavy_libraries():
    code = (
        "import sys, mmla_app.main, mmla_app.main_window;"
        "heavy = {'torch', 'transformers', 'peft', 'av', 'cv2'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_keys_pressed_before_a_clip_loads_are_kept(window, qtbot, tiny_project):
    table = window.browser.table
    table.setFocus()
    table.select_position(0)
    key(qtbot, window, Qt.Key.Key_5)  # the clip's labels are still loading here
    key(qtbot, window, Qt.Key.Key_N)
    key(qtbot, window, Qt.Key.Key_Down)  # and the curator moves on at once
    qtbot.waitUntil(lambda: not window.annotation.has_unsaved()
                    and not window.checks.has_unsaved(), timeout=WAIT)
    clip = tiny_project.clip_ids[0]
    assert db_rows(tiny_project.db_path, "SELECT label FROM annotations WHERE clip_id = ? AND "
                   "annotator = 'alice'", (clip,)) == [("joy",)]
    assert db_rows(tiny_project.db_path, "SELECT check_key, answer FROM check_answers WHERE "
                   "clip_id = ?", (clip,)) == [("visual_only", "no")]


def test_keys_pressed_while_loading_undo_in_the_order_they_were_pressed(window, qtbot,
                                                                        tiny_project):
    table = window.browser.table
    table.setFocus()
    table.select_position(1)
    key(qtbot, window, Qt.Key.Key_5)  # label, then a check answer, both while loading
    key(qtbot, window, Qt.Key.Key_Y)
    qtbot.waitUntil(lambda: not window.annotation.has_unsaved()
                    and not window.checks.has_unsaved(), timeout=WAIT)
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the last key: Y
    clip = tiny_project.clip_ids[1]
    qtbot.waitUntil(lambda: db_rows(tiny_project.db_path, "SELECT count(*) FROM check_answers"
                                    " WHERE clip_id = ?", (clip,)) == [(0,)], timeout=WAIT)
    assert db_rows(tiny_project.db_path, "SELECT label FROM annotations WHERE clip_id = ? AND "
                   "annotator = 'alice'", (clip,)) == [("joy",)]


def test_transcript_pane_says_when_a_variant_changed_the_text():
    from mmla_app.curation.transcript_pane import _caption

    recipe = ('{"steps": [{"name": "caption_misleading", "params": {}}, '
              '{"name": "frames_black", "params": {}}], "type": "caption_misleading+frames_black"}')
    assert _caption(recipe) == "Transcript the model sees — misleading caption"
    assert _caption('{"steps": [{"name": "audio_swap"}]}').startswith("Transcript (unchanged")
    assert _caption(None) == "Transcript"
