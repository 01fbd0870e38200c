//! Python handlers (functions/python): AWS's Python runtime contract on the
//! Python engine, through the real host.

use serde_json::{json, Value};

use crate::support::{host, invoke, json, load_from_manifest, text};

const MANIFEST: &str = "functions/python/serverless.yml";

#[tokio::test]
async fn hello_keeps_lambdas_context_logging_and_warm_globals() {
    let host = host();
    let f = load_from_manifest(&host, MANIFEST, "hello");
    let event = json!({"queryStringParameters": {"name": "Ada"}});
    let inv = invoke(&f, &event).await;
    let response = json(inv.result.as_ref().unwrap());
    assert_eq!(response["statusCode"], 200);
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["message"], "Hello, Ada!");
    assert_eq!(body["stage"], "dev");
    assert_eq!(body["region"], "us-east-1");
    assert_eq!(body["memory"], "128");
    assert_eq!(body["remaining"], true);
    assert_eq!(body["invocations"], 1);
    let id = body["requestId"].as_str().unwrap().to_string();
    let logged = inv.logs.to_cloudwatch(&id);
    let line = logged
        .lines()
        .find(|l| l.ends_with("hello from hello"))
        .unwrap_or_else(|| panic!("{logged}"));
    // AWS's Python format: [LEVEL], timestamp, request id, message.
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields[0], "[INFO]");
    assert!(fields[1].ends_with('Z') && fields[1].len() == 24, "{line}");
    assert_eq!(fields[2], id);
    let inv = invoke(&f, &event).await;
    let body: Value =
        serde_json::from_str(json(inv.result.as_ref().unwrap())["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["invocations"], 2, "module globals survive warm calls");
}

#[tokio::test]
async fn sqs_batch_reports_exactly_the_failed_messages() {
    let host = host();
    let f = load_from_manifest(&host, MANIFEST, "sqs-batch");
    let record =
        |id: &str, body: &str| json!({"messageId": id, "body": body, "eventSource": "aws:sqs"});
    let event = json!({"Records": [
        record("m1", r#"{"type":"user-registration","data":{"email":"ada@example.com"}}"#),
        record("m2", r#"{"type":"user-registration","data":{"email":"nope"}}"#),
        record("m3", r#"{"type":"order-processing","data":{"orderId":"o-1","amount":12.5}}"#),
        record("m4", r#"{"type":"email-notification","data":{"to":"ada@example.com","subject":"hi"}}"#),
        record("m5", r#"{"type":"refund","data":{}}"#),
        record("m6", "{not json"),
    ]});
    let inv = invoke(&f, &event).await;
    let response = json(inv.result.as_ref().unwrap());
    assert_eq!(
        response,
        json!({"batchItemFailures": [
            {"itemIdentifier": "m2"}, {"itemIdentifier": "m5"}, {"itemIdentifier": "m6"}
        ]})
    );
}

/// A one-function Python project in a fresh directory, invoked once.
fn invoke_python_project(files: &[(&str, &str)]) -> std::process::Output {
    crate::support::invoke_project("python3.12", "app.handler", files)
}

#[test]
fn exceptions_and_bad_modules_have_lambdas_shape() {
    // Through `load_from_manifest` first: the engine is built once per run.
    let (manifest, _) = wasmfn::Manifest::load(&crate::support::root().join(MANIFEST)).unwrap();
    let wasmfn::HandlerSource::Python(handler) = manifest.handler("hello").unwrap() else {
        panic!("hello is Python");
    };
    crate::support::python_engine(&handler);

    let out = invoke_python_project(&[(
        "app.py",
        "def check(n):\n    raise ValueError(f'bad value {n}')\n\ndef handler(event, context):\n    return check(3)\n",
    )]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = json(&out.stdout);
    assert_eq!(err["errorType"], "ValueError");
    assert_eq!(err["errorMessage"], "bad value 3");
    let trace = err["stackTrace"].as_array().unwrap();
    assert!(
        trace[0]
            .as_str()
            .unwrap()
            .starts_with("  File \"/var/task/app.py\", line 5, in handler"),
        "{trace:?}"
    );
    assert!(
        trace[1].as_str().unwrap().contains("line 2, in check"),
        "{trace:?}"
    );

    let out = invoke_python_project(&[("app.py", "import no_such_module\n")]);
    let err = json(&out.stdout);
    assert_eq!(err["errorType"], "Runtime.ImportModuleError", "{err}");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("no_such_module"),
        "{err}"
    );

    let out = invoke_python_project(&[("app.py", "def other(event, context):\n    return 1\n")]);
    assert_eq!(json(&out.stdout)["errorType"], "Runtime.HandlerNotFound");

    let out = invoke_python_project(&[("app.py", "def handler(event, context:\n    return 1\n")]);
    let err = json(&out.stdout);
    assert_eq!(err["errorType"], "Runtime.UserCodeSyntaxError", "{err}");
}
