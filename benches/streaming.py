#!/usr/bin/env python3
"""Response streaming over loopback: time to first byte and throughput of a
streamed 100 MB response from `wasmfn serve`, read by curl, through both
surfaces that stream:

* a Function URL in RESPONSE_STREAM mode (the bytes as the function wrote
  them, chunked HTTP);
* InvokeWithResponseStream (each chunk an event-stream PayloadChunk).

The function is tests/guests/streamer's `bytes` action: 100 MB written in
64 KB writes. Every round is a warm invocation; the rounds alternate between
the two surfaces.

    cargo build --release -p wasmfn
    benches/streaming.py [--mb 100] [--rounds 5]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from servers import start

ROOT = Path(__file__).resolve().parents[1]
WASMFN = os.environ.get("WASMFN_BIN", str(ROOT / "target" / "release" / "wasmfn"))


def curl(url, body):
    """(time to first byte, total time, bytes) of one POST, read by curl."""
    out = subprocess.run(
        [
            "curl", "-s", "-o", "/dev/null", "-X", "POST", "-d", body,
            "-w", "%{time_starttransfer} %{time_total} %{size_download}", url,
        ],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="wasmfn-stream-bench-"))
    manifest = work / "serverless.yml"
    manifest.write_text(
        "service: stream-bench\n"
        "functions:\n"
        "  streamer:\n"
        f"    handler: {ROOT / 'tests/guests/streamer'}\n"
        "    timeout: 120\n"
        "    url:\n"
        "      invokeMode: RESPONSE_STREAM\n"
    )
    server, base = start(
        [
            WASMFN, "--log-level", "WARN", "serve",
            "--manifest", str(manifest), "--listen", "127.0.0.1:{port}",
            "--state-dir", str(work / "state"),
        ],
        work / "serve.log",
    )
    try:
        surfaces = {
            "Function URL (RESPONSE_STREAM)": f"{base}/lambda-url/streamer/",
            "InvokeWithResponseStream": f"{base}/2021-11-15/functions/streamer/response-streaming-invocations",
        }
        body = json.dumps({"action": "bytes", "mb": args.mb})
        for url in surfaces.values():  # compile, first instance, warm caches
            curl(url, json.dumps({"action": "bytes", "mb": 1}))
        results = {name: [] for name in surfaces}
        for _ in range(args.rounds):
            for name, url in surfaces.items():
                results[name].append(curl(url, body))

        print(f"streamed {args.mb} MB, {args.rounds} warm rounds each, interleaved")
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
        print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        for name, runs in results.items():
            ttfb = statistics.median(r[0] for r in runs) * 1000
            rate = statistics.median(r[2] / r[1] for r in runs) / 1e6
            size = runs[0][2]
            print(f"  {name}: time to first byte {ttfb:.2f} ms (median), "
                  f"throughput {rate:.0f} MB/s (median), {size} bytes on the wire")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
