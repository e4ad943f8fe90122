//! Rate limiting, as the inbound adapters need it: one check per request, keyed by client.

use std::num::NonZeroU32;
use std::time::Duration;

use async_trait::async_trait;

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
///   policy (e.g. allow while Redis is down) rather than failing the request.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one request of `key` and decides.
    async fn check(&self, key: &str, quota: Quota) -> RateDecision;
}
