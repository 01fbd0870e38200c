//! Per-invocation capture of guest stdout and stderr.
//!
//! Lambda sends whatever a function prints to CloudWatch, one event per line,
//! prefixed with a timestamp and the request id. wasmfn does the same: each
//! instance's stdout and stderr feed one [`LogBuffer`], which the host drains
//! after every invocation, so the lines belong to exactly one request even
//! when an instance stays warm.
//!
//! A guest can print without bound; the buffer cannot. Past
//! [`LogBuffer::new`]'s cap, further output is counted and dropped, and the
//! invocation's log ends with a line saying how much was lost. The guest never
//! sees an error for it, as a Lambda function never does.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use crate::report::LogLevel;

/// Which guest stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The guest's stdout.
    Stdout,
    /// The guest's stderr.
    Stderr,
}

/// One line of guest output.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// When the line was completed.
    pub at: SystemTime,
    /// Where it was written.
    pub stream: Stream,
    /// The text, without its newline (invalid UTF-8 replaced).
    pub text: String,
}

/// The lines one invocation printed.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs {
    /// The lines, in the order they were completed.
    pub lines: Vec<LogLine>,
    /// Bytes dropped past the cap.
    pub dropped_bytes: u64,
}

impl CapturedLogs {
    /// Formats the lines as CloudWatch shows them for Lambda's managed
    /// runtimes: `timestamp<TAB>request id<TAB>LEVEL<TAB>text`, stdout as
    /// `INFO` and stderr as `ERROR`. Lines that are already JSON objects
    /// (structured logs, which carry their own timestamp and request id) pass
    /// through unprefixed, as with Lambda's JSON log format, and so do lines
    /// a language runtime already wrote in this shape (the JavaScript
    /// shim's `console.warn` is `…<TAB>WARN<TAB>…`).
    pub fn to_cloudwatch(&self, request_id: &str) -> String {
        self.to_cloudwatch_at(request_id, LogLevel::Trace)
    }

    /// [`to_cloudwatch`](Self::to_cloudwatch) without the lines below
    /// `min`: a JSON line by its `level`, a CloudWatch-shaped line by the
    /// level in it, any other line as `INFO` (stdout) or `ERROR` (stderr).
    pub fn to_cloudwatch_at(&self, request_id: &str, min: LogLevel) -> String {
        let mut out = String::new();
        for line in &self.lines {
            if min > LogLevel::Trace && line_level(line).is_some_and(|level| level < min) {
                continue;
            }
            if line.text.trim_start().starts_with('{') || is_cloudwatch_line(&line.text) {
                out.push_str(&line.text);
            } else {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}",
                    humantime::format_rfc3339_millis(line.at),
                    request_id,
                    stream_level(line.stream).as_str(),
                    line.text
                ));
            }
            out.push('\n');
        }
        if self.dropped_bytes > 0 {
            out.push_str(&format!(
                "{}\t{}\tWARN\twasmfn: log output truncated, {} bytes dropped\n",
                humantime::format_rfc3339_millis(SystemTime::now()),
                request_id,
                self.dropped_bytes
            ));
        }
        out
    }

    /// The lines as Lambda's JSON log format writes them, one record per
    /// line: `{"timestamp", "level", "requestId", "message"}`. A line that
    /// is already a JSON object passes through; a CloudWatch-shaped text
    /// line (a language runtime's) gives its timestamp, level and message;
    /// any other line is `INFO` from stdout, `ERROR` from stderr. Records
    /// below `min` are dropped, as Lambda's `ApplicationLogLevel` drops
    /// them; so is a JSON line whose `level` is below it.
    pub fn to_json_records(&self, request_id: &str, tenant: Option<&str>, min: LogLevel) -> String {
        let mut out = String::new();
        let record = |out: &mut String, at: String, level: LogLevel, message: &str| {
            if level >= min {
                let mut json = serde_json::json!({
                    "timestamp": at,
                    "level": level.as_str(),
                    "requestId": request_id,
                    "message": message,
                });
                if let Some(tenant) = tenant {
                    json["tenantId"] = tenant.into();
                }
                out.push_str(&json.to_string());
                out.push('\n');
            }
        };
        for line in &self.lines {
            let text = line.text.as_str();
            if text.trim_start().starts_with('{') {
                if line_level(line).is_none_or(|level| level >= min) {
                    out.push_str(text);
                    out.push('\n');
                }
            } else if let Some((at, level, message)) = cloudwatch_parts(text) {
                record(&mut out, at.to_string(), level, message);
            } else {
                let at = humantime::format_rfc3339_millis(line.at).to_string();
                record(&mut out, at, stream_level(line.stream), text);
            }
        }
        if self.dropped_bytes > 0 {
            record(
                &mut out,
                humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
                LogLevel::Warn,
                &format!(
                    "wasmfn: log output truncated, {} bytes dropped",
                    self.dropped_bytes
                ),
            );
        }
        out
    }
}

