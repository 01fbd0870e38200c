//! {{name}}: a JSON API behind API Gateway (REST API, payload v1), with
//! errors turned into JSON responses.

use std::collections::BTreeMap;
use std::sync::Mutex;

use wasmfn_guest::events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use wasmfn_guest::events::http::Method;
use wasmfn_guest::response::from_result;
use wasmfn_guest::{Context, Error, Response};

/// Notes by id. A global survives between invocations while the instance
/// stays warm, like a module-scope variable in a Lambda function.
static NOTES: Mutex<BTreeMap<u64, String>> = Mutex::new(BTreeMap::new());

/// `GET /notes`, `POST /notes` (body: the note), `GET /notes/{id}`.
#[wasmfn_guest::handler]
pub fn handler(event: ApiGatewayProxyRequest, _ctx: Context) -> Result<ApiGatewayProxyResponse, Error> {
    Ok(from_result(route(&event)).cors().into())
}

fn route(event: &ApiGatewayProxyRequest) -> Result<Response, Error> {
    let path = event.path.as_deref().unwrap_or("/");
    let mut notes = NOTES.lock().unwrap_or_else(|p| p.into_inner());
    match (event.http_method.clone(), path.trim_matches('/').split('/').collect::<Vec<_>>().as_slice()) {
        (Method::GET, ["notes"]) => Ok(Response::json(200, &*notes)),
        (Method::POST, ["notes"]) => {
            let text = event.body.clone().filter(|b| !b.is_empty())
                .ok_or_else(|| Error::http(400, "the body is the note's text"))?;
            let id = notes.keys().last().map_or(1, |last| last + 1);
            notes.insert(id, text);
            Ok(Response::json(201, &serde_json::json!({ "id": id })))
        }
        (Method::GET, ["notes", id]) => {
            let id: u64 = id.parse().map_err(|_| Error::http(400, format!("`{id}` is not a note id")))?;
            let note = notes.get(&id).ok_or_else(|| Error::http(404, format!("note {id} not found")))?;
            Ok(Response::json(200, &serde_json::json!({ "id": id, "text": note })))
        }
        _ => Err(Error::http(404, format!("no route for {path}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_note_is_a_404() {
        let mut event = ApiGatewayProxyRequest::default();
        event.path = Some("/notes/99".into());
        let response = handler(event, Context::for_test("{{name}}")).unwrap();
        assert_eq!(response.status_code, 404);
    }
}
