"""The test tree mirrors the code (docs/architecture.md, "Tests"): tests/core/<package>/ names a
package of mmla_core, tests/gui/<folder>/ a folder of app/; helpers live in the one package
tests/support and are imported by that name, never by a bare module name or from a conftest."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import REPO

MIRRORS = {"core": "mmla_core", "gui": "app"}  # tests/<key>/X/ mirrors <value>/X/
FLAT = ("reliability", "packaging", "support")  # cross-cutting: one folder each
TEST_FILES = ("conftest.py", "__init__.py")


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_dir() and p.name != "__pycache__")


def _misplaced_folders(repo: Path) -> list[str]:
    tests, problems = repo / "tests", []
    for kind in (*MIRRORS, *FLAT):
        for folder in _folders(tests / kind):
            rel = folder.relative_to(tests / kind)
            if kind not in MIRRORS:
                problems.append(f"{folder.relative_to(repo)}: tests/{kind} has no subfolders")
            elif not (repo / MIRRORS[kind] / rel / "__init__.py").is_file():
                problems.append(f"{folder.relative_to(repo)}: no package {MIRRORS[kind]}/{rel}")
    for package in [tests, *_folders(tests)]:
        if package.relative_to(tests).parts[:1] != ("data",) \
                and not (package / "__init__.py").is_file():  # else same basenames clash
            problems.append(f"{package.relative_to(repo)}: no __init__.py")
    return problems


def _misplaced_files(repo: Path) -> list[str]:
    tests, problems = repo / "tests", []
    for path in sorted(tests.rglob("*.py")):
        rel = path.relative_to(tests)
        if rel.parts[0] == "data":
            continue
        in_support = rel.parts[0] == "support"
        if in_support and (path.name.startswith("test_") or path.name == "conftest.py"):
            problems.append(f"tests/{rel}: tests and fixtures do not go in tests/support")
        elif not in_support and not path.name.startswith("test_") \
                and path.name not in TEST_FILES:
            problems.append(f"tests/{rel}: a helper belongs in tests/support")
    return problems


def _bare_imports(repo: Path) -> list[str]:
    """Imports of `conftest`, of a test module or of a support module by its bare name."""
    support = {p.stem for p in (repo / "tests" / "support").glob("*.py")}
    problems = []
    for path in sorted([*(repo / "tests").rglob("*.py"), *(repo / "benchmarks").glob("*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "conftest" or top.startswith("test_") or top in support:
                    problems.append(f"{path.relative_to(repo)}:{node.lineno}: import {name} "
                                    "(use tests.support.NAME; fixtures come from conftest.py)")
    return problems


def layout_problems(repo: Path) -> list[str]:
    return _misplaced_folders(repo) + _misplaced_files(repo) + _bare_imports(repo)


def test_the_test_tree_mirrors_the_code():
    assert layout_problems(REPO) == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_rule_names_each_file_in_the_wrong_place(tmp_path):
    packages = "tests tests/core tests/gui tests/support".split()
    good = {f"{package}/__init__.py": "" for package in packages} | {
        "mmla_core/store/__init__.py": "", "app/probe/__init__.py": "",
        "tests/core/store/__init__.py": "", "tests/core/store/test_a.py": "",
        "tests/gui/probe/__init__.py": "", "tests/gui/probe/conftest.py": "",
        "tests/support/fakes.py": "", "tests/core/test_b.py": "from tests.support.fakes import x\n",
    }
    assert layout_problems(_tree(tmp_path / "good", good)) == []
    bad = good | {
        "tests/core/stores/__init__.py": "",  # no such package
        "tests/gui/player/test_c.py": "",  # no app/player, no __init__.py
        "tests/core/store/helpers.py": "",  # a helper outside tests/support
        "tests/support/test_d.py": "",  # a test inside it
        "tests/core/test_e.py": "import fakes\nfrom conftest import y\nfrom test_b import z\n",
    }
    found = "\n".join(layout_problems(_tree(tmp_path / "bad", bad)))
    for expected in ("tests/core/stores: no package mmla_core/stores",
                     "tests/gui/player: no package app/player", "tests/gui/player: no __init__",
                     "tests/core/store/helpers.py: a helper", "tests/support/test_d.py: tests",
                     "test_e.py:1: import fakes", "test_e.py:2: import conftest",
                     "test_e.py:3: import test_b"):
        assert expected in found, found
    assert len(found.splitlines()) == 8, found
