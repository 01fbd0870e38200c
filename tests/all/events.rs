//! Every JSON fixture shipped inside the `aws_lambda_events` crate, for the
//! event families the SDK supports, round-tripped through a wasm guest:
//! deserialized into the typed event *inside the guest* and serialized back,
//! then compared with the original as JSON values.
//!
//! The fixtures are read from the crate's own source in the cargo registry
//! (located with `cargo metadata`), so a new version's fixtures are picked
//! up without copying anything. The guest (`tests/guests/events`) enables
//! the SDK's `catch-all-fields`, which keeps fields the types do not model.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde_json::{json, Value};
use wasmfn::{Function, FunctionConfig, GuestBuilder};

use crate::support::{host, invoke, root};

/// The families the SDK re-exports, by fixture-name prefix.
const FAMILIES: &[&str] = &[
    "example-apigw-",
    "example-alb-",
    "example-s3-",
    "example-sqs-",
    "example-sns-",
    "example-dynamodb-",
    "example-eventbridge-",
    "example-cloudwatch-cloudtrail-",
    "example-cloudwatch-alarm-sns-",
    "example-kinesis-event",
];

/// Which type each fixture is an instance of (as the crate's own tests use
/// them). A fixture of a supported family missing here fails the test.
const TYPES: &[(&str, &str)] = &[
    (
        "example-alb-lambda-target-request-headers-only.json",
        "AlbTargetGroupRequest",
    ),
    (
        "example-alb-lambda-target-request-multivalue-headers.json",
        "AlbTargetGroupRequest",
    ),
    (
        "example-alb-lambda-target-response.json",
        "AlbTargetGroupResponse",
    ),
    (
        "example-apigw-console-request.json",
        "ApiGatewayProxyRequest",
    ),
    (
        "example-apigw-console-test-request.json",
        "ApiGatewayProxyRequest",
    ),
    (
        "example-apigw-custom-auth-request-type-request.json",
        "ApiGatewayCustomAuthorizerRequestTypeRequest",
    ),
    (
        "example-apigw-custom-auth-request.json",
        "ApiGatewayCustomAuthorizerRequest",
    ),
    (
        "example-apigw-custom-auth-response-with-condition.json",
        "ApiGatewayCustomAuthorizerResponse",
    ),
    (
        "example-apigw-custom-auth-response-with-single-value-action.json",
        "ApiGatewayCustomAuthorizerResponse",
    ),
    (
        "example-apigw-custom-auth-response-with-single-value-resource.json",
        "ApiGatewayCustomAuthorizerResponse",
    ),
    (
        "example-apigw-custom-auth-response.json",
        "ApiGatewayCustomAuthorizerResponse",
    ),
    (
        "example-apigw-request-catch-all.json",
        "ApiGatewayProxyRequest",
    ),
    (
        "example-apigw-request-multi-value-parameters.json",
        "ApiGatewayProxyRequest",
    ),
    ("example-apigw-request.json", "ApiGatewayProxyRequest"),
    ("example-apigw-response.json", "ApiGatewayProxyResponse"),
    (
        "example-apigw-restapi-openapi-request.json",
        "ApiGatewayProxyRequest",
    ),
    (
        "example-apigw-sam-http-request.json",
        "ApiGatewayV2httpRequest",
    ),
    (
        "example-apigw-sam-rest-request.json",
        "ApiGatewayProxyRequest",
    ),
    (
        "example-apigw-v2-custom-authorizer-v1-request.json",
        "ApiGatewayV2CustomAuthorizerV1Request",
    ),
    (
        "example-apigw-v2-custom-authorizer-v2-request-null-maps.json",
        "ApiGatewayV2CustomAuthorizerV2Request",
    ),
    (
        "example-apigw-v2-custom-authorizer-v2-request-without-cookies.json",
        "ApiGatewayV2CustomAuthorizerV2Request",
    ),
    (
        "example-apigw-v2-custom-authorizer-v2-request-without-identity-source.json",
        "ApiGatewayV2CustomAuthorizerV2Request",
    ),
    (
        "example-apigw-v2-custom-authorizer-v2-request.json",
        "ApiGatewayV2CustomAuthorizerV2Request",
    ),
    (
        "example-apigw-v2-custom-authorizer-websocket-request.json",
        "ApiGatewayCustomAuthorizerRequestTypeRequest",
    ),
    (
        "example-apigw-v2-request-iam.json",
        "ApiGatewayV2httpRequest",
    ),
    (
        "example-apigw-v2-request-jwt-authorizer.json",
        "ApiGatewayV2httpRequest",
    ),
    (
        "example-apigw-v2-request-lambda-authorizer.json",
        "ApiGatewayV2httpRequest",
    ),
    (
        "example-apigw-v2-request-multi-value-parameters.json",
        "ApiGatewayV2httpRequest",
    ),
    (
        "example-apigw-v2-request-no-authorizer.json",
        "ApiGatewayV2httpRequest",
    ),
    (
        "example-apigw-websocket-request-disconnect-route.json",
        "ApiGatewayWebsocketProxyRequest",
    ),
    (
        "example-apigw-websocket-request-without-method.json",
        "ApiGatewayWebsocketProxyRequest",
    ),
    (
        "example-apigw-websocket-request.json",
        "ApiGatewayWebsocketProxyRequest",
    ),
    (
        "example-cloudwatch-alarm-sns-payload-multiple-metrics.json",
        "SnsEvent",
    ),
    (
        "example-cloudwatch-alarm-sns-payload-single-metric.json",
        "SnsEvent",
    ),
    (
        "example-cloudwatch-cloudtrail-assumed-role.json",
        "AWSAPICall",
    ),
    (
        "example-cloudwatch-cloudtrail-unknown-federate.json",
        "AWSAPICall",
    ),
    (
        "example-cloudwatch-cloudtrail-unknown-user-auth.json",
        "AWSAPICall",
    ),
    ("example-dynamodb-event-null-items.json", "DynamoDbEvent"),
    (
        "example-dynamodb-event-record-with-optional-fields.json",
        "DynamoDbEventRecord",
    ),
    ("example-dynamodb-event.json", "DynamoDbEvent"),
    ("example-eventbridge-event-obj.json", "EventBridgeEvent"),
    ("example-eventbridge-schedule.json", "EventBridgeEvent"),
    ("example-kinesis-event-encrypted.json", "KinesisEvent"),
    ("example-kinesis-event.json", "KinesisEvent"),
    ("example-s3-event-with-decoded.json", "S3Event"),
    ("example-s3-event.json", "S3Event"),
    (
        "example-s3-object-lambda-event-get-object-assumed-role.json",
        "S3ObjectLambdaEvent",
    ),
    (
        "example-s3-object-lambda-event-get-object-iam.json",
        "S3ObjectLambdaEvent",
    ),
    (
        "example-s3-object-lambda-event-head-object-iam.json",
        "S3ObjectLambdaEvent",
    ),
    (
        "example-s3-object-lambda-event-list-objects-iam.json",
        "S3ObjectLambdaEvent",
    ),
    (
        "example-s3-object-lambda-event-list-objects-v2-iam.json",
        "S3ObjectLambdaEvent",
    ),
    ("example-sns-event-obj.json", "SnsEventObj"),
    ("example-sns-event-pascal-case.json", "SnsEvent"),
    ("example-sns-event.json", "SnsEvent"),
    (
        "example-sns-subscription-confirmation.json",
        "SnsSubscriptionMessage",
    ),
    (
        "example-sns-unsubscribe-confirmation.json",
        "SnsSubscriptionMessage",
    ),
    ("example-sqs-api-event-obj.json", "SqsApiEventObj"),
    ("example-sqs-batch-response.json", "SqsBatchResponse"),
    ("example-sqs-event-obj.json", "SqsEventObj"),
    ("example-sqs-event.json", "SqsEvent"),
];

