//! A CRUD API behind API Gateway (REST, payload v1):
//!
//! | route                | does                          |
//! |----------------------|-------------------------------|
//! | `GET /items`         | list items                    |
//! | `POST /items`        | create one (201)              |
//! | `GET /items/{id}`    | read one (404 if missing)     |
//! | `PUT /items/{id}`    | replace one (404 if missing)  |
//! | `DELETE /items/{id}` | delete one (204, 404)         |
//!
//! Any other method on a known path is 405, any other path 404. The store is
//! a global map: it lives as long as the instance stays warm, exactly like a
//! module-scope cache in a Lambda function (and, like it, is not shared
//! between instances or kept across cold starts).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::json;
use wasmfn_guest::events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use wasmfn_guest::events::encodings::Body;
use wasmfn_guest::events::http::{HeaderMap, HeaderValue, Method};
use wasmfn_guest::{Context, Error};

/// One stored item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Item {
    /// Assigned by the API.
    #[serde(default)]
    pub id: String,
    /// The item's name.
    pub name: String,
    /// Free-form extra data.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

struct Store {
    next_id: u64,
    items: BTreeMap<String, Item>,
}

static STORE: Mutex<Store> = Mutex::new(Store {
    next_id: 1,
    items: BTreeMap::new(),
});

/// Routes one API Gateway request.
#[wasmfn_guest::handler]
pub fn handler(
    event: ApiGatewayProxyRequest,
    _ctx: Context,
) -> Result<ApiGatewayProxyResponse, Error> {
    let path = event.path.clone().unwrap_or_default();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let id = event
        .path_parameters
        .get("id")
        .cloned()
        .or_else(|| segments.get(1).map(|s| s.to_string()));
    let mut store = STORE.lock().unwrap_or_else(|p| p.into_inner());
    Ok(match (segments.as_slice(), &event.http_method) {
        (["items"], &Method::GET) => {
            let items: Vec<&Item> = store.items.values().collect();
            respond(200, &json!({ "items": items, "count": items.len() }))
        }
        (["items"], &Method::POST) => match parse_item(&event) {
            Ok(mut item) => {
                item.id = store.next_id.to_string();
                store.next_id += 1;
                store.items.insert(item.id.clone(), item.clone());
                respond(201, &item)
            }
            Err(message) => bad_request(message),
        },
        (["items"], _) => method_not_allowed("GET, POST"),
        (["items", _], method) => {
            let id = id.unwrap_or_default();
            match *method {
                Method::GET => match store.items.get(&id) {
                    Some(item) => respond(200, item),
                    None => not_found(&id),
                },
                Method::PUT => match parse_item(&event) {
                    Ok(mut item) if store.items.contains_key(&id) => {
                        item.id = id.clone();
                        store.items.insert(id, item.clone());
                        respond(200, &item)
                    }
                    Ok(_) => not_found(&id),
                    Err(message) => bad_request(message),
                },
                Method::DELETE => match store.items.remove(&id) {
                    Some(_) => {
                        let mut response = ApiGatewayProxyResponse::default();
                        response.status_code = 204;
                        response.headers = cors_headers();
                        response
                    }
                    None => not_found(&id),
                },
                _ => method_not_allowed("GET, PUT, DELETE"),
            }
        }
        _ => respond(404, &json!({ "message": format!("no route for {path}") })),
    })
}

/// The request body as an item, or why it is not one.
fn parse_item(event: &ApiGatewayProxyRequest) -> Result<Item, String> {
    let body = event.body.as_deref().unwrap_or("");
    serde_json::from_str(body)
        .map_err(|e| format!("the body must be an item like {{\"name\": \"...\"}}: {e}"))
}

fn bad_request(message: String) -> ApiGatewayProxyResponse {
    respond(400, &json!({ "message": message }))
}

fn not_found(id: &str) -> ApiGatewayProxyResponse {
    respond(404, &json!({ "message": format!("item {id} not found") }))
}

fn method_not_allowed(allow: &'static str) -> ApiGatewayProxyResponse {
    let mut response = respond(405, &json!({ "message": "method not allowed" }));
    response
        .headers
        .insert("Allow", HeaderValue::from_static(allow));
    response
}

fn cors_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("Access-Control-Allow-Origin", HeaderValue::from_static("*"));
    headers
}

fn respond(status: i64, body: &impl Serialize) -> ApiGatewayProxyResponse {
    let mut headers = cors_headers();
    headers.insert("Content-Type", HeaderValue::from_static("application/json"));
    // The event types are #[non_exhaustive]: build from the default.
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status;
    response.headers = headers;
    response.body = Some(Body::Text(
        serde_json::to_string(body).unwrap_or_else(|_| "{}".into()),
    ));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, path: &str, body: Option<&str>) -> ApiGatewayProxyRequest {
        let mut request = ApiGatewayProxyRequest::default();
        request.http_method = method;
        request.path = Some(path.into());
        request.body = body.map(Into::into);
        request
    }

    #[test]
    fn create_then_read() {
        let ctx = Context::for_test("api");
        let created = handler(
            request(Method::POST, "/items", Some(r#"{"name":"a"}"#)),
            ctx.clone(),
        )
        .unwrap();
        assert_eq!(created.status_code, 201);
        let item: Item = match created.body {
            Some(Body::Text(t)) => serde_json::from_str(&t).unwrap(),
            other => panic!("{other:?}"),
        };
        let read = handler(
            request(Method::GET, &format!("/items/{}", item.id), None),
            ctx.clone(),
        )
        .unwrap();
        assert_eq!(read.status_code, 200);
        assert_eq!(
            handler(request(Method::PATCH, "/items", None), ctx)
                .unwrap()
                .status_code,
            405
        );
    }
}
