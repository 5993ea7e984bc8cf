"""The Training tab of a project without training jobs says what makes one, and shows no empty
"0%" progress bar (the Evaluate dialog shows none before a run either); a job brings it back."""

from __future__ import annotations

import pytest

from mmla_app.training.training_panel import TrainingPanel
from tests.support.train_jobs_helpers import make_job

pytestmark = pytest.mark.gui


def test_no_job_no_progress_bar_then_a_job_shows_one(qtbot, project_of, tiny_project):
    panel = TrainingPanel(project_of(tiny_project.db_path))
    qtbot.addWidget(panel)
    panel.resize(420, 820)
    panel.show()
    try:
        qtbot.waitUntil(lambda: "No training job yet" in panel.title.text(), timeout=5_000)
        assert "Train LoRA" in panel.title.text()
        assert not panel.progress_bar.isVisible()
        job_id = make_job(tiny_project.db_path, status="running")
        panel.poll_now(with_list=True)
        qtbot.waitUntil(lambda: panel.job_id == job_id and panel.progress_bar.isVisible(),
                        timeout=10_000)
    finally:
        panel.shutdown()
