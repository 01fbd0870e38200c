//! The instances of one function, and the policy that decides which
//! instance serves an invocation and what becomes of it afterwards.
//!
//! # Semantics
//!
//! * **An instance serves one invocation at a time.** Concurrent invocations
//!   of a function get different instances, as concurrent Lambda invocations
//!   get different execution environments.
//! * **Reuse** (the default, Lambda's semantics): after an invocation the
//!   instance is kept warm, and the next invocation may get it, with its
//!   globals, caches and connections as the last one left them. Warm
//!   instances are handed out most-recently-used first, whose memory is most
//!   likely still in cache. An instance is retired when it has served
//!   `max_invocations`, or has sat idle longer than `idle_timeout`, and at
//!   once if its invocation trapped, timed out, ran out of memory or exited:
//!   a guest in an unknown state is never reused.
//! * **Fresh**: every invocation gets an instance nobody has used, and the
//!   instance is dropped afterwards. Globals never carry over.
//! * **Spares** (like provisioned concurrency): `spares` instances are kept
//!   instantiated with `init` already run. An invocation that finds no warm
//!   instance (every fresh-policy invocation, and every scale-up under
//!   reuse) takes a spare instead of instantiating inline, and a background
//!   task replaces it. Its REPORT has no `Init Duration`, as with
//!   provisioned concurrency: the init happened before the request.
//! * **Reserved concurrency**: at most `reserved_concurrency` invocations of
//!   the function run at once. One more is refused at once with
//!   [`Throttled`] (Lambda's `TooManyRequestsException`), never queued.
//!
//! State can go stale: a warm instance's globals are whatever the last
//! invocation left, exactly as on Lambda. Functions that must not share
//! anything between invocations use the fresh policy.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::Throttled;
use crate::instance::Instance;

/// What happens to an instance after an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Keep it warm for the next invocation (Lambda's semantics).
    #[default]
    Reuse,
    /// Drop it: every invocation gets a never-used instance.
    Fresh,
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "reuse" => Ok(Policy::Reuse),
            "fresh" => Ok(Policy::Fresh),
            other => Err(format!(
                "unknown pool policy `{other}`; use `reuse` or `fresh`"
            )),
        }
    }
}

/// How a function's instances are pooled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Reuse or fresh.
    pub policy: Policy,
    /// Retire a warm instance after it has served this many invocations.
    pub max_invocations: Option<u64>,
    /// Retire a warm instance idle for longer than this.
    pub idle_timeout: Option<Duration>,
    /// Pre-warmed, never-used instances to keep ready.
    pub spares: usize,
    /// The most invocations in flight at once (Lambda's reserved
    /// concurrency); `None` for no limit beyond the engine's.
    pub reserved_concurrency: Option<u32>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            policy: Policy::Reuse,
            max_invocations: None,
            // Lambda keeps an idle execution environment for minutes, not
            // hours; fifteen minutes is the commonly observed upper end.
            idle_timeout: Some(Duration::from_secs(15 * 60)),
            spares: 0,
            reserved_concurrency: None,
        }
    }
}

/// How an invocation got its instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Created for this invocation: a cold start (`Init Duration` reported).
    Cold,
    /// A pre-warmed spare, used for the first time.
    Spare,
    /// A warm instance that served earlier invocations.
    Warm,
}

/// Counters of a pool's life, for metrics and tests. For a function with
/// tenant isolation, the sums over its tenants' pools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Invocations that created their instance.
    pub cold_starts: u64,
    /// Invocations served by a spare.
    pub spare_starts: u64,
    /// Invocations served by a warm instance.
    pub warm_starts: u64,
    /// Instances retired (poisoned, fresh policy, limits, idle).
    pub retired: u64,
    /// Invocations refused over the concurrency limit.
    pub throttled: u64,
    /// Warm instances idle now.
    pub idle: usize,
    /// Spares ready now.
    pub spares: usize,
}

impl PoolStats {
    /// Adds `other`'s counts to these.
    pub(crate) fn add(&mut self, other: &PoolStats) {
        self.cold_starts += other.cold_starts;
        self.spare_starts += other.spare_starts;
        self.warm_starts += other.warm_starts;
        self.retired += other.retired;
        self.throttled += other.throttled;
        self.idle += other.idle;
        self.spares += other.spares;
    }
}

struct Idle {
    instance: Instance,
    since: Instant,
}

/// The pool of one function.
pub(crate) struct Pool {
    config: PoolConfig,
    idle: Mutex<Vec<Idle>>,
    spares: Mutex<Vec<Instance>>,
    /// Spares being created right now, so that refills do not overshoot.
    filling: AtomicUsize,
    permits: Option<Arc<Semaphore>>,
    cold_starts: AtomicU64,
    spare_starts: AtomicU64,
    warm_starts: AtomicU64,
    retired: AtomicU64,
    throttled: AtomicU64,
}

