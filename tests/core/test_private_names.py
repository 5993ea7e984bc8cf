"""A private name (`_name`) stays in its module: no module of the core or the app imports
another module's private names (issue 16). What two modules share gets a public name."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {"mmla_core": REPO / "mmla_core", "mmla_app": REPO / "app"}


def private_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        if node.module.split(".")[0] not in PACKAGES:
            continue
        for alias in node.names:
            if alias.name.startswith("_") and not alias.name.startswith("__"):
                found.append(f"{path.relative_to(REPO)}:{node.lineno} imports "
                             f"{node.module}.{alias.name}")
    return found


def test_no_module_imports_another_modules_private_names():
    found = [hit for root in PACKAGES.values() for path in sorted(root.rglob("*.py"))
             for hit in private_imports(path)]
    assert not found, "give these a public name:\n" + "\n".join(found)
