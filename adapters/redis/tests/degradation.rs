//! Fault cases: Redis killed, frozen, or back with old data, in the middle of a test.
//!
//! Run with: `SHOPKIT_TEST_REDIS_URL=redis://127.0.0.1:6379 cargo test -p shopkit-redis --test degradation`
//!
//! Each test starts its own `redis-server` on a free loopback port (the binary from
//! `SHOPKIT_TEST_REDIS_SERVER`, default `redis-server` on the PATH) and kills it at the
//! end; `SHOPKIT_TEST_REDIS_URL` only says that Redis tests are on (skip outside CI
//! without it, fail in CI).
//!
//! What must hold while Redis is away: shoppers' catalog reads are served from the source
//! with correct data and writes succeed (errors counted, never returned); the cart store
//! answers `Unavailable` (retryable) within the command timeout instead of hanging; the
//! rate limiter lets requests through; readiness reports the outage. When Redis is back,
//! caching resumes by itself.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use shopkit_core::catalog::Product;
use shopkit_core::ports::{Cache, CartStore, ProductRepository, Readiness, StoreError};
use shopkit_redis::{
    CachedProducts, CatalogCacheConfig, Quota, RateDecision, RateLimiter, RedisCache, RedisCarts,
    RedisConfig, RedisConnection, RedisRateLimiter,
};
use shopkit_testkit::fixtures::{cart, product, t0};
use shopkit_testkit::{Must, require_service};
use support::{CountingProducts, REDIS_URL_VAR, ThrowawayRedis, fresh_prefix};
use tokio::time::Instant;

/// The command timeout of these tests: what "answers fast" means below.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(200);

/// Generous bound for one call while Redis is away (timeout + scheduling on a busy box).
const FAST: Duration = Duration::from_millis(1500);

fn connection(server: &ThrowawayRedis) -> RedisConnection {
    let config = RedisConfig {
        url: server.url(),
        key_prefix: fresh_prefix(),
        command_timeout: COMMAND_TIMEOUT,
        connect_timeout: Duration::from_millis(500),
    };
    RedisConnection::open(&config).expect("open a connection")
}

fn cache_config() -> CatalogCacheConfig {
    CatalogCacheConfig { retry_redis_after: Duration::from_millis(100), ..Default::default() }
}

async fn inserted(repo: &dyn ProductRepository, mut p: Product) -> Product {
    p.version = repo.insert(&p).await.must("insert");
    p
}

/// Runs `f`, returning its result and how long it took.
async fn timed<T>(f: impl Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let out = f.await;
    (out, start.elapsed())
}

