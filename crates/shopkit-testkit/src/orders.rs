//! Contracts of [`OrderRepository`]: an order and its events are written to the outbox in
//! one atomic step, `AlreadyExists` and `VersionConflict` write nothing, refunds are found
//! by id, and listings page newest first.
//!
//! Each contract takes a fresh, empty repository and the outbox it writes to (the same
//! database: in PostgreSQL both are tables of one schema).

use std::collections::HashSet;
use std::sync::Arc;

use shopkit_core::events::{EventEnvelope, OutboxStatus};
use shopkit_core::ids::{CustomerId, EventId, OrderId, RefundId};
use shopkit_core::orders::{Order, OrderStatus, RefundRequest};
use shopkit_core::ports::{Cursor, OrderQuery, OrderRepository, OutboxStore, StoreError};

use crate::fixtures::{at, envelope, event, placed_order, t0, usd, uuid};
use crate::support::{Must, race};

/// Every event id in the outbox.
pub(crate) async fn outbox_ids(outbox: &dyn OutboxStore) -> HashSet<EventId> {
    let mut ids = HashSet::new();
    let mut cursor = None;
    for _ in 0..1000 {
        let page = outbox.list(None, cursor, 100).await.must("list the outbox");
        ids.extend(page.items.iter().map(|e| e.envelope.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return ids,
        }
    }
    panic!("the outbox listing never ended");
}

fn ids(events: &[EventEnvelope]) -> HashSet<EventId> {
    events.iter().map(|e| e.id).collect()
}

async fn inserted(
    orders: &dyn OrderRepository,
    customer: Option<CustomerId>,
    placed_at: chrono::DateTime<chrono::Utc>,
) -> Order {
    let (mut order, placed) = placed_order(customer, placed_at);
    let v = orders.insert(&order, &[placed]).await.must("insert an order");
    order.set_version(v);
    order
}

/// `insert` stores the order at version 1 and appends its events to the outbox.
pub async fn insert_writes_the_order_and_its_events(
    orders: Arc<dyn OrderRepository>,
    outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let (order, placed) = placed_order(None, t0());
    let extra = event(t0());

    // Act
    let version = orders.insert(&order, &[placed.clone(), extra.clone()]).await.must("insert");

    // Assert
    assert_eq!(version, 1, "insert returns version 1");
    let mut want = order.clone();
    want.set_version(1);
    assert_eq!(
        orders.get(order.id()).await.must("get"),
        Some(want),
        "get returns the order as stored"
    );
    assert_eq!(
        outbox_ids(&*outbox).await,
        ids(&[placed.clone(), extra]),
        "both events are in the outbox"
    );
    let pending = outbox.list(Some(OutboxStatus::Pending), None, 100).await.must("list pending");
    let entry = pending
        .items
        .iter()
        .find(|e| e.envelope.id == placed.id)
        .must("find the OrderPlaced entry");
    assert_eq!(entry.envelope, placed, "the outbox holds the event as given");
}

/// `insert` of an existing id is `AlreadyExists` and writes nothing: not the order, not
/// its events (checkout places an order once per idempotency key).
pub async fn insert_of_an_existing_id_writes_no_events(
    orders: Arc<dyn OrderRepository>,
    outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let first = inserted(&*orders, None, t0()).await;
    let before = outbox_ids(&*outbox).await;
    let (other, _) = placed_order(None, at(5));
    let again = clone_with_id(&other, first.id());
    let second_events = [event(at(5))];

    // Act
    let result = orders.insert(&again, &second_events).await;

    // Assert
    assert!(
        matches!(result, Err(StoreError::AlreadyExists { .. })),
        "inserting an existing order id must be AlreadyExists, got {result:?}"
    );
    assert_eq!(outbox_ids(&*outbox).await, before, "a refused insert appends no event");
    assert_eq!(
        orders.get(first.id()).await.must("get"),
        Some(first),
        "the stored order is untouched"
    );
}

/// Concurrent inserts of one order id: exactly one succeeds, and only its events are in
/// the outbox.
pub async fn concurrent_inserts_of_one_order_write_events_once(
    orders: Arc<dyn OrderRepository>,
    outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let (order, _) = placed_order(None, t0());
    let attempts: Vec<EventEnvelope> = (0..16).map(|_| event(t0())).collect();
    let attempts = Arc::new(attempts);

    // Act
    let results = race(16, |i| {
        let orders = Arc::clone(&orders);
        let order = order.clone();
        let attempts = Arc::clone(&attempts);
        async move { orders.insert(&order, std::slice::from_ref(&attempts[i])).await }
    })
    .await;

    // Assert
    let winners: Vec<usize> =
        results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "exactly one of 16 concurrent inserts of one id must win");
    for r in &results {
        assert!(
            matches!(r, Ok(1) | Err(StoreError::AlreadyExists { .. })),
            "losers are AlreadyExists, got {r:?}"
        );
    }
    assert_eq!(
        outbox_ids(&*outbox).await,
        HashSet::from([attempts[winners[0]].id]),
        "only the winning insert's event is in the outbox"
    );
}

