//! {{name}}: an HTTP function behind API Gateway (REST API, payload v1).

use wasmfn_guest::events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use wasmfn_guest::{Context, Error, Response};

/// Greets `?name=` (or the world).
#[wasmfn_guest::handler]
pub fn handler(event: ApiGatewayProxyRequest, ctx: Context) -> Result<ApiGatewayProxyResponse, Error> {
    let name = event.query_string_parameters.first("name").unwrap_or("world");
    log::info!(name = name; "greeting");
    let body = serde_json::json!({
        "message": format!("Hello, {name}!"),
        "requestId": ctx.request_id,
    });
    Ok(Response::json(200, &body).cors().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greets_the_world() {
        let response = handler(ApiGatewayProxyRequest::default(), Context::for_test("{{name}}")).unwrap();
        assert_eq!(response.status_code, 200);
    }
}