/// The level of a captured line, where one can be told.
fn line_level(line: &LogLine) -> Option<LogLevel> {
    let text = line.text.as_str();
    if text.trim_start().starts_with('{') {
        return serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("level")?.as_str().and_then(LogLevel::parse));
    }
    if let Some((_, level, _)) = cloudwatch_parts(text) {
        return Some(level);
    }
    Some(stream_level(line.stream))
}

/// The level of a line that carries none: stdout is `INFO`, stderr `ERROR`,
/// as CloudWatch shows Lambda's managed runtimes.
fn stream_level(stream: Stream) -> LogLevel {
    match stream {
        Stream::Stdout => LogLevel::Info,
        Stream::Stderr => LogLevel::Error,
    }
}

/// The timestamp, level and message of a CloudWatch-shaped line
/// (`ts<TAB>request id<TAB>LEVEL<TAB>message`, or Python's
/// `[LEVEL]<TAB>ts<TAB>request id<TAB>message`).
fn cloudwatch_parts(text: &str) -> Option<(&str, LogLevel, &str)> {
    if !is_cloudwatch_line(text) {
        return None;
    }
    if let Some((level, rest)) = text.strip_prefix('[').and_then(|t| t.split_once("]\t")) {
        let mut fields = rest.splitn(3, '\t');
        let at = fields.next()?;
        let _request_id = fields.next()?;
        return Some((at, LogLevel::parse(level)?, fields.next().unwrap_or("")));
    }
    let mut fields = text.splitn(4, '\t');
    let at = fields.next()?;
    let _request_id = fields.next()?;
    let level = LogLevel::parse(fields.next()?)?;
    Some((at, level, fields.next().unwrap_or("")))
}

/// Whether `text` already starts the way a CloudWatch line does: an
/// RFC 3339 UTC timestamp with milliseconds (`2026-12-01T10:12:08.539Z`)
/// and a tab, as Node's runtime writes it, or the same after a level in
/// brackets and a tab (`[INFO]\t2026-…Z\t`), as Python's `logging` does on
/// Lambda.
fn is_cloudwatch_line(text: &str) -> bool {
    let text = match text.strip_prefix('[').and_then(|t| t.split_once("]\t")) {
        Some((level, rest))
            if !level.is_empty() && level.bytes().all(|c| c.is_ascii_uppercase()) =>
        {
            rest
        }
        _ => text,
    };
    let b = text.as_bytes();
    b.len() > 24
        && b[24] == b'\t'
        && b[23] == b'Z'
        && (b[4], b[7], b[10], b[13], b[16], b[19]) == (b'-', b'-', b'T', b':', b':', b'.')
        && [0..4, 5..7, 8..10, 11..13, 14..16, 17..19, 20..23]
            .into_iter()
            .all(|r| b[r].iter().all(u8::is_ascii_digit))
}

#[derive(Debug, Default)]
struct State {
    logs: CapturedLogs,
    kept_bytes: usize,
    partial_stdout: Vec<u8>,
    partial_stderr: Vec<u8>,
}

/// The capture buffer shared by an instance's stdout and stderr.
#[derive(Debug, Clone)]
pub struct LogBuffer {
    state: Arc<Mutex<State>>,
    cap: usize,
}

impl LogBuffer {
    /// A buffer keeping at most `cap` bytes of output per invocation.
    pub fn new(cap: usize) -> Self {
        LogBuffer {
            state: Arc::default(),
            cap,
        }
    }

    /// The stream to hand to WASI as stdout or stderr.
    pub fn stream(&self, stream: Stream) -> LogStream {
        LogStream {
            buffer: self.clone(),
            stream,
        }
    }