/// A copy of a freshly placed `order` under another id (placed again, so it is valid).
fn clone_with_id(order: &Order, id: OrderId) -> Order {
    let new = shopkit_core::orders::NewOrder {
        id,
        cart_id: order.cart_id(),
        customer: order.customer(),
        email: order.email().clone(),
        currency: order.currency(),
        lines: order.lines().to_vec(),
        totals: order.totals().clone(),
        shipping_address: order.shipping_address().cloned(),
        shipping_method: order.shipping_method().cloned(),
        coupons: order.coupons().to_vec(),
        payment: order.payment().clone(),
        placed_at: order.placed_at(),
    };
    Order::place(new).must("re-place an order under another id").0
}

/// `update` at the stored version stores the change, appends its events and returns
/// version + 1.
pub async fn update_writes_the_change_and_its_events(
    orders: Arc<dyn OrderRepository>,
    outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let mut order = inserted(&*orders, None, t0()).await;
    let before = outbox_ids(&*outbox).await;
    let paid =
        envelope(order.mark_paid(order.payment().authorized, at(60)).must("mark paid"), at(60));

    // Act
    let v = orders.update(&order, std::slice::from_ref(&paid)).await.must("update");

    // Assert
    assert_eq!(v, 2, "update returns the stored version + 1");
    order.set_version(2);
    assert_eq!(orders.get(order.id()).await.must("get"), Some(order.clone()));
    let mut want = before;
    want.insert(paid.id);
    assert_eq!(outbox_ids(&*outbox).await, want, "the update's event is in the outbox");
}

/// `update` from a stale version is a `VersionConflict`: neither the change nor its
/// events are written.
pub async fn stale_version_update_writes_nothing(
    orders: Arc<dyn OrderRepository>,
    outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let original = inserted(&*orders, None, t0()).await;
    let mut winner = original.clone();
    let paid =
        envelope(winner.mark_paid(winner.payment().authorized, at(60)).must("mark paid"), at(60));
    winner.set_version(orders.update(&winner, &[paid]).await.must("update"));
    let before = outbox_ids(&*outbox).await;
    let mut stale = original.clone();
    let cancelled = envelope(stale.cancel("changed my mind".into(), at(61)).must("cancel"), at(61));

    // Act
    let result = orders.update(&stale, std::slice::from_ref(&cancelled)).await;

    // Assert
    assert!(
        matches!(result, Err(StoreError::VersionConflict { expected: 1, actual: 2, .. })),
        "a stale update must be VersionConflict {{ expected: 1, actual: 2 }}, got {result:?}"
    );
    assert_eq!(outbox_ids(&*outbox).await, before, "a conflicting update appends no event");
    assert_eq!(
        orders.get(original.id()).await.must("get"),
        Some(winner),
        "a conflict changes nothing"
    );
}

