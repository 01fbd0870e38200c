"""The user-management API (functions/users) through `wasmfn serve`, with
real HTTP: register, login and /users/me, their failure paths, and the data
surviving a restart of the server. Each test runs twice: on the embedded
key-value store, and on the DynamoDB backend against moto_server."""

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

import pytest

import uuid

from conftest import MOTO_CREDENTIALS, ROOT, Server

SECRET = b"test-secret"  # JWT_SECRET in tests/python/serverless.yml


def request(server, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"null"), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), dict(e.headers)


def forge(claims):
    """A token signed with the function's secret, as an attacker who knows
    it (or the tests) could make."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


DYNAMODB_MANIFEST = """
service: wasmfn-users-dynamodb
provider: {{name: aws, runtime: provided.al2023, timeout: 10}}
functions:
  users:
    handler: {handler}
    environment: {{JWT_SECRET: test-secret}}
    keyValueStores: [users]
    events:
      - http: {{path: /auth/register, method: post}}
      - http: {{path: /auth/login, method: post}}
      - http: {{path: /users/me, method: get}}
stores:
  users: {{backend: dynamodb, table: {table}, endpoint: "{endpoint}"}}
"""


@pytest.fixture(params=["embedded", "dynamodb"])
def backend(request, tmp_path):
    """A function returning a started server on one backend; every server it
    starts shares the backend's data (the state dir, or the table)."""
    if request.param == "embedded":
        yield lambda port=None: Server(tmp_path / "state", port=port).start()
        return
    moto = request.getfixturevalue("moto")
    table = f"users-{uuid.uuid4().hex[:8]}"
    moto.client("dynamodb").create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    manifest = tmp_path / "serverless.yml"
    manifest.write_text(
        DYNAMODB_MANIFEST.format(handler=ROOT / "functions" / "users", table=table, endpoint=moto.url)
    )
    yield lambda port=None: Server(
        tmp_path / "state", port=port, manifest=manifest, env=MOTO_CREDENTIALS
    ).start()
    # The data is in the table, not on local disk.
    assert not (tmp_path / "state" / "stores").exists()
    items = moto.client("dynamodb").scan(TableName=table)["Items"]
    assert items, "the users went to DynamoDB"


@pytest.fixture
def users_server(backend):
    s = backend()
    yield s
    s.stop()


def register(server, email="ada@example.com", password="correct horse", name="Ada"):
    return request(server, "POST", "/auth/register", {"email": email, "password": password, "name": name})


def test_register_login_me(users_server):
    status, user, headers = register(users_server)
    assert status == 201, user
    assert user["email"] == "ada@example.com" and user["name"] == "Ada"
    assert "passwordHash" not in user and "password" not in json.dumps(user).lower()
    assert {k.lower(): v for k, v in headers.items()}.get("access-control-allow-origin") == "*"

    status, login, _ = request(users_server, "POST", "/auth/login", {"email": "ADA@example.com", "password": "correct horse"})
    assert status == 200, login
    assert login["expiresIn"] == 24 * 3600
    claims = json.loads(base64.urlsafe_b64decode(login["token"].split(".")[1] + "=="))
    assert claims["sub"] == user["id"] and claims["exp"] - claims["iat"] == 24 * 3600

    status, me, _ = request(users_server, "GET", "/users/me", token=login["token"])
    assert status == 200, me
    assert me == user


def test_failure_paths(users_server):
    assert register(users_server)[0] == 201
    status, body, _ = register(users_server, email="Ada@Example.com")
    assert status == 409 and "already registered" in body["message"]
    assert register(users_server, email="bad", password="long enough")[0] == 400
    assert register(users_server, email="b@example.com", password="short")[0] == 400

    status, body, _ = request(users_server, "POST", "/auth/login", {"email": "ada@example.com", "password": "wrong password"})
    assert status == 401 and body["message"] == "invalid email or password"
    status, _, _ = request(users_server, "POST", "/auth/login", {"email": "nobody@example.com", "password": "whatever1"})
    assert status == 401

    assert request(users_server, "GET", "/users/me")[0] == 401
    assert request(users_server, "GET", "/users/me", token="not.a.token")[0] == 401
    now = int(time.time())
    wrong_key = forge({"sub": "u-1", "email": "ada@example.com", "iat": now, "exp": now + 60})[:-4] + "AAAA"
    assert request(users_server, "GET", "/users/me", token=wrong_key)[0] == 401
    expired = forge({"sub": "u-1", "email": "ada@example.com", "iat": now - 90000, "exp": now - 3600})
    status, body, _ = request(users_server, "GET", "/users/me", token=expired)
    assert status == 401 and "expired" in body["message"]
    gone = forge({"sub": "u-999", "email": "gone@example.com", "iat": now, "exp": now + 60})
    assert request(users_server, "GET", "/users/me", token=gone)[0] == 404


def test_users_survive_a_restart(backend):
    first = backend()
    try:
        assert register(first)[0] == 201
    finally:
        first.stop()
    second = backend(port=first.port)
    try:
        status, login, _ = request(second, "POST", "/auth/login", {"email": "ada@example.com", "password": "correct horse"})
        assert status == 200, login
        assert register(second)[0] == 409
    finally:
        second.stop()
