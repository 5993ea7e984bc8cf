"""Every `mmla` line in a fenced block of the README and the guides parses with the real
command parser: a renamed subcommand or flag fails here, not for the reader. Placeholders
(`RUN`, `M`, `...`) parse as values; `[--opt X]` is the docs' optional notation and is parsed
without its brackets; a block's `export NAME=VALUE` lines hold for the lines after them (the
annotator may come from MMLA_ANNOTATOR). Whether the lines also *run* on the demo project is
checked by tests/core/test_readme_commands.py for the README's block."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from unittest import mock

import pytest

from mmla_core.cli import build_parser
from tests.support.paths import REPO

DOCS = ("README.md", "docs/user-guide.md", "docs/evaluation.md", "docs/training.md")


def fenced_commands(text: str) -> list[tuple[int, str, dict[str, str]]]:
    """(line, command, exported variables) for each `mmla ...` in a fenced block: continuation
    lines joined, `a ; b` split, comments dropped."""
    found = []
    for block in re.finditer(r"```[\w-]*\n(.*?)```", text, re.S):
        first_line = text[:block.start()].count("\n") + 2
        joined, start, exported = "", 0, {}
        for offset, raw in enumerate(block.group(1).splitlines()):
            start = start if joined else first_line + offset
            line = raw.rstrip()
            joined += line[:-1] + " " if line.endswith("\\") else line
            if line.endswith("\\"):
                continue
            for part in joined.split(" ; "):
                command = re.sub(r"\s+#.*$", "", part).strip()
                if command.startswith("export "):
                    exported = {**exported, **dict(
                        w.split("=", 1) for w in shlex.split(command)[1:] if "=" in w)}
                if command.startswith("mmla "):
                    found.append((start, command, exported))
            joined = ""
    return found


def parse_error(command: str, exported: dict[str, str] | None = None) -> str | None:
    words = shlex.split(re.sub(r"\[(--[^\]]+)\]", r"\1", command))[1:]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), \
                mock.patch.dict(os.environ, exported or {}):
            build_parser().parse_args(words)
    except SystemExit as exc:
        return (err.getvalue().strip().splitlines() or [f"exit {exc.code}"])[-1] \
            if exc.code else None
    return None


def test_the_blocks_are_found():
    commands = [c for doc in DOCS for _, c, _env in fenced_commands((REPO / doc).read_text())]
    assert len(commands) > 40 and any(c.startswith("mmla train resume") for c in commands)


def test_a_wrong_flag_is_caught(monkeypatch):
    monkeypatch.delenv("MMLA_ANNOTATOR", raising=False)
    assert "unrecognized arguments: --no-such-flag" in parse_error("mmla ls --no-such-flag")
    assert parse_error("mmla train resume 3 [--checkpoint 40]") is None
    assert "--annotator" in parse_error("mmla label c MELD joy")
    assert parse_error("mmla label c MELD joy", {"MMLA_ANNOTATOR": "alice"}) is None


@pytest.mark.parametrize("doc", DOCS)
def test_every_fenced_mmla_line_parses(doc):
    text = (REPO / doc).read_text(encoding="utf-8")
    broken = [f"{doc}:{line}: {command}\n    {error}"
              for line, command, exported in fenced_commands(text)
              if (error := parse_error(command, exported))]
    assert not broken, "\n".join(broken)
