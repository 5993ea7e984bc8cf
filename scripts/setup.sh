#!/usr/bin/env bash
# Set up everything MMLA Studio needs on a Debian/Ubuntu machine, skipping what is already there:
# system libraries (PortAudio, the xcb/EGL libraries Qt needs, Xvfb, espeak-ng), a virtual
# environment in .venv and the Python packages. Safe to run again; it is quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(python3-venv libportaudio2 libegl1 libgl1 libfontconfig1 libdbus-1-3
  libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-xinerama0 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0
  xvfb xauth espeak-ng ffmpeg)

install_system_packages() {
  command -v dpkg >/dev/null || { echo "setup: not a Debian system; install PortAudio and Qt's xcb libraries yourself" >&2; return 0; }
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing system packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_packages() {
  local python="${PYTHON:-python3}"
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  local stamp=.venv/.mmla-setup-stamp
  local want; want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  echo "setup: installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  # torch first, pinned: a local CPU wheel where the machine has one; later packages see it
  # as satisfied and pull in no other torch build.
  .venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
}

install_system_packages
install_python_packages
