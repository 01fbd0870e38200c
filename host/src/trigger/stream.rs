//! A streamed invocation, as the HTTP triggers serve it: the invocation
//! runs in a task of its own while the response body takes its chunks as
//! they come, each framed the way the trigger speaks (event-stream messages
//! for `InvokeWithResponseStream`, raw bytes for a Function URL), and ends
//! with what the trigger says about how the invocation ended.
//!
//! A client that goes away drops the body, and with it the chunks'
//! receiver: the guest's next `write-response` is told `closed`, and the
//! invocation finishes on its own, its log and metrics written as always.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::Frame;
use tokio::sync::oneshot;

use super::funnel::{Funnel, Invoked};
use super::Body;
use crate::error::Refused;
use crate::function::{Function, InvokeRequest};
use crate::instance::response::{ResponseChunks, ResponseSink};

/// How an invocation that was streamed ended: it ran, or was refused
/// before it ran; `None` if its task died without saying (a host bug), so
/// that nothing is known of it.
pub type Ended = Option<Result<Invoked, Refused>>;

/// How a trigger frames a streamed response.
pub trait Framing: Send + 'static {
    /// One chunk the guest wrote, as it goes on the wire.
    fn chunk(&mut self, chunk: Bytes) -> Bytes;
    /// What follows the last chunk, if anything.
    fn end(&mut self, ended: Ended) -> Option<Bytes>;
}

/// An invocation whose response is being streamed.
pub struct StreamedCall {
    chunks: ResponseChunks,
    /// Chunks read ahead (a Function URL reads its prelude first).
    pending: VecDeque<Bytes>,
    done: oneshot::Receiver<Ended>,
    /// The end, when it came before the caller asked for it.
    ended: Option<Ended>,
}

impl StreamedCall {
    /// Starts invoking `function` through `funnel`, streaming its response.
    pub fn spawn(
        funnel: Arc<Funnel>,
        function: Arc<Function>,
        event: Bytes,
        request: InvokeRequest,
    ) -> Self {
        let (sink, chunks) = ResponseSink::channel();
        let (tx, done) = oneshot::channel();
        tokio::spawn(async move {
            let ended = funnel
                .invoke_streamed(&function, &event, request, sink)
                .await;
            let _ = tx.send(Some(ended));
        });
        StreamedCall {
            chunks,
            pending: VecDeque::new(),
            done,
            ended: None,
        }
    }

    /// Waits for the first chunk or the end. A refusal (throttled, or a
    /// tenant id that does not fit) comes before any chunk and is returned
    /// here, for the trigger to answer as a service error rather than as a
    /// stream.
    pub async fn started(&mut self) -> Result<(), Refused> {
        match self.next().await {
            Some(chunk) => {
                self.pending.push_front(chunk);
                Ok(())
            }
            None => match self.ended.take() {
                Some(Some(Err(refused))) => Err(refused),
                other => {
                    self.ended = other;
                    Ok(())
                }
            },
        }
    }

    /// The next chunk, or `None` once the guest has written its last.
    pub async fn next(&mut self) -> Option<Bytes> {
        if let Some(chunk) = self.pending.pop_front() {
            return Some(chunk);
        }
        let chunk = self.chunks.recv().await;
        if chunk.is_none() && self.ended.is_none() {
            self.ended = Some(wait(&mut self.done).await);
        }
        chunk
    }

    /// Puts a chunk back in front of the rest.
    pub fn unread(&mut self, chunk: Bytes) {
        if !chunk.is_empty() {
            self.pending.push_front(chunk);
        }
    }

    /// Reads Lambda's HTTP integration prelude, if the response starts with
    /// one within [`PRELUDE_MAX`] bytes; what follows it (or everything
    /// read, without one) stays to be read. Only those first bytes are
    /// copied and searched, however large the chunks are.
    pub async fn read_prelude(&mut self) -> Option<HttpPrelude> {
        let limit = PRELUDE_MAX + DELIMITER.len();
        let mut read = Vec::new();
        let mut head = Vec::new();
        let mut prelude = None;
        while head.len() < limit {
            let Some(chunk) = self.next().await else {
                break;
            };
            let take = chunk.len().min(limit - head.len());
            head.extend_from_slice(&chunk[..take]);
            read.push(chunk);
            prelude = split_prelude(&head);
            if prelude.is_some() {
                break;
            }
        }
        // What was read goes back, less the prelude when there is one.
        let mut skip = prelude.as_ref().map_or(0, |(_, at)| *at);
        let mut rest = Vec::with_capacity(read.len());
        for mut chunk in read {
            if skip >= chunk.len() {
                skip -= chunk.len();
                continue;
            }
            let _ = chunk.split_to(skip);
            skip = 0;
            rest.push(chunk);
        }
        for chunk in rest.into_iter().rev() {
            self.unread(chunk);
        }
        prelude.map(|(prelude, _)| prelude)
    }

    /// Whether the invocation has ended with nothing (left) to read.
    pub fn is_over(&self) -> bool {
        self.ended.is_some() && self.pending.is_empty()
    }

