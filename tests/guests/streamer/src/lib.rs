//! A streaming handler (`#[handler(streaming)]`) that does what its event
//! asks, for the streaming tests:
//!
//! * `{"action": "chunks", "chunks": ["a", "b"], "sleepMs": 500, "http": true}`
//!   writes each chunk, sleeping between them; with `http`, after a prelude
//!   (status 201, `content-type: text/plain`, header `x-streamed: yes`, a cookie);
//! * `{"action": "bytes", "mb": 20}` writes that many MB in 64 KB chunks,
//!   byte `i` being `i % 251`;
//! * `{"action": "fail", "chunks": [...]}` writes the chunks, then fails;
//! * `{"action": "forever"}` writes a line every 10 ms until its write
//!   fails (the client left) or it is stopped (its timeout);
//! * `{"action": "stats"}` writes the instance's counters as JSON: calls,
//!   and how many streams ended with the client gone.
//!
//! Behind a Function URL the same object is the request's body.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;
use wasmfn_guest::stream::{HttpPrelude, ResponseStream};
use wasmfn_guest::{Context, Error};

static CALLS: AtomicU64 = AtomicU64::new(0);
static CLOSED: AtomicU64 = AtomicU64::new(0);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    action: String,
    #[serde(default)]
    chunks: Vec<String>,
    #[serde(default)]
    sleep_ms: u64,
    #[serde(default)]
    http: bool,
    #[serde(default)]
    mb: usize,
}

#[wasmfn_guest::handler(streaming)]
fn handler(event: serde_json::Value, out: &mut ResponseStream, ctx: Context) -> Result<(), Error> {
    // A Function URL's event carries the object as its body.
    let event = match (event.get("requestContext"), event.get("body")) {
        (Some(_), Some(serde_json::Value::String(body))) => serde_json::from_str(body)?,
        _ => event,
    };
    let event: Event = serde_json::from_value(event)?;
    let calls = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    match event.action.as_str() {
        "chunks" | "fail" => {
            if event.http {
                out.http_prelude(
                    &HttpPrelude::new(201)
                        .header("content-type", "text/plain")
                        .header("x-streamed", "yes")
                        .cookie("flavour=oat"),
                )?;
            }
            for (i, chunk) in event.chunks.iter().enumerate() {
                if i > 0 && event.sleep_ms > 0 {
                    std::thread::sleep(Duration::from_millis(event.sleep_ms));
                }
                out.write_all(chunk.as_bytes())?;
            }
            if event.action == "fail" {
                return Err(Error::new("StreamFailed", "failed after writing"));
            }
        }
        "bytes" => {
            let block: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
            let blocks = event.mb * 16;
            for _ in 0..blocks {
                out.write_all(&block)?;
            }
        }
        "forever" => loop {
            match out.write_all(b"tick\n") {
                Ok(()) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    CLOSED.fetch_add(1, Ordering::SeqCst);
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
        },
        "stats" => {
            let stats = serde_json::json!({
                "calls": calls,
                "closed": CLOSED.load(Ordering::SeqCst),
                "requestId": ctx.request_id,
            });
            out.write_all(stats.to_string().as_bytes())?;
        }
        other => return Err(Error::new("UnknownAction", format!("no action `{other}`"))),
    }
    Ok(())
}
