#!/usr/bin/env python3
"""Table of an A/B run of bench/decode_ab.sh (rows with "variant" and "round").

    python3 bench/ab_report.py decode-ab.jsonl [--base NAME]

Per model, test and depth: each variant's t/s (mean over rounds, and the rounds' spread), its
ratio to the base variant (default: the first one seen) and, for tg tests, its fraction of the
decode roofline (bench/compare.py). Rounds interleave the variants, so the ratio compares runs
taken under the same clocks; a ratio within the spread is noise.
"""
import argparse
import statistics
from collections import defaultdict

from compare import key, load, roofline_fraction


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jsonl", nargs="+")
    ap.add_argument("--base", help="the variant ratios are taken against (default: the first seen)")
    args = ap.parse_args()
    rows = load(args.jsonl)
    order = []  # variants in first-seen order
    runs = defaultdict(lambda: defaultdict(list))  # (key, jit) -> variant -> [t/s per round]
    for r in rows:
        v = r.get("variant", "-")
        if v not in order:
            order.append(v)
        runs[(key(r), r["jit"])][v].append(r["avg_ts"])
    base = args.base or order[0]
    print(f"| model | test | jit | variant | t/s (mean of rounds) | spread | vs {base} | decode roofline |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: |")
    for (k, jit) in sorted(runs):
        name, test, depth, type_k, type_v = k
        label = test + (f" @ d{depth}" if depth else "")
        ref = statistics.mean(runs[(k, jit)][base]) if runs[(k, jit)].get(base) else None
        for v in order:
            ts = runs[(k, jit)].get(v)
            if not ts:
                continue
            mean = statistics.mean(ts)
            spread = f"{100 * (max(ts) - min(ts)) / mean:.1f}%" if len(ts) > 1 else "-"
            ratio = f"{mean / ref:.3f}x" if ref else "-"
            roof = roofline_fraction(name, depth, type_k, type_v, mean) if test.startswith("tg") else None
            roof = f"{100 * roof:.1f}%" if roof is not None else "-"
            print(f"| {name} | {label} | {jit} | {v} | {mean:.1f} | {spread} | {ratio} | {roof} |")


if __name__ == "__main__":
    main()