/// The fixtures that do not come back identical, and why. The test fails
/// if this list is wrong in either direction.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "example-apigw-console-request.json",
        "an absent `requestContext.requestTimeEpoch` is written back as 0: the type holds an \
         i64, not an Option",
    ),
    (
        "example-apigw-custom-auth-request-type-request.json",
        QUERY_MAP,
    ),
    ("example-apigw-sam-http-request.json", V2_METHOD),
    (
        "example-apigw-v2-custom-authorizer-websocket-request.json",
        QUERY_MAP,
    ),
    ("example-apigw-v2-request-iam.json", V2_METHOD),
    ("example-apigw-v2-request-jwt-authorizer.json", V2_METHOD),
    ("example-apigw-v2-request-lambda-authorizer.json", V2_METHOD),
    (
        "example-apigw-v2-request-multi-value-parameters.json",
        V2_METHOD,
    ),
    ("example-apigw-v2-request-no-authorizer.json", V2_METHOD),
    ("example-apigw-websocket-request.json", QUERY_MAP),
    (
        "example-cloudwatch-alarm-sns-payload-multiple-metrics.json",
        SNS_CERT_URL,
    ),
    (
        "example-cloudwatch-alarm-sns-payload-single-metric.json",
        SNS_CERT_URL,
    ),
    (
        "example-dynamodb-event-record-with-optional-fields.json",
        "an absent `ApproximateCreationDateTime` is written back as 0 (the epoch): the type \
         holds a DateTime, not an Option",
    ),
    ("example-kinesis-event-encrypted.json", KINESIS_TIMESTAMP),
    ("example-kinesis-event.json", KINESIS_TIMESTAMP),
    ("example-sns-event-obj.json", SNS_CERT_URL),
    ("example-sns-event.json", SNS_CERT_URL),
    ("example-sns-subscription-confirmation.json", SNS_CERT_URL),
    ("example-sns-unsubscribe-confirmation.json", SNS_CERT_URL),
];

