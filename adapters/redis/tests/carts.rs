//! `RedisCarts` beyond the conformance suite: index upkeep, Redis-side expiry, and the
//! errors of the save script.
//!
//! Run with: `SHOPKIT_TEST_REDIS_URL=redis://127.0.0.1:6379 cargo test -p shopkit-redis --test carts`

mod support;

use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use shopkit_core::cart::{Cart, CartPolicy};
use shopkit_core::ids::{CartId, CustomerId, OrderId};
use shopkit_core::money::Currency;
use shopkit_core::ports::{CartQuery, CartStore, StoreError};
use shopkit_redis::{RedisCarts, RedisConnection};
use shopkit_testkit::fixtures::{cart, cart_token, cart_with_lines, t0, unique_sku, uuid};
use shopkit_testkit::{Must, require_service};
use support::{REDIS_URL_VAR, fresh_connection, raw};

async fn stored(store: &RedisCarts, mut c: Cart) -> Cart {
    c.set_version(store.save(&c).await.must("save"));
    c
}

fn policy() -> CartPolicy {
    CartPolicy::default()
}

async fn store(url: &str) -> (RedisCarts, RedisConnection) {
    let redis = fresh_connection(url).await;
    (RedisCarts::new(redis.clone()), redis)
}

#[tokio::test]
async fn a_guest_cart_assigned_to_a_customer_is_found_by_customer() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (carts, _) = store(&url).await;
    let customer = CustomerId::from_uuid(uuid());
    let mut c = stored(&carts, cart(None, t0())).await;

    // Act
    c.assign_to(customer, t0(), &policy()).must("assign");
    c.set_version(carts.save(&c).await.must("save the assigned cart"));

    // Assert
    assert_eq!(carts.open_cart_of(customer, t0()).await.must("open_cart_of"), Some(c));
}

#[tokio::test]
async fn a_cart_handed_to_another_customer_leaves_the_first_ones_lookup() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (carts, _) = store(&url).await;
    let (ann, bob) = (CustomerId::from_uuid(uuid()), CustomerId::from_uuid(uuid()));
    let mut c = stored(&carts, cart(Some(ann), t0())).await;

    // Act
    c.assign_to(bob, t0(), &policy()).must("hand over");
    c.set_version(carts.save(&c).await.must("save"));

    // Assert
    assert_eq!(carts.open_cart_of(ann, t0()).await.must("ann"), None);
    assert_eq!(carts.open_cart_of(bob, t0()).await.must("bob"), Some(c));
}

#[tokio::test]
async fn a_checked_out_cart_leaves_the_sweep_and_the_customer_lookup_but_keeps_its_token() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (carts, _) = store(&url).await;
    let customer = CustomerId::from_uuid(uuid());
    let mut c = stored(&carts, cart_with_lines(Some(customer), t0(), &[(unique_sku(), 1)])).await;

    // Act
    c.mark_checked_out(OrderId::from_uuid(uuid()), t0()).must("check out");
    c.set_version(carts.save(&c).await.must("save"));

    // Assert
    let sweep = CartQuery { updated_before: t0() + Duration::hours(1), limit: 10 };
    assert!(carts.stale_open_carts(&sweep, t0()).await.must("sweep").is_empty());
    assert_eq!(carts.open_cart_of(customer, t0()).await.must("open_cart_of"), None);
    assert_eq!(carts.by_token(c.token(), t0()).await.must("by_token"), Some(c));
}

#[tokio::test]
async fn a_guest_token_cannot_be_taken_by_another_cart() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (carts, _) = store(&url).await;
    let token = cart_token();
    let first =
        Cart::new(CartId::from_uuid(uuid()), token.clone(), None, Currency::USD, t0(), &policy());
    stored(&carts, first.clone()).await;
    let thief = Cart::new(CartId::from_uuid(uuid()), token, None, Currency::USD, t0(), &policy());

    // Act
    let result = carts.save(&thief).await;

    // Assert
    match result {
        Err(StoreError::AlreadyExists { key, .. }) => {
            assert!(!key.contains(first.token().expose()), "never echo the token: {key}");
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(carts.get(thief.id(), t0()).await.must("get"), None, "nothing was stored");
}

#[tokio::test]
async fn saving_a_cart_that_was_never_stored_with_a_version_is_not_found() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (carts, _) = store(&url).await;
    let mut c = cart(None, t0());
    c.set_version(3);

    // Act
    let result = carts.save(&c).await;

    // Assert
    assert!(matches!(result, Err(StoreError::NotFound { entity: "cart", .. })), "{result:?}");
}

#[tokio::test]
async fn redis_drops_a_cart_and_its_token_a_grace_after_it_expires() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange: a cart that expires in 60 s of wall time, kept 30 s more.
    let (carts, redis) = store(&url).await;
    let carts = carts.with_expiry_grace(StdDuration::from_secs(30));
    let short = CartPolicy { ttl: Duration::seconds(60), ..policy() };
    let customer = CustomerId::from_uuid(uuid());
    let c = Cart::new(
        CartId::from_uuid(uuid()),
        cart_token(),
        Some(customer),
        Currency::USD,
        Utc::now(),
        &short,
    );

    // Act
    stored(&carts, c.clone()).await;

    // Assert
    let mut conn = raw(&url).await;
    let prefix = redis.key_prefix();
    for key in [format!("{prefix}:cart:{}", c.id()), format!("{prefix}:cart-customer:{customer}")] {
        let pttl: i64 =
            redis::cmd("PTTL").arg(&key).query_async(&mut conn).await.expect("PTTL of a key");
        assert!(
            (85_000..=90_000).contains(&pttl),
            "{key} lives until expiry + grace (about 90 s), has {pttl} ms"
        );
    }
}

#[tokio::test]
async fn the_sweep_drops_index_entries_of_carts_redis_has_expired() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (carts, redis) = store(&url).await;
    let kept = stored(&carts, cart_with_lines(None, t0(), &[(unique_sku(), 1)])).await;
    let gone = stored(&carts, cart_with_lines(None, t0(), &[(unique_sku(), 1)])).await;
    let mut conn = raw(&url).await;
    let prefix = redis.key_prefix();
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}:cart:{}", gone.id()))
        .query_async(&mut conn)
        .await
        .expect("expire a cart by hand");
    let sweep = CartQuery { updated_before: t0() + Duration::hours(1), limit: 10 };

    // Act
    let found = carts.stale_open_carts(&sweep, t0() + Duration::minutes(1)).await.must("sweep");

    // Assert
    assert_eq!(found, vec![kept.clone()]);
    let index = format!("{prefix}:carts-open");
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg(&index)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .expect("ZRANGE");
    assert_eq!(members, vec![kept.id().to_string()], "the dead entry is dropped");
}

#[tokio::test]
async fn the_sweep_returns_the_oldest_first_across_batches() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange: more carts than one round trip reads (200), some too recent.
    let (carts, _) = store(&url).await;
    let mut old = Vec::new();
    for i in 0..250 {
        let c = stored(&carts, cart(None, t0() - Duration::seconds(1000 - i))).await;
        old.push(c.id());
    }
    for _ in 0..5 {
        stored(&carts, cart(None, t0())).await;
    }
    let sweep = CartQuery { updated_before: t0() - Duration::seconds(1), limit: 240 };

    // Act
    let found = carts.stale_open_carts(&sweep, t0()).await.must("sweep");

    // Assert
    let ids: Vec<CartId> = found.iter().map(Cart::id).collect();
    assert_eq!(ids, old[..240].to_vec(), "oldest first, up to the limit");
}
