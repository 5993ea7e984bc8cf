"""DESIGN rule 1: the core never imports Qt, so everything works headless and from the CLI.

Every module of the core is imported (walked, not hand-picked), in a fresh interpreter; the
static half of the rule is the import-linter contract in pyproject.toml (scripts/test.sh)."""

import pkgutil
import subprocess
import sys

import mmla_core

GUI_PACKAGES = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "mmla_app")


def core_modules() -> list[str]:
    """Every module under mmla_core but the `__main__` entry points (importing runs them)."""
    names = ["mmla_core"]
    for info in pkgutil.walk_packages(mmla_core.__path__, "mmla_core."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def test_the_walk_finds_every_core_package():
    names = set(core_modules())
    assert {"mmla_core.store.db", "mmla_core.train.control", "mmla_core.probe.sets",
            "mmla_core.variants.batch", "mmla_core.cli.commands_eval"} <= names
    assert len(names) > 100


def test_importing_every_core_module_loads_no_qt():
    code = (
        "import sys\n"
        f"for name in {core_modules()!r}: __import__(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {GUI_PACKAGES!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


# pyproject.toml's banned-module-level-imports: imported only inside the functions that need them
HEAVY_PACKAGES = ("torch", "transformers", "peft", "accelerate", "av")


def test_the_cli_lists_clips_without_loading_the_heavy_modules(tmp_path):
    """`mmla --help` and `mmla ls` import the CLI and every command module (first-party imports
    are at the top of each module), yet none of the seconds-to-import modules loads."""
    db = tmp_path / "p.sqlite"
    code = (
        "import contextlib, io, pkgutil, sys\n"
        "import mmla_core.cli\n"
        "from mmla_core.cli import main\n"
        "for info in pkgutil.iter_modules(mmla_core.cli.__path__, 'mmla_core.cli.'):\n"
        "    __import__(info.name)\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        f"assert main(['new', {str(db)!r}]) == 0\n"
        f"assert main(['--db', {str(db)!r}, 'ls']) == 0\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY_PACKAGES!r})\n"
        "print('heavy:', ','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "heavy:"
