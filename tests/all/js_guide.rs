//! The guide's Node.js functions (functions/node), each a handler as a
//! Lambda user writes it, run through the real host with its behaviour
//! asserted; the users API over HTTP behind `wasmfn serve`, with curl.

use std::process::Command;
use std::sync::Arc;

use serde_json::{json, Value};
use wasmfn::Function;

use crate::support::{host, invoke, json, load_from_manifest, root, spawn_serve, text};

const MANIFEST: &str = "functions/node/serverless.yml";

/// Function `name` of functions/node, on a fresh host.
fn load(name: &str) -> Arc<Function> {
    assert!(
        root().join("functions/node/node_modules/jose").is_dir(),
        "functions/node has no node_modules: run `npm ci` there (tests/run does)"
    );
    load_from_manifest(&host(), MANIFEST, name)
}

fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

fn logged(inv: &wasmfn::Invocation) -> Vec<String> {
    inv.logs.lines.iter().map(|l| l.text.clone()).collect()
}

#[tokio::test]
async fn hello_and_the_context_printer() {
    let inv = invoke(
        &load("hello"),
        &json!({"queryStringParameters": {"name": "Ada"}}),
    )
    .await;
    let response = json(inv.result.as_ref().unwrap());
    assert_eq!(response["statusCode"], 200);
    assert_eq!(
        body(&response),
        json!({"message": "Hello, Ada!", "stage": "dev"})
    );

    let inv = invoke(&load("context"), &json!({"a": 1})).await;
    let context = json(inv.result.as_ref().unwrap());
    assert_eq!(context["functionName"], "context");
    assert_eq!(context["functionVersion"], "$LATEST");
    assert_eq!(
        context["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:context"
    );
    assert_eq!(context["memoryLimitInMB"], "128");
    assert_eq!(context["logGroupName"], "/aws/lambda/context");
    assert_eq!(context["handler"], "context.handler");
    assert!(context["remainingTimeInMillis"].as_u64().unwrap() > 2000);
    let id = context["awsRequestId"].as_str().unwrap();
    assert!(logged(&inv)
        .iter()
        .any(|l| l.ends_with(&format!("\t{id}\tINFO\tevent {{\"a\":1}}"))));
}

#[tokio::test]
async fn crud_on_api_gateway_v1() {
    let f = load("items");
    let call = |method: &str, id: Option<&str>, body: Option<Value>| {
        json!({
            "httpMethod": method,
            "resource": if id.is_some() { "/items/{id}" } else { "/items" },
            "pathParameters": id.map(|id| json!({"id": id})),
            "body": body.map(|b| b.to_string()),
        })
    };
    let created = json(
        invoke(&f, &call("POST", None, Some(json!({"name": "pen"}))))
            .await
            .result
            .as_ref()
            .unwrap(),
    );
    assert_eq!(created["statusCode"], 201);
    let id = body(&created)["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a uuid");
    let one = json(
        invoke(&f, &call("GET", Some(&id), None))
            .await
            .result
            .as_ref()
            .unwrap(),
    );
    assert_eq!(body(&one)["name"], "pen");
    let put = json(
        invoke(&f, &call("PUT", Some(&id), Some(json!({"name": "ink"}))))
            .await
            .result
            .as_ref()
            .unwrap(),
    );
    assert_eq!(body(&put)["name"], "ink");
    let list = json(
        invoke(&f, &call("GET", None, None))
            .await
            .result
            .as_ref()
            .unwrap(),
    );
    assert_eq!(body(&list)["items"].as_array().unwrap().len(), 1);
    let deleted = json(
        invoke(&f, &call("DELETE", Some(&id), None))
            .await
            .result
            .as_ref()
            .unwrap(),
    );
    assert_eq!(deleted["statusCode"], 204);
    let gone = json(
        invoke(&f, &call("GET", Some(&id), None))
            .await
            .result
            .as_ref()
            .unwrap(),
    );
    assert_eq!(gone["statusCode"], 404);
    let bad = json(
        invoke(&f, &call("POST", None, Some(json!({}))))
            .await
            .result
            .as_ref()
            .unwrap(),
    );
    assert_eq!(bad["statusCode"], 400);
    let patch = json(
        invoke(&f, &call("PATCH", None, None))
            .await
            .result
            .as_ref()
            .unwrap(),
    );
    assert_eq!(patch["statusCode"], 405);
    assert_eq!(patch["headers"]["Allow"], "GET, POST, PUT, DELETE");
}

#[tokio::test]
async fn s3_notifications_decode_keys_and_dispatch_by_event_name() {
    let record = |name: &str, key: &str| json!({"eventName": name, "s3": {"bucket": {"name": "uploads"}, "object": {"key": key, "size": 42}}});
    let event = json!({"Records": [
        record("ObjectCreated:Put", "photos/my+summer+%282026%29.jpg"),
        record("ObjectRemoved:Delete", "old/file%2Bplus.txt"),
        record("ObjectRestore:Completed", "x"),
    ]});
    let inv = invoke(&load("s3"), &event).await;
    let results = &json(inv.result.as_ref().unwrap())["results"];
    assert_eq!(
        results[0],
        json!({"action": "processed", "bucket": "uploads", "key": "photos/my summer (2026).jpg", "size": 42})
    );
    assert_eq!(
        results[1],
        json!({"action": "cleaned-up", "bucket": "uploads", "key": "old/file+plus.txt"})
    );
    assert_eq!(results[2]["action"], "ignored");
    assert!(logged(&inv)
        .iter()
        .any(|l| l.contains("\tWARN\tignoring ObjectRestore:Completed")));
}

#[tokio::test]
async fn dynamodb_streams_unmarshall_and_detect_status_changes() {
    let keys = json!({"pk": {"S": "order#1"}});
    let event = json!({"Records": [
        {"eventName": "INSERT", "dynamodb": {"Keys": keys, "NewImage": {"pk": {"S": "order#1"}, "status": {"S": "new"}, "total": {"N": "12.5"}, "tags": {"SS": ["a"]}}}},
        {"eventName": "MODIFY", "dynamodb": {"Keys": keys, "OldImage": {"status": {"S": "new"}}, "NewImage": {"status": {"S": "shipped"}}}},
        {"eventName": "MODIFY", "dynamodb": {"Keys": keys, "OldImage": {"status": {"S": "shipped"}, "n": {"N": "1"}}, "NewImage": {"status": {"S": "shipped"}, "n": {"N": "2"}}}},
        {"eventName": "REMOVE", "dynamodb": {"Keys": keys, "OldImage": {"pk": {"S": "order#1"}, "active": {"BOOL": false}}}},
    ]});
    let inv = invoke(&load("streams"), &event).await;
    let changes = &json(inv.result.as_ref().unwrap())["changes"];
    assert_eq!(changes[0]["type"], "created");
    assert_eq!(changes[0]["item"]["total"], 12.5);
    assert_eq!(changes[0]["keys"], json!({"pk": "order#1"}));
    assert_eq!(
        changes[1],
        json!({"type": "status-changed", "keys": {"pk": "order#1"}, "from": "new", "to": "shipped"})
    );
    assert_eq!(changes[2]["type"], "updated");
    assert_eq!(
        changes[3],
        json!({"type": "deleted", "keys": {"pk": "order#1"}, "item": {"pk": "order#1", "active": false}})
    );
}

#[tokio::test]
async fn sqs_reports_batch_item_failures() {
    let record =
        |id: &str, body: &str| json!({"messageId": id, "body": body, "eventSource": "aws:sqs"});
    let event = json!({"Records": [
        record("m1", r#"{"type":"user-registration","data":{"email":"ada@example.com"}}"#),
        record("m2", r#"{"type":"user-registration","data":{"email":"nope"}}"#),
        record("m3", r#"{"type":"order-processing","data":{"orderId":"o-1","amount":5}}"#),
        record("m4", r#"{"type":"email-notification","data":{"to":"a@b.c","subject":"hi"}}"#),
        record("m5", r#"{"type":"refund","data":{}}"#),
        record("m6", "{not json"),
    ]});
    let inv = invoke(&load("sqs"), &event).await;
    assert_eq!(
        json(inv.result.as_ref().unwrap()),
        json!({"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m5"}, {"itemIdentifier": "m6"}]})
    );
    assert!(logged(&inv)
        .iter()
        .any(|l| l.contains("\tERROR\tmessage m5 failed: unknown message type refund")));
}

#[tokio::test]
async fn a_scheduled_warm_up_returns_early() {
    let f = load("warmup");
    let ping = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let inv = invoke(&f, &ping).await;
    assert_eq!(
        json(inv.result.as_ref().unwrap()),
        json!({"warmup": true, "wasCold": true})
    );
    let inv = invoke(&f, &json!({"path": "/work"})).await;
    let response = json(inv.result.as_ref().unwrap());
    assert_eq!(body(&response), json!({"work": "done", "wasCold": false}));
}

#[tokio::test]
async fn a_ttl_cache_in_a_global_survives_warm_calls_and_stays_bounded() {
    let f = load("cache");
    let get = |key: &str, now: u64| json!({"key": key, "now": now});
    let first = json(invoke(&f, &get("a", 1_000)).await.result.as_ref().unwrap());
    assert_eq!(
        (first["hit"].clone(), first["computed"].clone()),
        (json!(false), json!(1))
    );
    let again = json(invoke(&f, &get("a", 2_000)).await.result.as_ref().unwrap());
    assert_eq!(
        (again["hit"].clone(), again["computed"].clone()),
        (json!(true), json!(1))
    );
    let expired = json(invoke(&f, &get("a", 62_000)).await.result.as_ref().unwrap());
    assert_eq!(expired["hit"], false, "past the 60 s TTL");
    for key in ["b", "c", "d"] {
        invoke(&f, &get(key, 63_000)).await;
    }
    let bounded = json(invoke(&f, &get("b", 63_000)).await.result.as_ref().unwrap());
    assert_eq!(bounded["size"], 3, "CACHE_MAX_ENTRIES");
    let evicted = json(invoke(&f, &get("a", 63_000)).await.result.as_ref().unwrap());
    assert_eq!(evicted["hit"], false, "the oldest entry went");
}

#[tokio::test]
async fn errors_are_retried_with_backoff_then_shaped() {
    let f = load("retry");
    let inv = invoke(&f, &json!({"failures": 2})).await;
    let response = json(inv.result.as_ref().unwrap());
    assert_eq!(body(&response), json!({"attempt": 3}));
    let retries: Vec<String> = logged(&inv)
        .into_iter()
        .filter(|l| l.contains("\tWARN\tattempt "))
        .collect();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(
        retries[1].ends_with("retrying in 20 ms"),
        "exponential: {retries:?}"
    );
    let exhausted = json(
        invoke(&f, &json!({"failures": 5}))
            .await
            .result
            .as_ref()
            .unwrap(),
    );
    assert_eq!(exhausted["statusCode"], 503);
    let invalid = json(
        invoke(&f, &json!({"invalid": true}))
            .await
            .result
            .as_ref()
            .unwrap(),
    );
    assert_eq!(invalid["statusCode"], 400);
    let crash = invoke(&f, &json!({"crash": true}))
        .await
        .result
        .unwrap_err();
    assert_eq!(crash.error_type, "TypeError");
    assert!(
        crash
            .stack_trace
            .iter()
            .any(|l| l.contains("/var/task/retry.js:")),
        "{:?}",
        crash.stack_trace
    );
}

#[tokio::test]
async fn a_config_class_validates_at_init() {
    let inv = invoke(&load("config"), &json!({})).await;
    assert_eq!(
        json(inv.result.as_ref().unwrap()),
        json!({"tableName": "node-examples-dev-orders", "maxItems": 25, "stage": "dev"})
    );
    let err = invoke(&load("config-missing"), &json!({}))
        .await
        .result
        .unwrap_err();
    assert_eq!(err.error_type, "ConfigError");
    assert_eq!(
        err.error_message,
        "missing required environment variables: TABLE_NAME"
    );
}

#[tokio::test]
async fn a_logger_from_a_layer_and_emf_metrics() {
    let inv = invoke(&load("logger"), &json!({"orderId": "o-7"})).await;
    let lines = logged(&inv);
    let line = lines
        .iter()
        .find(|l| l.contains("order received"))
        .expect("logged");
    let record: Value = serde_json::from_str(line.rsplit('\t').next().unwrap()).unwrap();
    assert_eq!(record["service"], "node-examples");
    assert_eq!(record["orderId"], "o-7");
    assert!(!lines.iter().any(|l| l.contains("not shown")));

    let inv = invoke(&load("metrics"), &json!({"items": [1, 2, 3]})).await;
    let metrics: Vec<Value> = logged(&inv)
        .iter()
        .filter_map(|l| serde_json::from_str(l.rsplit('\t').next().unwrap()).ok())
        .collect();
    assert_eq!(metrics.len(), 2);
    assert_eq!(metrics[0]["ItemsProcessed"], 3);
    assert_eq!(
        metrics[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "NodeExamples"
    );
    assert_eq!(
        metrics[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
        "Count"
    );
}

#[test]
fn the_users_api_over_http() {
    load("users"); // node_modules present; the engine built
    let state = tempfile::tempdir().unwrap();
    let (_server, port) = spawn_serve(
        &root().join("functions/node"),
        &["--state-dir".as_ref(), state.path().as_os_str()],
    );
    let curl = |args: &[&str]| -> (u16, Value) {
        let out = Command::new("curl")
            .args([
                "-s",
                "--max-time",
                "60",
                "-w",
                "\n%{http_code}",
                "-H",
                "Content-Type: application/json",
            ])
            .args(args)
            .output()
            .expect("curl");
        let out = text(&out.stdout);
        let (body, status) = out.rsplit_once('\n').unwrap();
        (
            status.parse().unwrap(),
            serde_json::from_str(body).unwrap_or(Value::Null),
        )
    };
    let url = |path: &str| format!("http://127.0.0.1:{port}/{path}");
    let credentials = r#"{"email":"ada@example.com","password":"correct horse","name":"Ada"}"#;
    let (status, user) = curl(&["-X", "POST", &url("register"), "-d", credentials]);
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["email"], "ada@example.com");
    assert!(user.get("passwordHash").is_none());
    let (status, _) = curl(&["-X", "POST", &url("register"), "-d", credentials]);
    assert_eq!(status, 409);
    let (status, _) = curl(&[
        "-X",
        "POST",
        &url("login"),
        "-d",
        r#"{"email":"ada@example.com","password":"wrong"}"#,
    ]);
    assert_eq!(status, 401);
    let (status, login) = curl(&["-X", "POST", &url("login"), "-d", credentials]);
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    let (status, me) = curl(&[
        &url("users/me"),
        "-H",
        &format!("Authorization: Bearer {token}"),
    ]);
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["id"].clone(), me["name"].clone()),
        (user["id"].clone(), json!("Ada"))
    );
    let (status, _) = curl(&[&url("users/me"), "-H", "Authorization: Bearer not.a.jwt"]);
    assert_eq!(status, 401);
}
