//! A streamed response on its way out: where the chunks a guest writes with
//! `runtime.write-response` go, and the limits Lambda puts on them.
//!
//! The sink is a bounded channel, so a guest writing faster than its client
//! reads waits in `write-response` (and its timeout keeps running, as on
//! Lambda); a client that has gone away turns every later write into
//! `stream-error::closed` instead of a growing buffer.

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::bindings::StreamError;

/// The most Lambda streams in one response: 200 MB.
pub const MAX_STREAMED_BYTES: u64 = 200 * 1024 * 1024;

/// Chunks in flight between a guest and its client before the guest waits.
const DEPTH: usize = 16;

/// The writing end of a streamed response.
#[derive(Debug)]
pub struct ResponseSink {
    tx: mpsc::Sender<Bytes>,
    sent: u64,
    limit: u64,
    /// The guest passed `limit`: the invocation fails, whatever it returns.
    too_large: bool,
}

/// The reading end: the chunks, in order, until the call ends.
pub type ResponseChunks = mpsc::Receiver<Bytes>;

impl ResponseSink {
    /// A sink of at most [`MAX_STREAMED_BYTES`], and the chunks it yields.
    pub fn channel() -> (ResponseSink, ResponseChunks) {
        Self::with_limit(MAX_STREAMED_BYTES)
    }

    /// A sink of at most `limit` bytes.
    pub fn with_limit(limit: u64) -> (ResponseSink, ResponseChunks) {
        let (tx, rx) = mpsc::channel(DEPTH);
        let sink = ResponseSink {
            tx,
            sent: 0,
            limit,
            too_large: false,
        };
        (sink, rx)
    }

    /// Sends one chunk, waiting while the client is behind.
    pub async fn send(&mut self, chunk: Bytes) -> Result<(), StreamError> {
        if self.too_large {
            return Err(StreamError::TooLarge);
        }
        if chunk.is_empty() {
            return Ok(());
        }
        let sent = self.sent + chunk.len() as u64;
        if sent > self.limit {
            self.too_large = true;
            return Err(StreamError::TooLarge);
        }
        self.tx.send(chunk).await.map_err(|_| StreamError::Closed)?;
        self.sent = sent;
        Ok(())
    }

    /// Bytes delivered to the channel so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Whether the guest wrote past the limit.
    pub fn too_large(&self) -> bool {
        self.too_large
    }

    /// The limit, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_arrive_in_order_until_the_limit() {
        let (mut sink, mut rx) = ResponseSink::with_limit(5);
        sink.send(Bytes::from_static(b"ab")).await.unwrap();
        sink.send(Bytes::new()).await.unwrap();
        sink.send(Bytes::from_static(b"cd")).await.unwrap();
        assert_eq!(
            sink.send(Bytes::from_static(b"ef")).await,
            Err(StreamError::TooLarge)
        );
        assert!(sink.too_large());
        assert_eq!(sink.sent(), 4);
        drop(sink);
        assert_eq!(rx.recv().await.unwrap(), "ab");
        assert_eq!(rx.recv().await.unwrap(), "cd");
        assert!(rx.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_gone_client_closes_the_stream() {
        let (mut sink, rx) = ResponseSink::channel();
        drop(rx);
        assert_eq!(
            sink.send(Bytes::from_static(b"x")).await,
            Err(StreamError::Closed)
        );
    }
}
