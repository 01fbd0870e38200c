"""functions/s3-processor against moto's S3: an image is uploaded, the
function is invoked through `wasmfn serve` with the matching S3 event, fetches
the object over outbound HTTP (signed with SigV4) and writes its thumbnail
back under thumbnails/."""

import json
import struct
import zlib

import pytest

from conftest import MOTO_CREDENTIALS, ROOT, Server, lambda_client

MANIFEST = """
service: wasmfn-s3-processor
provider: {{name: aws, runtime: provided.al2023, timeout: 20, memorySize: 256}}
functions:
  s3-processor:
    handler: {handler}
    allowedOutboundHosts: ["{endpoint}"]
    environment:
      S3_ENDPOINT: "{endpoint}"
      AWS_ACCESS_KEY_ID: {key}
      AWS_SECRET_ACCESS_KEY: {secret}
"""


def png(width: int, height: int) -> bytes:
    """A solid-colour RGB PNG, written by hand so the test needs no imaging
    library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x10\x80\xf0" * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    return struct.unpack(">II", data[16:24])


def record(bucket: str, key: str, size: int) -> dict:
    """An ObjectCreated record as S3 sends it (keys URL-encoded, `+` for
    spaces)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-25T12:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "1", "x-amz-id-2": "2"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "uploads",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"}, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": key.replace(" ", "+"), "size": size, "eTag": "0", "sequencer": "0"},
        },
    }


@pytest.fixture
def s3_server(moto, tmp_path):
    manifest = tmp_path / "serverless.yml"
    manifest.write_text(
        MANIFEST.format(
            handler=ROOT / "functions" / "s3-processor",
            endpoint=moto.url,
            key=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            secret=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
    )
    s = Server(tmp_path / "state", manifest=manifest).start()
    yield s
    s.stop()


def test_an_uploaded_image_gets_a_thumbnail(moto, s3_server):
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="uploads")
    image = png(640, 480)
    s3.put_object(Bucket="uploads", Key="photos/my cat.png", Body=image, ContentType="image/png")
    doc = json.dumps({"id": 7, "tags": ["a", "b"], "ok": True}).encode()
    # A generic content type: the extension decides.
    s3.put_object(Bucket="uploads", Key="data/report.json", Body=doc, ContentType="binary/octet-stream")

    event = {"Records": [record("uploads", "photos/my cat.png", len(image)), record("uploads", "data/report.json", len(doc))]}
    out = lambda_client(s3_server.url).invoke(FunctionName="s3-processor", Payload=json.dumps(event))
    assert "FunctionError" not in out, out
    summary = json.loads(out["Payload"].read())
    assert summary["failed"] == [], summary
    photo, report = summary["processed"]
    assert photo["processor"] == "image" and photo["details"] == {
        "width": 640,
        "height": 480,
        "thumbnail": "thumbnails/photos/my cat.png",
        "thumbnailWidth": 128,
        "thumbnailHeight": 96,
    }, photo
    assert report["processor"] == "json" and report["details"] == {"entries": 3}, report

    thumb = s3.get_object(Bucket="uploads", Key="thumbnails/photos/my cat.png")
    assert thumb["ContentType"] == "image/png"
    assert png_size(thumb["Body"].read()) == (128, 96)
    # Nothing else was written.
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="uploads")["Contents"])
    assert keys == ["data/report.json", "photos/my cat.png", "thumbnails/photos/my cat.png"]


def test_a_missing_object_fails_its_record_only(moto, s3_server):
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="sparse")
    s3.put_object(Bucket="sparse", Key="notes.txt", Body=b"one\ntwo\n", ContentType="text/plain")
    event = {"Records": [record("sparse", "gone.png", 10), record("sparse", "notes.txt", 8)]}
    out = lambda_client(s3_server.url).invoke(FunctionName="s3-processor", Payload=json.dumps(event))
    summary = json.loads(out["Payload"].read())
    assert [p["key"] for p in summary["processed"]] == ["notes.txt"]
    assert summary["processed"][0]["details"] == {"lines": 2}
    (failure,) = summary["failed"]
    assert failure["key"] == "gone.png" and "HTTP 404" in failure["error"] and "NoSuchKey" in failure["error"], failure
