#!/usr/bin/env bash
# Builds bench_attention against an existing kiln build folder (default build-attn):
#   cmake --build build-attn --target kiln_engine && bash bench/attention/build.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build-attn}"
cuda="${CUDA_HOME:-/usr/local/cuda}"
libs=""
for l in engine plan cpu jit model gguf util; do
  [ -f "$build/src/$l/libkiln_$l.a" ] && libs="$libs $build/src/$l/libkiln_$l.a"
done
g++ -O2 -std=c++20 -Isrc -I"$cuda/include" bench/attention/bench_attention.cpp $libs \
  -L"$cuda/lib64" -lcudart_static -lnvrtc -lpthread -ldl -lrt -Wl,-rpath,"$cuda/lib64" -o "$build/bench_attention"
echo "$build/bench_attention"
