"""SQL lives in mmla_core/store/: no other module of the core or the app holds a SQL statement
or runs one on a connection. (This was a ratchet with an allowance per file; the allowances
reached zero, so the rule now has none: a module that needs SQL gets a store function,
mmla_core/store/<area>.py, and calls it.)

A statement is a string literal or f-string (adjacent literals are one) that starts with an
upper-case SQL verb and has a FROM / INTO / SET / TABLE / VALUES in it, or a PRAGMA. Fragments
(" AND c.split = ?") are not counted: the statement they extend is. A database call is
`execute` / `executemany` / `executescript` on anything, or `query` / `scalar` on a store, a
connection or a db, so SQL put together at run time is caught too.
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
_RUNS_SQL = {"execute", "executemany", "executescript"}
_READS = {"query", "scalar"}
_DATABASE = re.compile(r"(store|conn|connection|db)$", re.IGNORECASE)


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


def database_calls(source: str) -> list[int]:
    """Line numbers of the calls in `source` that run SQL on a connection or a store."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = ast.unparse(node.func.value).split(".")[-1]
            if node.func.attr in _RUNS_SQL or (node.func.attr in _READS
                                               and _DATABASE.search(receiver)):
                lines.append(node.lineno)
    return lines


def sql_outside_store() -> dict[str, list[int]]:
    found = {}
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name.startswith(STORE):
                continue
            source = path.read_text(encoding="utf-8")
            lines = sorted(set(sql_statements(source) + database_calls(source)))
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


def test_the_counter_finds_database_calls_not_other_queries():
    source = '''
a = store.query(sql, params)
b = self.store.scalar(build())
c = conn.execute(text)
d = cursor.executemany(text, rows)
e = self.pyramid.query(0.0, 1.0, 300)
f = store.atomic()
'''
    assert database_calls(source) == [2, 3, 4, 5]


def test_no_file_outside_the_store_holds_sql():
    found = sql_outside_store()
    assert not found, ("SQL outside mmla_core/store/ (file: lines): write a store function "
                       "instead and call it\n"
                       + "\n".join(f"  {name}: {lines}" for name, lines in sorted(found.items())))
