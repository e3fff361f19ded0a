#!/usr/bin/env bash
# One device session: GPU correctness sweep, benchmark, SASS check of the timed kernels.
# Expects test_gpu and bench_matmul in $1 (carried build outputs); writes logs to $OUT.
set -uo pipefail
bin="$1"
source "$(dirname "$0")/../device_lib.sh"
device_setup
timeout "${TEST_TIMEOUT:-180}" "$bin/test_gpu" --gtest_filter="${TEST_FILTER:-MatmulGpu.*}" > "$out/test.log" 2>&1
echo "test exit $?"; grep -E "^\[  (PASSED|FAILED) |^\[       OK|^\[  FAILED|Failure|got |bad elements|relative" "$out/test.log" | head -40
timeout "${BENCH_TIMEOUT:-200}" "$bin/bench_matmul" "${REPS:-20}" -v > "$out/bench.log" 2>&1
echo "bench exit $?"
: > "$out/sass.txt"
for f in $(grep '^cubin' "$out/bench.log" | awk '{print $2}' | sort -u); do
  entry_sass "$f" > /tmp/k.sass || continue
  echo "$(basename "$f" | cut -c1-120): HGMMA=$(grep -c HGMMA /tmp/k.sass) HMMA=$(grep -c HMMA /tmp/k.sass) LDL=$(grep -c LDL /tmp/k.sass) STL=$(grep -c STL /tmp/k.sass) LDG128=$(grep -c 'LDG.E.*128' /tmp/k.sass)" >> "$out/sass.txt"
done
grep -v '^cubin' "$out/bench.log"
cat "$out/sass.txt"
# Optional profiling of one GEMM and one mat-vec launch (PROFILE=1; PROFILE_SPECS="shape|filter;...").
if [ "${PROFILE:-0}" = 1 ]; then
  IFS=';' read -ra specs <<< "${PROFILE_SPECS:-lm_head|gemm spec tile_m=256;o|gemm spec tile_m=128;lm_head|matvec spec w8 u4}"
  for spec in "${specs[@]}"; do
    shape="${spec%%|*}"; filter="${spec#*|}"
    BENCH_SHAPE="$shape" BENCH_FILTER="$filter" timeout 120 ncu --target-processes all -k regex:'gemm_q8_0|matvec_q8r' -c 1 \
      --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis \
      --section LaunchStats --section Occupancy ${NCU_EXTRA:-} \
      "$bin/bench_matmul" 1 > "$out/ncu_${shape}_$(echo "$filter" | tr -c 'a-z0-9' '_').txt" 2>&1
  done
fi
# Full SASS of the kernels whose key matches each pattern (SASS_KEYS="n=128256,tile_m=256;n=4096,k=4096,").
if [ -n "${SASS_KEYS:-}" ]; then
  IFS=';' read -ra pats <<< "$SASS_KEYS"
  i=0
  for pat in "${pats[@]}"; do
    f=$(grep -B1 '^cubin' "$out/bench.log" | grep -F -A1 "$pat" | grep '^cubin' | head -1 | awk '{print $2}')
    [ -n "$f" ] || continue
    entry_sass "$f" > "$out/gemm_$i.sass"
    i=$((i + 1))
  done
fi
