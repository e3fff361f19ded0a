#!/usr/bin/env bash
# Builds bench_matmul against an existing kiln build folder (default build-matmul):
#   cmake --build build-matmul --target kiln_engine && bash bench/matmul/build.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build-matmul}"
cuda="${CUDA_HOME:-/usr/local/cuda}"
g++ -O2 -std=c++20 -Isrc -I"$cuda/include" bench/matmul/bench_matmul.cpp \
  "$build/src/engine/libkiln_engine.a" "$build/src/jit/libkiln_jit.a" "$build/src/gguf/libkiln_gguf.a" \
  "$build/src/util/libkiln_util.a" -L"$cuda/lib64" -lcudart_static -lnvrtc -lpthread -ldl -lrt \
  -Wl,-rpath,"$cuda/lib64" -o "$build/bench_matmul"
echo "$build/bench_matmul"
