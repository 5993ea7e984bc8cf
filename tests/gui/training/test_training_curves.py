"""The accuracy plot is short (about 60 px of plot on a 1366x768 screen): its fixed 0..1 axis
is labelled 0, 0.5 and 1, not every 0.2 (five labels touched each other there), and has no
minor level (its 0.25 and 0.75 were labelled "0.2" and "0.8")."""

from __future__ import annotations

import pytest

from mmla_app.training.training_curves import TrainingCurves

pytestmark = pytest.mark.gui


def test_the_accuracy_axis_has_three_labels_at_any_height(qtbot):
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    axis = curves.acc_plot.getAxis("left")
    for pixels in (60, 200):
        levels = axis.tickValues(0.0, 1.0, pixels)
        assert [list(values) for _spacing, values in levels] == [[0.0, 0.5, 1.0]], levels


def _legends(plot) -> list:
    import pyqtgraph as pg

    return [item for item in plot.scene().items() if isinstance(item, pg.LegendItem)]


def _on_widget(plot, item):
    """An item's rectangle in its plot widget's pixels."""
    return plot.mapFromScene(item.sceneBoundingRect()).boundingRect()


@pytest.mark.parametrize("size", [(446, 255), (400, 380)])  # at 1366x768 and 1600x1000
def test_the_legend_covers_no_point_and_shows_whole(qtbot, size):
    """A run's last points are at the right edge (the axis spans the planned steps), where the
    legends sat inside the plots."""
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.resize(*size)
    curves.show()
    qtbot.waitExposed(curves)
    curves.set_planned_steps(100)
    curves.add_events([{"kind": "train", "step": s, "loss": 0.9 - 0.006 * s} for s in range(1, 101)]
                      + [{"kind": "eval", "step": 100, "eval_loss": 0.45, "eval_accuracy": 0.97},
                         {"kind": "test", "step": 100, "eval_accuracy": 0.95}])
    plots = (curves.loss_plot, curves.acc_plot)
    legends = [(plot, legend) for plot in plots for legend in _legends(plot)]
    assert legends
    for plot, legend in legends:
        assert plot.viewport().rect().contains(_on_widget(plot, legend))
        view = plot.getPlotItem().getViewBox()
        assert not legend.sceneBoundingRect().intersects(view.sceneBoundingRect())
    names = [label.text for _plot, legend in legends for _sample, label in legend.items]
    assert names == ["train loss", "dev loss", "dev acc.", "test acc."]


def test_axes_show_plain_numbers(qtbot):
    """No SI rescaling: a loss of 0.9 read '900' under 'loss (x0.001)', an empty step axis
    'step (x0.001)'."""
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.resize(446, 255)
    curves.show()
    qtbot.waitExposed(curves)
    axes = [plot.getAxis(side) for plot in (curves.loss_plot, curves.acc_plot)
            for side in ("left", "bottom")]
    curves.loss_plot.setXRange(0, 0.9, padding=0)  # the empty axis, as a window showed it
    qtbot.waitUntil(lambda: axes[1].range[1] == pytest.approx(0.9))
    assert [axis.autoSIPrefixScale for axis in axes] == [1.0] * 4  # no job yet
    curves.add_events([{"kind": "train", "step": s, "loss": 0.9 - 0.006 * s} for s in range(1, 9)])
    assert [axis.autoSIPrefixScale for axis in axes] == [1.0] * 4
