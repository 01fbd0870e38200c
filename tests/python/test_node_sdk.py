"""The AWS SDK for JavaScript v3 inside a JavaScript function: functions/node
`orders` stores and reads orders with @aws-sdk/lib-dynamodb, over fetch and
wasi:http, against moto_server's DynamoDB, driven over HTTP."""

import json
import urllib.error
import urllib.request

import pytest

from conftest import MOTO_CREDENTIALS, ROOT, Server


def request(server, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


@pytest.fixture(scope="module")
def node_server(tmp_path_factory, moto, server):
    moto.client("dynamodb").create_table(
        TableName="node-examples-orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    s = Server(
        tmp_path_factory.mktemp("node-serve"),
        manifest=ROOT / "functions/node/serverless.yml",
        env={**MOTO_CREDENTIALS, "DYNAMODB_ENDPOINT": moto.url},
        # The session server's cache already holds the JavaScript engine.
        cache_dir=server.cache_dir,
    ).start()
    yield s
    s.stop()


def test_the_aws_sdk_v3_reads_and_writes_dynamodb(node_server, moto):
    status, order = request(node_server, "POST", "/orders", {"items": [{"sku": "pen", "qty": 2}]})
    assert status == 201, order
    assert order["status"] == "new"
    stored = moto.client("dynamodb").get_item(
        TableName="node-examples-orders", Key={"id": {"S": order["id"]}}
    )["Item"]
    assert stored["items"]["L"][0]["M"]["sku"] == {"S": "pen"}
    status, read = request(node_server, "GET", f"/orders/{order['id']}")
    assert (status, read) == (200, order)
    status, missing = request(node_server, "GET", "/orders/nope")
    assert status == 404, missing
    status, bad = request(node_server, "POST", "/orders", {"items": []})
    assert status == 400, bad