const QUERY_MAP: &str = "query parameters are read into a multi-value map and written back as \
     lists (`\"a\"` becomes `[\"a\"]`)";
const V2_METHOD: &str = "`ApiGatewayV2httpRequest` keeps a deprecated top-level `httpMethod` that \
     defaults to GET and is written back although HTTP API v2 payloads have none";
const SNS_CERT_URL: &str = "`SigningCertURL` is read through an alias and written back as \
     `SigningCertUrl`";
const KINESIS_TIMESTAMP: &str = "`approximateArrivalTimestamp` (epoch seconds as a number) is \
     written back as a string, and an absent `encryptionType` as `NONE`";

/// The round-trip guest, built once (in its own workspace, into the shared
/// guest target directory).
pub fn events_guest() -> PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        GuestBuilder::new()
            .target_dir(root().join("functions/target"))
            .build_crate(&root().join("tests/guests/events"))
            .expect("building tests/guests/events")
    })
    .clone()
}

/// The events guest on a fresh host.
pub fn events_function() -> Arc<Function> {
    host()
        .load(&events_guest(), FunctionConfig::new("events"))
        .expect("load")
}

/// Deserializes `event` as `type_name` inside the guest and serializes it
/// back; `Err` carries the guest's error message.
pub async fn round_trip(
    f: &Arc<Function>,
    type_name: &str,
    event: &Value,
) -> Result<Value, String> {
    let inv = invoke(f, &json!({"type": type_name, "event": event})).await;
    match inv.result {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).expect("JSON")),
        Err(e) => Err(format!("{}: {}", e.error_type, e.error_message)),
    }
}

