//! Rate limiting shared by every instance of the shop: [`RateLimiter`], the small port the
//! HTTP layer needs, and [`RedisRateLimiter`], a GCRA on Redis.
//!
//! The in-process limiter of `shopkit-http` counts per instance: behind a load balancer
//! with N instances a client gets N times its quota. Keeping the state in Redis makes the
//! quota hold across instances.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;

use crate::connection::RedisConnection;

/// How many requests a client may make: a sustained rate and a burst, GCRA style (the
/// same meaning as `governor::Quota::per_second(rate).allow_burst(burst)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    per_second: NonZeroU32,
    burst: NonZeroU32,
}

impl Quota {
    /// `rate` requests per second, with a burst of as many.
    pub fn per_second(rate: NonZeroU32) -> Self {
        Quota { per_second: rate, burst: rate }
    }

    /// The same rate, allowing `burst` requests at once.
    #[must_use]
    pub fn allow_burst(self, burst: NonZeroU32) -> Self {
        Quota { burst, ..self }
    }

    /// Requests per second.
    pub fn rate(&self) -> NonZeroU32 {
        self.per_second
    }

    /// Requests allowed at once.
    pub fn burst(&self) -> NonZeroU32 {
        self.burst
    }

    /// The time one request "costs", in microseconds (at least 1).
    fn interval_micros(&self) -> u64 {
        (1_000_000 / u64::from(self.per_second.get())).max(1)
    }
}

/// The answer to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateDecision {
    /// Serve it.
    Allowed,
    /// Refuse it (`429`); the client may retry after `retry_after`.
    Limited {
        /// How long until a request of this client would be allowed.
        retry_after: Duration,
    },
}

/// A rate limiter as the HTTP layer uses it: one call per request, keyed by client.
///
/// # Contract
/// - `check` counts one request of `key` against `quota` and says whether to serve it.
///   After `quota.burst()` requests at once, the next is `Limited` with a `retry_after`
///   of about one emission interval (`1 / rate`); waiting that long allows one more.
/// - Keys are independent. A caller that limits several things (per route, per account)
///   puts that in the key, as one key is assumed to have one quota.
/// - `check` never fails: an implementation whose backend is down decides by its own
///   policy (see [`OnRedisError`]) rather than failing the request.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one request of `key` and decides.
    async fn check(&self, key: &str, quota: Quota) -> RateDecision;
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
        call.arg(quota.interval_micros()).arg(quota.burst().get());
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

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN)
    }

    #[test]
    fn a_quota_defaults_its_burst_to_its_rate() {
        let q = Quota::per_second(n(20));
        assert_eq!((q.rate(), q.burst()), (n(20), n(20)));
        assert_eq!(q.allow_burst(n(40)).burst(), n(40));
        assert_eq!(q.interval_micros(), 50_000);
    }
}
