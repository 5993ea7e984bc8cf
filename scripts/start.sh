#!/usr/bin/env bash
# Set up (if needed) and start MMLA Studio on the bundled demo project.
# Extra arguments go to the app (e.g. --db PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MMLA_STUDIO_DB="${MMLA_STUDIO_DB:-$PWD/demo-project/project.sqlite}"
.venv/bin/mmla demo
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "${QT_QPA_PLATFORM:-}" = "" ]; then
  echo "start: no display found; running inside a virtual X server (xvfb-run), nothing will be visible" >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/mmla-studio "$@"
fi
exec .venv/bin/mmla-studio "$@"
