"""A config without a model says how to get one: on a new project the Train dialog's model list
is empty and 'model is empty' alone left a new user with nothing to do."""

from mmla_core.train.config import TrainConfig


def test_an_empty_model_says_how_to_register_one():
    problems = TrainConfig(name="run", model=" ", tasks=["MELD"]).problems()
    model = [p for p in problems if p.startswith("model is empty")]
    assert len(model) == 1, problems
    assert "mmla models add" in model[0] and "Add model" in model[0]


def test_an_empty_name_is_still_said_plainly():
    assert "name is empty" in TrainConfig(name="", model="m", tasks=["MELD"]).problems()
