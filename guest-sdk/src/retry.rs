//! Retries with exponential backoff and full jitter.
//!
//! Only errors marked retryable ([`Error::with_retryable`]) are retried: a
//! validation error will fail the same way every time, a throttled call
//! may not. Each wait is drawn uniformly from zero to
//! `min(max_delay, base * 2^attempt)` ("full jitter"), which spreads out the
//! callers that failed together. With a [`Context`], a wait that would
//! outlast the invocation's remaining time is not started: the last error
//! is returned while there is still time to report it.
//!
//! ```
//! use std::time::Duration;
//! use wasmfn_guest::retry::{retry, Backoff};
//! use wasmfn_guest::Error;
//!
//! let backoff = Backoff { base: Duration::from_millis(1), ..Backoff::default() };
//! let mut calls = 0;
//! let value = retry(&backoff, None, |_attempt| {
//!     calls += 1;
//!     if calls < 3 {
//!         Err(Error::new("Throttled", "slow down").with_retryable(true))
//!     } else {
//!         Ok(42)
//!     }
//! });
//! assert_eq!((value.unwrap(), calls), (42, 3));
//! ```

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::{Context, Error};

/// How many times to try and how long to wait in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The cap of the first wait; it doubles per attempt.
    pub base: Duration,
    /// The cap of any one wait.
    pub max_delay: Duration,
    /// Time to leave for reporting when a [`Context`] is given.
    pub deadline_margin: Duration,
}

impl Default for Backoff {
    /// 3 attempts, waits up to 100 ms, 200 ms, capped at 5 s.
    fn default() -> Self {
        Backoff {
            max_attempts: 3,
            base: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            deadline_margin: Duration::from_millis(50),
        }
    }
}

impl Backoff {
    /// The cap of the wait after failed attempt `attempt` (0-based).
    pub fn cap(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max_delay)
    }

    /// The wait after failed attempt `attempt`, for a random `unit` in
    /// `[0, 1)`: full jitter.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        self.cap(attempt).mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// Calls `op` (with the 0-based attempt number) until it succeeds, fails
/// with an error that is not retryable, runs out of attempts, or (given
/// `ctx`) would run out of time. Returns the last result.
pub fn retry<T>(
    backoff: &Backoff,
    ctx: Option<&Context>,
    mut op: impl FnMut(u32) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut attempt = 0;
    loop {
        let error = match op(attempt) {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        if !error.is_retryable() || attempt + 1 >= backoff.max_attempts.max(1) {
            return Err(error);
        }
        let wait = backoff.delay(attempt, random_unit());
        if let Some(ctx) = ctx {
            if ctx.remaining_time() < wait + backoff.deadline_margin {
                log::warn!("not retrying: {wait:?} of backoff would pass the deadline");
                return Err(error);
            }
        }
        log::debug!(
            "attempt {} failed ({error}); retrying in {wait:?}",
            attempt + 1
        );
        std::thread::sleep(wait);
        attempt += 1;
    }
}

/// A random number in `[0, 1)`. Jitter needs no cryptographic quality;
/// std's randomly seeded hasher (seeded from `wasi:random` on wasm) gives
/// one without another dependency.
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u8(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            ..Backoff::default()
        };
        let caps: Vec<u128> = (0..4).map(|a| b.cap(a).as_millis()).collect();
        assert_eq!(caps, [100, 200, 350, 350]);
        assert_eq!(b.delay(1, 0.5), Duration::from_millis(100));
        assert_eq!(b.cap(200), Duration::from_millis(350));
    }

    #[test]
    fn errors_that_are_not_retryable_are_not_retried() {
        let mut calls = 0;
        let result: Result<(), Error> = retry(&Backoff::default(), None, |_| {
            calls += 1;
            Err(Error::msg("invalid input"))
        });
        assert!(result.is_err());
        assert_eq!(calls, 1);
    }

    #[test]
    fn attempts_are_bounded() {
        let backoff = Backoff {
            base: Duration::from_micros(10),
            max_attempts: 4,
            ..Backoff::default()
        };
        let mut calls = 0;
        let _ = retry(&backoff, None, |_| -> Result<(), Error> {
            calls += 1;
            Err(Error::msg("busy").with_retryable(true))
        });
        assert_eq!(calls, 4);
    }

    #[test]
    fn jitter_is_spread() {
        let draws: Vec<f64> = (0..64).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        assert!(draws.iter().any(|u| *u < 0.5) && draws.iter().any(|u| *u >= 0.5));
    }

    #[test]
    fn no_wait_past_the_deadline() {
        let mut ctx = Context::for_test("t");
        ctx.deadline_ms = 0; // already past
        let backoff = Backoff {
            base: Duration::from_secs(1),
            max_attempts: 5,
            ..Backoff::default()
        };
        let mut calls = 0;
        let _ = retry(&backoff, Some(&ctx), |_| -> Result<(), Error> {
            calls += 1;
            Err(Error::msg("busy").with_retryable(true))
        });
        assert_eq!(calls, 1);
    }
}
