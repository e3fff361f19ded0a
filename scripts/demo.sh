#!/usr/bin/env bash
# Installs what is missing, builds, writes a small synthetic model and benchmarks it: on a GPU
# with both JIT builds side by side, without one on the CPU reference (kiln says so).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
kiln=./"${BUILD_DIR:-build}"/kiln
model="${TMPDIR:-/tmp}/kiln-demo-qwen2-1.5b-l4.gguf"
$kiln synth qwen2-1.5b-q8_0 --layers 4 --seed 1 -o "$model"
if nvidia-smi -L >/dev/null 2>&1; then
  $kiln bench -m "$model" -p 512 -n 32 -r 3 --jit specialized,generic
else
  $kiln bench -m "$model" -p 16 -n 4 -r 1
fi
