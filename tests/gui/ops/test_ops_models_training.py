"""The model and training ops (app/ops/models.py, training.py): a write's Changes reach the bus
with the acting panel or dialog as initiator."""

from __future__ import annotations

import pytest

from mmla_app.ops import models as model_ops
from mmla_app.ops.op import submit
from mmla_app.runtime.change_bus import change_bus
from mmla_app.training.training_panel import TrainingPanel
from mmla_core.changes import ADAPTERS, MODELS, TRAINING
from mmla_core.store.db import open_store
from mmla_core.store.jobs import update_job
from tests.support.fake_engine import model_folder
from tests.support.finetune_helpers import add_job

pytestmark = pytest.mark.gui
WAIT = 10_000


@pytest.fixture
def heard():
    """Every (changes, initiator) the bus carries during the test."""
    got: list = []

    def listen(changes, initiator):
        got.append((changes, initiator))

    change_bus().listen(listen)
    yield got
    change_bus().forget(listen)


def test_adding_a_model_is_an_op_announcing_models(qtbot, tiny_project, tmp_path, heard):
    folder = model_folder(tmp_path / "tiny-model")
    dialog, names = object(), []
    submit(tiny_project.db_path, model_ops.add_model_folder(str(folder)), initiator=dialog,
           on_success=names.append)
    qtbot.waitUntil(lambda: bool(names), timeout=WAIT)
    assert names == ["tiny-model"]
    assert any(c.touches(MODELS) and who is dialog for c, who in heard)
    with open_store(tiny_project.db_path) as store:
        assert store.scalar("SELECT path FROM models WHERE name = 'tiny-model'") == str(folder)


def test_deleting_a_training_job_announces_training_and_adapters(qtbot, tiny_project, tmp_path,
                                                                 project_of, heard):
    with open_store(tiny_project.db_path) as store:
        job_id, _adapter = add_job(store, tmp_path, "meld-sft", ["MELD"], "sft")
        update_job(store, job_id, status="done")
    panel = TrainingPanel(project_of(tiny_project.db_path))
    qtbot.addWidget(panel)
    try:
        panel.delete(job_id)
        qtbot.waitUntil(lambda: any(who is panel for _c, who in heard), timeout=WAIT)
        changes = next(c for c, who in heard if who is panel)
        assert changes.touches(TRAINING) and changes.touches(ADAPTERS)
        with open_store(tiny_project.db_path) as store:
            assert store.scalar("SELECT count(*) FROM training_jobs") == 0
    finally:
        panel.shutdown()
