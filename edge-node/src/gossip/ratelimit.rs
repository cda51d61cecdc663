//! Per-peer token buckets on what query answers cost us: messages and bytes per second. A peer
//! asking faster than its budget waits (its answers are paced); a query that would wait longer
//! than [`RateLimits::max_wait`] is refused with a warning instead.

use std::time::Duration;

use tokio::time::Instant;

/// Budgets for one peer's query answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    pub messages_per_sec: f64,
    pub message_burst: f64,
    pub bytes_per_sec: f64,
    pub byte_burst: f64,
    /// The longest a query answer may be paced before the query is refused.
    pub max_wait: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            messages_per_sec: 2_000.0,
            message_burst: 20_000.0,
            bytes_per_sec: 1_000_000.0,
            byte_burst: 8_000_000.0,
            max_wait: Duration::from_secs(120),
        }
    }
}

/// A token bucket refilled continuously; time is passed in so tests drive it.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    refill_per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(capacity: f64, refill_per_sec: f64, now: Instant) -> Self {
        TokenBucket {
            capacity,
            refill_per_sec,
            tokens: capacity,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        self.last = now;
    }

    /// Takes `cost` tokens, going into debt if needed; returns how long until the debt is paid
    /// (zero when there were enough tokens). Debt makes later callers wait their turn.
    pub fn take(&mut self, cost: f64, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= cost;
        if self.tokens >= 0.0 || self.refill_per_sec <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(-self.tokens / self.refill_per_sec)
    }

    /// How long taking `cost` now would make the caller wait, without taking it.
    pub fn wait_for(&mut self, cost: f64, now: Instant) -> Duration {
        self.refill(now);
        let deficit = cost - self.tokens;
        if deficit <= 0.0 || self.refill_per_sec <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(deficit / self.refill_per_sec)
    }

    pub fn tokens(&self) -> f64 {
        self.tokens
    }
}

/// A query refused because answering it would exceed the peer's budget for too long.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("gossip query rate limit: answer would wait {wait:?}, more than {max_wait:?}")]
pub struct RateLimited {
    pub wait: Duration,
    pub max_wait: Duration,
}

/// One peer's budgets.
#[derive(Debug, Clone)]
pub struct PeerRateLimiter {
    limits: RateLimits,
    messages: TokenBucket,
    bytes: TokenBucket,
}

impl PeerRateLimiter {
    pub fn new(limits: RateLimits, now: Instant) -> Self {
        PeerRateLimiter {
            limits,
            messages: TokenBucket::new(limits.message_burst, limits.messages_per_sec, now),
            bytes: TokenBucket::new(limits.byte_burst, limits.bytes_per_sec, now),
        }
    }

    /// Charges an answer of `messages` messages totalling `bytes` bytes. `Ok(wait)`: send it
    /// after `wait`; `Err`: refuse the query (nothing is charged).
    pub fn charge(
        &mut self,
        messages: usize,
        bytes: usize,
        now: Instant,
    ) -> Result<Duration, RateLimited> {
        let (messages, bytes) = (messages as f64, bytes as f64);
        let wait = self
            .messages
            .wait_for(messages, now)
            .max(self.bytes.wait_for(bytes, now));
        if wait > self.limits.max_wait {
            return Err(RateLimited {
                wait,
                max_wait: self.limits.max_wait,
            });
        }
        let wait_messages = self.messages.take(messages, now);
        let wait_bytes = self.bytes.take(bytes, now);
        Ok(wait_messages.max(wait_bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RateLimits {
        RateLimits {
            messages_per_sec: 10.0,
            message_burst: 100.0,
            bytes_per_sec: 1_000.0,
            byte_burst: 10_000.0,
            max_wait: Duration::from_secs(5),
        }
    }

    #[test]
    fn burst_is_free_then_answers_are_paced_by_the_refill_rate() {
        let start = Instant::now();
        let mut limiter = PeerRateLimiter::new(limits(), start);
        assert_eq!(limiter.charge(100, 100, start), Ok(Duration::ZERO));
        // 20 more messages at 10/s: two seconds of debt.
        let wait = limiter.charge(20, 100, start).unwrap();
        assert!((wait.as_secs_f64() - 2.0).abs() < 1e-6, "{wait:?}");
        // After those two seconds the bucket is level again.
        let later = start + Duration::from_secs(2);
        assert_eq!(limiter.charge(0, 0, later), Ok(Duration::ZERO));
    }

    #[test]
    fn byte_budget_binds_when_messages_are_large() {
        let start = Instant::now();
        let mut limiter = PeerRateLimiter::new(limits(), start);
        let wait = limiter.charge(1, 12_000, start).unwrap();
        assert!((wait.as_secs_f64() - 2.0).abs() < 1e-6, "{wait:?}");
    }

    #[test]
    fn a_query_needing_more_than_max_wait_is_refused_and_not_charged() {
        let start = Instant::now();
        let mut limiter = PeerRateLimiter::new(limits(), start);
        let refused = limiter.charge(200, 0, start).unwrap_err();
        assert!(refused.wait > refused.max_wait);
        // Nothing was charged: the full burst is still there.
        assert_eq!(limiter.charge(100, 0, start), Ok(Duration::ZERO));
    }
}
