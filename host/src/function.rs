//! A loaded function: its configuration, its `InstancePre` (everything about
//! instantiation that can be done ahead of time) and its warm instances.
//!
//! [`Function::invoke`] is the one code path every trigger uses: the CLI's
//! one-shot invoke, the local server and the Lambda runtime loop all end here.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use wasmtime::component::{ComponentExportIndex, InstancePre};
use wasmtime::Engine;
use wasmtime_wasi_http::WasiBody;

use crate::bindings;
use crate::cache::LoadStats;
use crate::error::{FunctionError, Throttled};
use crate::files::{FunctionFiles, DEFAULT_TMP_MB};
use crate::instance::{unix_ms, Instance, InstanceState};
use crate::kv::Grants;
use crate::logs::CapturedLogs;
use crate::net::HttpClient;
use crate::outbound::{AllowList, OutboundHooks, DEFAULT_MAX_RESPONSE_BYTES};
use crate::pool::{Pool, PoolConfig, PoolStats, Start};
use crate::report::Report;

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
    /// The cap of each instance's `/tmp`, in MB (`ephemeralStorageSize`).
    pub tmp_mb: u32,
    /// The key-value stores the function may open (`keyValueStores`).
    pub key_value_stores: Vec<StoreGrant>,
}

/// A key-value store granted to a function: its name (what the guest
/// opens) and where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreGrant {
    /// The name the guest passes to `open`.
    pub name: String,
    /// Where the store lives.
    pub backend: crate::kv::StoreBackend,
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
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            pool: PoolConfig::default(),
            allowed_outbound: Arc::default(),
            layers: Vec::new(),
            tmp_mb: DEFAULT_TMP_MB,
            key_value_stores: Vec::new(),
        }
    }

    /// Checks the limits against Lambda's ranges and the engine's ceiling.
    pub fn validate(&self, max_memory_mb: u64) -> Result<(), String> {
        if self.memory_mb < 1 || u64::from(self.memory_mb) > max_memory_mb {
            return Err(format!(
                "memorySize of `{}` is {} MB; it must be between 1 and {max_memory_mb} MB",
                self.name, self.memory_mb
            ));
        }
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(900) {
            return Err(format!(
                "timeout of `{}` is {:?}; it must be between 1 ms and 900 s, as on Lambda",
                self.name, self.timeout
            ));
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
}

/// Everything one invocation produced.
#[derive(Debug)]
pub struct Invocation {
    /// The request id.
    pub request_id: String,
    /// The response payload or the function error.
    pub result: Result<Vec<u8>, FunctionError>,
    /// What the guest printed (during `init` too, on a cold start).
    pub logs: CapturedLogs,
    /// Whether the instance was created for this invocation, a spare, or
    /// warm.
    pub start: Start,
    /// The REPORT figures.
    pub report: Report,
}

impl Invocation {
    /// The guest's output as CloudWatch lines.
    pub fn log_text(&self) -> String {
        self.logs.to_cloudwatch(&self.request_id)
    }
}

/// Where `handle` and `init` live in the component.
#[derive(Debug)]
pub(crate) struct Exports {
    pub handle: ComponentExportIndex,
    pub init: Option<ComponentExportIndex>,
    /// Whether the export signatures have been checked (on the first
    /// instance).
    pub typechecked: std::sync::atomic::AtomicBool,
}

/// A function ready to run.
pub struct Function {
    config: FunctionConfig,
    engine: Engine,
    pre: InstancePre<InstanceState>,
    exports: Exports,
    /// Lambda's variables and the function's own, shared by its instances.
    environment: Arc<[(String, String)]>,
    /// The name, shared with every instance's outbound hooks.
    name: Arc<str>,
    /// Its unqualified ARN and its log group, made once rather than per
    /// invocation.
    arn: String,
    log_group: String,
    /// Instance `/tmp`s and the `/opt` layers, shared with every instance.
    files: Arc<FunctionFiles>,
    /// The key-value stores its instances may open.
    kv: Arc<Grants>,
    /// The connection pool of its outbound HTTP, made on first use.
    outbound_client: Arc<OnceLock<HttpClient<WasiBody>>>,
    load_stats: LoadStats,
    pool: Pool,
}

impl Function {
    pub(crate) fn new(
        config: FunctionConfig,
        files: FunctionFiles,
        kv: Grants,
        engine: Engine,
        pre: InstancePre<InstanceState>,
        exports: Exports,
        load_stats: LoadStats,
    ) -> Self {
        let environment = lambda_environment(&config).into();
        let config_pool = config.pool.clone();
        Function {
            name: config.name.as_str().into(),
            arn: config.arn(),
            log_group: config.log_group(),
            files: Arc::new(files),
            kv: Arc::new(kv),
            outbound_client: Arc::default(),
            config,
            engine,
            pre,
            exports,
            environment,
            load_stats,
            pool: Pool::new(config_pool),
        }
    }

    /// The function's configuration.
    pub fn config(&self) -> &FunctionConfig {
        &self.config
    }

    /// How loading went: cache hit or compile, and how long each took.
    pub fn load_stats(&self) -> &LoadStats {
        &self.load_stats
    }

    /// How many warm instances are idle right now.
    pub fn idle_instances(&self) -> usize {
        self.pool.stats().idle
    }

    /// The pool's counters.
    pub fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Drops warm instances idle past the pool's `idle_timeout`; returns how
    /// many. Servers call this periodically; invocations also skip stale
    /// instances on their own.
    pub fn reap_idle(&self) -> usize {
        self.pool.reap()
    }

    /// Creates spares until the configured number are ready, waiting for
    /// them. Used at start-up, before the first request (on Lambda, inside
    /// the init phase). Returns the first error any instance hit.
    pub async fn prewarm(&self) -> Result<(), FunctionError> {
        let missing = self.pool.claim_spare_slots();
        let mut result = Ok(());
        for _ in 0..missing {
            let (instance, _logs, _took) = self.cold_instance().await;
            match instance {
                Ok(instance) => self.pool.add_spare(Some(instance)),
                Err(e) => {
                    self.pool.add_spare(None);
                    if result.is_ok() {
                        result = Err(e);
                    }
                }
            }
        }
        result
    }

    /// Replaces used spares in the background, off the request path. Without
    /// a tokio runtime (a one-shot CLI invoke) there is nothing to replace
    /// them for, so nothing happens.
    fn refill_spares(self: &Arc<Self>) {
        if self.pool.config().spares == 0 {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let missing = self.pool.claim_spare_slots();
        if missing == 0 {
            return;
        }
        let function = Arc::clone(self);
        runtime.spawn(async move {
            for _ in 0..missing {
                let (instance, _logs, _took) = function.cold_instance().await;
                if let Err(e) = &instance {
                    tracing::warn!(function = %function.config.name, "cannot create a spare instance: {e}");
                }
                function.pool.add_spare(instance.ok());
            }
        });
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn instance_pre(&self) -> &InstancePre<InstanceState> {
        &self.pre
    }

    pub(crate) fn exports(&self) -> &Exports {
        &self.exports
    }

    /// The stores its instances may open.
    pub(crate) fn kv_grants(&self) -> &Arc<Grants> {
        &self.kv
    }

    /// Instance `/tmp`s and the `/opt` layers.
    pub(crate) fn files(&self) -> &Arc<FunctionFiles> {
        &self.files
    }

    /// The hooks that police this function's outbound HTTP.
    pub(crate) fn outbound_hooks(&self) -> OutboundHooks {
        OutboundHooks {
            allow: self.config.allowed_outbound.clone(),
            function: self.name.clone(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            client: self.outbound_client.clone(),
        }
    }

    pub(crate) fn environment(&self) -> &Arc<[(String, String)]> {
        &self.environment
    }

    /// Creates an instance and runs its `init`: a cold start. Returns the
    /// instance (if it survived) and what `init` printed and cost.
    pub async fn cold_instance(&self) -> (Result<Instance, FunctionError>, CapturedLogs, Duration) {
        let start = Instant::now();
        let mut instance = match Instance::new(self).await {
            Ok(instance) => instance,
            Err(e) => return (Err(e), CapturedLogs::default(), start.elapsed()),
        };
        let init = instance.init().await;
        let result = init.result.map(|_| instance);
        (result, init.logs, start.elapsed())
    }

    /// Runs one event on an instance the caller holds, outside the pool: for
    /// benchmarks and tools that manage instances themselves.
    pub async fn invoke_on(
        &self,
        instance: &mut Instance,
        event: &[u8],
    ) -> Result<Vec<u8>, FunctionError> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let request = InvokeRequest::default();
        let log_stream_name = Arc::clone(instance.log_stream_name());
        let ctx = self.context(&request_id, &request, &log_stream_name, self.config.timeout);
        instance
            .invoke(event, ctx, self.config.timeout)
            .await
            .result
    }

    /// Invokes the function once: takes a warm instance (or a spare, or
    /// makes one), runs the event through it, and gives it back to the pool,
    /// which keeps it warm unless it was poisoned or the policy says
    /// otherwise.
    ///
    /// Over the function's reserved concurrency, the invocation is refused
    /// at once with [`Throttled`].
    pub async fn invoke(
        self: &Arc<Self>,
        event: &[u8],
        request: InvokeRequest,
    ) -> Result<Invocation, Throttled> {
        let _admission = self.pool.admit(&self.config.name)?;
        let request_id = request
            .request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let (instance, mut logs, init_duration, start) = match self.pool.take() {
            Some((instance, start)) => {
                if start == Start::Spare {
                    self.refill_spares();
                }
                (Ok(instance), CapturedLogs::default(), None, start)
            }
            None => {
                self.pool.record_cold();
                let (instance, logs, took) = self.cold_instance().await;
                (instance, logs, Some(took), Start::Cold)
            }
        };
        let mut instance = match instance {
            Ok(instance) => instance,
            Err(error) => {
                return Ok(Invocation {
                    request_id,
                    result: Err(error),
                    logs,
                    start,
                    report: self.report(Duration::ZERO, init_duration, 0),
                })
            }
        };
        let timeout = match request.deadline {
            Some(deadline) => deadline
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
            None => self.config.timeout,
        };
        let log_stream_name = Arc::clone(instance.log_stream_name());
        let ctx = self.context(&request_id, &request, &log_stream_name, timeout);
        let call = instance.invoke(event, ctx, timeout).await;
        logs.lines.extend(call.logs.lines);
        logs.dropped_bytes += call.logs.dropped_bytes;
        let report = self.report(
            call.duration,
            init_duration,
            instance.max_memory_used_bytes(),
        );
        self.pool.give_back(instance);
        Ok(Invocation {
            request_id,
            result: call.result,
            logs,
            start,
            report,
        })
    }

    /// The context of one call. Its strings are borrowed: the lowering into
    /// the guest is their only copy.
    fn context<'a>(
        &'a self,
        request_id: &'a str,
        request: &'a InvokeRequest,
        log_stream_name: &'a str,
        timeout: Duration,
    ) -> bindings::CallContext<'a> {
        bindings::CallContext {
            request_id,
            function_name: &self.config.name,
            function_version: &self.config.version,
            invoked_function_arn: request.invoked_function_arn.as_deref().unwrap_or(&self.arn),
            memory_limit_in_mb: self.config.memory_mb,
            deadline_ms: unix_ms(SystemTime::now() + timeout),
            log_group_name: &self.log_group,
            log_stream_name,
            trace_id: request.trace_id.as_deref(),
            client_context: request.client_context.as_deref(),
            identity: request.identity.as_deref(),
        }
    }

    fn report(
        &self,
        duration: Duration,
        init_duration: Option<Duration>,
        max_memory_bytes: usize,
    ) -> Report {
        Report {
            duration,
            init_duration,
            memory_size_mb: self.config.memory_mb,
            max_memory_used_mb: max_memory_bytes.div_ceil(1 << 20) as u64,
        }
    }
}

/// The environment Lambda gives every function, then the function's own
/// variables (which may override them, as on Lambda).
fn lambda_environment(config: &FunctionConfig) -> Vec<(String, String)> {
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
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in &config.environment {
        env.retain(|(existing, _)| existing != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

/// A function shared between tasks.
pub type SharedFunction = Arc<Function>;
