"""Ratchet: SQL lives in mmla_core/store/. Every other module of the core and the app may hold at
most the SQL statements ALLOWED names for it, and the list only shrinks.

A statement is a string literal or f-string (adjacent literals are one) that starts with an
upper-case SQL verb and has a FROM / INTO / SET / TABLE / VALUES in it, or a PRAGMA. Fragments
(" AND c.split = ?") are not counted: the statement they extend is.

When this fails:
- a file went over its allowance or a new file got SQL: write a store function instead
  (mmla_core/store/<area>.py) and call it;
- a file went under its allowance: well done, lower its number here (delete the line at 0).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("mmla_core", "app")
STORE = "mmla_core/store/"
_VERB = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|WITH|REPLACE|DROP|ALTER)\b")
_CLAUSE = re.compile(r"\b(FROM|INTO|SET|TABLE|VALUES)\b")
_PRAGMA = re.compile(r"^\s*PRAGMA\s+\w")

ALLOWED: dict[str, tuple[int, str]] = {
    # path: (most SQL statements, why they are still here)
    "app/probe/probe_jobs.py": (3, "clip, model and task names for the Probe tab; "
                                   "to store.catalog"),
}


def sql_statements(source: str) -> list[int]:
    """Line numbers of the SQL statements written as literals in `source`."""
    tree = ast.parse(source)
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
             for v in node.values}
    lines = []
    for node in ast.walk(tree):
        if id(node) in parts:  # a piece of an f-string: the f-string itself is judged
            continue
        text = _literal_text(node)
        if text is not None and ((_VERB.match(text) and _CLAUSE.search(text))
                                 or _PRAGMA.match(text)):
            lines.append(node.lineno)
    return lines


def _literal_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def sql_outside_store() -> dict[str, list[int]]:
    found = {}
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name.startswith(STORE):
                continue
            lines = sql_statements(path.read_text(encoding="utf-8"))
            if lines:
                found[name] = lines
    return found


def test_the_counter_finds_statements_not_prose():
    source = '''
"""Select the clips from a dataset (prose, not SQL)."""
a = "SELECT id FROM clips WHERE dataset_id = ?"
b = ("UPDATE clips SET split = ? "
     "WHERE id = ?")
c = f"INSERT INTO labels (clip_id) VALUES ({n})"
d = " AND c.split = ?"
e = "PRAGMA data_version"
f = "SELECT the model"
'''
    assert sql_statements(source) == [3, 4, 6, 8]


def test_no_file_outside_the_store_holds_more_sql_than_allowed():
    found = sql_outside_store()
    over = {name: f"{len(lines)} statements (lines {lines}), allowed "
                  f"{ALLOWED.get(name, (0, ''))[0]}"
            for name, lines in found.items() if len(lines) > ALLOWED.get(name, (0, ""))[0]}
    assert not over, ("SQL outside mmla_core/store/: put it in a store function instead\n"
                      + "\n".join(f"  {name}: {why}" for name, why in sorted(over.items())))


def test_the_allowances_shrink_with_the_code():
    found = sql_outside_store()
    stale = {name: f"allowed {most}, holds {len(found.get(name, []))}"
             for name, (most, _) in ALLOWED.items() if len(found.get(name, [])) < most}
    assert not stale, ("less SQL outside the store than ALLOWED says: lower (or delete) these "
                       "allowances in tests/core/test_sql_lives_in_store.py\n"
                       + "\n".join(f"  {name}: {why}" for name, why in sorted(stale.items())))


def test_every_allowance_says_why():
    assert all(most > 0 and why.strip() for most, why in ALLOWED.values())
