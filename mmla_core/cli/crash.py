"""What `mmla` does with an error nobody planned for: one line on stderr, the traceback in a file.

A bare traceback tells a user nothing they can act on and scrolls the real message away; a lost
traceback leaves a bug report with nothing in it. So the traceback goes to a log file under the
data folder (or the temp folder when that cannot be written) and the line names the error, the
place it was raised and that file.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from mmla_core.config import data_dir


def report_unexpected(command: str, exc: BaseException) -> None:
    """Print `mmla CMD: unexpected TYPE: MESSAGE (at FILE:LINE in FUNC); traceback in LOG`."""
    log = _write_log(command, exc)
    where = _where(exc)
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else "(no message)"
    saved = f"full traceback in {log}" if log else "the traceback could not be written"
    print(f"mmla {command}: unexpected {type(exc).__name__}: {message} (at {where}); {saved}",
          file=sys.stderr)


def _where(exc: BaseException) -> str:
    """The innermost frame of the traceback: where the error was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown place"
    last = frames[-1]
    return f"{last.filename}:{last.lineno} in {last.name}"


def _write_log(command: str, exc: BaseException) -> Path | None:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"mmla-{command}-{stamp}-{os.getpid()}.log"
    text = (f"mmla {' '.join(sys.argv[1:])}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    for folder in (data_dir() / "logs", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None
