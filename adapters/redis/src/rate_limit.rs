//! Rate limiting shared by every instance of the shop: [`RedisRateLimiter`] implements the
//! core's [`RateLimiter`] port (re-exported here) as a GCRA on Redis.
//!
//! The in-process limiter of `shopkit-http` counts per instance: behind a load balancer
//! with N instances a client gets N times its quota. Keeping the state in Redis makes the
//! quota hold across instances.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
pub use shopkit_core::ports::{Quota, RateDecision, RateLimiter};

use crate::connection::RedisConnection;

/// The time one request "costs" under `quota`, in microseconds (at least 1).
fn interval_micros(quota: &Quota) -> u64 {
    (1_000_000 / u64::from(quota.rate().get())).max(1)
}

/// What [`RedisRateLimiter`] answers when Redis fails or times out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnRedisError {
    /// Serve the request (the default): a cache outage must not become a shop outage; the
    /// load balancer or WAF limits remain as a backstop.
    #[default]
    Allow,
    /// Refuse it, asking to retry after this long: for endpoints where an unlimited burst is
    /// worse than refusing (sign-in, password reset).
    Deny {
        /// The `Retry-After` to give.
        retry_after: Duration,
    },
}

/// A [`RateLimiter`] shared by every instance: GCRA in one Lua script per request, on the
/// Redis server's clock (so instances with skewed clocks agree), one key per client
/// (`{prefix}:rate:{key}`) that expires when the client's burst is fully restored.
pub struct RedisRateLimiter {
    redis: RedisConnection,
    script: Script,
    on_error: OnRedisError,
    redis_errors: AtomicU64,
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("redis", &self.redis)
            .field("on_error", &self.on_error)
            .field("redis_errors", &self.redis_errors())
            .finish()
    }
}

impl RedisRateLimiter {
    /// A limiter on `redis`'s namespace that allows requests while Redis is down.
    pub fn new(redis: RedisConnection) -> Self {
        RedisRateLimiter {
            redis,
            script: Script::new(include_str!("scripts/rate_gcra.lua")),
            on_error: OnRedisError::Allow,
            redis_errors: AtomicU64::new(0),
        }
    }

    /// The same limiter with another policy for Redis failures.
    #[must_use]
    pub fn on_redis_error(mut self, policy: OnRedisError) -> Self {
        self.on_error = policy;
        self
    }

    /// How many checks Redis failed (answered by the [`OnRedisError`] policy).
    pub fn redis_errors(&self) -> u64 {
        self.redis_errors.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(&self, key: &str, quota: Quota) -> RateDecision {
        let mut call = self.script.key(self.redis.key(format_args!("rate:{key}")));
        call.arg(interval_micros(&quota)).arg(quota.burst().get());
        match self.redis.invoke::<(i64, u64)>("rate limit", &call).await {
            Ok((1, _)) => RateDecision::Allowed,
            Ok((_, wait_micros)) => {
                RateDecision::Limited { retry_after: Duration::from_micros(wait_micros.max(1)) }
            }
            Err(failure) => {
                let errors = self.redis_errors.fetch_add(1, Ordering::Relaxed) + 1;
                // Every failure is a request; log the first and then every 1000th.
                if errors % 1000 == 1 {
                    tracing::warn!(%failure, errors, policy = ?self.on_error, "rate limiter: Redis failed");
                }
                match self.on_error {
                    OnRedisError::Allow => RateDecision::Allowed,
                    OnRedisError::Deny { retry_after } => RateDecision::Limited { retry_after },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN)
    }

    #[test]
    fn a_quota_defaults_its_burst_to_its_rate() {
        let q = Quota::per_second(n(20));
        assert_eq!((q.rate(), q.burst()), (n(20), n(20)));
        assert_eq!(q.allow_burst(n(40)).burst(), n(40));
        assert_eq!(interval_micros(&q), 50_000);
    }
}
