//! API Gateway routes and Function URLs: plain HTTP in, a proxy event to the
//! function, its proxy response back out.
//!
//! May import: `trigger`'s funnel and service, `function`.

pub mod event;
pub mod proxy;
pub mod router;
pub mod stream;

use std::borrow::Cow;
use std::collections::HashMap;

use http::{Response, StatusCode};
use serde_json::json;

use self::event::HttpRequest;
use self::router::{Payload, Resolution};
use super::{empty, full, Body, Service};
use crate::error::Refused;
use crate::function::InvokeRequest;

/// API Gateway's own answer when something went wrong behind it.
fn gateway_error(status: StatusCode, message: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-ErrorType", "InternalServerErrorException")
        .body(full(json!({ "message": message }).to_string()))
        .expect("a valid response")
}

/// API Gateway's answer to an invocation Lambda refused: a throttle is the
/// client's 429; a tenant id that does not fit the function is the API's
/// misconfiguration, a 500.
fn refused(refused: &Refused) -> Response<Body> {
    match refused {
        Refused::Throttled(_) => gateway_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
        Refused::Tenant(e) => {
            tracing::error!("Lambda refused the invocation: {e}");
            gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
        }
    }
}

/// The tenant a REST API passes on to a function with tenant isolation, in
/// X-Amz-Tenant-Id (on AWS, a mapping of the integration request; here the
/// client's own header).
fn tenant_of(function: &crate::function::Function, req: &HttpRequest) -> Option<String> {
    function
        .config()
        .tenant_isolation
        .then(|| req.header("x-amz-tenant-id").map(Cow::into_owned))
        .flatten()
}

/// Serves a request on the API Gateway routes.
pub async fn route(service: &Service, req: HttpRequest) -> Response<Body> {
    if req.method == "OPTIONS" {
        if let Some(methods) = service.router.cors_on(&req.path) {
            return preflight(&methods);
        }
    }
    match service.router.resolve(req.method.as_str(), &req.path) {
        Resolution::Found(m) if m.route.streams => {
            let Some((_, function)) = service.function(&m.route.function) else {
                return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
            };
            let request_id = uuid::Uuid::new_v4().to_string();
            let event =
                event::to_v1_event(&req, &m.route.path, &m.params, &service.stage, &request_id);
            let request = InvokeRequest {
                request_id: Some(request_id),
                tenant_id: tenant_of(&function, &req),
                ..InvokeRequest::default()
            };
            stream::respond(service, function, event.into(), request).await
        }
        Resolution::Found(m) => {
            // Only payload 2.0 carries the route key.
            let route_key = match m.route.payload {
                Payload::V1 => String::new(),
                Payload::V2 => m.route.route_key(),
            };
            call(
                service,
                &m.route.function,
                m.route.payload,
                &m.route.path,
                &route_key,
                &m.params,
                req,
            )
            .await
        }
        Resolution::MethodNotAllowed(_) => Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header("content-type", "application/json")
            .body(full(r#"{"message":"Method Not Allowed"}"#))
            .expect("a valid response"),
        Resolution::NotFound => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header("content-type", "application/json")
            .body(full(r#"{"message":"Not Found"}"#))
            .expect("a valid response"),
    }
}

/// Serves `/lambda-url/{name}/{rest}` as the function's URL (payload 2.0).
pub async fn function_url(service: &Service, name: &str, mut req: HttpRequest) -> Response<Body> {
    let Some((name, function)) = service.function(name) else {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header("content-type", "application/json")
            .body(full(r#"{"message":"Not Found"}"#))
            .expect("a valid response");
    };
    let name = name.to_string();
    let prefix = format!("/lambda-url/{name}");
    req.path = match req.path.strip_prefix(&prefix) {
        Some("") | None => "/".to_string(),
        Some(rest) => rest.to_string(),
    };
    if function.config().url_streams {
        let request_id = uuid::Uuid::new_v4().to_string();
        let event = event::to_v2_event(
            &req,
            "$default",
            &HashMap::new(),
            &service.stage,
            &request_id,
        );
        let request = InvokeRequest {
            request_id: Some(request_id),
            ..InvokeRequest::default()
        };
        return stream::respond(service, function, event.into(), request).await;
    }
    call(
        service,
        &name,
        Payload::V2,
        "/{proxy+}",
        "$default",
        &HashMap::new(),
        req,
    )
    .await
}

/// The answer to a CORS preflight on a `cors: true` route.
fn preflight(methods: &[String]) -> Response<Body> {
    let methods = if methods.iter().any(|m| m == "ANY") {
        "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE".to_string()
    } else {
        let mut all = vec!["OPTIONS".to_string()];
        all.extend(methods.iter().cloned());
        all.join(",")
    };
    Response::builder()
        .status(StatusCode::OK)
        .header("Access-Control-Allow-Origin", "*")
        .header(
            "Access-Control-Allow-Headers",
            "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-User-Agent",
        )
        .header("Access-Control-Allow-Methods", methods)
        .header("Access-Control-Allow-Credentials", "false")
        .body(empty())
        .expect("a valid response")
}

async fn call(
    service: &Service,
    function_name: &str,
    payload: Payload,
    resource: &str,
    route_key: &str,
    params: &HashMap<String, String>,
    req: HttpRequest,
) -> Response<Body> {
    let Some((_, function)) = service.function(function_name) else {
        return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let event = match payload {
        Payload::V1 => event::to_v1_event(&req, resource, params, &service.stage, &request_id),
        Payload::V2 => event::to_v2_event(&req, route_key, params, &service.stage, &request_id),
    };
    let request = InvokeRequest {
        request_id: Some(request_id),
        tenant_id: tenant_of(&function, &req),
        ..InvokeRequest::default()
    };
    let invoked = match service.funnel.invoke(&function, &event, request).await {
        Ok(invoked) => invoked,
        Err(e) => return refused(&e),
    };
    let invocation = invoked.invocation;
    let payload_bytes = match &invocation.result {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(
                function = function_name,
                "function error behind {} {}: {error}",
                req.method,
                req.path
            );
            return gateway_error(StatusCode::BAD_GATEWAY, "Internal server error");
        }
    };
    let mapped = match payload {
        Payload::V1 => proxy::from_v1_response(payload_bytes),
        Payload::V2 => proxy::from_v2_response(payload_bytes),
    };
    match mapped {
        Ok(r) => r.into_response().unwrap_or_else(|e| {
            tracing::error!(
                function = function_name,
                "Malformed Lambda proxy response: {e}"
            );
            gateway_error(StatusCode::BAD_GATEWAY, "Internal server error")
        }),
        Err(why) => {
            tracing::error!(
                function = function_name,
                "Execution failed due to configuration error: Malformed Lambda proxy response ({why})"
            );
            gateway_error(StatusCode::BAD_GATEWAY, "Internal server error")
        }
    }
}
