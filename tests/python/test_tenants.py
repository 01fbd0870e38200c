"""Tenant isolation on `wasmfn serve`, through boto3's TenantId."""

import json
import threading
import time

import botocore.exceptions
import pytest


def counter(client, name, tenant, **kw):
    r = client.invoke(
        FunctionName=name, Payload=b'{"action":"counter"}', TenantId=tenant, **kw
    )
    assert "FunctionError" not in r, r["Payload"].read()
    return json.loads(r["Payload"].read())


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_thousand_tenants_each_get_their_own_instance(server, client):
    counter(client, "tenants", "warm-up")  # the function's artifact is loaded
    before = rss_kb(server.proc.pid)
    for i in range(1000):
        answer = counter(client, "tenants", f"tenant-{i}")
        # A counter shared with any other tenant would be past 1.
        assert answer == {"invocations": 1, "inits": 1, "tenantId": f"tenant-{i}"}, answer
    after = rss_kb(server.proc.pid)
    per_tenant = (after - before) / 1000
    print(f"\nRSS per tenant instance: {per_tenant:.1f} KiB ({before} -> {after} KiB)")
    # The latest tenants' instances are warm and still their own.
    for i in range(990, 1000):
        assert counter(client, "tenants", f"tenant-{i}")["invocations"] == 2


def error_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    return e.value.response


def test_a_missing_or_unwanted_tenant_id_is_lambdas_error(client):
    missing = error_of(lambda: client.invoke(FunctionName="tenants", Payload=b"{}"))
    assert missing["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert missing["Error"]["Code"] == "InvalidParameterValueException"
    assert "Tenant ID configuration" in missing["Error"]["Message"]
    unwanted = error_of(lambda: client.invoke(FunctionName="probe", Payload=b"{}", TenantId="blue"))
    assert unwanted["Error"]["Code"] == "InvalidParameterValueException"
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.invoke(FunctionName="tenants", Payload=b"{}")
    malformed = error_of(
        lambda: client.invoke(FunctionName="tenants", Payload=b"{}", TenantId="semi;colon")
    )
    assert malformed["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert malformed["Error"]["Code"] == "ValidationException"
    # The streaming API checks it the same way.
    missing = error_of(
        lambda: client.invoke_with_response_stream(FunctionName="tenants", Payload=b"{}")
    )
    assert missing["Error"]["Code"] == "InvalidParameterValueException"


def test_the_tenant_reaches_the_context_through_every_invoke_api(client):
    r = client.invoke(FunctionName="tenants", Payload=b'{"action":"echo"}', TenantId="ctx")
    assert json.loads(r["Payload"].read())["tenantId"] == "ctx"
    r = client.invoke_with_response_stream(
        FunctionName="tenants", Payload=b'{"action":"echo"}', TenantId="ctx"
    )
    body = b"".join(e["PayloadChunk"]["Payload"] for e in r["EventStream"] if "PayloadChunk" in e)
    assert json.loads(body)["tenantId"] == "ctx"
    r = client.invoke(
        FunctionName="tenants", Payload=b'{"action":"counter"}', TenantId="async", InvocationType="Event"
    )
    assert r["StatusCode"] == 202


def test_reserved_concurrency_holds_across_tenants(client):
    slow = threading.Thread(
        target=lambda: client.invoke(
            FunctionName="tenants-limited", Payload=b'{"action":"sleep","n":1500}', TenantId="blue"
        )
    )
    slow.start()
    try:
        time.sleep(0.4)
        with pytest.raises(client.exceptions.TooManyRequestsException):
            counter(client, "tenants-limited", "green")
    finally:
        slow.join()
    assert counter(client, "tenants-limited", "green")["invocations"] == 1
