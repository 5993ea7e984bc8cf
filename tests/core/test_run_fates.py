"""One table says what became of a run cut short and what a rerun does (`run_fates`): every
worker op that writes runs and every run kind the core writes has its words there, so a new op
or kind cannot reach a user as a bare "run it again"."""

from __future__ import annotations

import ast
from pathlib import Path

import mmla_core
from mmla_core.run_fates import (
    KIND_JOBS,
    RUN_FATES,
    RUNLESS_OPS,
    kind_fate,
    rerun_advice,
    rerun_words,
    run_fate,
)
from mmla_core.worker.service import HANDLERS

CORE = Path(mmla_core.__file__).parent
KIND_ARG = {"start": 0, "start_run": 1, "claim_launch_run": 2}  # where a call names its kind


def _kinds_written() -> set[str]:
    """Every run kind written in the core: the string literal a run-starting call names."""
    kinds = set()
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            at = KIND_ARG.get(name)
            if at is not None and len(node.args) > at and isinstance(node.args[at], ast.Constant) \
                    and isinstance(node.args[at].value, str):
                kinds.add(node.args[at].value)
    return kinds


def test_every_worker_op_has_a_fate_or_writes_no_run():
    assert set(HANDLERS) == set(RUN_FATES) | set(RUNLESS_OPS)
    assert not set(RUN_FATES) & set(RUNLESS_OPS)


def test_every_run_kind_the_core_writes_has_its_jobs_words():
    kinds = _kinds_written()
    assert {"eval", "probe", "checks"} <= kinds  # the scan sees the calls it is meant to
    assert kinds <= set(KIND_JOBS), kinds - set(KIND_JOBS)
    assert {job for jobs in KIND_JOBS.values() for job in jobs} == set(RUN_FATES)


def test_each_fate_names_the_run_what_is_kept_and_the_gui_and_cli_rerun():
    for job, fate in RUN_FATES.items():
        said = run_fate(job, 12)
        assert said.startswith(f"{fate.run} 12 is marked failed (") and " kept" in said, job
        assert "mmla " in fate.rerun, job  # the CLI's command next to the window's button
    assert "mmla eval --resume 12" in run_fate("evaluate", 12)
    assert "--resume RUN" in rerun_advice("evaluate")  # no id known yet
    assert "--resume" not in rerun_words("evaluate", wrote=False)  # it waited: no run to resume
    assert rerun_words("probe", wrote=False) == rerun_words("probe")


def test_a_probe_run_known_only_by_its_kind_gets_both_probe_and_probe_set_words():
    said = kind_fate("probe", 7)
    assert said.startswith("if it was a probe, the cells it finished are kept")
    assert "if it was a probe set, " in said and "--run-missing" in said
    assert kind_fate("eval", 7) == rerun_advice("evaluate", 7)
    assert kind_fate("train_eval", 7) == "run it again"
