#!/usr/bin/env bash
# On the device machine: the decode experiments of notes/decode.md (attn_decode_write now
# launched programmatically, tiles claimed a tile ahead, the CTA timeline), one step per call so
# that each fits the 10-minute limit. Carried: .carry/bin/{kiln,test_gpu} (git-ignored;
# bench/README.md).
#   bash bench/decode_experiments.sh tests    # the GPU tests of these variants
#   bash bench/decode_experiments.sh ab       # tg32 at d0: base vs fused vs claims vs both
#   bash bench/decode_experiments.sh trace    # one traced llama-8b tg4 per variant, and its report
# Logs and rows go to $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.carry/bin
models=/tmp/kiln-models
mkdir -p "$OUT" "$models"
export KILN_CACHE_DIR=/tmp/kiln-cache

case ${1:-} in
  tests)
    timeout "${TESTS_TIMEOUT:-540}" $bin/test_gpu \
      --gtest_filter='AttnDecodeWrite*:*FusedDecodeWrite*:MatmulGpu.MatvecStreamClaims:*StreamClaims*' \
      > "$OUT/test_gpu-new.log" 2>&1
    echo "test_gpu rc=$?"
    grep -E "^\[ decode write \]|FAILED|PASSED|SKIPPED" "$OUT/test_gpu-new.log" | tail -40 ;;
  ab)
    AB_FLAGS="${AB_FLAGS:--p 0 -n 32 -d 0 -r 5 --jit specialized}" bash bench/decode_ab.sh 2 \
      "${PRESETS:-llama-8b-q8_0 qwen2-7b-q8_0 qwen2-1.5b-q8_0}" \
      base= fused=KILN_FUSE_DECODE_WRITE=1 claim=KILN_STREAM_CLAIM=1 \
      both=KILN_FUSE_DECODE_WRITE=1,KILN_STREAM_CLAIM=1
    python3 bench/ab_report.py "$OUT/decode-ab.jsonl" | tee "$OUT/ab-report.md" ;;
  trace)
    f=$models/llama-8b-q8_0.gguf
    [[ -f $f ]] || $bin/kiln synth llama-8b-q8_0 --seed 1 -o "$f" > /dev/null || exit 1
    # The CSVs stay in /tmp (tens of MB); $OUT gets each report and a gzipped CSV (<= 8 files
    # come back, 16 MiB each).
    for variant in base fused; do
      rm -rf "/tmp/trace-$variant"
      env $([[ $variant == fused ]] && echo KILN_FUSE_DECODE_WRITE=1) \
        $bin/kiln bench -m "$f" -p 0 -n 4 -d 0 -r 1 --jit specialized --trace "/tmp/trace-$variant" \
        > /dev/null 2>> "$OUT/trace.log"
      csv=$(ls "/tmp/trace-$variant"/*.csv | head -1)
      python3 bench/trace_report.py "$csv" --launches 20 > "$OUT/trace-report-$variant.txt"
      gzip -c "$csv" > "$OUT/trace-$variant.csv.gz"
      echo "== $variant"; tail -25 "$OUT/trace-report-$variant.txt"
    done ;;
  *) sed -n 2,9p "$0"; exit 2 ;;
esac
