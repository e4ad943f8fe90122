//! Per-client rate limiting: a GCRA limiter (governor) keyed by the client address,
//! answering `429 rate_limited` with `Retry-After`.
//!
//! The client is the TCP peer (`ConnectInfo`, set by [`serve`](crate::serve)), or, behind
//! `trusted_proxy_hops` proxies, the address the nearest trusted proxy appended to
//! `X-Forwarded-For`. A router served without `ConnectInfo` (plain `axum::serve(listener,
//! router)` instead of [`serve`](crate::serve) or
//! `into_make_service_with_connect_info::<SocketAddr>()`) cannot tell clients apart: rather
//! than putting every client in one bucket (and answering everyone 429 after a burst), it
//! does not limit such requests and logs, once, a warning that says how to serve. IPv6
//! clients are keyed by their /64 (one subscriber's prefix), so rotating addresses does not
//! escape the limit.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use shopkit_core::ports;

use crate::config::HttpConfig;
use crate::error::{ApiError, ProblemCode};

/// How often (in checks) idle client entries are dropped.
const SWEEP_EVERY: u64 = 4096;

/// The shared limiter of one router.
pub(crate) struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// A limiter shared by every instance (Redis) and its quota; when set, it decides.
    shared: Option<(Arc<dyn ports::RateLimiter>, ports::Quota)>,
    clock: DefaultClock,
    trusted_hops: usize,
    checks: AtomicU64,
    /// Whether the "no peer address" warning was logged.
    warned_no_peer: AtomicBool,
}

impl RateLimiter {
    /// The limiter the settings ask for; `None` when rate limiting is off.
    pub(crate) fn from_config(
        config: &HttpConfig,
        shared: Option<Arc<dyn ports::RateLimiter>>,
    ) -> Option<Arc<Self>> {
        let rate = NonZeroU32::new(config.rate_limit_per_second)?;
        let burst = NonZeroU32::new(config.rate_limit_burst).unwrap_or(rate);
        let quota = ports::Quota::per_second(rate).allow_burst(burst);
        Some(Arc::new(RateLimiter {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            shared: shared.map(|limiter| (limiter, quota)),
            clock: DefaultClock::default(),
            trusted_hops: config.trusted_proxy_hops,
            checks: AtomicU64::new(0),
            warned_no_peer: AtomicBool::new(false),
        }))
    }

    /// `Ok` if `client` may send a request now, else how long until it may.
    fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// The key of a client: its IPv4 address, or its IPv6 /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The address the `hops`-th proxy from the right saw, if the header has that many.
fn forwarded_for(headers: &HeaderMap, hops: usize) -> Option<IpAddr> {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let index = entries.len().checked_sub(hops)?;
    entries.get(index)?.parse().ok()
}

/// Who is calling, as the rate limiter sees it; `None` when the server gives no peer
/// address and no trusted proxy named the client.
fn client(req: &Request, trusted_hops: usize) -> Option<IpAddr> {
    let forwarded =
        (trusted_hops > 0).then(|| forwarded_for(req.headers(), trusted_hops)).flatten();
    let peer = || req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    forwarded.or_else(peer).map(key)
}

/// Seconds to tell the client to wait: the wait rounded up, at least 1.
fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

pub(crate) async fn rate_limit(
    State(limiter): State<Arc<RateLimiter>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(ip) = client(&req, limiter.trusted_hops) else {
        if !limiter.warned_no_peer.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "rate limiting is off for requests without a client address: serve the router with \
                 shopkit_http::serve, or axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())"
            );
        }
        return next.run(req).await;
    };
    let verdict = match &limiter.shared {
        Some((shared, quota)) => match shared.check(&format!("http:{ip}"), *quota).await {
            ports::RateDecision::Allowed => Ok(()),
            ports::RateDecision::Limited { retry_after } => Err(retry_after),
        },
        None => limiter.check(ip),
    };
    match verdict {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let seconds = retry_after_seconds(wait);
            ApiError::new(
                ProblemCode::RateLimited,
                format!("too many requests from this client: retry in {seconds} s"),
            )
            .retry_after(seconds)
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_trusted_proxys_entry_is_taken_from_the_right() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 1.2.3.4, 10.0.0.1"));
        assert_eq!(forwarded_for(&headers, 1), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(forwarded_for(&headers, 2), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(forwarded_for(&headers, 4), None, "fewer entries than proxies");
    }

    #[test]
    fn ipv6_clients_share_their_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(key(a), key(b));
        assert_eq!(key("::ffff:1.2.3.4".parse().unwrap()), "1.2.3.4".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_client_over_its_burst_is_told_how_long_to_wait() {
        let config =
            HttpConfig { rate_limit_per_second: 1, rate_limit_burst: 2, ..HttpConfig::default() };
        let limiter = RateLimiter::from_config(&config, None).unwrap();
        let ann: IpAddr = "192.0.2.1".parse().unwrap();
        let bob: IpAddr = "192.0.2.2".parse().unwrap();

        assert!(limiter.check(ann).is_ok());
        assert!(limiter.check(ann).is_ok());
        let wait = limiter.check(ann).unwrap_err();

        assert_eq!(retry_after_seconds(wait), 1);
        assert!(limiter.check(bob).is_ok(), "clients are limited separately");
    }

    #[test]
    fn a_zero_rate_turns_the_limit_off() {
        let config = HttpConfig { rate_limit_per_second: 0, ..HttpConfig::default() };
        assert!(RateLimiter::from_config(&config, None).is_none());
    }

    /// A shared limiter that allows `allow` requests in all, then limits; records keys.
    struct Shared {
        allow: usize,
        seen: std::sync::Mutex<Vec<(String, ports::Quota)>>,
    }

    #[async_trait::async_trait]
    impl ports::RateLimiter for Shared {
        async fn check(&self, key: &str, quota: ports::Quota) -> ports::RateDecision {
            let mut seen = self.seen.lock().unwrap();
            seen.push((key.to_owned(), quota));
            if seen.len() <= self.allow {
                ports::RateDecision::Allowed
            } else {
                ports::RateDecision::Limited { retry_after: Duration::from_millis(2500) }
            }
        }
    }

    #[tokio::test]
    async fn a_shared_limiter_decides_with_the_configured_quota_instead_of_the_local_one() {
        use axum::Router;
        use axum::body::Body;
        use axum::middleware::from_fn_with_state;
        use axum::routing::get;
        use tower::ServiceExt;

        let shared = Arc::new(Shared { allow: 1, seen: std::sync::Mutex::new(Vec::new()) });
        // The local quota would allow 100 at once: only the shared one can refuse.
        let config =
            HttpConfig { rate_limit_per_second: 5, rate_limit_burst: 100, ..HttpConfig::default() };
        let limiter = RateLimiter::from_config(&config, Some(shared.clone())).unwrap();
        let app = Router::new()
            .route("/", get(|| async { "ok" }))
            .layer(from_fn_with_state(limiter, rate_limit));
        let request = || {
            let peer: SocketAddr = "192.0.2.7:50000".parse().unwrap();
            Request::builder().uri("/").extension(ConnectInfo(peer)).body(Body::empty()).unwrap()
        };

        let first = app.clone().oneshot(request()).await.unwrap();
        let second = app.oneshot(request()).await.unwrap();

        assert_eq!(first.status(), 200);
        assert_eq!(second.status(), 429);
        assert_eq!(second.headers()["retry-after"], "3", "2.5 s rounds up");
        let seen = shared.seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].0, "http:192.0.2.7", "keyed by client");
        assert_eq!((seen[0].1.rate().get(), seen[0].1.burst().get()), (5, 100));
    }
}
