"""Our metrics against MMLA's eval.py `cal_metrics()` run verbatim with scikit-learn
(tests/support/mmla_eval_py.py): the same numbers under the same names, in the same order."""

from __future__ import annotations

import random

import pytest

from mmla_core.eval.metrics import classification_metrics

pytest.importorskip("sklearn.metrics")
pytestmark = pytest.mark.filterwarnings("ignore:.*is ill-defined")  # MMLA calls it as is
from tests.support import mmla_eval_py  # noqa: E402

LABELS = ("neutral", "surprise", "fear", "sadness", "joy", "anger", "disgust")


@pytest.mark.parametrize("seed", range(6))
def test_percent_is_cal_metrics_results_dict(seed):
    rng = random.Random(seed)
    n = rng.randint(5, 60)
    gold = [rng.choice(LABELS[: rng.randint(2, 7)]) for _ in range(n)]
    parsed = [rng.choice((*LABELS, "unknown", "multi")) if rng.random() < 0.6 else g
              for g in gold]
    theirs = mmla_eval_py.cal_metrics(gold, parsed)
    ours = classification_metrics(gold, parsed).percent()
    assert list(ours.items()) == list(theirs.items())
