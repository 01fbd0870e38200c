//! Response streaming: a handler that writes its response as it goes, the
//! way Node's `awslambda.streamifyResponse` handlers do.
//!
//! ```
//! use std::io::Write;
//! use wasmfn_guest::stream::{HttpPrelude, ResponseStream};
//! use wasmfn_guest::{Context, Error};
//!
//! #[wasmfn_guest::handler(streaming)]
//! fn handler(event: serde_json::Value, out: &mut ResponseStream, _ctx: Context) -> Result<(), Error> {
//!     // Behind a Function URL in RESPONSE_STREAM mode: status and headers first.
//!     out.http_prelude(&HttpPrelude::new(200).header("content-type", "text/plain"))?;
//!     for word in event["words"].as_array().into_iter().flatten() {
//!         writeln!(out, "{}", word.as_str().unwrap_or_default())?;
//!     }
//!     Ok(())
//! }
//!
//! // Natively the stream is a buffer, for unit tests.
//! let mut out = ResponseStream::buffered();
//! handler(serde_json::json!({"words": ["a", "b"]}), &mut out, Context::for_test("t")).unwrap();
//! assert!(out.into_bytes().ends_with(b"\0\0\0\0\0\0\0\0a\nb\n"));
//! ```
//!
//! Each `write` reaches the client as soon as it is made (the host waits
//! while the client is behind). When the client has gone away, writes fail
//! with [`std::io::ErrorKind::BrokenPipe`] and the handler may stop; past
//! Lambda's 200 MB a write fails with [`std::io::ErrorKind::FileTooLarge`]
//! and the invocation fails with `Function.ResponseSizeTooLarge`.
//!
//! The same handler invoked without streaming (Lambda's `Invoke`) answers
//! with everything it wrote, as Lambda buffers a streaming function.

use std::io;

/// Where a streaming handler writes its response.
#[derive(Debug)]
pub struct ResponseStream {
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    /// Collected, for a buffered invocation or a native test.
    Buffer(Vec<u8>),
    /// Sent to the host chunk by chunk.
    #[cfg(target_family = "wasm")]
    Host,
}

impl ResponseStream {
    /// A stream that collects what is written (see [`Self::into_bytes`]).
    pub fn buffered() -> Self {
        ResponseStream {
            sink: Sink::Buffer(Vec::new()),
        }
    }

    /// The stream of a streamed invocation: every write goes to the host.
    #[cfg(target_family = "wasm")]
    pub(crate) fn host() -> Self {
        ResponseStream { sink: Sink::Host }
    }

    /// What a buffered stream collected (empty for a streamed one).
    pub fn into_bytes(self) -> Vec<u8> {
        match self.sink {
            Sink::Buffer(bytes) => bytes,
            #[cfg(target_family = "wasm")]
            Sink::Host => Vec::new(),
        }
    }

    /// Writes the prelude of an HTTP response (status, headers, cookies),
    /// which a Function URL in `RESPONSE_STREAM` mode or a streaming API
    /// Gateway route turns into the HTTP response's head: Node's
    /// `awslambda.HttpResponseStream.from(stream, prelude)`. Call it once,
    /// before the body.
    pub fn http_prelude(&mut self, prelude: &HttpPrelude) -> io::Result<()> {
        let mut bytes = serde_json::to_vec(prelude).map_err(io::Error::other)?;
        bytes.extend_from_slice(&[0; 8]);
        io::Write::write_all(self, &bytes)
    }
}

impl io::Write for ResponseStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Buffer(bytes) => bytes.extend_from_slice(buf),
            #[cfg(target_family = "wasm")]
            Sink::Host => {
                use crate::bindings::wasmfn::handler::runtime::{write_response, StreamError};
                write_response(buf).map_err(|e| match e {
                    StreamError::Closed => {
                        io::Error::new(io::ErrorKind::BrokenPipe, "the client has gone away")
                    }
                    StreamError::TooLarge => io::Error::new(
                        io::ErrorKind::FileTooLarge,
                        "the response has reached Lambda's 200 MB streaming limit",
                    ),
                    StreamError::NotStreaming => io::Error::new(
                        io::ErrorKind::Unsupported,
                        "this invocation is not streamed",
                    ),
                })?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The head of a streamed HTTP response: Lambda's HTTP integration prelude.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpPrelude {
    /// The status code.
    pub status_code: u16,
    /// Response headers.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "as_map")]
    pub headers: Vec<(String, String)>,
    /// `Set-Cookie` values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cookies: Vec<String>,
}

impl HttpPrelude {
    /// A prelude with `status_code` and no headers.
    pub fn new(status_code: u16) -> Self {
        HttpPrelude {
            status_code,
            ..HttpPrelude::default()
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a cookie.
    pub fn cookie(mut self, cookie: impl Into<String>) -> Self {
        self.cookies.push(cookie.into());
        self
    }
}

fn as_map<S: serde::Serializer>(headers: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(headers.iter().map(|(k, v)| (k, v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_prelude_is_json_then_eight_nuls() {
        let mut out = ResponseStream::buffered();
        out.http_prelude(&HttpPrelude::new(201).header("x-a", "1").cookie("c=1"))
            .unwrap();
        out.write_all(b"body").unwrap();
        let bytes = out.into_bytes();
        let at = bytes.windows(8).position(|w| w == [0; 8]).unwrap();
        let prelude: serde_json::Value = serde_json::from_slice(&bytes[..at]).unwrap();
        assert_eq!(
            prelude,
            serde_json::json!({"statusCode": 201, "headers": {"x-a": "1"}, "cookies": ["c=1"]})
        );
        assert_eq!(&bytes[at + 8..], b"body");
    }
}
