//! The Lambda-guide functions of `functions/`, loaded as the example
//! `serverless.yml` wires them, through the real host.

use std::sync::Arc;

use serde_json::{json, Value};
use wasmfn::manifest::Manifest;
use wasmfn::{Function, FunctionConfig, Invocation};

use crate::support::{guest, host, invoke, json, root};

/// `name`'s configuration from the example manifest.
fn config(name: &str) -> FunctionConfig {
    let (manifest, warnings) = Manifest::load(&root().join("serverless.yml")).expect("manifest");
    assert!(warnings.is_empty(), "{warnings:?}");
    manifest.function_config(name).expect("configured")
}

fn load(config: FunctionConfig) -> Arc<Function> {
    let name = config.name.clone();
    host().load(&guest(&name), config).expect("load")
}

/// The guest's JSON log lines.
fn json_lines(inv: &Invocation) -> Vec<Value> {
    inv.logs
        .lines
        .iter()
        .filter_map(|l| serde_json::from_str(&l.text).ok())
        .collect()
}

fn s3_record(event_name: &str, key: &str, size: Option<u64>) -> Value {
    json!({
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-25T12:00:00.000Z",
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "uploads",
            "bucket": {"name": "uploads", "ownerIdentity": {"principalId": "EXAMPLE"}, "arn": "arn:aws:s3:::uploads"},
            "object": {"key": key, "size": size, "eTag": "0123456789abcdef", "sequencer": "0A1B2C3D4E5F678901"}
        }
    })
}

/// Without S3 at hand (moto drives the whole flow in
/// tests/python/test_s3_processor.py), every created object fails on its own
/// record: without `allowedOutboundHosts`, the host refuses
/// the fetch. Removals, skips and undecodable keys need no S3.
#[tokio::test]
async fn s3_processor_decodes_keys_and_keeps_going_past_failed_records() {
    let mut config = config("s3-processor");
    // No network here, whatever the manifest allows.
    config.allowed_outbound = Arc::default();
    let f = load(config);
    let event = json!({"Records": [
        s3_record("ObjectCreated:Put", "photos/my+cat%281%29.JPG", Some(1024)),
        s3_record("ObjectCreated:Put", "thumbnails/photos/a.png", Some(5)),
        s3_record("ObjectCreated:Put", "bad%FF.txt", Some(1)),
        s3_record("ObjectRemoved:Delete", "old+notes.txt", None),
    ]});
    let inv = invoke(&f, &event).await;
    let summary = json(
        inv.result
            .as_ref()
            .expect("a bad record does not fail the event"),
    );
    assert_eq!(
        summary["processed"],
        json!([
            {"bucket": "uploads", "key": "thumbnails/photos/a.png", "action": "skipped", "size": 5},
            {"bucket": "uploads", "key": "old notes.txt", "action": "removed"},
        ])
    );
    let failed = summary["failed"].as_array().unwrap();
    let keys: Vec<&str> = failed.iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["photos/my cat(1).JPG", "bad%FF.txt"]);
    let fetch = failed[0]["error"].as_str().unwrap();
    assert!(
        fetch.contains("GET https://uploads.s3.us-east-1.amazonaws.com/photos/my%20cat%281%29.JPG")
            && fetch.contains("HttpRequestDenied"),
        "{fetch}"
    );
    let errors = json_lines(&inv)
        .into_iter()
        .filter(|l| l["level"] == "ERROR")
        .count();
    assert_eq!(errors, 2);
}

