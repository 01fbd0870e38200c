"""Response streaming from `wasmfn serve`: boto3's invoke_with_response_stream
on the Invoke API, and curl on a RESPONSE_STREAM Function URL."""

import base64
import json
import socket
import subprocess
import time

import pytest


def stream(client, name, payload, **kw):
    """Invokes with a streamed response; returns (response, [(time, event)])."""
    r = client.invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps(payload).encode(), **kw
    )
    events = [(time.monotonic(), event) for event in r["EventStream"]]
    return r, events


def chunks(events):
    return [e["PayloadChunk"]["Payload"] for _, e in events if "PayloadChunk" in e]


def complete(events):
    last = events[-1][1]
    assert "InvokeComplete" in last, f"the stream ends with InvokeComplete: {last}"
    return last["InvokeComplete"]


def test_chunks_arrive_one_by_one_as_the_function_writes_them(client):
    r, events = stream(
        client, "streamer", {"action": "chunks", "chunks": ["one ", "two ", "three"], "sleepMs": 500}
    )
    assert r["StatusCode"] == 200
    assert r["ExecutedVersion"] == "$LATEST"
    assert r["ResponseStreamContentType"] == "application/vnd.amazon.eventstream"
    assert chunks(events) == [b"one ", b"two ", b"three"]
    payload_times = [t for t, e in events if "PayloadChunk" in e]
    assert payload_times[-1] - payload_times[0] >= 0.9, "the first chunk must not wait for the last"
    assert "ErrorCode" not in complete(events)


def test_a_function_error_mid_stream_arrives_in_invoke_complete(client):
    _, events = stream(client, "streamer", {"action": "fail", "chunks": ["partial"]})
    assert chunks(events) == [b"partial"]
    done = complete(events)
    assert done["ErrorCode"] == "StreamFailed"
    details = json.loads(done["ErrorDetails"])
    assert details == {"errorMessage": "failed after writing", "errorType": "StreamFailed"}


def test_a_timeout_mid_stream_arrives_in_invoke_complete(client):
    # streamer's timeout is 2 s; it writes a line every 10 ms until stopped.
    _, events = stream(client, "streamer", {"action": "forever"})
    assert len(chunks(events)) > 20
    done = complete(events)
    assert done["ErrorCode"] == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in json.loads(done["ErrorDetails"])["errorMessage"]


def test_log_type_tail_puts_the_log_in_invoke_complete(client):
    _, events = stream(client, "streamer", {"action": "chunks", "chunks": ["x"]}, LogType="Tail")
    log = base64.b64decode(complete(events)["LogResult"]).decode()
    assert "START RequestId:" in log and "REPORT RequestId:" in log


def test_a_20_mb_body_streams_whole(client):
    _, events = stream(client, "streamer", {"action": "bytes", "mb": 20})
    body = b"".join(chunks(events))
    assert len(body) == 20 * 1024 * 1024
    block = bytes(i % 251 for i in range(64 * 1024))
    assert body[: len(block)] == block and body[-len(block) :] == block
    assert "ErrorCode" not in complete(events)


def test_a_buffered_function_answers_in_one_chunk(client):
    _, events = stream(client, "probe", {"action": "echo"})
    [chunk] = chunks(events)
    assert json.loads(chunk)["functionName"] == "probe"


def test_node_streamify_response_through_boto3(client):
    _, events = stream(client, "js-stream", {"chunks": ["a", "b", "c"], "sleepMs": 300})
    assert b"".join(chunks(events)) == b"abc"
    assert len(chunks(events)) == 3
    _, events = stream(client, "js-stream", {"action": "fail", "chunks": ["a"]})
    assert complete(events)["ErrorCode"] == "Error"


def test_dry_run_and_event_on_the_streaming_api(client):
    r = client.invoke_with_response_stream(FunctionName="streamer", InvocationType="DryRun")
    assert r["StatusCode"] == 204


def test_a_client_that_disconnects_leaves_the_instance_usable(server, client):
    # A raw HTTP request, closed after the first bytes.
    body = json.dumps({"action": "forever"}).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(
            b"POST /2021-11-15/functions/streamer/response-streaming-invocations HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
    deadline = time.time() + 5
    while True:
        _, events = stream(client, "streamer", {"action": "stats"})
        stats = json.loads(b"".join(chunks(events)))
        if stats["closed"] >= 1 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert stats["closed"] >= 1, f"the guest saw its client leave: {stats}"


@pytest.mark.parametrize("path", ["/lambda-url/streamer/", "/stream"])
def test_curl_gets_a_streamed_http_response_chunk_by_chunk(server, path):
    """A RESPONSE_STREAM Function URL, and a REST route that streams."""
    payload = json.dumps(
        {"action": "chunks", "chunks": ["first\n", "second\n"], "sleepMs": 600, "http": True}
    )
    curl = subprocess.Popen(
        ["curl", "-sN", "-i", "-X", "POST", "-d", payload, f"{server.url}{path}"],
        stdout=subprocess.PIPE,
    )
    lines = []
    for line in curl.stdout:
        lines.append((time.monotonic(), line))
    assert curl.wait() == 0
    text = [l for _, l in lines]
    assert text[0].startswith(b"HTTP/1.1 201"), text[0]
    headers = {l.split(b":")[0].lower(): l for l in text if b":" in l}
    assert b"x-streamed: yes" in headers[b"x-streamed"].lower()
    assert b"text/plain" in headers[b"content-type"]
    assert b"flavour=oat" in headers[b"set-cookie"]
    times = {l: t for t, l in lines}
    assert times[b"second\n"] - times[b"first\n"] >= 0.4, "the first chunk came before the last"
