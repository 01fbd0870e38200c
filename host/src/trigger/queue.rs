//! The durable queue behind asynchronous (`Event`) invocations.
//!
//! Lambda's contract: an accepted event is delivered at least once; a failed
//! invocation is retried twice, with a delay; then the outcome goes to the
//! function's on-success or on-failure destination. wasmfn keeps it on disk:
//!
//! * accepting an event writes `pending/<request id>.json` (written to a
//!   temporary file, synced, then renamed into place) *before* the caller
//!   hears 202, so a crash after that loses nothing;
//! * a worker invokes it; the outcome is appended to
//!   `destinations/<function>.success.jsonl` or `.failure.jsonl` in Lambda's
//!   destination-record shape and synced, and only then is the pending file
//!   removed;
//! * at start-up every pending file is queued again. A crash between
//!   invoking and removing means the event runs again: at-least-once, as on
//!   Lambda, never lost.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::funnel::Funnel;
use super::registry::Registry;
use crate::error::Refused;
use crate::function::{Function, InvokeRequest};

/// Retries after the first failed attempt, as on Lambda.
pub const MAX_RETRIES: u32 = 2;

/// One accepted event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// The request id the caller was given.
    pub request_id: String,
    /// The function to invoke.
    pub function: String,
    /// The event, as JSON text.
    pub payload: String,
    /// The client context, as JSON text.
    #[serde(default)]
    pub client_context: Option<String>,
    /// The tenant, under tenant isolation.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Attempts made so far.
    pub attempts: u32,
}

/// Where a function's outcomes go, and how long to wait between attempts.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// The queue's directory (`pending/`, `destinations/`).
    pub dir: PathBuf,
    /// Delay before the first retry; doubled for the second. Lambda waits
    /// about a minute; locally a second keeps the loop short.
    pub retry_delay: Duration,
    /// Per-function destination files (on success, on failure) that replace
    /// the defaults under `dir/destinations/`.
    pub destinations: std::collections::HashMap<String, (Option<PathBuf>, Option<PathBuf>)>,
}

/// The queue: accepts events and runs them in the background.
#[derive(Clone)]
pub struct AsyncQueue {
    options: Arc<QueueOptions>,
    funnel: Arc<Funnel>,
    tx: mpsc::UnboundedSender<Job>,
    /// Destination lines are appended one writer at a time, so that two
    /// records never interleave.
    append: Arc<tokio::sync::Mutex<()>>,
}

