"""Tools > Model answers the checks on a project without a model: Run says again how to add
one, instead of replacing that with 'Choose a dataset and a model first.'."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


def test_run_without_any_model_says_how_to_add_one(tiny_project, project_of, qtbot):
    from mmla_app.probe.probe_checks_dialog import ModelChecksDialog

    dialog = ModelChecksDialog(project_of(tiny_project.db_path))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: "No model yet" in dialog.status.text(), timeout=5_000)
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert "No model yet" in dialog.status.text() and "Add model" in dialog.status.text()
    assert not dialog.progress.isVisible()
