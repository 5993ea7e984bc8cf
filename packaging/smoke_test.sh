#!/usr/bin/env bash
# Start the built app offscreen on the bundled demo project and check it showed its window.
#
#     bash packaging/smoke_test.sh [dist/mmla-studio/mmla-studio]
#
# Runs with a throw-away data folder and settings, so the user's project is never touched.
# Passes when the binary exits 0 and printed the "window shown=True" line (the demo's clips
# were imported from the bundled resources and listed in the window); also checks that the
# frozen binary runs the CLI (`-m mmla_core`) and can import torch for the model worker.
set -euo pipefail
cd "$(dirname "$0")/.."
app="${1:-dist/mmla-studio/mmla-studio}"
[ -x "$app" ] || { echo "smoke: $app not found; run packaging/build.sh first" >&2; exit 1; }

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export MMLA_STUDIO_HOME="$scratch/home" XDG_CONFIG_HOME="$scratch/config" HOME="$scratch"
export QT_QPA_PLATFORM=offscreen

start=$(date +%s%N)
set +e
output="$(timeout 180 "$app" --smoke-test 2>&1)"
code=$?
set -e
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "$output" | grep -v "propagateSizeHints" || true
if [ "$code" -ne 0 ] || ! grep -q "smoke test: window shown=True" <<<"$output"; then
  echo "smoke: FAILED (exit code $code)" >&2; exit 1
fi
echo "smoke: GUI ok (exit 0, ${ms} ms including the demo import)"

db="$scratch/home/project.sqlite"
"$app" -m mmla_core --db "$db" ls >"$scratch/ls.txt" 2>&1 || { cat "$scratch/ls.txt"; echo "smoke: FAILED: mmla ls" >&2; exit 1; }
grep -q "demo_08" "$scratch/ls.txt" || { echo "smoke: FAILED: the bundled CLI lists no demo clips" >&2; exit 1; }
echo "smoke: CLI ok ($(grep -c demo_ "$scratch/ls.txt") demo clips listed by '-m mmla_core ls')"

# Inference inside the bundle: a tiny random Qwen2.5-Omni built on the spot (no weights bundled).
"$app" -m mmla_core --db "$db" models tiny "$scratch/tiny" --family qwen2_5_omni --add >/dev/null
"$app" -m mmla_core --db "$db" predict demo/demo_01 --model tiny-qwen2_5_omni --task MELD \
  >"$scratch/predict.txt" 2>&1 || { cat "$scratch/predict.txt"; echo "smoke: FAILED: predict" >&2; exit 1; }
grep -E "^(model|answer|latency)" "$scratch/predict.txt"
echo "smoke: inference ok (torch + transformers run inside the bundle)"
# The GUI and `mmla eval` run models in a spawned worker process: the frozen binary must re-enter
# as that worker (multiprocessing.freeze_support in packaging/launcher.py).
"$app" -m mmla_core --db "$db" eval --model tiny-qwen2_5_omni --task MELD --dataset demo \
  --split test --frames 2 >"$scratch/eval.txt" 2>&1 || { cat "$scratch/eval.txt"; echo "smoke: FAILED: eval in the worker process" >&2; exit 1; }
grep -E "^run [0-9]+: done" "$scratch/eval.txt"
echo "smoke: model worker process ok"
# Training runs detached as `[sys.executable, "-m", "mmla_core.train.supervise" | "mmla_core.train"]`.
for module in mmla_core.train mmla_core.train.supervise; do
  "$app" -m "$module" --help >/dev/null || { echo "smoke: FAILED: -m $module" >&2; exit 1; }
done
echo "smoke: training entry points ok"
echo "smoke: PASSED"
