"""The Probe tab on stored probes (no model needed): 6 matrix rows in view, legend and tooltips,
the reliance threshold, figure export drawn for print (PNG and SVG), compare two probes, integer
layer ticks, and empty panes that say why."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from tests.support.probe_helpers import write_probe

pytestmark = pytest.mark.gui
WAIT = 10_000


@pytest.fixture
def probed(tiny_project):
    """Two probes of the first clip: a base model that barely moves, an adapter that does."""
    clip = tiny_project.clip_ids[0]
    flat = {"aligned": (0.3, 0.5), "frames_zeroed": (0.3, 0.499)}
    base = write_probe(tiny_project.db_path, clip, flat, attention={
        "aligned|zero_shot": [[0.2, 0.3, 0.5], [0.4, 0.1, 0.5]]})
    tuned = write_probe(tiny_project.db_path, clip, {"aligned": (0.1, 0.8),
                                                     "audio_swap": (0.7, 0.2)},
                        adapter="/runs/meld-sft/adapter")
    return tiny_project, clip, base, tuned


@pytest.fixture
def panel_on(probed, window, qtbot):  # the probes exist before the window opens
    _project, clip, base, _tuned = probed
    panel = window.probe
    window.side_tabs.setCurrentWidget(panel)
    window.browser.table.select_clip(clip)
    qtbot.waitUntil(lambda: panel.past_combo.findData(base) >= 0, timeout=WAIT)
    panel.past_combo.setCurrentIndex(panel.past_combo.findData(base))
    panel._open_past(0)
    qtbot.waitUntil(lambda: panel.result is not None and panel.result.run_id == base,
                    timeout=WAIT)
    return panel


def test_all_six_rows_show_with_legend_tooltips_and_the_threshold(panel_on, qtbot):
    panel = panel_on
    panel.attention_box.setChecked(True)
    qtbot.wait(50)
    viewport = panel.matrix.viewport().rect()
    for row in range(6):
        assert viewport.contains(panel.matrix.visualItemRect(panel.matrix.item(row, 0)))
    assert "flipped" in panel.legend.text() and "right" in panel.legend.text()
    assert "another clip" in panel.matrix.verticalHeaderItem(1).toolTip()
    assert "video" in panel.matrix.horizontalHeaderItem(1).toolTip()
    assert "gold: surprise" in panel.matrix.item(0, 0).toolTip()
    # a drop of 0.001 is no reliance: the threshold is shown next to the verdict
    assert "no single modality" in panel.reliance.text()
    assert "at least 0.05" in panel.reliance.text()


def test_figure_export_is_drawn_not_grabbed(panel_on, tmp_path):
    panel = panel_on
    panel.matrix.setCurrentCell(0, 0)
    png = panel.export_figure(str(tmp_path / "probe.png"))
    svg = panel.export_figure(str(tmp_path / "probe.svg"))
    image = QImage(str(png))
    assert image.width() == 2 * 760 and image.height() != panel.height()
    assert image.pixelColor(5, 5).name() == "#ffffff"  # a white page, not the panel's grey
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text and "surprise" in text


def test_attention_plot_has_integer_layer_ticks_and_an_empty_pane_explains(panel_on):
    from mmla_app.probe.probe_plots import NO_ATTENTION, layer_ticks

    panel = panel_on
    panel.matrix.setCurrentCell(0, 0)
    ticks = panel.attention_plot.getAxis("bottom")._tickLevels
    assert ticks == [[(0, "0"), (1, "1")]] and panel.attention_plot.isVisibleTo(panel)
    assert layer_ticks(28)[:3] == [(0, "0"), (3, "3"), (6, "6")]
    panel.matrix.setCurrentCell(1, 0)
    assert not panel.attention_plot.isVisibleTo(panel)
    assert panel.plots.attention_note.text() == NO_ATTENTION


def test_compare_two_probes_marks_the_differences(panel_on, qtbot, probed):
    _, _, base, tuned = probed
    panel = panel_on
    panel.open_compare()
    dialog = panel.window().probe_compare
    qtbot.waitUntil(lambda: dialog.comparison is not None, timeout=WAIT)
    assert dialog.combo_a.currentData() == base and dialog.combo_b.currentData() == tuned
    swap = dialog.table.item(1, 0).text()  # audio swap: joy (base: surprise) -> broken
    assert swap.startswith("≠ surprise") and "joy" in swap and "(broken)" in swap
    assert not dialog.table.item(0, 0).text().startswith("≠")
    assert "adapter" in dialog.title.text()
    assert dialog.summary.text().startswith("3 of 18 cells answered differently")
    dialog.close()


def test_outside_changes_keep_the_shown_probe_the_past_choice_and_the_compare(
        panel_on, qtbot, probed, window, tmp_path):
    """Another process labels the clip, probes it again and adds a model while a probe is on
    screen and two past probes are compared: the tab offers the new probe and model, and keeps
    what the person was looking at."""
    from mmla_core.store.db import open_store
    from mmla_core.store.labels import set_label
    from mmla_core.store.results import add_model

    project, clip, base, tuned = probed
    panel = panel_on
    panel.open_compare()
    dialog = window.probe_compare
    dialog.combo_a.setCurrentIndex(dialog.combo_a.findData(tuned))  # the person's own choice
    dialog.combo_b.setCurrentIndex(dialog.combo_b.findData(base))
    qtbot.waitUntil(lambda: dialog.comparison is not None
                    and dialog.comparison.a.run_id == tuned, timeout=WAIT)
    shown = [panel.matrix.item(r, 0).text() for r in range(panel.matrix.rowCount())]
    compared = dialog.table.item(1, 0).text()

    with open_store(project.db_path) as store:  # the CLI, another connection
        task_id = store.scalar("SELECT id FROM tasks WHERE name = 'MELD'")
        set_label(store, clip, task_id, "anger", "bob")
    qtbot.waitUntil(lambda: "anger" in str(window.current_row.labels), timeout=WAIT)
    third = write_probe(project.db_path, clip, {"aligned": (0.6, 0.3)})  # a run elsewhere
    qtbot.waitUntil(lambda: panel.past_combo.findData(third) >= 0, timeout=WAIT)
    with open_store(project.db_path) as store:
        add_model(store, "another-model", "qwen2_5_omni", str(tmp_path))
    qtbot.waitUntil(lambda: panel.model_combo.findText("another-model") >= 0, timeout=WAIT)
    qtbot.waitUntil(lambda: not window.project.runner.busy, timeout=WAIT)  # reloads landed

    assert window.current_row.id == clip and panel.clip_id == clip
    assert panel.result is not None and panel.result.run_id == base
    assert [panel.matrix.item(r, 0).text() for r in range(panel.matrix.rowCount())] == shown
    assert panel.past_combo.currentData() == base
    assert (dialog.combo_a.currentData(), dialog.combo_b.currentData()) == (tuned, base)
    assert dialog.comparison.a.run_id == tuned and dialog.table.item(1, 0).text() == compared
    assert dialog.isVisible()
    dialog.close()


def test_a_reload_keeps_the_variants_the_person_checked(qtbot):
    """The tab reloads its choices on outside changes: a checked variant row stays checked."""
    from PySide6.QtCore import Qt

    from mmla_app.probe.probe_options import ProbeOptions

    options = ProbeOptions()
    qtbot.addWidget(options)
    variants = [{"id": 7, "label": "audio_swap"}, {"id": 9, "label": "frames_zeroed"}]
    options.set_variants(variants)
    options.variant_list.item(1).setCheckState(Qt.CheckState.Checked)
    options.set_variants([*variants, {"id": 11, "label": "audio_removed"}])  # one made elsewhere
    assert options.chosen_variants() == [9] and options.variant_list.count() == 3
