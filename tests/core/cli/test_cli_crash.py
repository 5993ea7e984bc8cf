"""An unexpected error in `mmla` is one line and a log file, never a bare traceback."""

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from mmla_core.cli import main


def test_failing_command_prints_one_line_and_logs_the_traceback(tmp_path):
    db = tmp_path / "project.sqlite"
    assert main(["--db", str(db), "demo"]) == 0
    with sqlite3.connect(db) as conn:  # a damaged project: a table the command needs is gone
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("DROP TABLE predictions")
    env = {**os.environ, "MMLA_STUDIO_HOME": str(tmp_path / "home")}
    result = subprocess.run([sys.executable, "-m", "mmla_core", "--db", str(db), "runs", "ls"],
                            capture_output=True, text=True, env=env, check=False, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("mmla runs: unexpected OperationalError: no such table: predictions")
    assert re.search(r"\(at \S+\.py:\d+ in \w+\)", line), line
    log = re.search(r"full traceback in (\S+\.log)$", line).group(1)
    assert log.startswith(str(tmp_path / "home" / "logs"))
    text = Path(log).read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "no such table" in text
    assert "runs ls" in text.splitlines()[0]  # the command line that failed