/// Held for the length of one invocation under a concurrency limit.
pub(crate) struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Pool {
    pub(crate) fn new(config: PoolConfig) -> Self {
        let permits = config
            .reserved_concurrency
            .map(|n| Arc::new(Semaphore::new(n as usize)));
        Pool {
            config,
            idle: Mutex::default(),
            spares: Mutex::default(),
            filling: AtomicUsize::new(0),
            permits,
            cold_starts: AtomicU64::new(0),
            spare_starts: AtomicU64::new(0),
            warm_starts: AtomicU64::new(0),
            retired: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }

    pub(crate) fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Admits one invocation, or refuses it over the concurrency limit.
    pub(crate) fn admit(&self, function: &str) -> Result<Admission, Throttled> {
        let Some(permits) = &self.permits else {
            return Ok(Admission { _permit: None });
        };
        match permits.clone().try_acquire_owned() {
            Ok(permit) => Ok(Admission {
                _permit: Some(permit),
            }),
            Err(_) => {
                self.throttled.fetch_add(1, Ordering::Relaxed);
                Err(Throttled {
                    function: function.to_string(),
                    limit: self.config.reserved_concurrency.unwrap_or(0),
                })
            }
        }
    }

    /// A ready instance: warm (reuse policy only), else a spare. `None`
    /// means the caller must create one.
    pub(crate) fn take(&self) -> Option<(Instance, Start)> {
        if self.config.policy == Policy::Reuse {
            if let Some(instance) = self.take_warm() {
                self.warm_starts.fetch_add(1, Ordering::Relaxed);
                return Some((instance, Start::Warm));
            }
        }
        let spare = lock(&self.spares).pop()?;
        self.spare_starts.fetch_add(1, Ordering::Relaxed);
        Some((spare, Start::Spare))
    }

    fn take_warm(&self) -> Option<Instance> {
        let mut idle = lock(&self.idle);
        let entry = idle.pop()?;
        if self.expired(&entry) {
            // The most recently used instance has expired, so everything
            // below it, older still, has too.
            let stale = idle.len() + 1;
            idle.clear();
            self.retired.fetch_add(stale as u64, Ordering::Relaxed);
            return None;
        }
        Some(entry.instance)
    }

    fn expired(&self, entry: &Idle) -> bool {
        self.config
            .idle_timeout
            .is_some_and(|t| entry.since.elapsed() > t)
    }

    /// Counts a cold start.
    pub(crate) fn record_cold(&self) {
        self.cold_starts.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes an instance back after an invocation: kept warm if the policy
    /// and its health allow, dropped otherwise.
    pub(crate) fn give_back(&self, instance: Instance) {
        let keep = self.config.policy == Policy::Reuse
            && !instance.is_poisoned()
            && self
                .config
                .max_invocations
                .is_none_or(|max| instance.invocations() < max);
        if keep {
            lock(&self.idle).push(Idle {
                instance,
                since: Instant::now(),
            });
        } else {
            self.retired.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// When the longest-idle warm instance went idle, if there is one.
    pub(crate) fn oldest_idle(&self) -> Option<Instant> {
        lock(&self.idle).first().map(|entry| entry.since)
    }

    /// Retires the longest-idle warm instance, to free its slot for an
    /// instance someone is waiting for. Whether there was one.
    pub(crate) fn evict_oldest(&self) -> bool {
        let mut idle = lock(&self.idle);
        if idle.is_empty() {
            return false;
        }
        idle.remove(0);
        self.retired.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Drops warm instances idle past `idle_timeout`. Returns how many.
    pub(crate) fn reap(&self) -> usize {
        let mut idle = lock(&self.idle);
        let before = idle.len();
        idle.retain(|entry| !self.expired(entry));
        let reaped = before - idle.len();
        self.retired.fetch_add(reaped as u64, Ordering::Relaxed);
        reaped
    }

    /// How many spares to create now to get back to the configured number;
    /// the caller must create them and hand them to [`Self::add_spare`].
    pub(crate) fn claim_spare_slots(&self) -> usize {
        let want = self.config.spares;
        let have = lock(&self.spares).len() + self.filling.load(Ordering::SeqCst);
        let missing = want.saturating_sub(have);
        self.filling.fetch_add(missing, Ordering::SeqCst);
        missing
    }

    /// Stores a newly created spare (or gives up its slot when `None`).
    pub(crate) fn add_spare(&self, instance: Option<Instance>) {
        if let Some(instance) = instance {
            lock(&self.spares).push(instance);
        }
        self.filling.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn stats(&self) -> PoolStats {
        PoolStats {
            cold_starts: self.cold_starts.load(Ordering::Relaxed),
            spare_starts: self.spare_starts.load(Ordering::Relaxed),
            warm_starts: self.warm_starts.load(Ordering::Relaxed),
            retired: self.retired.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            idle: lock(&self.idle).len(),
            spares: lock(&self.spares).len(),
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock means a panic elsewhere mid-push or mid-pop; the
    // vector itself is still sound.
    m.lock().unwrap_or_else(|p| p.into_inner())
}