/// `v` with the differences that carry no meaning taken out, so that what
/// remains is a real change:
///
/// * `null`, `{}`, `[]` and an absent field are the same (serde writes
///   `None` and empty maps one way, fixtures another);
/// * header names compare case-insensitively (the `http` crate lowercases
///   them, as HTTP/2 does);
/// * an IAM policy's single `Action` / `Resource` equals a one-element list
///   (IAM accepts both);
/// * a string holding a JSON document compares as that document (key order
///   is not significant);
/// * numbers compare by value (`1.0` is `1`);
/// * `false` is the same as absent (serde's default for a flag such as
///   `isBase64Encoded`).
pub fn normalize(v: &Value, key: &str) -> Value {
    match v {
        Value::Object(map) => {
            let lower = key.eq_ignore_ascii_case("headers")
                || key.eq_ignore_ascii_case("multiValueHeaders");
            let out: serde_json::Map<String, Value> = map
                .iter()
                .map(|(k, v)| {
                    let k = if lower {
                        k.to_ascii_lowercase()
                    } else {
                        k.clone()
                    };
                    let v = normalize(v, &k);
                    (k, v)
                })
                .filter(|(_, v)| !v.is_null())
                .collect();
            if out.is_empty() {
                Value::Null
            } else {
                Value::Object(out)
            }
        }
        Value::Array(items) if items.is_empty() => Value::Null,
        Value::Array(items) => Value::Array(items.iter().map(|i| normalize(i, "")).collect()),
        Value::String(s) if key == "Action" || key == "Resource" => json!([s]),
        Value::String(s) if s.starts_with('{') || s.starts_with('[') => {
            match serde_json::from_str::<Value>(s) {
                Ok(doc) => normalize(&doc, ""),
                Err(_) => v.clone(),
            }
        }
        Value::Number(n) => n.as_f64().map_or(v.clone(), |f| json!(f)),
        Value::Bool(false) => Value::Null,
        _ => v.clone(),
    }
}

/// The first place where `a` and `b` differ, as a JSON pointer and both
/// values.
pub fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(va), Some(vb)) => first_difference(va, vb, &format!("{path}/{k}")),
                (va, vb) => Some(format!(
                    "{path}/{k}: {} vs {}",
                    va.map_or("absent".into(), Value::to_string),
                    vb.map_or("absent".into(), Value::to_string)
                )),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (va, vb))| first_difference(va, vb, &format!("{path}/{i}"))),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// The crate's fixture directory, from `cargo metadata` of the guest.
fn fixtures_dir() -> PathBuf {
    let output = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(root().join("tests/guests/events/Cargo.toml"))
        .output()
        .expect("cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "aws_lambda_events")
        .expect("aws_lambda_events is a dependency")["manifest_path"]
        .as_str()
        .unwrap()
        .to_owned();
    PathBuf::from(manifest)
        .parent()
        .unwrap()
        .join("src/fixtures")
}

#[tokio::test]
async fn every_aws_lambda_events_fixture_round_trips_through_a_wasm_guest() {
    let dir = fixtures_dir();
    let mut fixtures: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && FAMILIES.iter().any(|p| n.starts_with(p)))
        .collect();
    fixtures.sort();
    assert!(
        fixtures.len() >= 50,
        "found only {fixtures:?} in {}",
        dir.display()
    );

    let f = events_function();
    let mut differences = Vec::new();
    let mut identical = 0;
    for name in &fixtures {
        let type_name = TYPES
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("fixture {name} has no type in TYPES: add it"))
            .1;
        let original: Value =
            serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap();
        match round_trip(&f, type_name, &original).await {
            Ok(back) => {
                if original == back {
                    identical += 1;
                } else if let Some(diff) =
                    first_difference(&normalize(&original, ""), &normalize(&back, ""), "")
                {
                    differences.push((name.clone(), diff));
                }
            }
            Err(e) => differences.push((name.clone(), format!("does not deserialize: {e}"))),
        }
    }
    let report: Vec<String> = differences
        .iter()
        .map(|(name, diff)| format!("{name}: {diff}"))
        .collect();
    eprintln!(
        "{} fixtures: {identical} byte-for-byte equal as JSON values, {} equal up to \
         representation (see `normalize`), {} different:\n{}",
        fixtures.len(),
        fixtures.len() - identical - differences.len(),
        differences.len(),
        report.join("\n")
    );
    let differing: Vec<&str> = differences.iter().map(|(n, _)| n.as_str()).collect();
    let known: Vec<&str> = KNOWN_DIFFERENCES.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        differing, known,
        "update KNOWN_DIFFERENCES with the reasons"
    );
}
