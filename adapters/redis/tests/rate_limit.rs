//! `RedisRateLimiter` on a real Redis: bursts, `retry_after`, refill, independent keys,
//! and one quota across several limiter instances (several shop instances).
//!
//! Run with: `SHOPKIT_TEST_REDIS_URL=redis://127.0.0.1:6379 cargo test -p shopkit-redis --test rate_limit`
//!
//! The limiter runs on the Redis server's clock, so the refill test lets real time pass.

mod support;

use std::num::NonZeroU32;
use std::time::Duration;

use shopkit_redis::{Quota, RateDecision, RateLimiter, RedisRateLimiter};
use shopkit_testkit::require_service;
use support::{REDIS_URL_VAR, fresh_connection};

fn quota(rate: u32, burst: u32) -> Quota {
    let n = |v: u32| NonZeroU32::new(v).expect("a positive number");
    Quota::per_second(n(rate)).allow_burst(n(burst))
}

fn retry_after(decision: RateDecision) -> Duration {
    match decision {
        RateDecision::Limited { retry_after } => retry_after,
        RateDecision::Allowed => panic!("expected Limited, got Allowed"),
    }
}

#[tokio::test]
async fn a_burst_is_allowed_then_the_next_request_is_limited_until_the_interval_passes() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange: 10 requests per second (one per 100 ms), 3 at once.
    let limiter = RedisRateLimiter::new(fresh_connection(&url).await);
    let q = quota(10, 3);

    // Act
    let mut burst = Vec::new();
    for _ in 0..3 {
        burst.push(limiter.check("client-a", q).await);
    }
    let over = limiter.check("client-a", q).await;
    let wait = retry_after(over);
    tokio::time::sleep(wait).await; // the server's clock must move on
    let after_wait = limiter.check("client-a", q).await;
    let right_after = limiter.check("client-a", q).await;

    // Assert
    assert_eq!(burst, vec![RateDecision::Allowed; 3], "the burst is allowed");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_millis(100),
        "retry_after is at most one emission interval, got {wait:?}"
    );
    assert_eq!(after_wait, RateDecision::Allowed, "waiting retry_after allows one more");
    assert!(matches!(right_after, RateDecision::Limited { .. }), "and only one");
    assert_eq!(limiter.redis_errors(), 0);
}

#[tokio::test]
async fn the_retry_after_of_a_slow_quota_is_about_its_interval() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange: 1 per second, 2 at once (the HTTP layer's own unit test uses this quota).
    let limiter = RedisRateLimiter::new(fresh_connection(&url).await);
    let q = quota(1, 2);

    // Act
    limiter.check("ann", q).await;
    limiter.check("ann", q).await;
    let wait = retry_after(limiter.check("ann", q).await);
    let bob = limiter.check("bob", q).await;

    // Assert
    assert!(
        wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
        "about one second, got {wait:?}"
    );
    assert_eq!(bob, RateDecision::Allowed, "clients are limited separately");
}

#[tokio::test]
async fn instances_sharing_a_redis_share_the_quota() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange: two limiters on one namespace, as two shop instances would be.
    let redis = fresh_connection(&url).await;
    let one = RedisRateLimiter::new(redis.clone());
    let two = RedisRateLimiter::new(redis);
    let q = quota(1, 2);

    // Act
    let first = one.check("carol", q).await;
    let second = two.check("carol", q).await;
    let third = one.check("carol", q).await;

    // Assert
    assert_eq!((first, second), (RateDecision::Allowed, RateDecision::Allowed));
    assert!(matches!(third, RateDecision::Limited { .. }), "the burst of 2 is shared");
}

#[tokio::test]
async fn a_limited_request_does_not_push_the_wait_further() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let limiter = RedisRateLimiter::new(fresh_connection(&url).await);
    let q = quota(1, 1);
    limiter.check("dave", q).await;

    // Act: hammering while limited.
    let first = retry_after(limiter.check("dave", q).await);
    for _ in 0..20 {
        limiter.check("dave", q).await;
    }
    let later = retry_after(limiter.check("dave", q).await);

    // Assert
    assert!(later <= first, "refused requests cost nothing: {later:?} > {first:?}");
}
