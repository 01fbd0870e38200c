//! Tenant isolation (Lambda's `TenantIsolationMode: PER_TENANT`): one pool
//! of instances per tenant, so that an instance, its globals and its `/tmp`
//! only ever see one tenant's invocations.
//!
//! On Lambda each tenant costs an execution environment, a microVM; here it
//! costs an instance. The function's reserved concurrency still counts
//! every tenant's invocations together (the function's own pool admits
//! them), and idle tenants' instances are reaped like any other, their
//! pools with them. When the engine has no slot left for a new tenant's
//! instance, the longest-idle instance on the engine makes way
//! ([`super::Siblings`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::pool::{lock, Pool, PoolConfig, PoolStats};

/// The tenants' pools of one function.
pub(crate) struct Tenants {
    /// What each tenant's pool is: the function's pool settings, less the
    /// reserved concurrency (admitted function-wide) and spares (which
    /// tenant isolation does not allow).
    config: PoolConfig,
    pools: Mutex<HashMap<Arc<str>, Arc<Pool>>>,
}

impl Tenants {
    pub(crate) fn new(function: &PoolConfig) -> Self {
        Tenants {
            config: PoolConfig {
                reserved_concurrency: None,
                spares: 0,
                ..function.clone()
            },
            pools: Mutex::default(),
        }
    }

    /// The pool of `tenant`, made on its first invocation.
    pub(crate) fn pool(&self, tenant: &str) -> Arc<Pool> {
        let mut pools = lock(&self.pools);
        if let Some(pool) = pools.get(tenant) {
            return Arc::clone(pool);
        }
        let pool = Arc::new(Pool::new(self.config.clone()));
        pools.insert(tenant.into(), Arc::clone(&pool));
        pool
    }

    /// How many tenants have a pool now.
    pub(crate) fn len(&self) -> usize {
        lock(&self.pools).len()
    }

    /// Reaps every tenant's idle instances, and forgets the pools of
    /// tenants with no instance left and no invocation running. Returns how
    /// many instances were retired.
    pub(crate) fn reap(&self) -> usize {
        let mut pools = lock(&self.pools);
        let mut reaped = 0;
        pools.retain(|_, pool| {
            reaped += pool.reap();
            // Held elsewhere: an invocation will give an instance back to it.
            Arc::strong_count(pool) > 1 || pool.stats().idle > 0
        });
        reaped
    }

    /// When the longest-idle instance of any tenant went idle.
    pub(crate) fn oldest_idle(&self) -> Option<Instant> {
        lock(&self.pools)
            .values()
            .filter_map(|pool| pool.oldest_idle())
            .min()
    }

    /// Retires the longest-idle instance of any tenant. Whether there was
    /// one.
    pub(crate) fn evict_oldest(&self) -> bool {
        let pools = lock(&self.pools);
        let oldest = pools
            .values()
            .filter_map(|pool| pool.oldest_idle().map(|since| (since, pool)))
            .min_by_key(|(since, _)| *since);
        oldest.is_some_and(|(_, pool)| pool.evict_oldest())
    }

    /// The sums of the tenants' counters.
    pub(crate) fn stats(&self) -> PoolStats {
        let mut stats = PoolStats::default();
        for pool in lock(&self.pools).values() {
            stats.add(&pool.stats());
        }
        stats
    }
}