/// 16 concurrent updates from one version: exactly one wins, and only its event is
/// appended.
pub async fn concurrent_updates_have_one_winner_and_its_events_only(
    orders: Arc<dyn OrderRepository>,
    outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let base = inserted(&*orders, None, t0()).await;
    let before = outbox_ids(&*outbox).await;

    // Act
    let results = race(16, |i| {
        let orders = Arc::clone(&orders);
        let mut mine = base.clone();
        let e = envelope(mine.cancel(format!("reason {i}"), at(10)).must("cancel"), at(10));
        async move { (orders.update(&mine, std::slice::from_ref(&e)).await, e.id) }
    })
    .await;

    // Assert
    let mut winners = Vec::new();
    for (r, id) in &results {
        match r {
            Ok(v) => {
                assert_eq!(*v, 2);
                winners.push(*id);
            }
            Err(StoreError::VersionConflict { .. }) => {}
            Err(e) => panic!("a losing update must be VersionConflict, got {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of 16 concurrent updates must win");
    let mut want = before;
    want.insert(winners[0]);
    assert_eq!(outbox_ids(&*outbox).await, want, "only the winner's event is appended");
}

/// `by_refund` finds the order holding a refund; an unknown refund finds nothing.
pub async fn by_refund_finds_the_order_of_a_refund(
    orders: Arc<dyn OrderRepository>,
    _outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let mut order = inserted(&*orders, None, t0()).await;
    let paid = order.mark_paid(order.payment().authorized, at(1)).must("mark paid");
    let refund_id = RefundId::from_uuid(uuid());
    let requested = order
        .request_refund(
            refund_id,
            RefundRequest {
                lines: vec![],
                extra_amount: Some(usd(100)),
                restock: false,
                reason: "late".into(),
            },
            at(2),
        )
        .must("request a refund");
    let v = orders
        .update(&order, &[envelope(paid, at(1)), envelope(requested, at(2))])
        .await
        .must("update");
    order.set_version(v);
    inserted(&*orders, None, t0()).await;

    // Act
    let found = orders.by_refund(refund_id).await.must("by_refund");
    let none =
        orders.by_refund(RefundId::from_uuid(uuid())).await.must("by_refund of an unknown refund");

    // Assert
    assert_eq!(found, Some(order), "by_refund returns the order holding the refund");
    assert_eq!(none, None);
}

/// `list` pages newest first with opaque cursors, never repeating or skipping, filters by
/// customer and status, and rejects a foreign cursor.
pub async fn list_pages_newest_first_and_filters(
    orders: Arc<dyn OrderRepository>,
    _outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let me = CustomerId::from_uuid(uuid());
    let mut mine = Vec::new();
    for k in 0..7 {
        mine.push(inserted(&*orders, Some(me), at(k * 60)).await);
    }
    let theirs = inserted(&*orders, Some(CustomerId::from_uuid(uuid())), at(30)).await;
    let mut paid = mine[2].clone();
    let e = paid.mark_paid(paid.payment().authorized, at(1000)).must("mark paid");
    orders.update(&paid, &[envelope(e, at(1000))]).await.must("update");

    // Act
    let mut query = OrderQuery { customer: Some(me), limit: 3, ..OrderQuery::default() };
    let mut listed = Vec::new();
    for _ in 0..100 {
        let page = orders.list(&query).await.must("list orders");
        assert!(page.items.len() <= 3);
        listed.extend(page.items);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    let only_paid = orders
        .list(&OrderQuery { status: Some(OrderStatus::Paid), limit: 50, ..OrderQuery::default() })
        .await
        .must("list paid orders");
    let foreign = orders
        .list(&OrderQuery {
            cursor: Some(Cursor("bogus".into())),
            limit: 10,
            ..OrderQuery::default()
        })
        .await;

    // Assert
    let got: Vec<OrderId> = listed.iter().map(Order::id).collect();
    let want: Vec<OrderId> = mine.iter().rev().map(Order::id).collect();
    assert_eq!(got, want, "the customer's orders, newest first, each once");
    assert!(!got.contains(&theirs.id()), "another customer's order is filtered out");
    assert_eq!(
        only_paid.items.iter().map(Order::id).collect::<Vec<_>>(),
        vec![paid.id()],
        "status filter"
    );
    assert!(
        matches!(foreign, Err(StoreError::InvalidCursor)),
        "a foreign cursor must be InvalidCursor, got {foreign:?}"
    );
}
