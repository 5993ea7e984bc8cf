#!/usr/bin/env bash
# Set up (if needed) and run the linter and the whole test suite, headless.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/lint-imports  # the floors of docs/architecture.md ([tool.importlinter] in pyproject.toml)
.venv/bin/mypy  # types in the core ([tool.mypy] in pyproject.toml)
export QT_QPA_PLATFORM=offscreen QT_LOGGING_RULES="qt.multimedia.*=false"
pytest=(.venv/bin/python -m pytest -q -p no:cacheprovider)
if [ $# -gt 0 ]; then exec "${pytest[@]}" "$@"; fi
# The GUI tests run in a process of their own, as the app does: the window's process never
# loads torch (tests/gui/test_main_window.py checks it), while the core tests leave torch's and
# tqdm's threads behind in theirs.
status=0
for group in "tests/core tests/packaging" tests/gui tests/reliability; do
  # shellcheck disable=SC2086  # a group is several folders
  "${pytest[@]}" $group || status=$?
done
exit "$status"
