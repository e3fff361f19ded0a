#!/usr/bin/env bash
# One device session: the attention GPU tests, the benchmark (specialized vs generic, llama-8b
# shapes), and a SASS summary of the benchmarked kernels (kernel.sass: the whole SASS of the one
# matching SASS_KEEP, default the warp-specialized llama-8b prefill). Expects test_gpu and bench_attention in
# $1 (carried build outputs); writes logs to $OUT.
set -uo pipefail
bin="$1"
source "$(dirname "$0")/../device_lib.sh"
device_setup
timeout "${TEST_TIMEOUT:-200}" "$bin/test_gpu" --gtest_filter="${TEST_FILTER:-Attn*}" > "$out/test.log" 2>&1
echo "test exit $?"; grep -E "^\[  (PASSED|FAILED) |^\[  FAILED|Failure|bad elements|error|Error" "$out/test.log" | head -30
grep -E "^\[ attn \]" "$out/test.log" | awk '{print $NF}' | sort -g | tail -1 | sed 's/^/worst err\/tol: /'
timeout "${BENCH_TIMEOUT:-200}" "$bin/bench_attention" "${REPS:-20}" ${BENCH_FLAGS:-} > "$out/bench.log" 2>&1
echo "bench exit $?"
: > "$out/sass.txt"
for f in $(grep '^cubin' "$out/bench.log" | awk '{print $2}' | sort -u); do
  entry_sass "$f" > /tmp/k.sass || continue
  case "$f" in *"${SASS_KEEP:-gqa=4,n_kv_heads=8,window=-1,page_size=64,sinks=0,warps=8,wgmma=3}"*) cp /tmp/k.sass "$out/kernel.sass" ;; esac
  echo "$(basename "$f" | cut -c1-60): HGMMA=$(grep -c HGMMA /tmp/k.sass) HMMA=$(grep -c " HMMA" /tmp/k.sass) LDSM=$(grep -c LDSM /tmp/k.sass) LDL=$(grep -c LDL /tmp/k.sass) STL=$(grep -c STL /tmp/k.sass) MUFU=$(grep -c MUFU /tmp/k.sass)" >> "$out/sass.txt"
done
grep -v '^cubin' "$out/bench.log"
cat "$out/sass.txt"
