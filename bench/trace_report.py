#!/usr/bin/env python3
"""Summarizes a kernel timeline written by `kiln bench --trace DIR` (src/jit/trace.h).

    python3 bench/trace_report.py DIR/FILE.csv [--launches N]

A record is one CTA's event: start, waited (its wait for the previous kernel returned: the
previous kernel had finished and its memory was visible) or end, with %globaltimer (ns) and its
SM. The k-th start (waited, end) of a kernel's CTA belongs to that kernel's k-th launch: launches
of one kernel never overlap, since a kernel launches only once every CTA of the one before it
has started. Launches are put in order of their first start. Per launch:
  ramp     last CTA start - first CTA start
  handoff  first 'waited' - the previous launch's last end (how long the dependency took to
           clear after the previous kernel's last CTA ended; PDL launches wait before working)
  busy     last end - first 'waited' (or first start for kernels that do not wait)
  tail     last end - median end (the last CTAs' lag)
Then the same per kernel (mean over its launches), and the traced span: first start to last end.
Kernels with grid barriers (matvec_chain: 'arrive' and 'leave' records, thread 0's) get a table
per barrier, over launches (median): spread (last arrival - median arrival), release (first leave -
last arrival), leave spread (last leave - first leave), and the product before it (median arrival
- the median of the previous barrier's leaves, or of the launch's waits).
"""
import argparse
import csv
import statistics
import sys
from collections import defaultdict


def load(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.append((int(r["t_ns"]), r["kernel"], r["event"], int(r["sm"]), int(r["cta"])))
    return rows


def launches(rows):
    """[(kernel, {event: [t...]}), ...] in order of first start."""
    per_cta = defaultdict(list)  # (kernel, cta, event) -> times
    for t, kernel, event, _, cta in rows:
        if event in ("start", "waited", "end"):  # barrier records: barrier_report
            per_cta[(kernel, cta, event)].append(t)
    out = defaultdict(lambda: defaultdict(list))  # (kernel, k) -> event -> times
    for (kernel, cta, event), times in per_cta.items():
        for k, t in enumerate(sorted(times)):
            out[(kernel, k)][event].append(t)
    ordered = sorted(out.items(), key=lambda kv: min(kv[1]["start"]) if kv[1]["start"] else 0)
    return [(kernel, events) for (kernel, _), events in ordered]


def barrier_report(rows):
    per_cta = defaultdict(lambda: defaultdict(list))  # (kernel, cta) -> event -> times
    for t, kernel, event, _, cta in rows:
        per_cta[(kernel, cta)][event].append(t)
    # (kernel, launch, barrier) -> event -> times
    grouped = defaultdict(lambda: defaultdict(list))
    for (kernel, cta), ev in per_cta.items():
        if not ev["arrive"] or not ev["start"]:
            continue
        per_launch = len(ev["arrive"]) // len(ev["start"])
        waits = sorted(ev["waited"])
        for j, (a, l) in enumerate(zip(sorted(ev["arrive"]), sorted(ev["leave"]))):
            launch, b = divmod(j, per_launch)
            grouped[(kernel, launch, b)]["arrive"].append(a)
            grouped[(kernel, launch, b)]["leave"].append(l)
            if b == 0 and launch < len(waits):
                grouped[(kernel, launch, b)]["before"].append(waits[launch])
    if not grouped:
        return
    for (kernel, launch, b), ev in grouped.items():
        if b > 0:
            ev["before"] = grouped[(kernel, launch, b - 1)]["leave"]
    stats = defaultdict(lambda: defaultdict(list))
    for (kernel, _, b), ev in grouped.items():
        a, l = ev["arrive"], ev["leave"]
        s = stats[(short(kernel), b)]
        s["spread"].append(max(a) - statistics.median(a))
        s["release"].append(min(l) - max(a))
        s["leave_spread"].append(max(l) - min(l))
        if ev["before"]:
            s["product"].append(statistics.median(a) - statistics.median(ev["before"]))
    print(f"\n{'grid barrier':<26} {'n':>4} {'product':>8} {'spread':>8} {'release':>8} {'leave sp':>8}  (us, median)")
    for (kernel, b), s in sorted(stats.items()):
        med = lambda k: statistics.median(s[k]) / 1000.0 if s[k] else float("nan")
        print(f"{kernel + ' #' + str(b):<26} {len(s['spread']):>4} {med('product'):>8.2f} {med('spread'):>8.2f} "
              f"{med('release'):>8.2f} {med('leave_spread'):>8.2f}")


def short(kernel):
    return kernel.split("<")[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--launches", type=int, default=40, help="launches to list one by one (0: none)")
    args = ap.parse_args()
    rows = load(args.csv)
    if not rows:
        sys.exit(f"{args.csv}: no records")
    ls = launches(rows)
    us = lambda ns: ns / 1000.0
    stats = defaultdict(lambda: defaultdict(list))
    prev_end = None
    if args.launches:
        print(f"{'#':>4} {'kernel':<22} {'ctas':>5} {'start':>9} {'ramp':>7} {'handoff':>8} {'busy':>8} "
              f"{'tail':>7}  (us)")
    for i, (kernel, ev) in enumerate(ls):
        starts, waits, ends = ev["start"], ev["waited"], ev["end"]
        if not starts or not ends:
            continue
        first_work = min(waits) if waits else min(starts)
        handoff = us(min(waits) - prev_end) if waits and prev_end is not None else float("nan")
        busy = us(max(ends) - first_work)
        tail = us(max(ends) - statistics.median(ends))
        ramp = us(max(starts) - min(starts))
        s = stats[kernel]
        for name, v in (("ramp", ramp), ("handoff", handoff), ("busy", busy), ("tail", tail)):
            if v == v:  # not nan
                s[name].append(v)
        s["ctas"].append(len(starts))
        if i < args.launches:
            print(f"{i:>4} {short(kernel):<22} {len(starts):>5} {us(min(starts)):>9.1f} "
                  f"{ramp:>7.2f} {handoff:>8.2f} {busy:>8.2f} {tail:>7.2f}")
        prev_end = max(ends)
    print()
    print(f"{'kernel (mean over launches)':<60} {'n':>4} {'ramp':>7} {'handoff':>8} {'busy':>8} {'tail':>7}  (us)")
    total_busy = 0.0
    for kernel, s in sorted(stats.items(), key=lambda kv: -sum(kv[1]["busy"])):
        mean = lambda k: statistics.mean(s[k]) if s[k] else float("nan")
        total_busy += sum(s["busy"])
        name = kernel if len(kernel) <= 60 else kernel[:57] + "..."
        print(f"{name:<60} {len(s['ctas']):>4} {mean('ramp'):>7.2f} {mean('handoff'):>8.2f} {mean('busy'):>8.2f} "
              f"{mean('tail'):>7.2f}")
    span = us(max(r[0] for r in rows) - min(r[0] for r in rows))
    handoffs = sum(sum(s["handoff"]) for s in stats.values())
    print(f"\nspan {span:.1f} us over {len(ls)} launches; handoffs sum to {handoffs:.1f} us "
          f"({100 * handoffs / span:.1f}% of the span)")
    barrier_report(rows)
    ticks = sorted({t for t, *_ in rows})
    deltas = [b - a for a, b in zip(ticks, ticks[1:]) if b > a]
    if deltas:
        print(f"timer: smallest step between records {min(deltas)} ns")


if __name__ == "__main__":
    main()
