"""The variants panel, driven through its buttons on a tiny real project (offscreen Qt)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from mmla_app.curation.clip_table import COLUMN_KEYS
from mmla_app.runtime.change_bus import change_bus
from mmla_app.runtime.project import Project
from mmla_app.variants.variants_panel import RANDOM_DONOR, VariantsPanel
from mmla_core.changes import CLIPS, LABELS, Changes
from mmla_core.media.decode import decode_frames_at, frame_times
from mmla_core.store import open_store
from mmla_core.store.catalog import clip_media_path, get_clip
from mmla_core.variants.store_ops import create_variant

pytestmark = pytest.mark.gui
WAIT_MS = 20_000


@pytest.fixture
def panel(qtbot, tiny_project):
    project = Project(tiny_project.db_path, "tester")
    widget = VariantsPanel(project)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()
    project.close()


def select(qtbot, panel, clip_id: int) -> None:
    with qtbot.waitSignal(panel.state_loaded, timeout=WAIT_MS):
        panel.set_clip(clip_id)


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def variants(db_path, parent_id: int) -> list[dict]:
    with open_store(db_path) as store:
        rows = store.query("SELECT id FROM clips WHERE parent_clip_id = ? ORDER BY id",
                           (parent_id,))
        return [get_clip(store, r["id"]) for r in rows]


def create(qtbot, panel, *recipes: str) -> None:
    for name in recipes:
        panel.checks[name].setChecked(True)
    with qtbot.waitSignal(panel.variants_changed, timeout=WAIT_MS), \
            qtbot.waitSignal(panel.state_loaded, timeout=WAIT_MS):
        click(qtbot, panel.create_button)
    for name in recipes:
        panel.checks[name].setChecked(False)


def list_texts(panel) -> list[str]:
    return [panel.variant_list.item(i).text() for i in range(panel.variant_list.count())]


def test_nothing_selected_disables_the_actions(panel):
    assert not panel.create_button.isEnabled() and not panel.mmabench_button.isEnabled()
    assert not panel.delete_button.isEnabled() and panel.variant_list.count() == 0
    assert "Select a clip" in panel.status.text()


def test_create_black_frames_from_the_button(qtbot, panel, tiny_project):
    clip_a = tiny_project.clip_ids[0]
    select(qtbot, panel, clip_a)
    donors = [panel.donor_combo.itemText(i) for i in range(panel.donor_combo.count())]
    assert donors[0] == RANDOM_DONOR and any("utt_b" in d for d in donors)
    assert not panel.create_button.isEnabled()  # no recipe checked yet
    create(qtbot, panel, "frames_black")
    (row,) = variants(tiny_project.db_path, clip_a)
    path = clip_media_path(row)
    assert json.loads(row["recipe_json"])["type"] == "frames_black"
    assert decode_frames_at(path, frame_times(path)).max() == 0
    assert list_texts(panel) == [f"#{row['id']}  frames black"]
    # the recipe as its check box names it, not its CLI name (frames_black)
    assert panel.status.text() == f"Created variant {row['id']} (Black frames)"


def test_donor_pick_range_and_composition_reach_the_recipe(qtbot, panel, tiny_project):
    clip_a, clip_b, _ = tiny_project.clip_ids
    select(qtbot, panel, clip_a)
    panel.donor_combo.setCurrentIndex(panel.donor_combo.findData(clip_b))
    panel.set_range(0.2, 0.6)
    assert "0.20–0.60" in panel.range_label.text()
    panel.param_widgets[("audio_noise", "snr_db")].setValue(3.5)
    create(qtbot, panel, "audio_swap", "audio_noise")
    (row,) = variants(tiny_project.db_path, clip_a)
    steps = json.loads(row["recipe_json"])["steps"]
    assert [s["name"] for s in steps] == ["audio_swap", "audio_noise"]
    assert steps[0]["params"]["donor_clip_id"] == clip_b
    assert steps[1]["params"] == {"snr_db": 3.5, "start_s": 0.2, "end_s": 0.6}
    assert list_texts(panel) == [f"#{row['id']}  audio ← clip {clip_b} · noise at 3.5 dB SNR "
                                 "(0.2–0.6 s)"]
    panel.set_range(None, None)
    assert panel.range is None and not panel.clear_range_button.isEnabled()


def test_mmabench_set_play_and_delete(qtbot, panel, tiny_project):
    clip_a = tiny_project.clip_ids[0]
    select(qtbot, panel, clip_a)
    with qtbot.waitSignal(panel.variants_changed, timeout=WAIT_MS) as changed, \
            qtbot.waitSignal(panel.state_loaded, timeout=WAIT_MS):
        click(qtbot, panel.mmabench_button)
    assert changed.args == [clip_a]
    rows = variants(tiny_project.db_path, clip_a)
    assert len(rows) == 5 and panel.variant_list.count() == 5
    panel.variant_list.setCurrentRow(0)
    with qtbot.waitSignal(panel.play_requested, timeout=WAIT_MS) as played:
        click(qtbot, panel.play_button)
    assert played.args == [rows[0]["id"]]
    doomed = next(r for r in rows if json.loads(r["recipe_json"])["owns_media"])
    path = clip_media_path(doomed)
    panel.variant_list.setCurrentRow([r["id"] for r in rows].index(doomed["id"]))
    with qtbot.waitSignal(panel.state_loaded, timeout=WAIT_MS):
        click(qtbot, panel.delete_button)
    assert len(variants(tiny_project.db_path, clip_a)) == 4 and not path.exists()
    assert panel.variant_list.count() == 4


def test_a_reload_from_elsewhere_keeps_the_variant_the_person_picked(qtbot, panel,
                                                                    tiny_project):
    """Clips change elsewhere (an import, the CLI) while a variant is picked in the list: the
    list reloads and the same variant stays picked, with Play and Delete still enabled."""
    clip_a = tiny_project.clip_ids[0]
    select(qtbot, panel, clip_a)
    create(qtbot, panel, "frames_black")
    create(qtbot, panel, "audio_silent")
    assert panel.variant_list.count() == 2
    picked = panel.variant_list.item(1).data(Qt.ItemDataRole.UserRole)
    panel.variant_list.setCurrentRow(1)
    with qtbot.waitSignal(panel.state_loaded, timeout=WAIT_MS):
        change_bus().announce(Changes.of(CLIPS), None)  # as the change poll does
    assert panel.variant_list.currentItem().data(Qt.ItemDataRole.UserRole) == picked
    assert panel.play_button.isEnabled() and panel.delete_button.isEnabled()


def test_a_recipe_that_cannot_apply_reports_the_clip(qtbot, panel, tiny_project):
    text_only = tiny_project.clip_ids[2]
    select(qtbot, panel, text_only)
    panel.checks["frames_black"].setChecked(True)
    with qtbot.waitSignal(panel.job_failed, timeout=WAIT_MS) as failed:
        click(qtbot, panel.create_button)
    assert "text-only clip" in failed.args[0] and "utt_c" in failed.args[0]
    assert "Failed" in panel.status.text() and panel.create_button.isEnabled()
    assert variants(tiny_project.db_path, text_only) == []


def test_dataset_batch_runs_in_the_background_with_progress(qtbot, panel, tiny_project):
    clip_a, clip_b, _ = tiny_project.clip_ids
    select(qtbot, panel, clip_a)
    panel.checks["audio_silent"].setChecked(True)
    with qtbot.waitSignal(panel.variants_changed, timeout=WAIT_MS):
        click(qtbot, panel.batch_button)
        assert panel.batch_progress.isVisible() and panel.cancel_button.isVisible()
    qtbot.waitUntil(lambda: not panel.cancel_button.isVisible(), timeout=WAIT_MS)
    assert "2 variants created" in panel.status.text() and "1 failed" in panel.status.text()
    for clip in (clip_a, clip_b):
        (row,) = variants(tiny_project.db_path, clip)
        assert json.loads(row["recipe_json"])["type"] == "audio_silent"
        from mmla_core.media.decode import decode_audio
        assert np.abs(decode_audio(clip_media_path(row))).max() < 1e-4


# --- in the window: the panel's ops reach the browser, and outside variants reach the panel ------

def browser_ids(window) -> list[int]:
    model = window.browser.model
    return [model.row_at(r).id for r in range(model.rowCount())]


def test_a_variant_made_then_deleted_in_the_panel_follows_in_the_browser(qtbot, window,
                                                                          tiny_project):
    clip_a, panel = tiny_project.clip_ids[0], window.variants
    assert panel.runner is window.runner  # the project's runner, not one of its own
    window.browser.table.select_clip(clip_a)
    qtbot.waitUntil(lambda: panel.dataset_id is not None and panel.clip_id == clip_a,
                    timeout=WAIT_MS)
    heard = []
    change_bus().listen(recorder := lambda changes, who: heard.append((changes, who)))
    try:
        create(qtbot, panel, "frames_black")
        (made,) = variants(tiny_project.db_path, clip_a)
        qtbot.waitUntil(lambda: made["id"] in browser_ids(window), timeout=WAIT_MS)
        cell = window.browser.model.index(browser_ids(window).index(made["id"]),
                                          COLUMN_KEYS.index("external_id"))
        assert cell.data() == "↳ frames black"  # what it is, not its generated id
        assert made["external_id"] in cell.data(Qt.ItemDataRole.ToolTipRole)
        panel.variant_list.setCurrentRow(0)
        with qtbot.waitSignal(panel.variants_changed, timeout=WAIT_MS):
            click(qtbot, panel.delete_button)
        qtbot.waitUntil(lambda: made["id"] not in browser_ids(window), timeout=WAIT_MS)
    finally:
        change_bus().forget(recorder)
    assert variants(tiny_project.db_path, clip_a) == []
    ours = [changes for changes, who in heard if who is panel]
    assert [c.touches(CLIPS) for c in ours] == [True, True]
    assert ours[1].clip_ids == {made["id"]} and ours[1].touches(LABELS)


def test_a_variant_made_elsewhere_shows_in_the_open_panel(qtbot, window, tiny_project):
    clip_a, panel = tiny_project.clip_ids[0], window.variants
    window.browser.table.select_clip(clip_a)
    qtbot.waitUntil(lambda: panel.dataset_id is not None, timeout=WAIT_MS)
    assert panel.variant_list.count() == 0
    with open_store(tiny_project.db_path) as store:  # another connection: the CLI's way
        made = create_variant(store, clip_a, ["audio_silent"]).clip_id
    qtbot.waitUntil(lambda: panel.variant_list.count() == 1, timeout=WAIT_MS)
    assert list_texts(panel) == [f"#{made}  audio silent"]
    qtbot.waitUntil(lambda: made in browser_ids(window), timeout=WAIT_MS)


@pytest.mark.parametrize("width", [455, 465])  # the side panel at 1366x768 and 1600x1000
def test_the_caption_field_is_wide_enough_to_type_a_caption(qtbot, panel, width):
    panel.resize(width, 700)
    qtbot.waitUntil(lambda: panel.width() == width)
    caption = panel.param_widgets[("caption_misleading", "caption")]
    room = caption.fontMetrics().horizontalAdvance("the speaker is praising the food")
    assert caption.width() >= room, (caption.width(), room)
    assert caption.mapTo(panel, caption.rect().bottomRight()).x() < panel.width()


def test_a_failed_recipe_is_named_as_its_check_box_names_it(qtbot, panel, tiny_project):
    select(qtbot, panel, tiny_project.clip_ids[0])
    for name in ("audio_removed", "av_offset"):  # no audio left for the offset to move
        panel.checks[name].setChecked(True)
    with qtbot.waitSignal(panel.job_failed, timeout=WAIT_MS):
        click(qtbot, panel.create_button)
    text = panel.status.text()
    assert text.startswith("Failed: ") and "Audio out of sync: " in text, text
    assert "av_offset" not in text and "utt_a" in text
