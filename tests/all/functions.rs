//! The example functions of `functions/`, through the real host.

use serde_json::{json, Value};
use wasmfn::{Function, FunctionConfig, InvokeRequest};

use crate::support::{host, json, load};

#[tokio::test]
async fn hello_answers_with_an_api_gateway_response() {
    let host = host();
    let f = load(&host, "hello", FunctionConfig::new("hello"));
    let event = json!({"queryStringParameters": {"name": "Lambda"}}).to_string();
    let inv = f
        .invoke(event.as_bytes(), InvokeRequest::default())
        .await
        .expect("not throttled");
    let response = json(&inv.result.unwrap());
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["headers"]["Access-Control-Allow-Origin"], "*");
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body["message"],
        "Hello, Lambda! Your function executed successfully."
    );
    assert_eq!(body["requestId"], inv.request_id.as_str());
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
}

async fn call(
    f: &std::sync::Arc<Function>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (i64, Value) {
    let id = path.strip_prefix("/items/");
    let event = json!({
        "resource": if id.is_some() { "/items/{id}" } else { "/items" },
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json"},
        "pathParameters": id.map(|id| json!({"id": id})),
        "requestContext": {"httpMethod": method, "path": path, "stage": "dev"},
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false,
    });
    let inv = f
        .invoke(event.to_string().as_bytes(), InvokeRequest::default())
        .await
        .expect("not throttled");
    let response = json(&inv.result.expect("the api never fails"));
    let status = response["statusCode"].as_i64().unwrap();
    let body = response["body"]
        .as_str()
        .map(|b| serde_json::from_str(b).unwrap())
        .unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn api_crud_keeps_its_items_across_warm_invocations() {
    let host = host();
    let f = load(&host, "api", FunctionConfig::new("api"));
    let (status, created) = call(&f, "POST", "/items", Some(json!({"name": "widget"}))).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        call(&f, "GET", &format!("/items/{id}"), None).await,
        (200, created.clone())
    );
    let (status, updated) = call(
        &f,
        "PUT",
        &format!("/items/{id}"),
        Some(json!({"name": "gadget"})),
    )
    .await;
    assert_eq!((status, updated["name"].clone()), (200, json!("gadget")));
    let (status, list) = call(&f, "GET", "/items", None).await;
    assert_eq!((status, list["count"].clone()), (200, json!(1)));
    assert_eq!(
        call(&f, "DELETE", &format!("/items/{id}"), None).await.0,
        204
    );
    assert_eq!(call(&f, "GET", &format!("/items/{id}"), None).await.0, 404);
    assert_eq!(call(&f, "DELETE", "/items/nope", None).await.0, 404);
    assert_eq!(call(&f, "PATCH", "/items", None).await.0, 405);
    assert_eq!(call(&f, "POST", "/items", Some(json!([1]))).await.0, 400);
    assert_eq!(f.idle_instances(), 1, "one warm instance served them all");
}
