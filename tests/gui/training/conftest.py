"""Fixtures of the training GUI tests."""

import pytest

from mmla_core.store.db import open_store
from mmla_core.store.results import add_model
from tests.support.train_fixtures import add_toy_dataset, toy_text_model

__all__ = ["toy_text_model"]  # the session fixture (a sharpened tiny text model)


@pytest.fixture
def toy_db(tmp_path, toy_text_model):
    """The trainer's toy task (text clips, labels in the transcript) + a registered model."""
    path = tmp_path / "toy.sqlite"
    with open_store(path) as store:
        add_toy_dataset(store, media=False)
        add_model(store, "tiny-text", "text_lm", str(toy_text_model))
    return path
