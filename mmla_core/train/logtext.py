"""The trainer's log made for reading: the metrics dicts that transformers prints
(`{'loss': 0.51, 'grad_norm': 1.2, ...}`) and our JSON step lines become "loss 0.51 · grad norm
1.2 · ...", and a progress bar redrawn with carriage returns keeps only its last state. The log
file itself is left as written (a traceback stays byte for byte)."""

from __future__ import annotations

import ast
import json
import re

__all__ = ["metrics_text", "readable_line", "readable_log"]

_STEP_JSON = re.compile(r"^(?P<head>.*?step \d+): (?P<body>\{.*\})\s*$")
_DICT = re.compile(r"^\s*(?P<body>\{.*\})\s*$")


def metrics_text(metrics: dict) -> str:
    """'loss 0.512 · learning rate 1e-04 · epoch 0.5' (numbers to 3-4 significant digits)."""
    def value(v) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}"
        return str(v)

    return " · ".join(f"{str(k).replace('_', ' ')} {value(v)}" for k, v in metrics.items())


def _parse_dict(text: str) -> dict | None:
    for parse in (json.loads, ast.literal_eval):
        try:
            found = parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(found, dict):
            return found
    return None


def readable_line(line: str) -> str:
    line = line.rsplit("\r", 1)[-1]
    match = _STEP_JSON.match(line) or _DICT.match(line)
    if match is None:
        return line
    metrics = _parse_dict(match.group("body"))
    if metrics is None:
        return line
    head = match.groupdict().get("head")
    return f"{head}: {metrics_text(metrics)}" if head else metrics_text(metrics)


def readable_log(text: str) -> str:
    return "\n".join(readable_line(line) for line in text.split("\n"))
