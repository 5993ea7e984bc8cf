#!/usr/bin/env bash
# Set up (if needed) and run the linter and the whole test suite, headless.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/lint-imports  # the floors of docs/architecture.md ([tool.importlinter] in pyproject.toml)
.venv/bin/mypy  # types in the core ([tool.mypy] in pyproject.toml)
export QT_QPA_PLATFORM=offscreen QT_LOGGING_RULES="qt.multimedia.*=false"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
