//! Warm instances of one function.
//!
//! Lambda semantics: an instance serves one invocation at a time and is kept
//! warm afterwards, so its globals, caches and connections persist into the
//! next invocation it serves. An instance whose call trapped, timed out or
//! ran out of memory is never put back; the next invocation gets a new one
//! (and reports an `Init Duration`, as a Lambda cold start does).

use std::sync::Mutex;

use crate::instance::Instance;

/// The idle warm instances of one function, most recently used first.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<Vec<Instance>>,
}

impl Pool {
    /// Takes the most recently used idle instance, whose memory is most
    /// likely still in cache.
    pub fn take(&self) -> Option<Instance> {
        self.lock().pop()
    }

    /// Returns a healthy instance after an invocation.
    pub fn put(&self, instance: Instance) {
        debug_assert!(!instance.is_poisoned());
        self.lock().push(instance);
    }

    /// How many instances are idle.
    pub fn idle(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Instance>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}
