#!/usr/bin/env python3
"""Side-by-side table of kiln bench (-o jsonl, both JIT modes) and llama-bench (-o jsonl) runs.

usage: compare.py KILN.jsonl [...] --ref LLAMACPP.jsonl > table.md

Decode roofline: (weight bytes read per token + KV bytes at the depth) / 3.07 TB/s (the measured
streaming rate, shared/bench/limits-h100.md); KV bytes by the rows' cache types (f16: 2 a value,
q8_0: 34 per 32). Rows with other cache types than f16 say so in the test column. Weight bytes per token as in
shared/bench/llamacpp-h100.md (the embedding table counts only when it is also the LM head).
"""
import json
import sys
from collections import defaultdict

READ_BW = 3.07e12
# preset: (weight bytes read per token, layers, kv heads, head dim)
PRESETS = {
    "llama-8b-q8_0": (7.97e9, 32, 8, 128),
    "qwen3-4b-q8_0": (4.27e9, 36, 8, 128),
    "qwen2-1.5b-q8_0": (1.64e9, 28, 2, 128),
    "qwen2-7b-q8_0": (7.51e9, 28, 4, 128),
    "qwen2-3b-q8_0": (3.28e9, 36, 2, 128),
}


def load(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


KV_BYTES = {"f16": 2.0, "q8_0": 34 / 32}  # per cached value


def roofline_fraction(name, depth, type_k, type_v, tokens_per_s):
    """Fraction of the decode roofline a tg rate reaches, or None for presets not in PRESETS."""
    if name not in PRESETS:
        return None
    wbytes, layers, kvh, hd = PRESETS[name]
    per_token = wbytes + layers * kvh * hd * depth * (KV_BYTES[type_k] + KV_BYTES[type_v])
    return tokens_per_s * per_token / READ_BW


def key(r):
    name = r["model_filename"].rsplit("/", 1)[-1].removesuffix(".gguf")
    test = f"pp{r['n_prompt']}" if r["n_prompt"] else f"tg{r['n_gen']}"
    return name, test, r["n_depth"], r.get("type_k", "f16"), r.get("type_v", "f16")


def main():
    args = sys.argv[1:]
    ref_paths = args[args.index("--ref") + 1:] if "--ref" in args else []
    kiln_paths = args[: args.index("--ref")] if "--ref" in args else args
    kiln = defaultdict(dict)
    for r in load(kiln_paths):
        kiln[key(r)][r["jit"]] = r
    ref = {key(r): r for r in load(ref_paths)}
    print("| model | test | kiln specialized t/s | kiln generic t/s | spec/gen | llama.cpp t/s | kiln/llama.cpp | decode roofline |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k in sorted(kiln):
        name, test, depth, type_k, type_v = k
        spec, gen = kiln[k].get("specialized"), kiln[k].get("generic")
        s = spec["avg_ts"] if spec else None
        g = gen["avg_ts"] if gen else None
        cell = lambda r: f"{r['avg_ts']:.1f} ± {r['stddev_ts']:.1f}" if r else "-"
        l = ref.get(k)
        roof = "-"
        if test.startswith("tg") and name in PRESETS and s:
            roof = f"{100 * roofline_fraction(name, depth, type_k, type_v, s):.0f}%"
        label = test + (f" @ d{depth}" if depth else "")
        if (type_k, type_v) != ("f16", "f16"):
            label += f" kv {type_k}/{type_v}"
        print(f"| {name} | {label} | {cell(spec)} | {cell(gen)} | "
              f"{s / g:.2f}x |" if s and g else f"| {name} | {label} | {cell(spec)} | {cell(gen)} | - |", end="")
        print(f" {cell(l)} | {s / l['avg_ts']:.2f}x | {roof} |" if l and s else f" {cell(l)} | - | {roof} |")


if __name__ == "__main__":
    main()
