//! Contracts of [`CartStore`]: insert at version 0, optimistic concurrency with no lost
//! update, expiry, and the lookups by token, customer and staleness.
//!
//! Each contract takes a fresh, empty store.

use std::sync::Arc;

use chrono::Duration;
use shopkit_core::cart::{Cart, CartPolicy, CartStatus};
use shopkit_core::catalog::ShippingRequirement;
use shopkit_core::ids::{CustomerId, LineId, OrderId};
use shopkit_core::ports::{CartQuery, CartStore, StoreError};

use crate::fixtures::{at, cart, cart_with_lines, qty, t0, unique_sku, uuid};
use crate::support::{Must, race};

async fn stored(store: &dyn CartStore, mut c: Cart) -> Cart {
    let v = store.save(&c).await.must("insert a fresh cart");
    c.set_version(v);
    c
}

fn add_line(c: &mut Cart, now: chrono::DateTime<chrono::Utc>) {
    let shipped = ShippingRequirement::Required;
    c.add_line(
        LineId::from_uuid(uuid()),
        unique_sku(),
        qty(1),
        shipped,
        now,
        &CartPolicy::default(),
    )
    .must("add a line");
}

/// `save` of a version-0 cart inserts it and returns version 1; `get` and `by_token`
/// return it as saved (every line with whether it ships).
pub async fn save_of_a_new_cart_inserts_it_at_version_1(store: Arc<dyn CartStore>) {
    // Arrange
    let mut c = cart_with_lines(None, t0(), &[(unique_sku(), 2)]);
    let digital = ShippingRequirement::NotRequired;
    c.add_line(
        LineId::from_uuid(uuid()),
        unique_sku(),
        qty(1),
        digital,
        t0(),
        &CartPolicy::default(),
    )
    .must("add a digital line");

    // Act
    let version = store.save(&c).await.must("insert a cart");

    // Assert
    assert_eq!(version, 1, "the first save of a cart must return version 1");
    let mut want = c.clone();
    want.set_version(1);
    let got = store.get(c.id(), t0()).await.must("get the cart");
    assert_eq!(got, Some(want.clone()), "get must return the cart as saved, at version 1");
    let by_token = store.by_token(c.token(), t0()).await.must("get the cart by token");
    assert_eq!(by_token, Some(want), "by_token must find the cart");
}

/// `save` of a version-0 cart whose id is taken is `AlreadyExists` and changes nothing.
pub async fn save_of_a_new_cart_with_a_taken_id_already_exists(store: Arc<dyn CartStore>) {
    // Arrange
    let original = stored(&*store, cart_with_lines(None, t0(), &[(unique_sku(), 1)])).await;
    let mut clash = original.clone();
    clash.set_version(0);
    add_line(&mut clash, t0());

    // Act
    let result = store.save(&clash).await;

    // Assert
    assert!(
        matches!(result, Err(StoreError::AlreadyExists { .. })),
        "inserting a cart (version 0) with a taken id must be AlreadyExists, got {result:?}"
    );
    assert_eq!(store.get(original.id(), t0()).await.must("get"), Some(original));
}

/// `save` with the stored version succeeds and returns it + 1.
pub async fn save_with_the_stored_version_bumps_it(store: Arc<dyn CartStore>) {
    // Arrange
    let mut c = stored(&*store, cart(None, t0())).await;
    add_line(&mut c, at(1));

    // Act
    let v2 = store.save(&c).await.must("save at version 1");
    c.set_version(v2);
    add_line(&mut c, at(2));
    let v3 = store.save(&c).await.must("save at version 2");

    // Assert
    assert_eq!((v2, v3), (2, 3), "each save must return the old version + 1");
    let got = store.get(c.id(), at(2)).await.must("get").must("find the cart");
    assert_eq!(got.version(), 3);
    assert_eq!(got.lines().len(), 2, "the last save's lines are stored");
}

/// `save` from a stale version is a `VersionConflict` and changes nothing.
pub async fn stale_version_save_is_a_conflict(store: Arc<dyn CartStore>) {
    // Arrange
    let first = stored(&*store, cart(None, t0())).await;
    let mut winner = first.clone();
    add_line(&mut winner, at(1));
    let v = store.save(&winner).await.must("save the winner");
    winner.set_version(v);
    let mut stale = first.clone();
    add_line(&mut stale, at(2));

    // Act
    let result = store.save(&stale).await;

    // Assert
    assert!(
        matches!(result, Err(StoreError::VersionConflict { expected: 1, actual: 2, .. })),
        "saving version 1 over version 2 must be VersionConflict {{ expected: 1, actual: 2 }}, got {result:?}"
    );
    assert_eq!(
        store.get(first.id(), at(2)).await.must("get"),
        Some(winner),
        "a conflict changes nothing"
    );
}

