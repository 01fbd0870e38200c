"""Accepted async events survive `kill -9`: the on-success destination is
the witness that each was processed."""

import json
import threading
import time

from conftest import Server, lambda_client


def read_success(state_dir):
    path = state_dir / "queue" / "destinations" / "probe.success.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_accepted_events_survive_kill_9(tmp_path):
    server = Server(tmp_path).start()
    client = lambda_client(server.url)
    accepted = []
    stop = threading.Event()

    def send():
        for i in range(200):
            if stop.is_set():
                return
            try:
                r = client.invoke(
                    FunctionName="probe",
                    InvocationType="Event",
                    Payload=json.dumps({"action": "sleep", "n": 20, "text": str(i)}).encode(),
                )
            except Exception:
                # The server is gone: this one was never accepted.
                stop.wait(0.05)
                continue
            assert r["StatusCode"] == 202
            accepted.append(r["ResponseMetadata"]["RequestId"])

    sender = threading.Thread(target=send)
    sender.start()
    while len(accepted) < 100:
        time.sleep(0.01)
    server.kill9()
    killed_at = len(accepted)
    processed_before = {r["requestContext"]["requestId"] for r in read_success(tmp_path)}
    # Events were still pending when the server died.
    assert len(processed_before) < killed_at

    server = Server(tmp_path, port=server.port).start()
    sender.join()
    stop.set()
    assert len(accepted) >= killed_at

    deadline = time.time() + 120
    while time.time() < deadline:
        done = {r["requestContext"]["requestId"] for r in read_success(tmp_path)}
        if done >= set(accepted):
            break
        time.sleep(0.2)
    server.stop()
    records = read_success(tmp_path)
    done = [r["requestContext"]["requestId"] for r in records]
    missing = set(accepted) - set(done)
    assert not missing, f"{len(missing)} accepted events were lost"
    # At-least-once: a duplicate can only be an event that was running when
    # the server was killed.
    duplicates = len(done) - len(set(done))
    assert duplicates <= 4, f"{duplicates} duplicates"
    assert all(r["requestContext"]["condition"] == "Success" for r in records)
    assert all(r["responsePayload"]["slept"] == 20 for r in records)
