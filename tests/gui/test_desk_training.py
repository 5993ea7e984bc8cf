"""Training tab conveniences: the New training… button opens the launch dialog."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


def test_new_training_button_opens_the_train_dialog(window, qtbot):
    from mmla_app.train_dialog import TrainDialog

    window.side_tabs.setCurrentWidget(window.training)
    qtbot.mouseClick(window.training.new_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "train_dialog", None), TrainDialog)
                    and window.train_dialog.isVisible(), timeout=5_000)
    window.train_dialog.close()
