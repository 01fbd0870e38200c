#!/usr/bin/env bash
# JavaScript and Python handlers on wasmfn against `node` and `python3`
# running the same handler files, side by side in one run:
#   1. `wasmfn bench` of functions/node `hello` and functions/python
#      `hello` (cold, spare and warm latency inside one process);
#   2. hyperfine of a whole process per invocation: `wasmfn invoke hello`
#      (built and compiled artifact cached, as after `wasmfn build`)
#      against `node` / `python3` loading the same file and calling its
#      handler once.
# Needs hyperfine (Debian's package). Usage: benches/runtimes.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
unset RUST_BACKTRACE
runs=${1:-30}
cargo build --release -p wasmfn >/dev/null
wasmfn=$PWD/target/release/wasmfn
cache=${WASMFN_CACHE_DIR:-$HOME/.cache/wasmfn}
[ -d functions/node/node_modules ] || npm ci --prefix functions/node --no-audit --no-fund --loglevel=error
event=$(mktemp)
trap 'rm -f "$event"' EXIT
echo '{"queryStringParameters": {"name": "bench"}}' >"$event"

echo "== $(date -u +%FT%TZ) on $(nproc) CPUs, $(uname -m)"
(cd functions/node && "$wasmfn" --cache-dir "$cache" build hello >/dev/null)
(cd functions/python && "$wasmfn" --cache-dir "$cache" build hello >/dev/null)
for project in node python; do
    echo "== wasmfn bench hello ($project)"
    (cd "functions/$project" && "$wasmfn" --cache-dir "$cache" bench hello --cold 200 --warm 5000 | tail -5)
done

echo "== one process per invocation"
node_run="node -e \"require('./hello.js').handler(JSON.parse(require('fs').readFileSync('$event','utf8')), {functionName: 'hello'}).then(r => console.log(JSON.stringify(r)))\""
python_run="python3 -c \"import json, hello; print(json.dumps(hello.handler(json.load(open('$event')), type('C', (), {'function_name': 'hello', 'aws_request_id': 'x', 'memory_limit_in_mb': '128', 'get_remaining_time_in_millis': lambda self: 3000})())))\""
(cd functions/node && hyperfine -N --warmup 3 --runs "$runs" \
    "$wasmfn --cache-dir $cache invoke hello -e $event" "$node_run")
(cd functions/python && hyperfine -N --warmup 3 --runs "$runs" \
    "$wasmfn --cache-dir $cache invoke hello -e $event" "$python_run")
