//! `functions/hello`'s work as a wasi:http handler: read `?name=`, answer
//! 200 with the same JSON body (a greeting, the time, a request id), so
//! that `wasmtime serve` and `wasmfn serve` are timed on the same guest
//! work.

use std::time::SystemTime;

use serde_json::json;
use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct Hello;

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let name = path
            .split_once('?')
            .and_then(|(_, query)| query.split('&').find_map(|p| p.strip_prefix("name=")))
            .unwrap_or("world");
        // A v4 UUID's shape, as the Lambda request id is.
        let (a, b) = (
            wasip2::random::random::get_random_u64(),
            wasip2::random::random::get_random_u64(),
        );
        let request_id = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            a & 0xffff,
            (a >> 16) & 0xfff,
            b & 0xffff,
            (b >> 16) & 0xffff_ffff_ffff
        );
        let body = json!({
            "message": format!("Hello, {name}! Your function executed successfully."),
            "timestamp": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            "requestId": request_id,
        })
        .to_string();
        let headers = Fields::from_list(&[
            ("content-type".into(), b"application/json".to_vec()),
            ("access-control-allow-origin".into(), b"*".to_vec()),
        ])
        .expect("valid headers");
        let response = OutgoingResponse::new(headers);
        let outgoing = response.body().expect("a body");
        ResponseOutparam::set(out, Ok(response));
        let stream = outgoing.write().expect("a stream");
        stream
            .blocking_write_and_flush(body.as_bytes())
            .expect("written");
        drop(stream);
        OutgoingBody::finish(outgoing, None).expect("finished");
    }
}

wasip2::http::proxy::export!(Hello);
