#!/usr/bin/env python3
"""Process start, side by side in one hyperfine run: a one-shot
`wasmfn invoke` of the Rust hello (by path and by manifest name, the crate
up to date) and of a Node.js hello built by wasmfn, against `node` running
the same JavaScript. Prints each wall time and the ratios the targets name.

    cargo build --release && cargo run --release -- invoke hello
    benches/process_start.py [--runs 100]

Needs hyperfine (`apt-get install hyperfine`) and node on the PATH.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JS_HELLO = (
    "exports.handler = async (event) => "
    "({ statusCode: 200, body: JSON.stringify({ message: 'Hello, world!' }) });\n"
)
NODE_MAIN = (
    "const { handler } = require('./hello.js');\n"
    "handler({}).then((r) => console.log(JSON.stringify(r)));\n"
)
JS_MANIFEST = """service: start-bench
provider:
  name: aws
  runtime: nodejs20.x
functions:
  hello:
    handler: hello.handler
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--wasmfn", type=Path, default=ROOT / "target/release/wasmfn")
    args = parser.parse_args()
    for tool in ("hyperfine", "node"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not on the PATH; install it first")
    wasmfn = str(args.wasmfn)
    hello_wasm = ROOT / "functions/target/wasm32-wasip2/release/hello.wasm"

    work = Path(tempfile.mkdtemp(prefix="wasmfn-start-"))
    (work / "hello.js").write_text(JS_HELLO)
    (work / "main.js").write_text(NODE_MAIN)
    (work / "serverless.yml").write_text(JS_MANIFEST)
    # Build, compile and remember everything once; then let the files
    # settle, since inputs changed within a second are checked again.
    for cwd, name in ((ROOT, "hello"), (work, "hello")):
        subprocess.run([wasmfn, "invoke", name], cwd=cwd, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)

    commands = {
        "wasmfn invoke hello.wasm": f"{wasmfn} invoke {hello_wasm}",
        "wasmfn invoke hello (by name)": f"{wasmfn} invoke hello",
        "wasmfn invoke hello.js (by name)": f"{wasmfn} invoke --manifest {work}/serverless.yml hello",
        "node hello.js": f"node {work}/main.js",
    }
    export = work / "hyperfine.json"
    subprocess.run(
        ["hyperfine", "-N", "--warmup", "5", "--runs", str(args.runs),
         "--export-json", str(export), *commands.values()],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "RUST_BACKTRACE"})
    results = json.loads(export.read_text())["results"]
    mean = {name: r["mean"] * 1e3 for name, r in zip(commands, results)}
    median = {name: r["median"] * 1e3 for name, r in zip(commands, results)}

    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"hyperfine -N, {args.runs} runs each, one run:")
    for name in commands:
        print(f"  {name:34} mean {mean[name]:6.2f} ms   median {median[name]:6.2f} ms")
    wasm, by_name = mean["wasmfn invoke hello.wasm"], mean["wasmfn invoke hello (by name)"]
    node, js = mean["node hello.js"], mean["wasmfn invoke hello.js (by name)"]
    print(f"invoke hello.wasm {wasm:.2f} ms (target ≤ 3 ms); "
          f"node / invoke hello.wasm {node / wasm:.1f}× (target ≥ 15×)")
    print(f"by name / by path {by_name / wasm:.2f}× (target ≤ 1.5×); "
          f"node / invoke hello.js {node / js:.1f}×")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
