#!/usr/bin/env python3
"""`wasmfn serve` against `wasmtime serve`, in one run, under wrk.

The same guest work on both sides: functions/hello (a Lambda handler) on
wasmfn, and benches/hello-http (the same greeting as a wasi:http/proxy
component) on wasmtime. Each round runs wrk once against every target, in
turn, so drift on the shared VM hits all of them alike; the ratios are the
medians' of the rounds.

    wasmfn serve   GET /hello        API Gateway route, reuse (Lambda's warm instances)
    wasmfn serve   POST .../invocations   the Invoke API, reuse
    wasmfn serve   GET /hello        API Gateway route, --policy fresh
    wasmtime serve GET /hello        --max-instance-reuse-count 128
    wasmtime serve GET /hello        a fresh instance per request (its default)

Needs wrk (`apt-get install wrk`) and wasmtime 48's CLI, which is too slow
to build in CI: `cargo install --locked wasmtime-cli --version 48.0.8`,
then WASMTIME=~/.cargo/bin/wasmtime.

    cargo build --release -p wasmfn
    WASMTIME=~/.cargo/bin/wasmtime benches/http_serve.py [--duration 10] [--rounds 3]
"""

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from servers import start as servers_start

ROOT = Path(__file__).resolve().parents[1]
WASMFN = os.environ.get("WASMFN_BIN", str(ROOT / "target" / "release" / "wasmfn"))
TARGET_DIR = ROOT / "functions" / "target"


def wrk(url, args, script=None):
    """Requests per second and p50 / p99 latency of one wrk run."""
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        sys.exit(f"{url} answered {non_2xx.group(1)} errors:\n{out}")

    def pct(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 1, "ms": 1000, "s": 1_000_000}[unit]

    return rps, pct(50), pct(99)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    wasmtime = os.environ.get("WASMTIME")
    if not wasmtime or not shutil.which(wasmtime):
        sys.exit("set WASMTIME to wasmtime 48's CLI: cargo install --locked wasmtime-cli --version 48.0.8")
    if not shutil.which("wrk"):
        sys.exit("needs wrk: apt-get install wrk")
    version = subprocess.run([wasmtime, "--version"], capture_output=True, text=True).stdout.strip()

    subprocess.run(
        ["cargo", "build", "--release", "--target", "wasm32-wasip2",
         "--manifest-path", str(ROOT / "benches/hello-http/Cargo.toml")],
        check=True, env={**os.environ, "CARGO_TARGET_DIR": str(TARGET_DIR)},
    )
    hello_http = TARGET_DIR / "wasm32-wasip2" / "release" / "hello_http.wasm"

    work = Path(tempfile.mkdtemp(prefix="wasmfn-http-bench-"))
    manifest = work / "serverless.yml"
    manifest.write_text(
        "service: http-bench\n"
        "functions:\n"
        "  hello:\n"
        f"    handler: {ROOT / 'functions/hello'}\n"
        "    events:\n"
        "      - http: {path: /hello, method: get}\n"
    )
    post = work / "post.lua"
    post.write_text('wrk.method = "POST"\nwrk.body = "{}"\nwrk.headers["Content-Type"] = "application/json"\n')

    servers = []

    def start(name, cmd):
        proc, url = servers_start(cmd, work / f"{name}.log")
        servers.append(proc)
        return url

    try:
        quiet = [WASMFN, "--log-level", "WARN"]
        serve = ["serve", "--manifest", str(manifest), "--listen", "127.0.0.1:{port}"]
        reuse = start("wasmfn", quiet + serve + ["--state-dir", str(work / "a")])
        fresh = start("wasmfn-fresh", quiet + ["--policy", "fresh"] + serve + ["--state-dir", str(work / "b")])
        wt_serve = [wasmtime, "serve", "-S", "cli", "--addr", "127.0.0.1:{port}"]
        wt_reuse = start("wasmtime-reuse", wt_serve + ["--max-instance-reuse-count", "128", str(hello_http)])
        wt_fresh = start("wasmtime-fresh", wt_serve + [str(hello_http)])
        targets = {
            "wasmfn route (reuse)": (f"{reuse}/hello?name=wrk", None),
            "wasmfn Invoke API (reuse)": (f"{reuse}/2015-03-31/functions/hello/invocations", str(post)),
            "wasmfn route (fresh)": (f"{fresh}/hello?name=wrk", None),
            "wasmtime serve (reuse 128)": (f"{wt_reuse}/hello?name=wrk", None),
            "wasmtime serve (fresh)": (f"{wt_fresh}/hello?name=wrk", None),
        }
        for url, script in targets.values():  # compile, first instances
            subprocess.run(["wrk", "-t1", "-c1", "-d1s"] + (["-s", script] if script else []) + [url],
                           check=True, capture_output=True)
        results = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (url, script) in targets.items():
                results[name].append(wrk(url, args, script))
    finally:
        for proc in servers:
            proc.terminate()
        for proc in servers:
            proc.wait(timeout=30)

    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} rounds, "
          f"targets interleaved; medians")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {version}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    median = {}
    for name, runs in results.items():
        median[name] = statistics.median(r[0] for r in runs)
        p50 = statistics.median(r[1] for r in runs)
        p99 = statistics.median(r[2] for r in runs)
        print(f"  {name:28} {median[name]:9.0f} req/s   p50 {p50:7.0f} µs   p99 {p99:7.0f} µs")
    print("ratios:")
    for ours, theirs, target in [
        ("wasmfn route (reuse)", "wasmtime serve (reuse 128)", "≥ 1.0×"),
        ("wasmfn Invoke API (reuse)", "wasmtime serve (reuse 128)", "≥ 1.3×"),
        ("wasmfn route (fresh)", "wasmtime serve (fresh)", "≥ 2×"),
    ]:
        print(f"  {ours} / {theirs}: {median[ours] / median[theirs]:.2f}×  (target {target})")


if __name__ == "__main__":
    main()