/// Reads `id` until one is answered from Redis (a hit), within 10 s. Polls a recovering
/// server: its reconnection has no event to wait for.
async fn until_cached(cache: &CachedProducts<CountingProducts>, p: &Product) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let hits = cache.metrics().hits;
    loop {
        assert_eq!(cache.get(p.id).await.must("get while recovering"), Some(p.clone()));
        if cache.metrics().hits > hits {
            return;
        }
        assert!(Instant::now() < deadline, "caching did not resume: {:?}", cache.metrics());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_keeps_serving_while_redis_is_down_and_caches_again_when_it_returns() {
    let Some(_) = require_service(REDIS_URL_VAR) else { return };
    // Arrange: a warm cache.
    let mut server = ThrowawayRedis::start().await;
    let redis = connection(&server);
    let source = CountingProducts::new();
    let cache = CachedProducts::new(Arc::clone(&source), redis.clone(), cache_config());
    let carts = RedisCarts::new(redis.clone());
    let kv = RedisCache::new(redis.clone());
    let limiter = RedisRateLimiter::new(redis.clone());
    let p = inserted(&cache, product().title("Before").build()).await;
    cache.get(p.id).await.must("warm");
    assert_eq!(cache.get(p.id).await.must("hit"), Some(p.clone()));
    assert_eq!(cache.metrics().hits, 1, "warm: answered from Redis");
    let saved_cart = cart(None, t0());
    carts.save(&saved_cart).await.must("save a cart while Redis is up");

    // Act: Redis dies.
    server.kill().await;
    let (read, read_took) = timed(cache.get(p.id)).await;
    let (by_slug, _) = timed(cache.by_slug(&p.slug)).await;
    let mut changed = p.clone();
    changed.title = "During the outage".into();
    let (write, write_took) = timed(cache.update(&changed)).await;
    changed.version = write.must("a write while Redis is down succeeds");
    let read_after_write = cache.get(p.id).await.must("read after the write");
    let (cart_read, cart_took) = timed(carts.get(saved_cart.id(), t0())).await;
    let (cart_save, _) = timed(carts.save(&cart(None, t0()))).await;
    let kv_read = kv.get("anything").await;
    let decision = limiter.check("client", Quota::per_second(std::num::NonZeroU32::MIN)).await;
    let (ready, ready_took) = timed(redis.check()).await;
    let during = cache.metrics();

    // Assert: nothing a shopper sees broke, nothing hung.
    assert_eq!(read.must("a read while Redis is down"), Some(p.clone()), "served from the source");
    assert_eq!(by_slug.must("by_slug while Redis is down"), Some(p.clone()));
    assert_eq!(read_after_write, Some(changed.clone()), "the write is visible at once");
    assert!(during.redis_errors >= 1, "failures are counted: {during:?}");
    assert!(during.invalidation_failures >= 1, "the lost invalidation is counted: {during:?}");
    for (what, took) in [("read", read_took), ("write", write_took)] {
        assert!(took < FAST, "a catalog {what} took {took:?} with Redis down");
    }
    for (what, result) in [("get", cart_read.map(drop)), ("save", cart_save.map(drop))] {
        match result {
            Err(e @ StoreError::Unavailable { .. }) => assert!(e.is_retryable()),
            other => panic!("cart {what} with Redis down must be Unavailable, got {other:?}"),
        }
    }
    assert!(cart_took < FAST, "a cart read took {cart_took:?} with Redis down");
    assert!(matches!(kv_read, Err(StoreError::Unavailable { .. })), "{kv_read:?}");
    assert_eq!(decision, RateDecision::Allowed, "the limiter fails open");
    assert_eq!(limiter.redis_errors(), 1);
    assert!(ready.is_err(), "readiness reports the outage");
    assert!(ready_took < FAST, "readiness answered in {ready_took:?}");

    // Act: Redis returns (empty).
    server.restart().await;

    // Assert: caching resumes by itself, with the data written during the outage.
    until_cached(&cache, &changed).await;
    let again = cart(None, t0());
    assert_eq!(carts.save(&again).await.must("save a cart after the restart"), 1);
    assert!(redis.check().await.is_ok(), "ready again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_lost_during_an_outage_is_not_hidden_when_redis_returns_with_old_data() {
    let Some(_) = require_service(REDIS_URL_VAR) else { return };
    // Arrange: a Redis that keeps its data across a restart (as a promoted replica does),
    // holding a cached copy of the product.
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut server = ThrowawayRedis::start_persistent(dir.path()).await;
    let source = CountingProducts::new();
    let cache = CachedProducts::new(Arc::clone(&source), connection(&server), cache_config());
    let p = inserted(&cache, product().title("Old").build()).await;
    cache.get(p.id).await.must("cache the old copy");

    // Act: the product changes while Redis is down, then Redis comes back with the old copy.
    server.kill().await;
    let mut changed = p.clone();
    changed.title = "New".into();
    changed.version = cache.update(&changed).await.must("update while Redis is down");
    server.restart().await;

    // Assert: the old copy is never served, and caching resumes.
    until_cached(&cache, &changed).await;
    assert!(cache.metrics().invalidation_failures >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_costs_one_timeout_not_a_hang() {
    let Some(_) = require_service(REDIS_URL_VAR) else { return };
    // Arrange: Redis accepts connections but answers nothing (SIGSTOP): every command can
    // only end by our timeout.
    let server = ThrowawayRedis::start().await;
    let redis = connection(&server);
    let source = CountingProducts::new();
    let cache = CachedProducts::new(Arc::clone(&source), redis.clone(), cache_config());
    let carts = RedisCarts::new(redis.clone());
    let p = inserted(&cache, product().build()).await;
    cache.get(p.id).await.must("warm");
    server.freeze();

    // Act
    let (first, first_took) = timed(cache.get(p.id)).await;
    let (second, second_took) = timed(cache.get(p.id)).await;
    let (cart_read, cart_took) = timed(carts.get(cart(None, t0()).id(), t0())).await;
    let (ready, ready_took) = timed(redis.check()).await;
    server.thaw();

    // Assert
    assert_eq!(first.must("first read"), Some(p.clone()));
    assert_eq!(second.must("second read"), Some(p.clone()));
    assert!(
        first_took >= COMMAND_TIMEOUT && first_took < FAST,
        "the first read waits one timeout, took {first_took:?}"
    );
    assert!(
        second_took < COMMAND_TIMEOUT,
        "the next read skips Redis for a moment instead of waiting again, took {second_took:?}"
    );
    assert!(cache.metrics().bypassed >= 1);
    assert!(matches!(cart_read, Err(StoreError::Unavailable { .. })), "{cart_read:?}");
    assert!(cart_took < FAST, "the cart read took {cart_took:?}");
    assert!(ready.is_err() && ready_took < FAST, "readiness {ready:?} in {ready_took:?}");
    drop(server);
}

// Single-threaded on purpose: `join_all` polls every read once before anything else runs,
// so all 32 are on the flight before the held source can be released.
#[tokio::test]
async fn single_flight_protects_the_source_while_redis_is_down() {
    let Some(_) = require_service(REDIS_URL_VAR) else { return };
    // Arrange: Redis is gone; the source holds its first read until released.
    let mut server = ThrowawayRedis::start().await;
    let source = CountingProducts::new();
    let cache = CachedProducts::new(Arc::clone(&source), connection(&server), cache_config());
    let p = inserted(&cache, product().build()).await;
    server.kill().await;
    source.hold_next_get();
    let releaser = {
        let source = Arc::clone(&source);
        tokio::spawn(async move {
            source.held.notified().await;
            source.release.notify_one();
        })
    };

    // Act: 32 concurrent cold reads.
    let reads = futures::future::join_all((0..32).map(|_| cache.get(p.id))).await;
    releaser.await.expect("releaser");

    // Assert
    for r in reads {
        assert_eq!(r.must("a read with Redis down"), Some(p.clone()));
    }
    assert_eq!(source.gets.load(Ordering::SeqCst), 1, "32 concurrent misses, one source call");
    assert_eq!(cache.metrics().misses, 32);
}
