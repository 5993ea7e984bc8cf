"""The first real window, driven through its widgets on a tiny real project (offscreen Qt)."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt, QThread
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from mmla_app.clip_view import EMPTY_TEXT
from mmla_app.workers import Runner

pytestmark = pytest.mark.gui


def click_row(qtbot, window, row: int) -> None:
    table = window.table
    rect = table.visualRect(window.proxy.index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def image_std(image: QImage) -> float:
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    width, height, stride = gray.width(), gray.height(), gray.bytesPerLine()
    pixels = np.frombuffer(gray.constBits(), np.uint8, count=stride * height)
    return float(pixels.reshape(height, stride)[:, :width].std())


# --- the window ----------------------------------------------------------------------------------

def test_table_fills_and_starts_with_empty_state(window, tiny_project):
    assert window.model.rowCount() == 3
    assert [window.proxy.index(r, 2).data() for r in range(3)] == ["utt_a", "utt_b", "utt_c"]
    assert window.proxy.index(0, 6).data() == "surprise"
    assert window.proxy.index(0, 5).data() == "ok"
    assert window.proxy.index(2, 5).data() == "text only"
    assert window.clip_view.stack.currentWidget() is window.clip_view.empty_label
    assert window.clip_view.empty_label.text() == EMPTY_TEXT
    assert window.count_label.text() == "3 clips"
    assert window.db_label.text() == str(tiny_project.db_path)
    assert window.width() >= 1000 and window.height() >= 600
    left, right = window.splitter.sizes()
    assert 0.45 < left / (left + right) < 0.65


def test_click_row_shows_frame_transcript_and_label(window, tiny_project, qtbot):
    view = window.clip_view
    with qtbot.waitSignals([view.frame_shown, view.labels_shown], timeout=10_000):
        click_row(qtbot, window, 1)
    assert view.clip_id == tiny_project.clip_ids[1]
    pixmap = view.frame.pixmap()
    assert not pixmap.isNull()
    assert view.frame.source_size().toTuple() == (320, 240)
    assert 150 <= pixmap.width() <= view.frame.width()
    assert pixmap.height() <= view.frame.height()
    assert abs(pixmap.width() / pixmap.height() - 4 / 3) < 0.02
    assert view.transcript.toPlainText() == "That is wonderful news."
    assert ("MELD", "joy", "import") in view.label_rows()
    assert view.title.text() == "utt_b"
    assert "320×240" in view.facts["video"].text()
    assert view.health_badge.text() == "ok"


def test_down_key_moves_to_the_text_only_clip(window, tiny_project, qtbot):
    view = window.clip_view
    with qtbot.waitSignal(view.frame_shown, timeout=10_000):
        click_row(qtbot, window, 1)
    with qtbot.waitSignals([view.frame_failed, view.labels_shown], timeout=10_000):
        qtbot.keyClick(window.table, Qt.Key.Key_Down)
    assert view.clip_id == tiny_project.clip_ids[2]
    assert window.table.currentIndex().row() == 2
    assert view.transcript.toPlainText() == "Fine, whatever."
    assert view.frame.pixmap().isNull()
    assert view.frame.text().startswith("No video:")
    assert "text-only" in view.frame.text()
    assert ("MELD", "neutral", "import") in view.label_rows()
    assert view.facts["file"].text() == "— (text only)"


def test_up_key_and_rapid_moves_end_on_the_last_clip(window, tiny_project, qtbot):
    view = window.clip_view
    with qtbot.waitSignal(view.frame_failed, timeout=10_000):
        click_row(qtbot, window, 2)
    shown: list[int] = []
    view.frame_shown.connect(shown.append)
    qtbot.keyClick(window.table, Qt.Key.Key_Up)
    qtbot.keyClick(window.table, Qt.Key.Key_Up)  # straight on, before the first answer
    qtbot.waitUntil(lambda: shown == [tiny_project.clip_ids[0]], timeout=10_000)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=10_000)
    assert shown == [tiny_project.clip_ids[0]]  # the superseded frame was never shown
    assert view.transcript.toPlainText() == "I can't believe you did that!"


def test_filter_narrows_rows(window, qtbot):
    qtbot.keyClicks(window.filter_edit, "wonderful")
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 1, timeout=5_000)
    assert window.proxy.index(0, 2).data() == "utt_b"
    assert window.count_label.text() == "1 of 3 clips"
    window.filter_edit.setText("UTT_")  # ids too, any case
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 3, timeout=5_000)
    window.filter_edit.setText("utt_c fine")  # every word must match
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 1, timeout=5_000)
    assert window.proxy.index(0, 2).data() == "utt_c"
    window.filter_edit.clear()
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 3, timeout=5_000)
    assert window.count_label.text() == "3 clips"


def test_sorting_by_duration_column(window, qtbot):
    window.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    assert window.proxy.index(2, 2).data() == "utt_c"  # no duration sorts last
    window.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert [window.proxy.index(r, 2).data() for r in range(3)] == ["utt_c", "utt_b", "utt_a"]


def test_deleted_media_file_shows_an_error_not_a_crash(window, tiny_project, qtbot):
    (tiny_project.media_root / "b.mp4").unlink()
    view = window.clip_view
    with qtbot.waitSignal(view.frame_failed, timeout=10_000) as blocker:
        click_row(qtbot, window, 1)
    message = blocker.args[1]
    assert message.startswith("No video:") and "not found" in message
    assert view.frame.text() == message
    assert view.transcript.toPlainText() == "That is wonderful news."
    with qtbot.waitSignal(view.frame_shown, timeout=10_000):  # the other clips still work
        click_row(qtbot, window, 0)


def test_window_grab_is_not_blank(window, qtbot, tmp_path):
    with qtbot.waitSignal(window.clip_view.frame_shown, timeout=10_000):
        click_row(qtbot, window, 0)
    path = tmp_path / "window.png"
    assert window.grab().save(str(path))
    image = QImage(str(path))
    assert image.width() == window.width() and image.height() == window.height()
    assert image_std(image) > 20


def test_empty_database_without_demo(make_window, tmp_path, qtbot):
    window = make_window(tmp_path / "empty.sqlite", demo=False)
    qtbot.waitUntil(lambda: window.count_label.text() == "no datasets", timeout=10_000)
    assert window.dataset_combo.count() == 0
    assert window.clip_view.stack.currentWidget() is window.clip_view.empty_label


def test_open_database_switches_project(window, make_project, qtbot):
    other = make_project("other")
    window.open_database(other.db_path)
    assert window.model.rowCount() == 0  # cleared at once, refilled in the background
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=10_000)
    assert window.db_path == other.db_path
    assert window.windowTitle().startswith("project.sqlite")


# --- the runner ----------------------------------------------------------------------------------

def test_runner_delivers_on_gui_thread_with_a_per_thread_store(tiny_project, qtbot):
    runner = Runner(tiny_project.db_path)
    got: list = []

    def job(store):
        return store.thread_id, threading.get_ident(), store.scalar("SELECT count(*) FROM clips")

    runner.submit(job, on_success=lambda r: got.append((r, QThread.currentThread())))
    qtbot.waitUntil(lambda: bool(got), timeout=5_000)
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
    qtbot.waitUntil(lambda: got == ["third"] and len(errors) == 1, timeout=5_000)
    qtbot.waitUntil(lambda: not runner.busy, timeout=5_000)
    assert got == ["third"]  # "first" finished but was superseded; "second" never ran
    assert isinstance(errors[0], ZeroDivisionError)


# --- start-up ------------------------------------------------------------------------------------

def test_main_smoke_imports_demo_into_an_empty_db(tmp_path):
    from mmla_app.main import main
    from mmla_core.store.catalog import list_datasets
    from mmla_core.store.db import open_store

    db = tmp_path / "smoke.sqlite"
    assert main(["--db", str(db), "--quit-after", "500"]) == 0
    with open_store(db) as store:
        assert [d["name"] for d in list_datasets(store)] == ["demo"]


def test_gui_modules_import_no_heavy_libraries():
    code = (
        "import sys, mmla_app.main, mmla_app.main_window;"
        "heavy = {'torch', 'transformers', 'peft', 'av', 'cv2'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
