"""Entry point of the frozen MMLA Studio (PyInstaller runs this file).

Besides starting the GUI, it stands in for `python -m MODULE ...`: a frozen app has no Python
interpreter, so `sys.executable` is this binary, and a job started as
`[sys.executable, "-m", "mmla_core.train", config]` (detached training) or the CLI
(`mmla-studio -m mmla_core ls`) must still run its module.
"""

import multiprocessing
import runpy
import sys


def run() -> int:
    multiprocessing.freeze_support()  # spawned model workers re-enter here first
    if len(sys.argv) >= 3 and sys.argv[1] == "-m":
        module = sys.argv[2]
        sys.argv = [sys.argv[0], *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    from mmla_app.main import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
