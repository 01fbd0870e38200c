#!/usr/bin/env python3
"""Load and soak: `wasmfn serve` under the `hey` load generator on loopback,
for a bounded time, with a mix of functions behind API Gateway routes:

  GET /ok      hello, answers 200
  GET /fail    a function that returns an error: API Gateway's 502
  GET /spin    a function that loops until its 1 s timeout: 502, and its
               instance is thrown away (a cold start every time)

It reports req/s, p50/p99, the status codes and the unintended-answer rate
(any status but the intended one, or a connection error) of each, and the
server's RSS over time, and checks that nothing but the intended statuses came back
and that RSS shows no growth trend.

  tests/load/soak.py --duration 600         # the long version (README)
  tests/load/soak.py --duration 20          # what CI runs (test_soak.py)

Needs `hey` (Debian: apt-get install hey) and a release build of wasmfn.
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MANIFEST = """
service: wasmfn-soak
provider: {{name: aws, runtime: provided.al2023, timeout: 3}}
functions:
  ok:
    handler: {root}/functions/hello
    events: [{{http: {{path: /ok, method: get}}}}]
  fail:
    handler: {root}/tests/guests/probe
    events: [{{http: {{path: /fail, method: get}}}}]
  spin:
    handler: {root}/tests/guests/probe
    timeout: 1
    events: [{{http: {{path: /spin, method: get}}}}]
"""

# (path, concurrent workers, the only status it may answer)
TARGETS = [("/ok", 6, 200), ("/fail", 2, 502), ("/spin", 1, 502)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def parse_hey(text: str) -> dict:
    """hey's summary: req/s, latency percentiles, status codes, errors."""
    out = {"statuses": {}, "errors": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%% in ([\d.]+) secs".replace("%%", "%"), text)
        out[f"p{pct}_ms"] = float(m.group(1)) * 1000 if m else None
    for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", text):
        out["statuses"][int(code)] = int(n)
    errors = text.split("Error distribution:", 1)
    if len(errors) == 2:
        out["errors"] = sum(int(n) for n in re.findall(r"\[(\d+)\]", errors[1]))
    return out


def run(duration: float, binary: Path | None = None, log: Path | None = None) -> dict:
    if shutil.which("hey") is None:
        raise RuntimeError("hey is not installed (apt-get install hey)")
    binary = binary or Path(os.environ.get("WASMFN_BIN", ROOT / "target" / "release" / "wasmfn"))
    work = Path(tempfile.mkdtemp(prefix="wasmfn-soak-"))
    manifest = work / "serverless.yml"
    manifest.write_text(MANIFEST.format(root=ROOT))
    port = free_port()
    log = log or work / "serve.log"
    with open(log, "ab") as log_file:
        server = subprocess.Popen(
            [str(binary), "--cache-dir", str(work / "cache"), "serve",
             "--manifest", str(manifest), "--listen", f"127.0.0.1:{port}",
             "--state-dir", str(work / "state")],
            stdout=log_file, stderr=log_file,
        )
    try:
        deadline = time.time() + 300
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"wasmfn serve exited: {log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("wasmfn serve did not start")
                time.sleep(0.1)

        samples = []
        stop = threading.Event()

        def sample():
            start = time.time()
            while not stop.is_set():
                samples.append((time.time() - start, rss_mib(server.pid)))
                stop.wait(1.0)

        sampler = threading.Thread(target=sample)
        sampler.start()
        runs = {}
        procs = []
        for path, workers, _ in TARGETS:
            procs.append((path, subprocess.Popen(
                ["hey", "-z", f"{duration}s", "-c", str(workers), "-t", "10",
                 f"http://127.0.0.1:{port}{path}"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )))
        for path, proc in procs:
            text, _ = proc.communicate(timeout=duration + 120)
            runs[path] = parse_hey(text)
        stop.set()
        sampler.join()
        alive = server.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)

    rss = [r for _, r in samples]
    # The first tenth is warm-up (instances, caches, connection buffers).
    steady = rss[len(rss) // 10:] or rss
    quarter = max(1, len(steady) // 4)
    report = {
        "duration_s": duration,
        "server_survived": alive,
        "targets": runs,
        "rss_mib": {
            "start": rss[0] if rss else None,
            "steady_first_quarter": statistics.median(steady[:quarter]) if steady else None,
            "steady_last_quarter": statistics.median(steady[-quarter:]) if steady else None,
            "end": rss[-1] if rss else None,
            "max": max(rss) if rss else None,
            # (seconds since the load started, MiB), once a second.
            "samples": [(round(t, 1), round(r, 1)) for t, r in samples],
        },
    }
    for path, _, status in TARGETS:
        run = report["targets"][path]
        total = sum(run["statuses"].values()) + run["errors"]
        wrong = total - run["statuses"].get(status, 0)
        run["error_rate"] = wrong / total if total else 1.0
    return report


def problems(report: dict) -> list[str]:
    """Everything that is wrong with a run; empty when it passed."""
    found = []
    if not report["server_survived"]:
        found.append("the server died")
    for path, _, status in TARGETS:
        run = report["targets"][path]
        unexpected = {c: n for c, n in run["statuses"].items() if c != status}
        if unexpected:
            found.append(f"{path}: unexpected statuses {unexpected}")
        if run["errors"]:
            found.append(f"{path}: {run['errors']} connection errors")
        if not run["statuses"].get(status):
            found.append(f"{path}: no {status} at all")
    rss = report["rss_mib"]
    first, last = rss["steady_first_quarter"], rss["steady_last_quarter"]
    if first is not None and last > first * 1.25 + 16:
        found.append(f"RSS grew from {first:.1f} to {last:.1f} MiB")
    return found


def print_report(report: dict):
    print(f"{'route':8} {'req/s':>9} {'p50':>9} {'p99':>9} {'unintended':>10}  statuses")
    for path, _, _ in TARGETS:
        r = report["targets"][path]
        p50 = f"{r['p50_ms']:.2f} ms" if r["p50_ms"] is not None else "-"
        p99 = f"{r['p99_ms']:.2f} ms" if r["p99_ms"] is not None else "-"
        rate = f"{r['error_rate']:.2%}"
        print(f"{path:8} {r['rps']:>9.1f} {p50:>9} {p99:>9} {rate:>10}  {r['statuses']} errors={r['errors']}")
    rss = report["rss_mib"]
    print("RSS MiB: start {start:.1f}, steady first quarter {steady_first_quarter:.1f}, "
          "last quarter {steady_last_quarter:.1f}, end {end:.1f}, max {max:.1f}".format(**rss))
    samples = rss["samples"]
    if samples:
        # Eleven points from start to end: the trend at a glance.
        points = [samples[round(i * (len(samples) - 1) / 10)] for i in range(11)]
        print("RSS over time: " + ", ".join(f"{t:.0f}s {r:.1f}" for t, r in points))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    parser.add_argument("--json", type=Path, help="write the report here too")
    args = parser.parse_args()
    report = run(args.duration)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    found = problems(report)
    for p in found:
        print(f"FAIL: {p}", file=sys.stderr)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
