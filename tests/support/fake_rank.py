"""`python -m tests.support.fake_rank ENGINE INPUTS ENTRY ARGS...`: run the module ENTRY
(an evaluation rank's entry, `mmla_core.eval`) as `python -m ENTRY ARGS...` would, with ENGINE
and INPUTS ("module:attr", or "-" for the real one) as the default engine and input factories
(`eval.run_plan.DEFAULT_FACTORIES`). The repository root must be on PYTHONPATH
(`tests.support.paths.repo_env`).

What torchrun or a test starts as a rank when the rank must answer with the fake engine, or
die on purpose: the product has no flag for it, the test launches this instead of the entry.
"""

from __future__ import annotations

import runpy
import sys

from mmla_core.eval.run_plan import DEFAULT_FACTORIES


def main() -> None:
    engine, inputs, entry, *args = sys.argv[1:]
    for kind, ref in (("engine", engine), ("inputs", inputs)):
        if ref != "-":
            DEFAULT_FACTORIES[kind] = ref
    if engine != "-":  # a fake engine takes any name for a model
        DEFAULT_FACTORIES["locate"] = "tests.support.fake_engine:locate"
    sys.argv = [entry, *args]
    runpy.run_module(entry, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
