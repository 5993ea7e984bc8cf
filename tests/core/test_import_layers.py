"""Every module of the core and of the app is in a row of its import-linter layers contract
(pyproject.toml `[tool.importlinter]`): a module in no row is never checked, so it could import
upward unnoticed (procs, demo, words and both __main__ modules were in none)."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pytest

from tests.support.paths import REPO


def _layers_contracts() -> dict[str, list[str]]:
    """{container: its layer rows} of every layers contract."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return {container: contract["layers"] for contract in contracts
            if contract["type"] == "layers" for container in contract["containers"]}


def _named(rows: list[str]) -> set[str]:
    """The module names of the rows: "a | (b)" names a and b (in parentheses: optional)."""
    return {name.strip().strip("()") for row in rows for name in row.split("|")}


def _modules(package: str) -> set[str]:
    """The package's direct modules and subpackages (not imported: found on disk)."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, package
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = {p.stem for p in folder.glob("*.py") if p.name != "__init__.py"}
    return found | {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}


def test_the_layers_contracts_are_found():
    assert {"mmla_core", "mmla_app"} <= set(_layers_contracts())


@pytest.mark.parametrize("container", ["mmla_core", "mmla_app"])
def test_every_module_is_in_a_layer(container):
    unlisted = _modules(container) - _named(_layers_contracts()[container])
    assert not unlisted, (f"{sorted(unlisted)} of {container} in no row of its layers contract "
                          "(pyproject.toml [tool.importlinter]): add each to the row of its "
                          "floor (docs/architecture.md)")
