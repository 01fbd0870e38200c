//! The invocation context: Lambda's context object, the Rust way.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Everything the host tells a handler about the invocation it is serving:
/// the fields of Lambda's context object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The request id of this invocation (a UUID).
    pub request_id: String,
    /// The function's name.
    pub function_name: String,
    /// The function's version, `$LATEST` unless invoked through a qualifier.
    pub function_version: String,
    /// The ARN the caller used.
    pub invoked_function_arn: String,
    /// The function's memory size, in MB.
    pub memory_limit_in_mb: u32,
    /// The deadline, in milliseconds since the Unix epoch.
    pub deadline_ms: u64,
    /// The CloudWatch log group.
    pub log_group_name: String,
    /// The CloudWatch log stream of this instance.
    pub log_stream_name: String,
    /// The X-Ray trace header, when the invocation carries one.
    pub xray_trace_id: Option<String>,
    /// The client context from a mobile SDK, as JSON text.
    pub client_context: Option<String>,
    /// The Cognito identity, as JSON text.
    pub identity: Option<String>,
    /// The tenant of the invocation (`X-Amz-Tenant-Id`), on a function with
    /// tenant isolation: an instance only ever serves one.
    pub tenant_id: Option<String>,
}

impl Context {
    /// A context for unit tests run natively: a fresh-looking request id,
    /// the given function name, 128 MB and a deadline three seconds from now.
    pub fn for_test(function_name: &str) -> Self {
        let deadline = SystemTime::now() + Duration::from_secs(3);
        Context {
            request_id: "00000000-0000-0000-0000-000000000000".into(),
            function_name: function_name.into(),
            function_version: "$LATEST".into(),
            invoked_function_arn: format!(
                "arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
            ),
            memory_limit_in_mb: 128,
            deadline_ms: deadline
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            log_group_name: format!("/aws/lambda/{function_name}"),
            log_stream_name: "test".into(),
            xray_trace_id: None,
            client_context: None,
            identity: None,
            tenant_id: None,
        }
    }

    /// The deadline as a point in time.
    pub fn deadline(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.deadline_ms)
    }

    /// How long the handler has left before the host stops it with
    /// `Sandbox.Timedout`. Zero once the deadline has passed.
    pub fn remaining_time(&self) -> Duration {
        #[cfg(target_family = "wasm")]
        {
            Duration::from_millis(crate::bindings::wasmfn::handler::runtime::remaining_time_ms())
        }
        #[cfg(not(target_family = "wasm"))]
        {
            self.deadline()
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        }
    }
}

#[cfg(target_family = "wasm")]
impl From<crate::bindings::wasmfn::handler::types::Context> for Context {
    fn from(c: crate::bindings::wasmfn::handler::types::Context) -> Self {
        Context {
            request_id: c.request_id,
            function_name: c.function_name,
            function_version: c.function_version,
            invoked_function_arn: c.invoked_function_arn,
            memory_limit_in_mb: c.memory_limit_in_mb,
            deadline_ms: c.deadline_ms,
            log_group_name: c.log_group_name,
            log_stream_name: c.log_stream_name,
            xray_trace_id: c.trace_id,
            client_context: c.client_context,
            identity: c.identity,
            tenant_id: c.tenant_id,
        }
    }
}