    /// Waits for the invocation to end, dropping chunks not yet read.
    pub async fn finish(mut self) -> Ended {
        self.chunks.close();
        while self.chunks.recv().await.is_some() {}
        match self.ended.take() {
            Some(ended) => ended,
            None => wait(&mut self.done).await,
        }
    }

    /// The rest of the response as a body framed by `framing`.
    pub fn into_body(self, framing: impl Framing) -> Body {
        StreamBody {
            call: self,
            framing: Box::new(framing),
            finished: false,
        }
        .boxed_unsync()
    }
}

/// What separates the prelude from the body.
const DELIMITER: [u8; 8] = [0; 8];
/// How far into the stream a prelude may end.
pub const PRELUDE_MAX: usize = 16 * 1024;

/// The prelude of Lambda's HTTP integration response
/// (`application/vnd.awslambda.http-integration-response`): a streaming
/// function's first bytes are this JSON, then eight NUL bytes, then the
/// body, and the HTTP triggers make its status and headers the response's.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpPrelude {
    /// The status; 200 when absent.
    pub status_code: Option<u16>,
    /// The headers.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// `Set-Cookie` values.
    #[serde(default)]
    pub cookies: Vec<String>,
}

/// The prelude, and where the body starts, once the delimiter is in.
fn split_prelude(head: &[u8]) -> Option<(HttpPrelude, usize)> {
    let at = head.windows(DELIMITER.len()).position(|w| w == DELIMITER)?;
    let prelude = serde_json::from_slice(&head[..at]).ok()?;
    Some((prelude, at + DELIMITER.len()))
}

async fn wait(done: &mut oneshot::Receiver<Ended>) -> Ended {
    // The task drops its sender unsent only if it panicked.
    done.await.ok().flatten()
}

struct StreamBody {
    call: StreamedCall,
    framing: Box<dyn Framing>,
    finished: bool,
}

impl hyper::body::Body for StreamBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        if let Some(chunk) = this.call.pending.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(this.framing.chunk(chunk)))));
        }
        if this.call.ended.is_none() {
            match this.call.chunks.poll_recv(cx) {
                Poll::Ready(Some(chunk)) => {
                    return Poll::Ready(Some(Ok(Frame::data(this.framing.chunk(chunk)))))
                }
                Poll::Ready(None) => {}
                Poll::Pending => return Poll::Pending,
            }
            match Future::poll(Pin::new(&mut this.call.done), cx) {
                Poll::Ready(ended) => this.call.ended = Some(ended.ok().flatten()),
                Poll::Pending => return Poll::Pending,
            }
        }
        this.finished = true;
        let ended = this.call.ended.take().flatten();
        match this.framing.end(ended) {
            Some(tail) => Poll::Ready(Some(Ok(Frame::data(tail)))),
            None => Poll::Ready(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call whose guest wrote `chunks` and ended.
    async fn written(chunks: &[&[u8]]) -> StreamedCall {
        let (mut sink, rx) = ResponseSink::channel();
        let (tx, done) = oneshot::channel();
        let call = StreamedCall {
            chunks: rx,
            pending: VecDeque::new(),
            done,
            ended: None,
        };
        for chunk in chunks {
            sink.send(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        drop((sink, tx));
        call
    }

    async fn rest(mut call: StreamedCall) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(chunk) = call.next().await {
            out.extend_from_slice(&chunk);
        }
        out
    }

    #[tokio::test]
    async fn a_prelude_split_across_chunks_is_read_and_the_body_stays() {
        let mut call = written(&[b"{\"statusCode\":", b"202}\0\0\0\0", b"\0\0\0\0bo", b"dy"]).await;
        let prelude = call.read_prelude().await.expect("a prelude");
        assert_eq!(prelude.status_code, Some(202));
        assert_eq!(rest(call).await, b"body");
    }

    #[tokio::test]
    async fn without_a_prelude_in_the_first_16_kb_everything_stays() {
        let big = vec![b'x'; 100 * 1024];
        let mut call = written(&[&big, b"\0\0\0\0\0\0\0\0"]).await;
        assert!(call.read_prelude().await.is_none());
        let mut expected = big.clone();
        expected.extend_from_slice(&[0; 8]);
        assert_eq!(rest(call).await, expected);
    }

    #[test]
    fn the_prelude_ends_at_eight_nuls() {
        let head = b"{\"statusCode\":201,\"headers\":{\"x-a\":\"1\"},\"cookies\":[\"c=1\"]}\0\0\0\0\0\0\0\0body";
        let (prelude, body_at) = split_prelude(head).unwrap();
        assert_eq!(prelude.status_code, Some(201));
        assert_eq!(prelude.headers["x-a"], "1");
        assert_eq!(prelude.cookies, ["c=1"]);
        assert_eq!(&head[body_at..], b"body");
        assert!(split_prelude(b"{\"statusCode\":201}\0\0\0").is_none());
        assert!(split_prelude(b"not json\0\0\0\0\0\0\0\0").is_none());
    }
}
