"""README's "Try it on the demo project" block runs as written, line by line, in order, from an
empty folder (the GUI launch line is skipped). Each `mmla` line runs in this process through
`mmla_core.cli.main` and must exit 0; `export NAME=VALUE` lines set the environment as a shell
would. The block uses the tiny random model and a short training run, so it stays quick."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from mmla_core.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK_TITLE = "Try it on the demo project"


def readme_lines() -> list[str]:
    """The command lines of the block after BLOCK_TITLE, comments stripped."""
    text = README.read_text(encoding="utf-8")
    after = text[text.index(BLOCK_TITLE):]
    block = re.search(r"```bash\n(.*?)```", after, re.S).group(1)
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_the_block_is_found_and_starts_a_new_project():
    lines = readme_lines()
    assert lines[0].startswith("mmla new ") and any("--model tiny " in x for x in lines)
    assert all(x.split()[0] in ("mmla", "mmla-studio", "export") for x in lines)


def test_readme_says_how_mmla_gets_on_the_path_before_the_block():
    """setup.sh installs the commands into the checkout's .venv/bin, not onto PATH: a new user
    typing the block's first line in an empty folder gets 'mmla: command not found' unless the
    README said, before the block, how to reach them."""
    text = README.read_text(encoding="utf-8")
    before = text[text.index("## Command line"):text.index(BLOCK_TITLE)]
    assert "source .venv/bin/activate" in before, "the README never says how `mmla` gets on PATH"
    scripts = Path(README.parent / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert "-m venv .venv" in scripts and 'pip install -q -e ".[dev]"' in scripts


def test_readme_commands_run_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MMLA_STUDIO_DB", raising=False)
    monkeypatch.setenv("MMLA_STUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PWD", str(tmp_path))
    for line in readme_lines():
        words = shlex.split(line)
        if words[0] == "mmla-studio":
            continue  # the window: not in a headless test
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            monkeypatch.setenv(name, os.path.expandvars(value))
            continue
        code = main(words[1:])
        output = capsys.readouterr()
        assert code == 0, f"`{line}` exited {code}:\n{output.out[-2000:]}\n{output.err[-3000:]}"
