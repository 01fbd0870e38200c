#!/usr/bin/env python3
"""Init Duration, measured as Lambda would see it: each cold start is a fresh
process, started as Lambda starts a custom runtime (`bootstrap`, with
`_HANDLER`, `LAMBDA_TASK_ROOT` and `AWS_LAMBDA_RUNTIME_API` pointing at a
local stand-in for Lambda's Runtime API), timed from exec to its first
`/next` (what Lambda reports as Init Duration) and to its first `/response`
(the cold start a caller waits for).

Both sides run in one run, interleaved: wasmfn's packaged `hello` (an
unpacked `wasmfn package --function hello` zip) and the floor, the same
handler as a native `lambda_runtime` binary built with the same profile.
The bootstrap is built without the compiler, as the deploy section of
README.md builds it; `target/release/wasmfn` packages it.

    cargo build --profile lambda -p wasmfn -p lambda-hello-native --no-default-features
    cargo build --release
    benches/init_duration.py [--runs 50]

`--bootstrap` may be given several times (builds of other profiles, say):
each is packaged with the same artifacts and measured in the same run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVENT = json.dumps({"queryStringParameters": {"name": "Ada"}}).encode()


class RuntimeApi(ThreadingHTTPServer):
    """Lambda's Runtime API for one cold start (a server of its own, so that
    nothing of the last process can reach it): one event, and the times
    its first /next and /response arrived."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.first_next = None
        self.response = None
        self.done = threading.Event()
        self.handed_out = False

    def handle_error(self, request, client_address):
        pass  # a held poll of a killed process


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        api = self.server
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        if api.first_next is None:
            api.first_next = time.perf_counter()
        if api.handed_out:  # one event per cold start: hold later polls
            api.done.wait(30)
            self.send_error(503)
            return
        api.handed_out = True
        deadline = int(time.time() * 1000) + 10_000
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "cold-start")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline))
        self.send_header(
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:us-east-1:123456789012:function:hello",
        )
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(EVENT)))
        self.end_headers()
        self.wfile.write(EVENT)

    def do_POST(self):
        api = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        api.response = (time.perf_counter(), self.path, body)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        api.done.set()


def cold_start(command, env):
    """One fresh process: (exec → first /next, exec → first /response), ms."""
    api = RuntimeApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = {**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}"}
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        if not api.done.wait(60):
            raise SystemExit(f"{command[0]}: no response within 60 s")
    finally:
        proc.kill()
        proc.wait()
        api.shutdown()
        api.server_close()
    at, path, body = api.response
    if not path.endswith("/response") or b"Hello, Ada!" not in body:
        raise SystemExit(f"{command[0]}: unexpected {path}: {body[:300]!r}")
    return (api.first_next - start) * 1e3, (at - start) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--bootstrap", type=Path, action="append",
                        help="a bootstrap to measure (repeatable; "
                        "default: target/lambda/wasmfn)")
    parser.add_argument("--native", type=Path,
                        default=ROOT / "target/lambda/lambda-hello-native")
    parser.add_argument("--wasmfn", type=Path, default=ROOT / "target/release/wasmfn",
                        help="the wasmfn that packages (it needs the compiler)")
    args = parser.parse_args()
    bootstraps = args.bootstrap or [ROOT / "target/lambda/wasmfn"]
    for binary in (*bootstraps, args.native, args.wasmfn):
        if not binary.is_file():
            raise SystemExit(
                f"{binary} is missing: build it with `cargo build --profile lambda "
                "-p wasmfn -p lambda-hello-native --no-default-features` and "
                "`cargo build --release`")

    work = Path(tempfile.mkdtemp(prefix="wasmfn-init-"))
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(work),
            "AWS_LAMBDA_FUNCTION_NAME": "hello", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_REGION": "us-east-1"}
    sides, sizes = {}, {}
    for n, bootstrap in enumerate(bootstraps):
        name = "wasmfn" if len(bootstraps) == 1 else f"wasmfn {n + 1}"
        dist, task = work / f"dist-{n}", work / f"task-{n}"
        subprocess.run(
            [str(args.wasmfn), "--cache-dir", str(work / "cache"), "package",
             "--manifest", str(ROOT / "serverless.yml"), "--out", str(dist),
             "--function", "hello", "--bootstrap-x86_64", str(bootstrap)],
            check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        zip_path = next(dist.glob("*-hello-x86_64.zip"))
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(task)
        (task / "bootstrap").chmod(0o755)
        sides[name] = ([str(task / "bootstrap")],
                       {**base, "_HANDLER": "hello", "LAMBDA_TASK_ROOT": str(task)})
        sizes[name] = (bootstrap, (task / "bootstrap").stat().st_size, zip_path.stat().st_size)
    sides["native"] = ([str(args.native)],
                       {**base, "_HANDLER": "bootstrap", "LAMBDA_TASK_ROOT": str(work)})

    samples = {name: ([], []) for name in sides}
    for name, (command, env) in sides.items():  # one unmeasured start each
        cold_start(command, env)
    for _ in range(args.runs):
        for name, (command, env) in sides.items():
            to_next, to_response = cold_start(command, env)
            samples[name][0].append(to_next)
            samples[name][1].append(to_response)

    p50 = {name: (statistics.median(n), statistics.median(r))
           for name, (n, r) in samples.items()}
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"{args.runs} interleaved cold starts each, p50:")
    width = max(len(name) for name in sides)
    print(f"{'':{width}} {'exec → /next':>14} {'exec → /response':>18}")
    for name, (n, r) in p50.items():
        print(f"{name:{width}} {n:11.2f} ms {r:15.2f} ms")
    native = p50["native"]
    for name, (bootstrap, size, zipped) in sizes.items():
        print(f"{name}: {bootstrap}: bootstrap {size / 1e6:.1f} MB, hello's zip "
              f"{zipped / 1e6:.1f} MB; / native: /next {p50[name][0] / native[0]:.2f}× "
              f"(target ≤ 2×), /response {p50[name][1] / native[1]:.2f}× (target ≤ 3×)")


if __name__ == "__main__":
    sys.exit(main())