fn stream_record(seq: &str, name: &str, old: Option<Value>, new: Option<Value>) -> Value {
    let mut change = json!({
        "ApproximateCreationDateTime": 1_764_072_000.0,
        "Keys": {"id": {"S": "k"}},
        "SequenceNumber": seq,
        "SizeBytes": 59,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    if let Some(old) = old {
        change["OldImage"] = old;
    }
    if let Some(new) = new {
        change["NewImage"] = new;
    }
    json!({
        "eventID": format!("e{seq}"),
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/users/stream/2026-01-01T00:00:00.000",
    })
}

fn user(id: &str, status: &str) -> Value {
    json!({"id": {"S": id}, "status": {"S": status}})
}

#[tokio::test]
async fn dynamodb_stream_detects_status_changes_and_reports_bad_records() {
    let f = load(config("dynamodb-stream"));
    let event = json!({"Records": [
        stream_record("100", "INSERT", None, Some(user("u1", "pending"))),
        stream_record("200", "MODIFY", Some(user("u1", "pending")), Some(user("u1", "active"))),
        stream_record("300", "MODIFY", Some(user("u2", "active")), Some(user("u2", "active"))),
        stream_record("400", "INSERT", None, Some(json!({"status": {"S": "pending"}}))),
        stream_record("500", "REMOVE", Some(user("u3", "active")), None),
        stream_record("600", "TRUNCATE", None, None),
    ]});
    let inv = invoke(&f, &event).await;
    let response = json(
        inv.result
            .as_ref()
            .expect("partial failures are a response"),
    );
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "400"}, {"itemIdentifier": "600"}]})
    );
    let events: Vec<(String, String)> = json_lines(&inv)
        .iter()
        .filter(|l| l["level"] == "INFO")
        .map(|l| {
            (
                l["message"].as_str().unwrap().to_string(),
                l["id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected = [
        ("user created", "u1"),
        ("status changed", "u1"),
        ("user modified", "u2"),
        ("user removed", "u3"),
    ];
    assert_eq!(
        events,
        expected.map(|(m, id)| (m.to_string(), id.to_string()))
    );
    let change = json_lines(&inv)
        .into_iter()
        .find(|l| l["message"] == "status changed")
        .unwrap();
    assert_eq!(
        (&change["from"], &change["to"]),
        (&json!("pending"), &json!("active"))
    );
}

fn sqs_message(id: &str, body: &str) -> Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("handle-{id}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764072000000",
                       "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1764072000001"},
        "messageAttributes": {},
        "md5OfBody": "d41d8cd98f00b204e9800998ecf8427e",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:jobs",
        "awsRegion": "us-east-1"
    })
}

