//! Per-instance resource limits: Lambda's `memorySize` as a cap on linear
//! memory, and the bookkeeping behind REPORT's `Max Memory Used`.

/// Caps the total linear memory of one instance and remembers its peak.
///
/// Growth past the cap is *refused* (`memory.grow` returns -1), as a real
/// machine's allocator would fail, rather than trapping on the spot: a guest
/// may handle the failure. Most guests cannot, and abort; the `hit_limit` flag
/// is how the host tells that abort apart from any other trap and reports it
/// as `Runtime.OutOfMemory`.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    current: usize,
    peak: usize,
    hit_limit: bool,
}

/// Tables hold function references; a guest has no honest need for millions.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl MemoryLimiter {
    /// A limiter allowing `limit_bytes` of linear memory in total.
    pub fn new(limit_bytes: usize) -> Self {
        MemoryLimiter {
            limit: limit_bytes,
            current: 0,
            peak: 0,
            hit_limit: false,
        }
    }

    /// The cap, in bytes.
    pub fn limit_bytes(&self) -> usize {
        self.limit
    }

    /// The instance's linear memory now, in bytes.
    pub fn current(&self) -> usize {
        self.current
    }

    /// The most linear memory the instance has ever had, in bytes.
    pub fn peak(&self) -> usize {
        self.peak
    }

    /// Whether a growth was refused since the last [`Self::clear_hit`].
    pub fn hit_limit(&self) -> bool {
        self.hit_limit
    }

    /// Forgets an earlier refusal, at the start of an invocation.
    pub fn clear_hit(&mut self) {
        self.hit_limit = false;
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.current.saturating_sub(current).saturating_add(desired);
        if total > self.limit {
            self.hit_limit = true;
            return Ok(false);
        }
        self.current = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn refuses_growth_past_the_cap_and_remembers_it() {
        let mut l = MemoryLimiter::new(100);
        assert!(l.memory_growing(0, 60, None).unwrap());
        assert!(l.memory_growing(60, 90, None).unwrap());
        assert!(!l.hit_limit());
        assert!(!l.memory_growing(90, 120, None).unwrap());
        assert!(l.hit_limit());
        assert_eq!(l.current(), 90);
        assert_eq!(l.peak(), 90);
        l.clear_hit();
        assert!(!l.hit_limit());
    }

    #[test]
    fn sums_several_memories() {
        let mut l = MemoryLimiter::new(100);
        assert!(l.memory_growing(0, 50, None).unwrap());
        assert!(l.memory_growing(0, 40, None).unwrap());
        assert!(!l.memory_growing(0, 20, None).unwrap());
        assert_eq!(l.peak(), 90);
    }
}
