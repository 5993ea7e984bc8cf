"""`python -m tests.support.fake_supervisor ARGS...`: the training supervisor, as
`python -m mmla_core.train.supervise ARGS...` runs it, with tests/support/fake_trainer.py as its
trainer (`supervise.TRAINER`). The repository root must be on PYTHONPATH (`train.control`'s
child environment puts it there).

What a test's launch starts instead of the supervisor (`use_fake_trainer` points
`train.control.SUPERVISOR` here): the product has no setting for another trainer, the test
launches this instead, as tests/support/fake_rank.py stands in for an evaluation rank.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mmla_core.train import control, supervise

FAKE_TRAINER = Path(__file__).with_name("fake_trainer.py")


def use_fake_trainer(monkeypatch) -> None:
    """Launches and resumes in this test run the fake trainer (its timing: FAKE_TRAINER_MODE)."""
    monkeypatch.setattr(control, "SUPERVISOR", "tests.support.fake_supervisor")


def main() -> int:
    supervise.TRAINER = (sys.executable, str(FAKE_TRAINER))
    return supervise.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
