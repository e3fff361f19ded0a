#!/usr/bin/env bash
# On the device machine: A/B of decode variants selected by environment variables, interleaved
# (every variant once per round, rounds repeated) so that clock drift hits all variants alike.
#   bash bench/decode_ab.sh ROUNDS "PRESET..." NAME=ENV[,ENV...] ...
#   e.g. bash bench/decode_ab.sh 2 "llama-8b-q8_0 qwen2-1.5b-q8_0" base= early=KILN_X_TRIGGER=1
# BIN=PATH among a variant's settings runs another kiln binary (default .carry/bin/kiln).
# Rows go to $OUT/decode-ab.jsonl with "variant" and "round" fields (kiln bench -o jsonl rows).
# Flags: $AB_FLAGS (default: tg32 at d0, 5 repetitions, specialized).
set -uo pipefail
cd "$(dirname "$0")/.."
kiln=.carry/bin/kiln
models=/tmp/kiln-models
flags=${AB_FLAGS:--p 0 -n 32 -d 0 -r 5 --jit specialized}
rounds=$1 presets=$2
shift 2
mkdir -p "$models" "$OUT"
for preset in $presets; do
  [[ -f $models/$preset.gguf ]] || $kiln synth "$preset" --seed 1 -o "$models/$preset.gguf" >/dev/null || exit 1
done
for round in $(seq 1 "$rounds"); do
  for preset in $presets; do
    for variant in "$@"; do
      name=${variant%%=*} bin=$kiln envs=()
      IFS=, read -ra settings <<<"${variant#*=}"
      for s in "${settings[@]}"; do
        if [[ $s == BIN=* ]]; then bin=${s#BIN=}; else envs+=("$s"); fi
      done
      timeout "${AB_TIMEOUT:-180}" env "${envs[@]}" "$bin" bench -m "$models/$preset.gguf" $flags -o jsonl 2>>/tmp/ab.log |
        python3 -c "import json,sys
for line in sys.stdin:
    row = json.loads(line); row.update(variant='$name', round=$round); print(json.dumps(row))" |
        tee -a "$OUT/decode-ab.jsonl" |
        python3 -c "import json,sys
for line in sys.stdin:
    r = json.loads(line); print(f\"{r['model_filename']:24} {r['jit']:11} d{r['n_depth']:<6} {r['variant']:14} {r['avg_ts']:9.1f} t/s\")"
    done
  done
done
