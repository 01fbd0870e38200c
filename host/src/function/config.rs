//! How a function is configured, and what a caller says about one
//! invocation beyond its payload.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::pool::PoolConfig;
use crate::aws::{DEFAULT_REGION, LOCAL_ACCOUNT_ID};
use crate::capability::files::DEFAULT_TMP_MB;
use crate::capability::http::AllowList;
use crate::capability::kv::StoreGrant;
use crate::report::{LogFormat, Logging};

/// Lambda's default memory size, in MB.
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// Lambda's default timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// How a function is configured: the fields of a Lambda function's
/// configuration that change how it runs.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// The function's name.
    pub name: String,
    /// The version reported to the guest and in START lines.
    pub version: String,
    /// Memory cap in MB (Lambda's `memorySize`).
    pub memory_mb: u32,
    /// Time limit per invocation (Lambda's `timeout`).
    pub timeout: Duration,
    /// Environment variables for the guest, on top of Lambda's own.
    pub environment: Vec<(String, String)>,
    /// The region reported in ARNs and `AWS_REGION`.
    pub region: String,
    /// The account id reported in ARNs.
    pub account_id: String,
    /// How instances are pooled: reuse or fresh, spares, limits.
    pub pool: PoolConfig,
    /// The origins the function may call over HTTP (`allowedOutboundHosts`);
    /// empty means no network.
    pub allowed_outbound: Arc<AllowList>,
    /// Layer directories, merged read-only at `/opt`.
    pub layers: Vec<PathBuf>,
    /// The directory mounted read-only at `/var/task`, Lambda's place for
    /// the function's code (a JavaScript function's bundle is read from
    /// there at init); none for a component that carries all its code.
    pub task_root: Option<PathBuf>,
    /// The cap of each instance's `/tmp`, in MB (`ephemeralStorageSize`).
    pub tmp_mb: u32,
    /// The key-value stores the function may open (`keyValueStores`).
    pub key_value_stores: Vec<StoreGrant>,
    /// The manifest's `handler:`, which Lambda gives every function as
    /// `_HANDLER` (a JavaScript function finds its export in it).
    pub handler: Option<String>,
    /// SnapStart (`snapStart`): instances start from a snapshot taken after
    /// `init`, which then never runs again.
    pub snap_start: bool,
    /// Lambda's logging controls (`logs:`): text or JSON, and the levels
    /// that JSON logs are filtered at.
    pub logging: Logging,
    /// Its Function URL streams responses (`url: {invokeMode: RESPONSE_STREAM}`).
    pub url_streams: bool,
    /// Tenant isolation (`tenancyConfig: {tenantIsolationMode: PER_TENANT}`):
    /// every invocation names its tenant, and an instance never serves two.
    pub tenant_isolation: bool,
}

impl FunctionConfig {
    /// A function called `name` with Lambda's defaults: 128 MB, 3 s.
    pub fn new(name: impl Into<String>) -> Self {
        FunctionConfig {
            name: name.into(),
            version: "$LATEST".into(),
            memory_mb: DEFAULT_MEMORY_MB,
            timeout: DEFAULT_TIMEOUT,
            environment: Vec::new(),
            region: DEFAULT_REGION.into(),
            account_id: LOCAL_ACCOUNT_ID.into(),
            pool: PoolConfig::default(),
            allowed_outbound: Arc::default(),
            layers: Vec::new(),
            task_root: None,
            tmp_mb: DEFAULT_TMP_MB,
            key_value_stores: Vec::new(),
            handler: None,
            snap_start: false,
            logging: Logging::default(),
            url_streams: false,
            tenant_isolation: false,
        }
    }

    /// Checks the limits against Lambda's ranges and the engine's ceiling.
    pub fn validate(&self, max_memory_mb: u64) -> Result<(), String> {
        if self.memory_mb < 1 || u64::from(self.memory_mb) > max_memory_mb {
            return Err(format!(
                "memorySize is {} MB; it must be between 1 and {max_memory_mb} MB",
                self.memory_mb
            ));
        }
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(900) {
            return Err(format!(
                "timeout is {:?}; it must be between 1 ms and 900 s, as on Lambda",
                self.timeout
            ));
        }
        // What Lambda's tenant isolation does not support
        // (docs: lambda/latest/dg/tenant-isolation.html).
        if self.tenant_isolation {
            if self.snap_start {
                return Err("tenant isolation does not work with snapStart, as on Lambda; turn one of them off".into());
            }
            if self.pool.spares > 0 {
                return Err("tenant isolation does not work with provisioned concurrency (spares), as on Lambda: a spare would belong to no tenant; drop provisionedConcurrency".into());
            }
        }
        Ok(())
    }

    /// The function's ARN.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, self.account_id, self.name
        )
    }

    /// The CloudWatch log group, `/aws/lambda/<name>`.
    pub fn log_group(&self) -> String {
        format!("/aws/lambda/{}", self.name)
    }
}

/// What the caller knows about an invocation beyond its payload.
#[derive(Debug, Clone, Default)]
pub struct InvokeRequest {
    /// The request id; a fresh UUID when absent.
    pub request_id: Option<String>,
    /// The X-Ray trace header.
    pub trace_id: Option<String>,
    /// The client context, as JSON text.
    pub client_context: Option<String>,
    /// The Cognito identity, as JSON text.
    pub identity: Option<String>,
    /// The ARN the caller used, when it differs from the function's own
    /// (for example with a qualifier).
    pub invoked_function_arn: Option<String>,
    /// The deadline set by the caller (Lambda's `Lambda-Runtime-Deadline-Ms`);
    /// when absent, now plus the function's timeout.
    pub deadline: Option<SystemTime>,
    /// The tenant (`X-Amz-Tenant-Id`), for a function with tenant isolation.
    pub tenant_id: Option<String>,
}

/// The environment Lambda gives every function, then the function's own
/// variables (which may override them, as on Lambda).
pub(crate) fn lambda_environment(config: &FunctionConfig) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_FUNCTION_NAME", config.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", config.version.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_LOG_GROUP_NAME", config.log_group()),
        ("AWS_REGION", config.region.clone()),
        ("AWS_DEFAULT_REGION", config.region.clone()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_wasmfn".to_string()),
        ("LAMBDA_TASK_ROOT", "/var/task".to_string()),
        ("TZ", ":UTC".to_string()),
        // How the execution environment was initialized, as Lambda says
        // it: a guest's SnapStart hooks key off `snap-start`.
        (
            "AWS_LAMBDA_INITIALIZATION_TYPE",
            if config.snap_start {
                "snap-start"
            } else {
                "on-demand"
            }
            .to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if config.logging.format == LogFormat::Json {
        // What Lambda's runtimes read to write JSON records themselves.
        env.push(("AWS_LAMBDA_LOG_FORMAT".to_string(), "JSON".to_string()));
        env.push((
            "AWS_LAMBDA_LOG_LEVEL".to_string(),
            config.logging.application_level.as_str().to_string(),
        ));
    }
    if let Some(handler) = &config.handler {
        env.push(("_HANDLER".to_string(), handler.clone()));
    }
    for (k, v) in &config.environment {
        env.retain(|(existing, _)| existing != k);
        env.push((k.clone(), v.clone()));
    }
    env
}
