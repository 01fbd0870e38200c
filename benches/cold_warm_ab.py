#!/usr/bin/env python3
"""Two builds of the `cold_warm` bench, before and after a change, run
interleaved: rounds alternate between the two binaries, each round running
the chosen criterion groups, and the table gives each benchmark's median of
its per-round medians and the ratio after / before.

A shared machine's speed drifts over minutes; two runs an hour apart would
read that drift as a difference, while adjacent rounds see the same
machine. The binaries are the `cold_warm-<hash>` files `cargo bench
--no-run --bench cold_warm` prints, built from the two checkouts (one
target dir serves both: only the host crate differs).

    benches/cold_warm_ab.py --before OLD --after NEW [--rounds 3]
        [--filter 'invoke_warm/1KB|invoke_spare/1KB|invoke_fresh/1KB|instantiate|load']
"""

import argparse
import os
import re
import statistics
import subprocess
import sys

UNITS = {"ps": 1e-12, "ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
# criterion's result line: the id (on this line or the one before), then
# `time: [low unit median unit high unit]`.
TIME = re.compile(r"^(\S+)?\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]")


def run(binary, filter_, env):
    """One round of `binary`: {benchmark id: median seconds}."""
    out = subprocess.run(
        [binary, "--bench", "--noplot", filter_],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    medians, last_id = {}, None
    for line in out.splitlines():
        match = TIME.match(line)
        if match:
            name = match.group(1) or last_id
            medians[name] = float(match.group(2)) * UNITS[match.group(3)]
        elif line and not line[0].isspace():
            last_id = line.split()[0]
    return medians


def show(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--filter", default="invoke_warm/1KB|invoke_spare/1KB|invoke_fresh/1KB|instantiate|load")
    args = parser.parse_args()
    # RUST_BACKTRACE costs wasmtime's traps and the host's errors time.
    env = {k: v for k, v in os.environ.items() if k != "RUST_BACKTRACE"}

    rounds = {"before": [], "after": []}
    for n in range(args.rounds):
        for side, binary in (("before", args.before), ("after", args.after)):
            print(f"round {n + 1}/{args.rounds}: {side}", file=sys.stderr, flush=True)
            rounds[side].append(run(binary, args.filter, env))

    ids = [i for i in rounds["after"][0] if all(i in r for side in rounds.values() for r in side)]
    if not ids:
        sys.exit(f"no benchmark matched {args.filter!r} in both builds")
    print(f"| benchmark (median of {args.rounds} interleaved rounds) | before | after | after / before |")
    print("|---|---|---|---|")
    for i in ids:
        before = statistics.median(r[i] for r in rounds["before"])
        after = statistics.median(r[i] for r in rounds["after"])
        print(f"| `{i}` | {show(before)} | {show(after)} | {after / before:.2f}× |")


if __name__ == "__main__":
    main()
