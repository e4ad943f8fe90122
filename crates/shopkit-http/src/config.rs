//! [`HttpConfig`]: the HTTP layer's typed settings (limits, CORS, caching, rate limits).
//!
//! Only the binary reads the environment; this crate takes the values ready-made.

use std::time::Duration;

use axum::http::HeaderValue;

/// Settings of the HTTP layer. Every field has a sane default ([`HttpConfig::default`]);
/// set the ones you need with struct update syntax:
///
/// ```
/// use shopkit_http::HttpConfig;
/// let config = HttpConfig {
///     cors_allowed_origins: vec!["https://shop.example.com".into()],
///     ..HttpConfig::default()
/// };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// Largest accepted request body; bigger bodies are refused with 413 before they are
    /// read to the end. Default 1 MiB.
    pub body_limit_bytes: usize,
    /// Longest time a request may take; slower ones answer 503 `timed_out` (the work may
    /// or may not have happened: retry idempotent calls with the same key). Checkout never
    /// times out this way: it answers `202` after [`checkout_wait`](Self::checkout_wait)
    /// and finishes detached. Default 15 s.
    pub request_timeout: Duration,
    /// Origins allowed to call the API from a browser (`https://shop.example.com`,
    /// `tauri://localhost` for a desktop shell). Empty: same-origin only (no CORS headers
    /// at all; native mobile and desktop clients do not need CORS). `"*"` allows any origin
    /// and must be the only entry. Default empty.
    pub cors_allowed_origins: Vec<String>,
    /// Sustained requests per second allowed per client (peer IP); 0 disables the limit.
    /// Default 20.
    pub rate_limit_per_second: u32,
    /// Requests a client may send in a burst above the sustained rate. Default 40.
    pub rate_limit_burst: u32,
    /// Proxies in front of this server that append to `X-Forwarded-For` (CloudFront + an
    /// ALB: 2). 0 (default) keys the rate limit by the TCP peer address; `n > 0` takes the
    /// n-th address from the right of `X-Forwarded-For`, the one the nearest trusted proxy
    /// saw (a client can forge the left part, never that one).
    pub trusted_proxy_hops: usize,
    /// `Cache-Control: public, max-age=N` of catalog reads (CDN and browsers). Default 60.
    pub catalog_max_age_seconds: u32,
    /// How long an idempotent request holds its key before a retry may take it over (the
    /// work must be resumable). Default 60 s, above `request_timeout`.
    pub idempotency_lease: Duration,
    /// How long the first response of an idempotent request is replayed. Default 24 h.
    pub idempotency_retention: Duration,
    /// Time each readiness check gets in `/readyz`. Default 1 s.
    pub readiness_timeout: Duration,
    /// How long `POST /checkout` waits for its order before answering `202` (see
    /// [`checkout_wait`](Self::checkout_wait)); `None` (default): 3/4 of
    /// `request_timeout`. Must be below `request_timeout`.
    pub checkout_wait: Option<Duration>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(15),
            cors_allowed_origins: Vec::new(),
            rate_limit_per_second: 20,
            rate_limit_burst: 40,
            trusted_proxy_hops: 0,
            catalog_max_age_seconds: 60,
            idempotency_lease: Duration::from_secs(60),
            idempotency_retention: Duration::from_secs(24 * 60 * 60),
            readiness_timeout: Duration::from_secs(1),
            checkout_wait: None,
        }
    }
}

/// A setting that cannot work. Says which and what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid HTTP setting {field}: {reason}")]
pub struct InvalidConfig {
    /// The field of [`HttpConfig`].
    pub field: &'static str,
    /// What a valid value looks like.
    pub reason: String,
}

impl HttpConfig {
    /// How long `POST /checkout` waits for its order before it answers `202 Accepted`
    /// ("still processing, retry with the same key"): the configured wait, else three
    /// quarters of [`request_timeout`](Self::request_timeout), so the answer always beats
    /// the timeout. The checkout itself runs on, detached from the request, until it has
    /// placed the order or given back everything it took.
    pub fn checkout_wait(&self) -> Duration {
        self.checkout_wait.unwrap_or(self.request_timeout * 3 / 4)
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`InvalidConfig`] for a zero body limit or timeout, a burst below 1 while the rate
    /// limit is on, `"*"` mixed with other origins, or an origin that is not a valid header
    /// value.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        let invalid = |field, reason: &str| Err(InvalidConfig { field, reason: reason.into() });
        if self.body_limit_bytes == 0 {
            return invalid("body_limit_bytes", "allow at least 1 byte");
        }
        if self.request_timeout.is_zero() {
            return invalid("request_timeout", "use a positive duration");
        }
        if let Some(wait) = self.checkout_wait
            && (wait.is_zero() || wait >= self.request_timeout)
        {
            return invalid("checkout_wait", "use a positive duration below request_timeout");
        }
        if self.readiness_timeout.is_zero() {
            return invalid("readiness_timeout", "use a positive duration");
        }
        if self.rate_limit_per_second > 0 && self.rate_limit_burst == 0 {
            return invalid("rate_limit_burst", "allow a burst of at least 1 request");
        }
        if self.idempotency_lease <= self.request_timeout {
            return invalid(
                "idempotency_lease",
                "make the lease longer than request_timeout, or a slow request loses its key",
            );
        }
        let any = self.cors_allowed_origins.iter().any(|o| o == "*");
        if any && self.cors_allowed_origins.len() > 1 {
            return invalid("cors_allowed_origins", "\"*\" must be the only entry");
        }
        for origin in &self.cors_allowed_origins {
            if origin != "*" && (origin.ends_with('/') || HeaderValue::from_str(origin).is_err()) {
                return Err(InvalidConfig {
                    field: "cors_allowed_origins",
                    reason: format!(
                        "{origin:?} is not an origin: use scheme://host[:port] without a path"
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(HttpConfig::default().validate(), Ok(()));
    }

    #[test]
    fn a_wildcard_origin_must_stand_alone() {
        let config = HttpConfig {
            cors_allowed_origins: vec!["*".into(), "https://a.example".into()],
            ..HttpConfig::default()
        };
        assert_eq!(config.validate().unwrap_err().field, "cors_allowed_origins");
    }

    #[test]
    fn an_origin_with_a_path_is_refused() {
        let config = HttpConfig {
            cors_allowed_origins: vec!["https://a.example/".into()],
            ..HttpConfig::default()
        };
        assert!(config.validate().is_err());
    }

    #[test]
    fn a_lease_shorter_than_the_timeout_is_refused() {
        let config =
            HttpConfig { idempotency_lease: Duration::from_secs(1), ..HttpConfig::default() };
        assert_eq!(config.validate().unwrap_err().field, "idempotency_lease");
    }
}
