#!/usr/bin/env bash
# Builds fuzz/gguf_fuzz with clang (ASan + UBSan + libFuzzer) into build-fuzz/ and runs it for
# $1 seconds (default 300) on a scratch copy of the seed corpus tests/gguf/data/corpus.
# Findings (crash-*, leak-*, timeout-*) land in build-fuzz/gguf_findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
build_dir="${FUZZ_BUILD_DIR:-build-fuzz}"
cuda_root="${CUDA_HOME:-/usr/local/cuda}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_FUZZ=ON \
  -DKILN_BUILD_TESTS=OFF -DCMAKE_CXX_COMPILER=clang++ -DCUDAToolkit_ROOT="$cuda_root" >/dev/null
cmake --build "$build_dir" --target gguf_fuzz
work="$build_dir/gguf_corpus"
findings="$build_dir/gguf_findings"
mkdir -p "$work" "$findings"
cp -n tests/gguf/data/corpus/* "$work/" 2>/dev/null || true
jobs="${FUZZ_JOBS:-1}"
parallel=()
# Parallel jobs write fuzz-N.log into the working directory: keep them in the build folder.
if [ "$jobs" -gt 1 ]; then parallel=(-jobs="$jobs" -workers="$jobs"); cd "$build_dir"; build_dir=.; work=gguf_corpus; findings=gguf_findings; fi
"$build_dir/fuzz/gguf_fuzz" "$work" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" "${parallel[@]}"
