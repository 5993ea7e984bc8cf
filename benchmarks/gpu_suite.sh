#!/usr/bin/env bash
# The GPU suite (benchmarks/gpu_suite.py): a random-weight Qwen2.5-Omni-7B thinker built on the
# GPU, then scoring vs generation, the full probe, LoRA training vs the plain script and
# flash-attn vs SDPA, one `RESULT name value unit` line per figure, in at most 8 minutes.
#   benchmarks/gpu_suite.sh            # needs CUDA; exits 2 at once without it
#   benchmarks/gpu_suite.sh --smoke    # the CPU check with a tiny model (tests run it)
# PYTHON picks the interpreter (default: python3); GPU_SUITE_LIMIT_S the hard wall-clock cap.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
smoke=0
for arg in "$@"; do [ "$arg" = "--smoke" ] && smoke=1; done
if [ "$smoke" = 0 ] && ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "gpu_suite: no NVIDIA GPU here (nvidia-smi not found); run it on a GPU machine," \
         "or pass --smoke for the CPU check" >&2
    exit 2
fi
exec timeout --signal=INT "${GPU_SUITE_LIMIT_S:-540}" "$python" "$here/gpu_suite.py" "$@"