impl AsyncQueue {
    /// Opens the queue in `options.dir`, starts its worker over
    /// `functions`, invoking through `funnel`, and re-queues every event a
    /// previous run left pending.
    pub async fn start(
        options: QueueOptions,
        functions: Arc<Registry>,
        funnel: Arc<Funnel>,
    ) -> std::io::Result<Self> {
        tokio::fs::create_dir_all(options.dir.join("pending")).await?;
        tokio::fs::create_dir_all(options.dir.join("destinations")).await?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let queue = AsyncQueue {
            options: Arc::new(options),
            funnel,
            tx,
            append: Arc::default(),
        };
        let leftover = queue.pending().await?;
        if !leftover.is_empty() {
            tracing::info!("re-queueing {} pending async events", leftover.len());
        }
        for job in leftover {
            let _ = queue.tx.send(job);
        }
        let worker = queue.clone();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let Some(function) = functions.get(&job.function) else {
                    tracing::error!(function = %job.function, "dropping an async event for a function that no longer exists");
                    let _ = tokio::fs::remove_file(worker.pending_path(&job.request_id)).await;
                    continue;
                };
                let worker = worker.clone();
                tokio::spawn(async move { worker.run(function, job).await });
            }
        });
        Ok(queue)
    }

    /// Accepts an event: durable on disk when this returns `Ok`.
    pub async fn enqueue(&self, job: Job) -> std::io::Result<()> {
        self.persist(&job).await?;
        self.tx
            .send(job)
            .map_err(|_| std::io::Error::other("the async worker has stopped"))
    }

    /// The on-success and on-failure destination files of `function`.
    pub fn destinations(&self, function: &str) -> (PathBuf, PathBuf) {
        let dir = self.options.dir.join("destinations");
        let (success, failure) = self
            .options
            .destinations
            .get(function)
            .cloned()
            .unwrap_or_default();
        (
            success.unwrap_or_else(|| dir.join(format!("{function}.success.jsonl"))),
            failure.unwrap_or_else(|| dir.join(format!("{function}.failure.jsonl"))),
        )
    }

    fn pending_path(&self, request_id: &str) -> PathBuf {
        self.options
            .dir
            .join("pending")
            .join(format!("{request_id}.json"))
    }

    async fn persist(&self, job: &Job) -> std::io::Result<()> {
        let path = self.pending_path(&job.request_id);
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec(job).map_err(std::io::Error::other)?;
        let mut file = tokio::fs::File::create(&tmp).await?;
        file.write_all(&bytes).await?;
        file.sync_all().await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(())
    }

    async fn pending(&self) -> std::io::Result<Vec<Job>> {
        let mut jobs = Vec::new();
        let mut dir = tokio::fs::read_dir(self.options.dir.join("pending")).await?;
        while let Some(entry) = dir.next_entry().await? {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                match tokio::fs::read(&path)
                    .await
                    .map(|b| serde_json::from_slice::<Job>(&b))
                {
                    Ok(Ok(job)) => jobs.push(job),
                    _ => tracing::warn!("skipping unreadable pending event {}", path.display()),
                }
            } else {
                // A temporary file from a write that never finished: the
                // caller never got its 202.
                let _ = tokio::fs::remove_file(&path).await;
            }
        }
        Ok(jobs)
    }

    async fn run(&self, function: Arc<Function>, mut job: Job) {
        let request = InvokeRequest {
            request_id: Some(job.request_id.clone()),
            client_context: job.client_context.clone(),
            tenant_id: job.tenant_id.clone(),
            ..InvokeRequest::default()
        };
        let invoked = self
            .funnel
            .invoke(&function, job.payload.as_bytes(), request)
            .await;
        let invocation = match invoked {
            Ok(invoked) => invoked.invocation,
            Err(Refused::Tenant(e)) => {
                // Checked when the event was taken, so only a manifest
                // changed since (a restart) gets here. No retry could fit:
                // the event goes to the on-failure destination at once.
                let (_, failure) = self.destinations(&job.function);
                let error = json!({"errorMessage": e.to_string(), "errorType": "InvalidParameterValueException"});
                self.conclude(
                    &function,
                    &job,
                    (failure, "RetriesExhausted", Some("Unhandled"), error),
                )
                .await;
                return;
            }
            Err(Refused::Throttled(_)) => {
                // Lambda keeps throttled async events and tries later; a
                // throttle is not an attempt.
                let queue = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let _ = queue.tx.send(job);
                });
                return;
            }
        };
        job.attempts += 1;
        let (success, failure) = self.destinations(&job.function);
        let outcome = match &invocation.result {
            Ok(payload) => Some((success, "Success", None, parse_or_string(payload))),
            Err(error) if job.attempts > MAX_RETRIES => Some((
                failure,
                "RetriesExhausted",
                Some("Unhandled"),
                serde_json::to_value(error).unwrap_or(Value::Null),
            )),
            Err(error) => {
                tracing::warn!(request_id = %job.request_id, attempt = job.attempts, "async invocation failed ({error}); retrying");
                if let Err(e) = self.persist(&job).await {
                    tracing::error!("cannot record the retry of {}: {e}", job.request_id);
                }
                let delay = self.options.retry_delay * 2u32.pow(job.attempts - 1);
                let (queue, retry) = (self.clone(), job.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = queue.tx.send(retry);
                });
                None
            }
        };
        if let Some(outcome) = outcome {
            self.conclude(&function, &job, outcome).await;
        }
    }

    /// Writes the event's outcome to its destination, then forgets it.
    async fn conclude(
        &self,
        function: &Function,
        job: &Job,
        (path, condition, function_error, response): (PathBuf, &str, Option<&str>, Value),
    ) {
        let record = destination_record(function, job, condition, function_error, response);
        let appended = {
            let _one_writer = self.append.lock().await;
            append_line(&path, &record).await
        };
        if let Err(e) = appended {
            // Keep the pending file: the event will be run again rather
            // than have its outcome lost.
            tracing::error!("cannot write destination {}: {e}", path.display());
            return;
        }
        let _ = tokio::fs::remove_file(self.pending_path(&job.request_id)).await;
    }
}

fn parse_or_string(payload: &[u8]) -> Value {
    serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()))
}

/// Lambda's destination record.
fn destination_record(
    function: &Function,
    job: &Job,
    condition: &str,
    function_error: Option<&str>,
    response: Value,
) -> Value {
    let mut response_context = json!({
        "statusCode": 200,
        "executedVersion": function.config().version,
    });
    if let Some(e) = function_error {
        response_context["functionError"] = json!(e);
    }
    json!({
        "version": "1.0",
        "timestamp": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        "requestContext": {
            "requestId": job.request_id,
            "functionArn": format!("{}:{}", function.config().arn(), function.config().version),
            "condition": condition,
            "approximateInvokeCount": job.attempts,
        },
        "requestPayload": parse_or_string(job.payload.as_bytes()),
        "responseContext": response_context,
        "responsePayload": response,
    })
}

async fn append_line(path: &Path, record: &Value) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent).await?;
    }
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    file.write_all(&line).await?;
    file.sync_data().await?;
    Ok(())
}
