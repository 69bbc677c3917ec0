//! Retries berth runs itself, for calls the SDK must not repeat blindly
//! because a repeat after a lost answer would make a second object (moto,
//! and any API that ignores idempotency tokens): between attempts the
//! caller looks for what the lost call made.
//!
//! Guarantees: at most as many attempts as the client's retry config
//! allows (the provider's `max_retries` + 1); between them a full-jitter
//! exponential backoff from the config's initial backoff (1 s by default,
//! like the SDK's standard mode) up to its maximum (20 s).

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use aws_config::retry::RetryConfig;

/// How often and how patiently to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Attempts in all, including the first.
    pub(crate) attempts: u32,
    initial: Duration,
    max: Duration,
}

impl Policy {
    /// The policy of a client's retry config (one attempt without one).
    pub(crate) fn of(cfg: Option<&RetryConfig>) -> Policy {
        match cfg {
            Some(c) => Policy {
                attempts: c.max_attempts().max(1),
                initial: c.initial_backoff(),
                max: c.max_backoff(),
            },
            None => Policy {
                attempts: 1,
                initial: Duration::from_secs(1),
                max: Duration::from_secs(20),
            },
        }
    }

    /// The pause after failed attempt `attempt` (from 1), for a `random`
    /// number in [0, 1): uniformly up to `initial × 2^(attempt-1)`, capped.
    pub(crate) fn delay(&self, attempt: u32, random: f64) -> Duration {
        let ceiling = self
            .initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max);
        ceiling.mul_f64(random.clamp(0.0, 1.0))
    }

    /// Sleeps the jittered pause after failed attempt `attempt`.
    pub(crate) async fn pause(&self, attempt: u32) {
        tokio::time::sleep(self.delay(attempt, jitter())).await;
    }
}

/// The SDK's own retries off, for a call this module retries.
pub(crate) fn sdk_retries_off() -> RetryConfig {
    RetryConfig::disabled()
}

/// A random number in [0, 1) (from the std hasher's random keys).
fn jitter() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_follows_the_client_config() {
        let cfg = RetryConfig::standard()
            .with_max_attempts(4)
            .with_initial_backoff(Duration::from_millis(100));
        let p = Policy::of(Some(&cfg));
        assert_eq!(p.attempts, 4);
        assert_eq!(
            p.delay(1, 0.999_999),
            Duration::from_millis(100).mul_f64(0.999_999)
        );
        assert_eq!(p.delay(3, 0.5), Duration::from_millis(200));
        assert_eq!(p.delay(30, 1.0), Duration::from_secs(20), "capped");
        assert_eq!(p.delay(2, 0.0), Duration::ZERO);
        assert_eq!(Policy::of(None).attempts, 1);
        assert_eq!(Policy::of(Some(&sdk_retries_off())).attempts, 1);
    }

    #[test]
    fn jitter_is_in_range_and_varies() {
        let draws: Vec<f64> = (0..64).map(|_| jitter()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        assert!(draws.iter().any(|d| *d != draws[0]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_never_outlasts_its_ceiling() {
        let p = Policy::of(Some(&RetryConfig::standard().with_max_attempts(3)));
        let t = tokio::time::Instant::now();
        p.pause(2).await;
        assert!(t.elapsed() <= Duration::from_secs(2), "{:?}", t.elapsed());
    }
}
