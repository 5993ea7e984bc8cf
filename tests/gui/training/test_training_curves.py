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