/// 16 tasks save changes from the same read version: exactly one succeeds, the others get
/// `VersionConflict`, and the stored cart is the winner's at version + 1 (no lost update).
pub async fn concurrent_saves_from_one_version_have_one_winner(store: Arc<dyn CartStore>) {
    // Arrange
    let base = stored(&*store, cart(None, t0())).await;

    // Act
    let results = race(16, |i| {
        let store = Arc::clone(&store);
        let mut mine = base.clone();
        mine.add_line(
            LineId::from_uuid(uuid()),
            unique_sku(),
            qty(1 + i as u32),
            ShippingRequirement::Required,
            at(1),
            &CartPolicy::default(),
        )
        .must("add a line");
        async move { (store.save(&mine).await, mine) }
    })
    .await;

    // Assert
    let mut winners = Vec::new();
    for (r, mine) in results {
        match r {
            Ok(v) => {
                assert_eq!(v, 2, "the winner's save returns version 2");
                winners.push(mine);
            }
            Err(StoreError::VersionConflict { .. }) => {}
            Err(e) => panic!("a losing save must be VersionConflict, got {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of 16 concurrent saves from one version must win");
    let mut want = winners.remove(0);
    want.set_version(2);
    let got = store.get(base.id(), at(1)).await.must("get").must("find the cart");
    assert_eq!(got, want, "the stored cart is the winner's, at version 2 (bumped once)");
}

/// A cart past `expires_at` is not returned by `get`, `by_token` or `open_cart_of`.
pub async fn expired_carts_are_not_returned(store: Arc<dyn CartStore>) {
    // Arrange
    let customer = CustomerId::from_uuid(uuid());
    let c = stored(&*store, cart_with_lines(Some(customer), t0(), &[(unique_sku(), 1)])).await;
    let before = c.expires_at() - Duration::seconds(1);
    let after = c.expires_at() + Duration::seconds(1);

    // Act
    let live = store.get(c.id(), before).await.must("get before expiry");
    let gone = store.get(c.id(), after).await.must("get after expiry");
    let gone_by_token = store.by_token(c.token(), after).await.must("by_token after expiry");
    let gone_of_customer =
        store.open_cart_of(customer, after).await.must("open_cart_of after expiry");

    // Assert
    assert!(live.is_some(), "a cart is returned until it expires");
    assert_eq!(gone, None, "get must not return an expired cart");
    assert_eq!(gone_by_token, None, "by_token must not return an expired cart");
    assert_eq!(gone_of_customer, None, "open_cart_of must not return an expired cart");
}

/// `open_cart_of` returns the customer's most recently updated OPEN cart, not a checked
/// out one nor another customer's.
pub async fn open_cart_of_returns_the_latest_open_cart(store: Arc<dyn CartStore>) {
    // Arrange
    let me = CustomerId::from_uuid(uuid());
    let someone_else = CustomerId::from_uuid(uuid());
    stored(&*store, cart_with_lines(Some(me), at(-7200), &[(unique_sku(), 1)])).await;
    let latest_open =
        stored(&*store, cart_with_lines(Some(me), at(-3600), &[(unique_sku(), 1)])).await;
    let mut checked_out = cart_with_lines(Some(me), at(-60), &[(unique_sku(), 1)]);
    checked_out.mark_checked_out(OrderId::from_uuid(uuid()), at(-30)).must("check out");
    stored(&*store, checked_out).await;
    stored(&*store, cart_with_lines(Some(someone_else), at(-10), &[(unique_sku(), 1)])).await;

    // Act
    let found = store.open_cart_of(me, t0()).await.must("open_cart_of");

    // Assert
    assert_eq!(found, Some(latest_open), "the most recently updated open cart of the customer");
    assert_eq!(
        store.open_cart_of(CustomerId::from_uuid(uuid()), t0()).await.must("open_cart_of"),
        None
    );
}

/// `stale_open_carts` returns open, unexpired carts untouched since `updated_before`, at
/// most `limit`.
pub async fn stale_open_carts_returns_only_open_unexpired_untouched_carts(
    store: Arc<dyn CartStore>,
) {
    // Arrange
    let customer = Some(CustomerId::from_uuid(uuid()));
    let now = t0();
    let stale_a =
        stored(&*store, cart_with_lines(customer, now - Duration::hours(6), &[(unique_sku(), 1)]))
            .await;
    let stale_b =
        stored(&*store, cart_with_lines(None, now - Duration::hours(5), &[(unique_sku(), 1)]))
            .await;
    stored(&*store, cart_with_lines(customer, now - Duration::hours(1), &[(unique_sku(), 1)]))
        .await;
    let mut closed = cart_with_lines(customer, now - Duration::hours(7), &[(unique_sku(), 1)]);
    closed.mark_checked_out(OrderId::from_uuid(uuid()), now - Duration::hours(7)).must("check out");
    stored(&*store, closed).await;
    let policy = CartPolicy::default();
    stored(
        &*store,
        cart_with_lines(customer, now - policy.ttl - Duration::hours(1), &[(unique_sku(), 1)]),
    )
    .await;
    let query = CartQuery { updated_before: now - Duration::hours(4), limit: 10 };

    // Act
    let found = store.stale_open_carts(&query, now).await.must("stale_open_carts");
    let limited = store
        .stale_open_carts(&CartQuery { limit: 1, ..query.clone() }, now)
        .await
        .must("stale_open_carts with limit 1");

    // Assert
    let mut ids: Vec<_> = found.iter().map(Cart::id).collect();
    ids.sort();
    let mut want = vec![stale_a.id(), stale_b.id()];
    want.sort();
    assert_eq!(ids, want, "only open, unexpired carts updated before the cutoff");
    assert!(found.iter().all(|c| *c.status() == CartStatus::Open));
    assert_eq!(limited.len(), 1, "at most `limit` carts");
}
