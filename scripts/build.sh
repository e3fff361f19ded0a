#!/usr/bin/env bash
# Configures and builds kiln into build/ (BUILD_DIR overrides). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
cuda_root="${CUDA_HOME:-/usr/local/cuda}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUDAToolkit_ROOT="$cuda_root" "$@" >/dev/null
cmake --build "$build_dir"
