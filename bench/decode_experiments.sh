#!/usr/bin/env bash
# On the device machine: the decode experiments of notes/decode.md, one step per call so that
# each fits the 10-minute limit. Carried: .carry/bin/{kiln,test_gpu} (git-ignored; bench/README.md).
#   bash bench/decode_experiments.sh tests    # the GPU suite ($TEST_FILTER: a gtest filter)
#   bash bench/decode_experiments.sh ab       # tg32 at d0: base vs kv_write unfused vs o's whole ring
#   bash bench/decode_experiments.sh trace    # one traced llama-8b tg4 per variant, and its report
#   bash bench/decode_experiments.sh chain    # matvec_chain vs the stream launches: A/B, a trace
# Logs and rows go to $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.carry/bin
models=/tmp/kiln-models
mkdir -p "$OUT" "$models"
export KILN_CACHE_DIR=/tmp/kiln-cache
variants=(base= ${AB_UNFUSED-unfused=KILN_FUSED_WRITE_SPLITS=0} oring=KILN_O_WHOLE_RING=1 ${AB_EXTRA:-})

case ${1:-} in
  tests)
    timeout "${TESTS_TIMEOUT:-540}" $bin/test_gpu --gtest_filter="${TEST_FILTER:-*}" > "$OUT/test_gpu.log" 2>&1
    echo "test_gpu rc=$?"
    grep -E "FAILED|PASSED|SKIPPED|tests ran" "$OUT/test_gpu.log" | tail -20 ;;
  ab)
    AB_FLAGS="${AB_FLAGS:--p 0 -n 32 -d 0 -r 5 --jit specialized}" bash bench/decode_ab.sh 2 \
      "${PRESETS:-llama-8b-q8_0 qwen2-7b-q8_0 qwen2-1.5b-q8_0}" "${variants[@]}"
    python3 bench/ab_report.py "$OUT/decode-ab.jsonl" | tee "$OUT/ab-report.md" ;;
  trace)
    f=$models/llama-8b-q8_0.gguf
    [[ -f $f ]] || $bin/kiln synth llama-8b-q8_0 --seed 1 -o "$f" > /dev/null || exit 1
    # The CSVs stay in /tmp (tens of MB); $OUT gets each report and a gzipped CSV (<= 8 files
    # come back, 16 MiB each).
    for variant in "${variants[@]}"; do
      name=${variant%%=*} setting=${variant#*=}
      rm -rf "/tmp/trace-$name"
      env $setting $bin/kiln bench -m "$f" -p 0 -n 4 -d 0 -r 1 --jit specialized --trace "/tmp/trace-$name" \
        > /dev/null 2>> "$OUT/trace.log"
      csv=$(ls "/tmp/trace-$name"/*.csv | head -1)
      python3 bench/trace_report.py "$csv" --launches 20 > "$OUT/trace-report-$name.txt"
      echo "== $name"; tail -12 "$OUT/trace-report-$name.txt"
    done ;;
  chain)
    # The persistent chain (KILN_MATVEC_CHAIN=1, off by default) against the four stream launches,
    # with a deeper ring and without PDL (+ $AB_EXTRA: e.g. another build's chain,
    # chunks=BIN=.carry/bin/kiln-chunks,KILN_MATVEC_CHAIN=1); then one traced llama-8b tg4 with the chain, whose report
    # ends with the grid barriers' table (arrival spread, release latency, each product's time).
    AB_FLAGS="${AB_FLAGS:--p 0 -n 32 -d 0 -r 5 --jit specialized}" bash bench/decode_ab.sh 1 \
      "${PRESETS:-llama-8b-q8_0 qwen2-1.5b-q8_0}" base= chain=KILN_MATVEC_CHAIN=1 \
      chain-s5=KILN_MATVEC_CHAIN=1,KILN_STREAM_STAGES=5 base-nopdl=KILN_PDL=0 chain-nopdl=KILN_MATVEC_CHAIN=1,KILN_PDL=0 \
      ${AB_EXTRA:-}
    python3 bench/ab_report.py "$OUT/decode-ab.jsonl" | tee "$OUT/ab-report.md"
    f=$models/llama-8b-q8_0.gguf
    rm -rf /tmp/trace-chain
    KILN_MATVEC_CHAIN=1 $bin/kiln bench -m "$f" -p 0 -n 4 -d 0 -r 1 --jit specialized --trace /tmp/trace-chain \
      > /dev/null 2>> "$OUT/trace.log"
    csv=$(ls /tmp/trace-chain/*.csv | head -1)
    python3 bench/trace_report.py "$csv" --launches 12 > "$OUT/trace-report-chain.txt"
    gzip -c "$csv" > "$OUT/trace-chain.csv.gz"
    tail -12 "$OUT/trace-report-chain.txt" ;;
  *) sed -n 2,8p "$0"; exit 2 ;;
esac
