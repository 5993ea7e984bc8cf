#!/usr/bin/env bash
# Build the standalone MMLA Studio (one folder: dist/mmla-studio/) with a pinned PyInstaller.
#
#     bash packaging/build.sh            # then: bash packaging/smoke_test.sh
#
# Uses the project's .venv (run scripts/setup.sh first). Installs PyInstaller into it if it is
# missing or another version. Slow (minutes) and large: it is NOT part of scripts/test.sh or CI.
# Prints the build time and the size of the result; packaging/README.md records the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

PYINSTALLER_VERSION="6.22.3"   # pinned: the spec and the figures in packaging/README.md use it
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || { echo "build: $PYTHON not found; run scripts/setup.sh first" >&2; exit 1; }

have="$("$PYTHON" -c 'import PyInstaller; print(PyInstaller.__version__)' 2>/dev/null || true)"
if [ "$have" != "$PYINSTALLER_VERSION" ]; then
  echo "build: installing pyinstaller==$PYINSTALLER_VERSION into $(dirname "$(dirname "$PYTHON")")"
  "$PYTHON" -m pip install -q "pyinstaller==$PYINSTALLER_VERSION"
fi

torch_build="$("$PYTHON" -c 'import torch; print(torch.__version__, "cuda" if torch.version.cuda else "cpu")')"
echo "build: bundling torch $torch_build (the bundle carries whichever torch .venv has)"

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/mmla-studio.spec
elapsed=$(( $(date +%s) - start ))

bundle=dist/mmla-studio
[ -x "$bundle/mmla-studio" ] || { echo "build: $bundle/mmla-studio was not produced" >&2; exit 1; }
if find "$bundle" -name "*.safetensors" -o -name "pytorch_model*.bin" | grep -q .; then
  echo "build: model weights found in the bundle; they must never be bundled" >&2; exit 1
fi
size="$(du -sh "$bundle" | cut -f1)"
echo "build: done in ${elapsed}s: $bundle is $size ($(find "$bundle" -type f | wc -l) files)"
echo "build: biggest parts:"
du -s "$bundle"/_internal/* | sort -rn | head -8 | awk '{printf "  %7.0f MB  %s\n", $1/1024, $2}'