    /// Takes everything captured since the last call, completing any
    /// unterminated last line.
    pub fn take(&self) -> CapturedLogs {
        let mut state = self.lock();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let partial = std::mem::take(match stream {
                Stream::Stdout => &mut state.partial_stdout,
                Stream::Stderr => &mut state.partial_stderr,
            });
            if !partial.is_empty() {
                push_line(&mut state.logs, stream, &partial);
            }
        }
        state.kept_bytes = 0;
        std::mem::take(&mut state.logs)
    }

    fn write(&self, stream: Stream, mut bytes: &[u8]) {
        let mut state = self.lock();
        let room = self.cap.saturating_sub(state.kept_bytes);
        if bytes.len() > room {
            state.logs.dropped_bytes += (bytes.len() - room) as u64;
            bytes = &bytes[..room];
        }
        state.kept_bytes += bytes.len();
        let state = &mut *state;
        let partial = match stream {
            Stream::Stdout => &mut state.partial_stdout,
            Stream::Stderr => &mut state.partial_stderr,
        };
        partial.extend_from_slice(bytes);
        while let Some(end) = partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = partial.drain(..=end).collect();
            push_line(&mut state.logs, stream, &line[..line.len() - 1]);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-write; the
        // buffer is still a valid byte log.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn push_line(logs: &mut CapturedLogs, stream: Stream, bytes: &[u8]) {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    // CloudWatch has no empty events; a blank line carries nothing.
    if bytes.is_empty() {
        return;
    }
    logs.lines.push(LogLine {
        at: SystemTime::now(),
        stream,
        text: String::from_utf8_lossy(bytes).into_owned(),
    });
}

/// One of an instance's output streams, writing into its [`LogBuffer`].
#[derive(Debug, Clone)]
pub struct LogStream {
    buffer: LogBuffer,
    stream: Stream,
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for LogStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.buffer.write(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always writable: excess output is dropped, not back-pressured, so a
        // guest can never block on its own logging.
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogStream {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LogStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.buffer.write(self.stream, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_per_stream_and_keeps_order() {
        let buf = LogBuffer::new(1024);
        buf.write(Stream::Stdout, b"hello\nwor");
        buf.write(Stream::Stderr, b"oops\n");
        buf.write(Stream::Stdout, b"ld\n");
        let logs = buf.take();
        let texts: Vec<_> = logs.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["hello", "oops", "world"]);
        assert_eq!(logs.lines[1].stream, Stream::Stderr);
        assert!(buf.take().lines.is_empty());
    }

    #[test]
    fn caps_output_and_counts_what_it_dropped() {
        let buf = LogBuffer::new(10);
        buf.write(Stream::Stdout, b"0123456789abcdef\n");
        let logs = buf.take();
        assert_eq!(logs.lines[0].text, "0123456789");
        assert_eq!(logs.dropped_bytes, 7);
        let text = logs.to_cloudwatch("req-1");
        assert!(text.contains("\treq-1\tINFO\t0123456789\n"), "{text}");
        assert!(text.contains("7 bytes dropped"), "{text}");
        // The cap is per invocation.
        buf.write(Stream::Stdout, b"again\n");
        assert_eq!(buf.take().lines[0].text, "again");
    }

    #[test]
    fn lines_already_in_cloudwatch_shape_pass_through() {
        let buf = LogBuffer::new(1024);
        buf.write(
            Stream::Stdout,
            b"2026-12-01T10:12:08.539Z\treq-1\tWARN\tcareful\n2026-12-01 not a stamp\n[INFO]\t2026-12-01T10:12:08.540Z\treq-1\tfrom python\n[info]\tnot a level\n",
        );
        let text = buf.take().to_cloudwatch("req-1");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "2026-12-01T10:12:08.539Z\treq-1\tWARN\tcareful");
        assert!(lines[1].ends_with("\treq-1\tINFO\t2026-12-01 not a stamp"));
        assert_eq!(
            lines[2],
            "[INFO]\t2026-12-01T10:12:08.540Z\treq-1\tfrom python"
        );
        assert!(lines[3].ends_with("\treq-1\tINFO\t[info]\tnot a level"));
    }
}
