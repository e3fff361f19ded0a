#!/usr/bin/env bash
# On the device machine: kiln bench on synthetic presets (both JIT builds), and llama.cpp's
# llama-bench on the same files, as in DESIGN.md's protocol. Carried: .carry/bin/kiln,
# .carry/llama.cpp-src.tar.gz, .carry/llamacpp-ref.sh (git-ignored; see bench/README.md).
#   bash bench/device_bench.sh lcpp-build                 # starts the llama.cpp build (background)
#   bash bench/device_bench.sh kiln PRESET...             # synth + kiln bench, logs to $OUT
#   bash bench/device_bench.sh lcpp PRESET...             # waits for the build, llama-bench
#   bash bench/device_bench.sh jit-times [PRESET]         # cold (1, 16 threads) and warm kernel loads
# Flags for both engines: $BENCH_FLAGS (default: -p 512 -n 32 -d 0,1024,2048,8192,32768 -r 3).
set -uo pipefail
cd "$(dirname "$0")/.."
kiln=.carry/bin/kiln
models=/tmp/kiln-models
lcpp=/tmp/lcpp
flags=${BENCH_FLAGS:--p 512 -n 32 -d 0,1024,2048,8192,32768 -r 3}
mkdir -p "$models" "$OUT"

model_file() {
  local f=$models/$1.gguf
  [[ -f $f ]] || $kiln synth "$1" --seed 1 -o "$f" >&2 || return 1
  echo "$f"
}

case ${1:-} in
  lcpp-build)
    # Lowest CPU priority: kiln's prefill launches from the host and must not wait for the compilers.
    setsid nohup nice -n 19 bash .carry/llamacpp-ref.sh build .carry/llama.cpp-src.tar.gz $lcpp > /tmp/lcpp-build.log 2>&1 &
    echo "llama.cpp build started in the background at nice 19 (/tmp/lcpp-build.log)" ;;
  kiln)
    shift
    nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv | tee -a "$OUT/device.txt"
    for preset in "$@"; do
      f=$(model_file "$preset") || continue
      # One jsonl and one log for all presets: the device tool brings back at most 8 files.
      $kiln bench -m "$f" $flags -fa 1 --jit specialized,generic -o jsonl >> "$OUT/kiln.jsonl" 2> /tmp/kiln-bench.log
      echo "== $preset rc=$?"; tee -a "$OUT/kiln.log" < /tmp/kiln-bench.log | grep -E "kernels:"
    done ;;
  lcpp)
    shift
    for i in $(seq 1 60); do [[ -x $lcpp/build/bin/llama-bench ]] && break; sleep 5; done
    tail -3 /tmp/lcpp-build.log
    for preset in "$@"; do
      f=$(model_file "$preset") || continue
      bash .carry/llamacpp-ref.sh bench $lcpp "$OUT/llamacpp" "$f" -- $flags -fa 1
    done
    cat "$OUT/llamacpp.md" ;;
  jit-times)
    # Cold compile of a model's kernel set at 1 and 16 threads, then a warm load from disk.
    export KILN_CACHE_DIR=/tmp/kiln-jit-times
    for threads in 1 16; do
      rm -rf "$KILN_CACHE_DIR"
      echo "cold, $threads threads: $($kiln kernels precompile --preset "${2:-llama-8b-q8_0}" --threads $threads)"
    done
    echo "warm: $($kiln kernels precompile --preset "${2:-llama-8b-q8_0}")" ;;
  *) sed -n 2,9p "$0"; exit 2 ;;
esac
