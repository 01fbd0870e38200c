"""What the benchmark scripts share: a free loopback port, and a server
process started on one and waited for until it listens."""

import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, log):
    """Returns once `proc` accepts connections on `port`; exits the script,
    pointing at `log`, if it dies or takes ten minutes (a first compile)."""
    deadline = time.time() + 600
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"a server exited at start; see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"a server did not start listening; see {log}")


def start(cmd, log):
    """Starts `cmd` (its `{port}` filled in) with its output in `log`, and
    waits until it listens; returns the process and its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [part.replace("{port}", str(port)) for part in cmd],
        stdout=open(log, "wb"), stderr=subprocess.STDOUT,
    )
    wait_listening(port, proc, log)
    return proc, f"http://127.0.0.1:{port}"
