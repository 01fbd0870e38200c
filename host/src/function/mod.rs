//! A loaded function: its configuration, its `InstancePre` (everything about
//! instantiation that can be done ahead of time) and its warm instances.
//!
//! [`Function::invoke`] is where every invocation ends: each trigger calls
//! it through the one funnel, `trigger::funnel`, which adds the metrics and
//! the log.
//!
//! May import: `instance`, `bindings`, `capability` and the shapes
//! (`error`, `report`, `aws`); never `engine` or `trigger`.

pub mod config;
pub mod pool;
mod tenants;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime};

pub use self::config::{FunctionConfig, InvokeRequest, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT};
use self::pool::{Pool, PoolStats, Start};
use self::tenants::Tenants;
use crate::bindings;
use crate::capability::files::FunctionFiles;
use crate::capability::http::{OutboundHooks, DEFAULT_MAX_RESPONSE_BYTES};
use crate::capability::kv::Grants;
use crate::error::{FunctionError, Refused, TenantError, ERROR_NO_CAPACITY};
use crate::instance::logs::CapturedLogs;
use crate::instance::response::ResponseSink;
use crate::instance::{unix_ms, Exports, Instance, InstanceState, Template};
use crate::report::Report;

/// Where a loaded component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactSource {
    /// Loaded from a precompiled artifact: no Cranelift ran.
    Cache,
    /// Compiled now (and written to the cache for next time).
    Compiled,
}

/// What loading a component cost.
#[derive(Debug, Clone)]
pub struct LoadStats {
    /// Cache hit or compile.
    pub source: ArtifactSource,
    /// Time spent compiling (zero on a hit).
    pub compile: Duration,
    /// Time spent mapping the artifact.
    pub load: Duration,
    /// The artifact's path.
    pub artifact: PathBuf,
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
    /// The tenant it ran for, under tenant isolation.
    pub tenant_id: Option<String>,
    /// The REPORT figures.
    pub report: Report,
}

impl Invocation {
    /// The guest's output as CloudWatch lines.
    pub fn log_text(&self) -> String {
        self.logs.to_cloudwatch(&self.request_id)
    }
}

/// A function ready to run.
pub struct Function {
    config: FunctionConfig,
    /// What its instances are made from.
    template: Template,
    /// Its unqualified ARN and its log group, made once rather than per
    /// invocation.
    arn: String,
    log_group: String,
    load_stats: LoadStats,
    /// Its instances; under tenant isolation it only admits invocations
    /// (reserved concurrency counts every tenant) and the tenants' own
    /// pools hold the instances.
    pool: Pool,
    tenants: Option<Tenants>,
    /// The functions whose instances share its engine's slots.
    siblings: Arc<Siblings>,
}

/// The functions loaded on one engine, which share its instance slots.
/// When the engine has none left for a new instance, the longest-idle warm
/// instance of any of them makes way: a server of many functions (or of one
/// function's many tenants) never fails a call while idle instances hold
/// the slots it needs.
#[derive(Default)]
pub struct Siblings {
    functions: Mutex<Vec<Weak<Function>>>,
}

impl Siblings {
    /// Counts `function` among them.
    pub(crate) fn add(&self, function: &Arc<Function>) {
        let mut functions = pool::lock(&self.functions);
        functions.retain(|f| f.strong_count() > 0);
        functions.push(Arc::downgrade(function));
    }

    /// Retires the longest-idle warm instance among them; whether there was
    /// one.
    fn evict_oldest(&self) -> bool {
        let functions: Vec<Arc<Function>> = pool::lock(&self.functions)
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        let oldest = functions
            .iter()
            .filter_map(|f| f.oldest_idle().map(|since| (since, f)))
            .min_by_key(|(since, _)| *since);
        oldest.is_some_and(|(_, f)| f.evict_oldest())
    }
}