#[tokio::test]
async fn sqs_batch_reports_exactly_the_failed_messages() {
    let f = load(config("sqs-batch"));
    let event = json!({"Records": [
        sqs_message("m1", r#"{"type":"user-registration","data":{"email":"ada@example.com"}}"#),
        sqs_message("m2", r#"{"type":"user-registration","data":{"email":"not-an-email"}}"#),
        sqs_message("m3", r#"{"type":"order-processing","data":{"orderId":"o-1","amount":12.5}}"#),
        sqs_message("m4", r#"{"type":"order-processing","data":{"orderId":"o-2"}}"#),
        sqs_message("m5", r#"{"type":"email-notification","data":{"to":"ada@example.com","subject":"hi"}}"#),
        sqs_message("m6", r#"{"type":"refund-request","data":{"orderId":"o-1"}}"#),
        sqs_message("m7", "{not json"),
    ]});
    let inv = invoke(&f, &event).await;
    let response = json(
        inv.result
            .as_ref()
            .expect("partial failures are a response"),
    );
    let failed: Vec<&str> = response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["m2", "m4", "m6", "m7"]);
    let unknown = json_lines(&inv)
        .into_iter()
        .find(|l| l["level"] == "WARN" && l["message"].as_str().unwrap().contains("\"m6\""))
        .expect("the unknown type is logged");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("refund-request"),
        "{unknown}"
    );
}

#[tokio::test]
async fn warmup_returns_early_and_caches_with_a_ttl_and_a_bound() {
    let mut config = config("warmup");
    config.environment.retain(|(k, _)| !k.starts_with("CACHE_"));
    config
        .environment
        .push(("CACHE_MAX_ENTRIES".into(), "2".into()));
    config
        .environment
        .push(("CACHE_TTL_MS".into(), "400".into()));
    let f = load(config);
    let scheduled = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "000000000000", "time": "2026-11-25T12:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/warm"], "detail": {}
    });
    let warm = invoke(&f, &scheduled).await;
    assert_eq!(json(&warm.result.unwrap()), json!({"warmup": true}));

    let mut seen = Vec::new();
    for key in ["a", "a", "b", "c", "a"] {
        let inv = invoke(&f, &json!({"key": key})).await;
        let answer = json(&inv.result.unwrap());
        seen.push((
            answer["cache"].as_str().unwrap().to_string(),
            answer["entries"].as_u64().unwrap(),
        ));
    }
    let expected = [
        ("miss", 1),
        ("hit", 1),
        ("miss", 2),
        ("miss", 2),
        ("miss", 2),
    ];
    // The third lookup of `a` misses: `c` evicted it (the bound is 2).
    assert_eq!(seen, expected.map(|(c, n)| (c.to_string(), n)));
    let hit = json(&invoke(&f, &json!({"key": "a"})).await.result.unwrap());
    assert_eq!(hit["cache"], "hit");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let expired = json(&invoke(&f, &json!({"key": "a"})).await.result.unwrap());
    assert_eq!(expired["cache"], "miss", "entries expire after the TTL");
    let bad = invoke(&f, &json!({"nokey": 1})).await;
    assert_eq!(bad.result.unwrap_err().error_type, "BadRequest");
}

#[tokio::test]
async fn config_reports_every_missing_and_invalid_variable_at_init() {
    let good = load(config("config"));
    let inv = invoke(&good, &json!({})).await;
    assert_eq!(
        json(&inv.result.unwrap()),
        json!({"tableName": "users", "apiUrl": "https://api.example.com", "maxRetries": 3, "stage": "dev"})
    );

    let mut broken = config("config");
    broken
        .environment
        .retain(|(k, _)| k != "TABLE_NAME" && k != "API_URL");
    for (k, v) in broken.environment.iter_mut() {
        if k == "MAX_RETRIES" {
            *v = "three".into();
        }
    }
    let f = load(broken);
    let err = invoke(&f, &json!({})).await.result.unwrap_err();
    // As on Lambda, the init error's own type reaches the caller.
    assert_eq!(err.error_type, "wasmfn_guest::config::ConfigError");
    let message = &err.error_message;
    assert!(
        message.contains("missing required environment variables: TABLE_NAME, API_URL"),
        "{message}"
    );
    assert!(message.contains("MAX_RETRIES"), "{message}");
}

/// Replaces the fields that change from run to run.
fn normalized(mut line: Value) -> Value {
    if line["timestamp"].is_string() {
        let ts = line["timestamp"].as_str().unwrap();
        assert!(
            ts.len() == 24 && ts.ends_with('Z'),
            "RFC 3339 with ms: {ts}"
        );
        line["timestamp"] = json!("<ts>");
    }
    if line["_aws"]["Timestamp"].is_u64() {
        line["_aws"]["Timestamp"] = json!("<ms>");
    }
    if line["requestId"].is_string() {
        line["requestId"] = json!("<id>");
    }
    line
}

#[tokio::test]
async fn metrics_writes_the_exact_log_and_emf_lines() {
    let f = load(config("metrics"));
    let inv = invoke(&f, &json!({"orderId": "o-1", "amount": 42.5, "items": 3})).await;
    assert_eq!(json(&inv.result.unwrap()), json!({"recorded": true}));
    let lines: Vec<Value> = inv
        .logs
        .lines
        .iter()
        .map(|l| normalized(json(l.text.as_bytes())))
        .collect();
    assert_eq!(
        lines,
        [
            json!({"timestamp": "<ts>", "level": "INFO", "message": "order placed", "logger": "metrics",
                   "requestId": "<id>", "functionName": "metrics", "orderId": "o-1", "amount": 42.5, "items": 3}),
            json!({"_aws": {"Timestamp": "<ms>", "CloudWatchMetrics": [{
                       "Namespace": "Shop", "Dimensions": [["Service"]],
                       "Metrics": [{"Name": "OrderValue", "Unit": "None"},
                                   {"Name": "ItemsSold", "Unit": "Count"},
                                   {"Name": "OrdersPlaced", "Unit": "Count"}]}]},
                   "Service": "orders", "orderId": "o-1", "OrderValue": 42.5, "ItemsSold": 3.0, "OrdersPlaced": 1.0}),
        ]
    );
    // The request id in the log line is this invocation's.
    assert_eq!(
        json(inv.logs.lines[0].text.as_bytes())["requestId"],
        inv.request_id.as_str()
    );

    // The next invocation starts clean: its own metrics only.
    let empty = invoke(&f, &json!({"orderId": "o-2", "amount": 0.0, "items": 0})).await;
    let emf = json(empty.logs.lines[1].text.as_bytes());
    assert_eq!(emf["EmptyOrders"], 1.0);
    assert!(emf.get("OrderValue").is_none(), "{emf}");
    assert_eq!(json(empty.logs.lines[0].text.as_bytes())["level"], "WARN");
}
