//! Reconnect backoff: exponential with full jitter, capped, reset after a successful
//! `welcome`.
//!
//! The n-th consecutive failed attempt waits a uniform random time in
//! `0..=min(cap, base * 2^n)`. Full jitter spreads a reconnect storm (every visitor of a node
//! that restarted) evenly over the window instead of in synchronised waves.

use crate::rng::Rng;

#[derive(Clone, Debug)]
pub struct Backoff {
    base_ms: u64,
    cap_ms: u64,
    failures: u32,
}

impl Backoff {
    pub fn new(base_ms: u64, cap_ms: u64) -> Self {
        Self {
            base_ms,
            cap_ms: cap_ms.max(base_ms),
            failures: 0,
        }
    }

    /// The ceiling of the next delay, before jitter.
    pub fn ceiling_ms(&self) -> u64 {
        let factor = 1u64 << self.failures.min(32);
        self.base_ms.saturating_mul(factor).min(self.cap_ms)
    }

    /// How long to wait before the next attempt; counts one more failure.
    pub fn next_delay_ms(&mut self, rng: &mut Rng) -> u64 {
        let delay = rng.up_to(self.ceiling_ms());
        self.failures = self.failures.saturating_add(1);
        delay
    }

    /// Consecutive failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_reset() {
        let mut backoff = Backoff::new(100, 1000);
        let mut rng = Rng::new(3);
        let ceilings: Vec<u64> = (0..6)
            .map(|_| {
                let ceiling = backoff.ceiling_ms();
                assert!(backoff.next_delay_ms(&mut rng) <= ceiling);
                ceiling
            })
            .collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        for _ in 0..100 {
            backoff.next_delay_ms(&mut rng);
        }
        assert_eq!(backoff.ceiling_ms(), 1000);
        backoff.reset();
        assert_eq!(backoff.ceiling_ms(), 100);
    }

    #[test]
    fn jitter_spreads_delays() {
        let mut rng = Rng::new(9);
        let delays: std::collections::BTreeSet<u64> = (0..50)
            .map(|_| Backoff::new(1000, 1000).next_delay_ms(&mut rng))
            .collect();
        assert!(delays.len() > 40, "{delays:?}");
    }
}