impl Function {
    /// A function of `config` whose instances are made from the compiled
    /// component `pre` (on `engine`), with its files and granted stores.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: FunctionConfig,
        files: FunctionFiles,
        kv: Grants,
        engine: wasmtime::Engine,
        pre: wasmtime::component::InstancePre<InstanceState>,
        exports: Exports,
        load_stats: LoadStats,
        siblings: Arc<Siblings>,
    ) -> Self {
        let template = Template {
            engine,
            pre,
            exports,
            environment: config::lambda_environment(&config).into(),
            files: Arc::new(files),
            kv: Arc::new(kv),
            outbound: OutboundHooks {
                allow: config.allowed_outbound.clone(),
                function: config.name.as_str().into(),
                max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
                // The connection pool of its outbound HTTP, made on first use
                // and shared by its instances.
                client: Arc::new(OnceLock::new()),
            },
            memory_mb: config.memory_mb,
            version: config.version.clone(),
        };
        Function {
            arn: config.arn(),
            log_group: config.log_group(),
            pool: Pool::new(config.pool.clone()),
            tenants: config.tenant_isolation.then(|| Tenants::new(&config.pool)),
            siblings,
            config,
            template,
            load_stats,
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
        self.pool_stats().idle
    }

    /// The pool's counters (with tenant isolation, summed over tenants).
    pub fn pool_stats(&self) -> PoolStats {
        let mut stats = self.pool.stats();
        if let Some(tenants) = &self.tenants {
            stats.add(&tenants.stats());
        }
        stats
    }

    /// How many tenants have instances or invocations now (zero without
    /// tenant isolation).
    pub fn tenants(&self) -> usize {
        self.tenants.as_ref().map_or(0, Tenants::len)
    }

    /// Drops warm instances idle past the pool's `idle_timeout`; returns how
    /// many. Servers call this periodically; invocations also skip stale
    /// instances on their own.
    pub fn reap_idle(&self) -> usize {
        self.pool.reap() + self.tenants.as_ref().map_or(0, Tenants::reap)
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

    /// Makes a new instance without running its `init`.
    pub async fn instantiate(&self) -> Result<Instance, FunctionError> {
        Instance::new(&self.template).await
    }

    /// Creates an instance and runs its `init`: a cold start. Returns the
    /// instance (if it survived) and what `init` printed and cost.
    pub async fn cold_instance(&self) -> (Result<Instance, FunctionError>, CapturedLogs, Duration) {
        let start = Instant::now();
        let mut instance = match self.instantiate().await {
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
    /// at once with [`Refused::Throttled`]; a tenant id that does not fit
    /// the function's tenant isolation, with [`Refused::Tenant`].
    pub async fn invoke(
        self: &Arc<Self>,
        event: &[u8],
        request: InvokeRequest,
    ) -> Result<Invocation, Refused> {
        self.run(event, request, None).await
    }

    /// Invokes the function with its response streamed to `sink`, chunk by
    /// chunk as the guest writes it (see [`Instance::invoke_streamed`]).
    /// The invocation's payload is empty; its error, if any, is what ended
    /// the stream.
    pub async fn invoke_streamed(
        self: &Arc<Self>,
        event: &[u8],
        request: InvokeRequest,
        sink: ResponseSink,
    ) -> Result<Invocation, Refused> {
        self.run(event, request, Some(sink)).await
    }

    /// Whether an invocation for `tenant` (`X-Amz-Tenant-Id`) fits the
    /// function: named under tenant isolation, absent otherwise.
    pub fn check_tenant(&self, tenant: Option<&str>) -> Result<(), TenantError> {
        match (self.tenants.is_some(), tenant) {
            (true, Some(tenant)) => TenantError::check_id(tenant),
            (false, None) => Ok(()),
            (isolated, _) => Err(TenantError::Mismatch { isolated }),
        }
    }

    /// The pool an invocation for `tenant` takes its instance from: the
    /// tenant's own under tenant isolation.
    fn pool_for(&self, tenant: Option<&str>) -> Result<Option<Arc<Pool>>, TenantError> {
        self.check_tenant(tenant)?;
        Ok(self
            .tenants
            .as_ref()
            .zip(tenant)
            .map(|(tenants, tenant)| tenants.pool(tenant)))
    }

    async fn run(
        self: &Arc<Self>,
        event: &[u8],
        request: InvokeRequest,
        sink: Option<ResponseSink>,
    ) -> Result<Invocation, Refused> {
        let tenant_pool = self.pool_for(request.tenant_id.as_deref())?;
        let _admission = self.pool.admit(&self.config.name)?;
        let pool = tenant_pool.as_deref().unwrap_or(&self.pool);
        let request_id = request
            .request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let (instance, mut logs, init_duration, start) = match pool.take() {
            Some((instance, start)) => {
                if start == Start::Spare {
                    self.refill_spares();
                }
                (Ok(instance), CapturedLogs::default(), None, start)
            }
            None => {
                pool.record_cold();
                let (instance, logs, took) = self.cold_instance_evicting().await;
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
                    tenant_id: request.tenant_id,
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
        let call = match sink {
            Some(sink) => instance.invoke_streamed(event, ctx, timeout, sink).await,
            None => instance.invoke(event, ctx, timeout).await,
        };
        logs.lines.extend(call.logs.lines);
        logs.dropped_bytes += call.logs.dropped_bytes;
        let report = self.report(
            call.duration,
            init_duration,
            instance.max_memory_used_bytes(),
        );
        pool.give_back(instance);
        Ok(Invocation {
            request_id,
            result: call.result,
            logs,
            start,
            tenant_id: request.tenant_id,
            report,
        })
    }

    /// A cold instance. When the engine has no slot left, the longest-idle
    /// instance on it makes way (as many as it takes, while there are idle
    /// ones: a slot may be taken again by a concurrent call).
    async fn cold_instance_evicting(
        &self,
    ) -> (Result<Instance, FunctionError>, CapturedLogs, Duration) {
        loop {
            let cold = self.cold_instance().await;
            let out_of_slots = matches!(&cold.0, Err(e) if e.error_type == ERROR_NO_CAPACITY);
            if !(out_of_slots && self.siblings.evict_oldest()) {
                return cold;
            }
        }
    }

    /// When its longest-idle warm instance went idle.
    fn oldest_idle(&self) -> Option<std::time::Instant> {
        let tenants = self.tenants.as_ref().and_then(Tenants::oldest_idle);
        self.pool.oldest_idle().into_iter().chain(tenants).min()
    }

    /// Retires its longest-idle warm instance; whether there was one.
    fn evict_oldest(&self) -> bool {
        let own = self.pool.oldest_idle();
        match (
            &self.tenants,
            self.tenants.as_ref().and_then(Tenants::oldest_idle),
        ) {
            (Some(tenants), Some(tenant)) if own.is_none_or(|own| tenant < own) => {
                tenants.evict_oldest()
            }
            _ => self.pool.evict_oldest(),
        }
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
            tenant_id: request.tenant_id.as_deref(),
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
            restored: self.config.snap_start,
            memory_size_mb: self.config.memory_mb,
            max_memory_used_mb: max_memory_bytes.div_ceil(1 << 20) as u64,
        }
    }
}
