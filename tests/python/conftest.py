"""Fixtures: a real `wasmfn serve` on a free loopback port, and clients."""

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = Path(__file__).resolve().parent / "serverless.yml"


def wasmfn_binary() -> str:
    return os.environ.get("WASMFN_BIN", str(ROOT / "target" / "release" / "wasmfn"))


_shared_cache: Path | None = None


def shared_cache() -> Path:
    """One artifact cache for every server of the session: each component
    is compiled once, and the run does not hold a copy per server (the
    engines' artifacts are tens of megabytes each)."""
    global _shared_cache
    if _shared_cache is None:
        _shared_cache = Path(tempfile.mkdtemp(prefix="wasmfn-pytest-cache-"))
        atexit.register(shutil.rmtree, _shared_cache, ignore_errors=True)
    return _shared_cache


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `wasmfn serve` process; `start` waits until it accepts connections."""

    def __init__(
        self,
        state_dir: Path,
        port: int | None = None,
        log: Path | None = None,
        manifest: Path = MANIFEST,
        env: dict | None = None,
        cache_dir: Path | None = None,
    ):
        self.state_dir = state_dir
        self.port = port or free_port()
        self.log_path = log or state_dir / "serve.log"
        self.manifest = manifest
        self.env = env
        self.cache_dir = cache_dir or shared_cache()
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 300.0) -> "Server":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                wasmfn_binary(),
                "--cache-dir", str(self.cache_dir),
                "serve",
                "--manifest", str(self.manifest),
                "--listen", f"127.0.0.1:{self.port}",
                "--state-dir", str(self.state_dir),
                "--retry-delay", "0.2",
            ],
            stdout=log,
            stderr=log,
            env={**os.environ, **(self.env or {})},
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wasmfn serve exited: {self.log_path.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("wasmfn serve did not start listening")

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Moto:
    """A `moto_server`: local S3 and DynamoDB endpoints, as AWS would be."""

    def __init__(self, log: Path):
        self.port = free_port()
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited; see {log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start listening")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


# What `wasmfn serve` signs its moto requests with, as Lambda's environment
# would provide real ones.
MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    m = Moto(tmp_path_factory.mktemp("moto") / "moto.log")
    yield m
    m.stop()


def lambda_client(url: str):
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        # One attempt: a throttle must surface as an exception, not be retried.
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("serve")).start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def client(server):
    return lambda_client(server.url)
