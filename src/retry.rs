//! The one retry policy of each client, in the shape of object_store's `client::retry`: a
//! number of attempts and an exponential backoff (`initial × base^n`, capped, with full jitter).
//!
//! | client | attempts per request | backoff | who retries |
//! |---|---|---|---|
//! | S3 / OSS / MinIO ([`STORE`]) | 6 | 0.5 s doubling to 10 s | the AWS SDK, configured from this policy; upload adds no pass of its own |
//! | CDN API calls ([`CDN`]) | 8 | 0.2 s doubling to 30 s | the CDN engine (`cdn::run`); CloudFront's SDK retries are off |
//!
//! A call that may have reached the server and is not idempotent (Alibaba Cloud's
//! RefreshObjectCaches and PushObjectCache create tasks and use quota) is not retried after a
//! transport error or a server error; only an explicit refusal (throttling) or a connection
//! that never opened is.
//!
//! Jitter comes from a [`Jitter`] source so tests can fix it; sleeping goes through tokio's
//! clock, which tests pause and advance (`tokio::time::pause`).

use std::time::Duration;

/// How often and how patiently one client retries a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// Delay before the second attempt (before jitter).
    pub initial: Duration,
    /// Longest delay between two attempts.
    pub max: Duration,
    /// Growth factor of the delay per attempt.
    pub base: f64,
}

/// Object stores (every S3 request).
pub const STORE: Policy = Policy {
    attempts: 6,
    initial: Duration::from_millis(500),
    max: Duration::from_secs(10),
    base: 2.0,
};

/// CDN provider API calls.
pub const CDN: Policy = Policy {
    attempts: 8,
    initial: Duration::from_millis(200),
    max: Duration::from_secs(30),
    base: 2.0,
};

/// A source of jitter: a number in `[0, 1)` per delay.
pub trait Jitter: Send {
    /// The next number in `[0, 1)`.
    fn next(&mut self) -> f64;
}

/// Jitter from a small xorshift generator seeded from the clock (no crate needed for a number
/// that only spreads retries apart).
#[derive(Debug, Clone)]
pub struct ClockJitter(u64);

impl Default for ClockJitter {
    /// Seeded from the clock; `CDNPUB_DEBUG_JITTER_SEED=N` fixes the seed (the tests' hook, like
    /// `CDNPUB_DEBUG_PANIC`: the delays are then known in advance).
    fn default() -> Self {
        if let Some(seed) = std::env::var("CDNPUB_DEBUG_JITTER_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            return ClockJitter::seeded(seed);
        }
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        ClockJitter::seeded(seed)
    }
}

impl ClockJitter {
    /// Jitter from a given seed: the same seed, the same numbers.
    pub fn seeded(seed: u64) -> Self {
        ClockJitter(seed | 1)
    }
}

impl Jitter for ClockJitter {
    fn next(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The delays of one request's retries under a policy.
pub struct Backoff<J: Jitter = ClockJitter> {
    policy: Policy,
    retries: u32,
    jitter: J,
}

impl Backoff<ClockJitter> {
    /// A backoff with clock-seeded jitter.
    pub fn new(policy: Policy) -> Self {
        Backoff::with_jitter(policy, ClockJitter::default())
    }
}

impl<J: Jitter> Backoff<J> {
    /// A backoff drawing its jitter from `jitter`.
    pub fn with_jitter(policy: Policy, jitter: J) -> Self {
        Backoff {
            policy,
            retries: 0,
            jitter,
        }
    }

    /// The delay before the next attempt, or None when the attempts are used up. Full jitter:
    /// a uniform share of `min(max, initial × base^retries)`, never below a tenth of `initial`
    /// (so retries of one request never bunch up at zero).
    pub fn next_delay(&mut self) -> Option<Duration> {
        if self.retries + 1 >= self.policy.attempts {
            return None;
        }
        let ceiling = self
            .policy
            .initial
            .mul_f64(self.policy.base.powi(self.retries.min(30) as i32))
            .min(self.policy.max);
        self.retries += 1;
        let floor = self.policy.initial / 10;
        Some(ceiling.mul_f64(self.jitter.next()).max(floor))
    }

    /// Retries made so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jitter that always returns the same number.
    struct Fixed(f64);
    impl Jitter for Fixed {
        fn next(&mut self) -> f64 {
            self.0
        }
    }

    #[test]
    fn delays_grow_by_the_base_are_capped_and_stop_after_the_attempts() {
        let p = Policy {
            attempts: 6,
            initial: Duration::from_millis(100),
            max: Duration::from_millis(500),
            base: 2.0,
        };
        let mut b = Backoff::with_jitter(p, Fixed(0.999_999));
        let delays: Vec<u128> = std::iter::from_fn(|| b.next_delay())
            .map(|d| d.as_millis())
            .collect();
        // Five retries for six attempts: 100, 200, 400, then the 500 ms cap.
        assert_eq!(delays, [99, 199, 399, 499, 499]);
        assert_eq!(b.retries(), 5);
        let mut b = Backoff::with_jitter(p, Fixed(0.0));
        assert_eq!(b.next_delay(), Some(Duration::from_millis(10)), "floor");
        let once = Policy { attempts: 1, ..p };
        assert_eq!(Backoff::with_jitter(once, Fixed(0.5)).next_delay(), None);
    }

    #[test]
    fn clock_jitter_stays_in_range_and_varies() {
        let mut j = ClockJitter::default();
        let xs: Vec<f64> = (0..1000).map(|_| j.next()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }

    #[test]
    fn the_documented_policies() {
        // docs/reliability.md's table says these numbers; change both together.
        assert_eq!((STORE.attempts, CDN.attempts), (6, 8));
        let total: Duration = {
            let mut b = Backoff::with_jitter(STORE, Fixed(0.999_999));
            std::iter::from_fn(|| b.next_delay()).sum()
        };
        assert!(total < Duration::from_secs(16), "{total:?}");
    }
}
