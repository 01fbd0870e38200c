"""The Lambda Invoke API of `wasmfn serve`, through boto3 and the aws CLI."""

import base64
import json
import os
import subprocess
import threading

import botocore.exceptions
import pytest


def invoke(client, name, payload, **kw):
    return client.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), **kw)


def test_request_response_returns_the_payload(client):
    r = invoke(client, "hello", {"queryStringParameters": {"name": "boto3"}})
    assert r["StatusCode"] == 200
    assert r["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in r
    body = json.loads(r["Payload"].read())
    assert body["statusCode"] == 200
    inner = json.loads(body["body"])
    assert inner["message"].startswith("Hello, boto3!")
    # The request id the guest saw is the one in x-amzn-RequestId.
    assert inner["requestId"] == r["ResponseMetadata"]["RequestId"]


def test_event_is_accepted_with_202(client):
    r = invoke(client, "probe", {"action": "counter"}, InvocationType="Event")
    assert r["StatusCode"] == 202
    assert r["Payload"].read() == b""


def test_dry_run_is_204(client):
    r = invoke(client, "probe", {"action": "counter"}, InvocationType="DryRun")
    assert r["StatusCode"] == 204


def test_tail_returns_the_last_4kb_of_the_log(client):
    r = invoke(client, "probe", {"action": "log", "n": 3}, LogType="Tail")
    log = base64.b64decode(r["LogResult"]).decode()
    request_id = r["ResponseMetadata"]["RequestId"]
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert "line 2 to stdout" in log
    assert f"END RequestId: {request_id}" in log
    assert f"REPORT RequestId: {request_id}\tDuration: " in log
    big = invoke(client, "probe", {"action": "log", "n": 500}, LogType="Tail")
    assert len(base64.b64decode(big["LogResult"])) == 4096


def test_client_context_reaches_the_guest(client):
    context = {"client": {"app_title": "wasmfn-tests"}, "custom": {"k": "v"}}
    r = invoke(
        client,
        "probe",
        {"action": "echo"},
        ClientContext=base64.b64encode(json.dumps(context).encode()).decode(),
    )
    echoed = json.loads(r["Payload"].read())
    assert json.loads(echoed["clientContext"]) == context


def test_a_function_error_is_200_with_function_error_unhandled(client):
    r = invoke(client, "probe", {"action": "error", "text": "bad input"})
    assert r["StatusCode"] == 200
    assert r["FunctionError"] == "Unhandled"
    assert json.loads(r["Payload"].read()) == {"errorMessage": "bad input", "errorType": "CustomError"}
    r = invoke(client, "probe", {"action": "panic", "text": "oops"})
    assert r["FunctionError"] == "Unhandled"
    assert json.loads(r["Payload"].read())["errorType"] == "Runtime.Unhandled"


def test_a_javascript_function_answers_boto3_and_its_throw_is_nodes_error(client):
    r = invoke(client, "js-probe", {"action": "context"})
    assert r["StatusCode"] == 200
    assert "FunctionError" not in r
    out = json.loads(r["Payload"].read())
    assert out["functionName"] == "js-probe"
    assert out["awsRequestId"] == r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    r = invoke(client, "js-probe", {"action": "throw", "detail": "from boto3"})
    assert r["StatusCode"] == 200
    assert r["FunctionError"] == "Unhandled"
    error = json.loads(r["Payload"].read())
    assert error["errorType"] == "ValidationError"
    assert error["errorMessage"] == "bad input: from boto3"
    assert error["stackTrace"][0] == "ValidationError: bad input: from boto3"
    assert any("/var/task/index.js:" in frame for frame in error["stackTrace"][1:])


def test_unknown_function_is_resource_not_found(client):
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        invoke(client, "nonesuch", {})


def too_large(client, payload, **kw):
    """The error an oversized invoke gets: code RequestEntityTooLargeException
    (not the model's RequestTooLargeException), as AWS answers."""
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.invoke(FunctionName="probe", Payload=payload, **kw)
    error = e.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"]["Code"] == "RequestEntityTooLargeException"
    return error["Error"]["Message"]


def test_oversized_payloads_are_request_entity_too_large(client):
    sync = json.dumps({"text": "x" * (6 * 1024 * 1024)}).encode()
    assert too_large(client, sync) == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )
    # Async events may be up to 1 MB (since October 2025); past it, Lambda
    # says how large the payload was.
    at_limit = json.dumps({"text": "x" * (1024 * 1024 - 12)}).encode()
    assert len(at_limit) == 1024 * 1024
    r = client.invoke(FunctionName="probe", Payload=at_limit, InvocationType="Event")
    assert r["StatusCode"] == 202
    over = json.dumps({"text": "x" * (1024 * 1024 - 11)}).encode()
    assert too_large(client, over, InvocationType="Event") == (
        f"{len(over)} byte payload is too large for the Event invocation type (limit 1048576 bytes)"
    )


def test_qualifiers_are_checked_as_lambda_checks_them(client):
    assert invoke(client, "probe", {"action": "counter"}, Qualifier="$LATEST")["StatusCode"] == 200
    with pytest.raises(client.exceptions.NoPublishedVersionException):
        invoke(client, "probe", {}, Qualifier="$LATEST.PUBLISHED")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        invoke(client, "probe", {}, Qualifier="7")


def test_over_reserved_concurrency_is_too_many_requests(client):
    slow = threading.Thread(target=invoke, args=(client, "throttled", {"action": "sleep", "n": 1500}))
    slow.start()
    try:
        import time

        time.sleep(0.4)
        with pytest.raises(client.exceptions.TooManyRequestsException):
            invoke(client, "throttled", {"action": "counter"})
    finally:
        slow.join()
    assert invoke(client, "throttled", {"action": "counter"})["StatusCode"] == 200


def test_the_rie_path_needs_a_single_function_manifest(client):
    # This manifest has three functions, so `function` names none of them.
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        invoke(client, "function", {})


def test_the_aws_cli_invokes_too(server, tmp_path):
    out = tmp_path / "out.json"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    result = subprocess.run(
        [
            "aws", "lambda", "invoke",
            "--endpoint-url", server.url,
            "--function-name", "hello",
            "--payload", '{"queryStringParameters": {"name": "cli"}}',
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    meta = json.loads(result.stdout)
    assert meta["StatusCode"] == 200
    assert meta["ExecutedVersion"] == "$LATEST"
    assert json.loads(json.loads(out.read_text())["body"])["message"].startswith("Hello, cli!")


def test_api_gateway_bounds_the_request_head_as_api_gateway_does(server):
    """API Gateway's quota: 10240 bytes of request line and header values;
    a Function URL allows 1 MB."""
    import urllib.error
    import urllib.request

    def status(path, header_bytes):
        req = urllib.request.Request(
            f"{server.url}{path}", data=b"{}", method="POST",
            headers={"x-big": "a" * header_bytes},
        )
        try:
            with urllib.request.urlopen(req) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    assert status("/auth/login", 11 * 1024) == 431
    assert status("/auth/login", 4 * 1024) != 431
    assert status("/lambda-url/probe/", 64 * 1024) == 200
