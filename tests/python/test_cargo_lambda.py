"""A packaged function under the emulator Rust Lambda users run locally,
cargo-lambda's `cargo lambda watch --only-lambda-apis`: the unpacked zip's
`bootstrap` connects to it by the `http://host:port/.rt` URL it prints, and
`cargo lambda invoke` drives it.

The emulator sends `Lambda-Runtime-Deadline-Ms: 600000`, the time left
rather than a Unix time; an invocation that waits 200 ms must still
succeed, and the log must say once how the header was read."""

import shutil
import socket
import subprocess
import sysconfig
import time
import zipfile
from pathlib import Path

from conftest import ROOT, free_port, shared_cache, wasmfn_binary

TESTS = ROOT / "tests" / "python"


def cargo_lambda() -> str:
    found = shutil.which("cargo-lambda") or str(Path(sysconfig.get_path("scripts")) / "cargo-lambda")
    assert Path(found).is_file(), (
        "cargo-lambda is not installed: `python3 -m pip install -r tests/python/requirements.txt`"
    )
    return found


def wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"cargo lambda watch exited:\n{log.read_text()}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"cargo lambda watch did not listen on {port}:\n{log.read_text()}")


def test_a_packaged_function_sleeps_200_ms_under_cargo_lambda_watch(tmp_path):
    out = tmp_path / "dist"
    subprocess.run(
        [wasmfn_binary(), "--cache-dir", str(shared_cache()), "package",
         "--manifest", str(TESTS / "serverless.yml"), "--out", str(out), "--function", "probe"],
        check=True, cwd=TESTS, capture_output=True,
    )
    task = tmp_path / "task"
    with zipfile.ZipFile(out / "wasmfn-client-tests-probe-x86_64.zip") as zip:
        zip.extractall(task)
    (task / "bootstrap").chmod(0o755)

    # `watch` reads a Cargo manifest even when it starts no function: an
    # empty package, so that it resolves nothing.
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "Cargo.toml").write_text(
        '[package]\nname = "under-watch"\nversion = "0.0.0"\nedition = "2021"\n')
    (project / "src" / "main.rs").write_text("fn main() {}\n")

    port = free_port()
    watch_log = tmp_path / "watch.log"
    bootstrap_log = tmp_path / "bootstrap.log"
    with open(watch_log, "w") as wl, open(bootstrap_log, "w") as bl:
        watch = subprocess.Popen(
            [cargo_lambda(), "lambda", "watch", "--only-lambda-apis",
             "-A", "127.0.0.1", "-P", str(port)],
            cwd=project, stdout=wl, stderr=subprocess.STDOUT,
        )
        bootstrap = None
        try:
            wait_for_port(port, watch, watch_log)
            # The variables the emulator says the function must be given.
            bootstrap = subprocess.Popen(
                [str(task / "bootstrap")], cwd=task, stdout=bl, stderr=subprocess.STDOUT,
                env={
                    "PATH": "/usr/bin:/bin",
                    "_HANDLER": "probe",
                    "LAMBDA_TASK_ROOT": str(task),
                    "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}/.rt",
                    "AWS_LAMBDA_FUNCTION_NAME": "_",
                    "AWS_LAMBDA_FUNCTION_VERSION": "1",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                },
            )
            for n in range(2):
                invoke = subprocess.run(
                    [cargo_lambda(), "lambda", "invoke", "-A", "127.0.0.1", "-P", str(port),
                     "--data-ascii", '{"action":"sleep","n":200}', "_"],
                    capture_output=True, text=True, timeout=60,
                )
                assert invoke.returncode == 0, (
                    f"invocation {n}: {invoke.stdout}{invoke.stderr}\n"
                    f"bootstrap:\n{bootstrap_log.read_text()}")
                assert '"slept":200' in invoke.stdout, invoke.stdout
        finally:
            for process in (bootstrap, watch):
                if process is not None:
                    process.kill()
                    process.wait()
    log = bootstrap_log.read_text()
    assert log.count("Lambda-Runtime-Deadline-Ms (600000)") == 1, log
    assert "Timedout" not in log, log

