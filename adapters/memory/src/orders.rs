//! [`MemoryOrders`]: the in-memory order repository, writing orders and their events to a
//! shared [`MemoryOutbox`] in one atomic step.
//!
//! # Atomicity
//! Every write takes the orders lock, checks everything that can fail, then takes the
//! outbox lock (lock order: orders -> outbox, see [`crate::outbox`]) and writes the order
//! and its events before releasing either lock. Appending to the outbox cannot fail, so a
//! write is all or nothing, and a reader of either store sees both or neither.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use shopkit_core::events::EventEnvelope;
use shopkit_core::ids::{OrderId, RefundId};
use shopkit_core::orders::Order;
use shopkit_core::ports::{
    CursorCodec, OrderQuery, OrderRepository, Page, StoreError, clamp_page_limit,
};

use crate::ids::random_cursor_codec;
use crate::outbox::MemoryOutbox;

/// Listing order: newest `placed_at` first, then by id.
type ListKey = (Reverse<DateTime<Utc>>, OrderId);

fn list_key(order: &Order) -> ListKey {
    (Reverse(order.placed_at()), order.id())
}

#[derive(Debug, Default)]
struct State {
    orders: HashMap<OrderId, Order>,
    by_refund: HashMap<RefundId, OrderId>,
    listing: BTreeSet<ListKey>,
}

impl State {
    /// Fails with `AlreadyExists` when a refund of `order` is recorded on another order.
    fn check_refunds(&self, order: &Order) -> Result<(), StoreError> {
        for refund in order.refunds() {
            if self.by_refund.get(&refund.id).is_some_and(|owner| *owner != order.id()) {
                return Err(StoreError::AlreadyExists {
                    entity: "refund",
                    key: format!("id {}", refund.id),
                });
            }
        }
        Ok(())
    }

    fn store(&mut self, mut order: Order, version: u64) {
        if let Some(old) = self.orders.remove(&order.id()) {
            self.listing.remove(&list_key(&old));
            for refund in old.refunds() {
                self.by_refund.remove(&refund.id);
            }
        }
        order.set_version(version);
        self.listing.insert(list_key(&order));
        for refund in order.refunds() {
            self.by_refund.insert(refund.id, order.id());
        }
        self.orders.insert(order.id(), order);
    }
}

fn encode_key((Reverse(at), id): &ListKey) -> String {
    format!("{}|{id}", at.to_rfc3339_opts(SecondsFormat::Nanos, true))
}

fn decode_key(raw: &str) -> Result<ListKey, StoreError> {
    let (at, id) = raw.split_once('|').ok_or(StoreError::InvalidCursor)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| StoreError::InvalidCursor)?;
    let id = id.parse().map_err(|_| StoreError::InvalidCursor)?;
    Ok((Reverse(at.with_timezone(&Utc)), id))
}

/// The in-memory [`OrderRepository`].
///
/// - `insert` fails with `AlreadyExists` for a taken id and then writes nothing (no order,
///   no event); otherwise it stores version 1 and appends the events, atomically;
/// - `update` fails with `VersionConflict` (writing nothing) unless `order.version()` is the
///   stored version, otherwise stores version + 1 and appends the events, atomically;
/// - refunds are indexed, so `by_refund` does not scan;
/// - `list` is newest first (`placed_at` descending, then id ascending), filtered by
///   customer and status, with opaque cursors.
///
/// Clones share the same data and outbox.
#[derive(Debug, Clone)]
pub struct MemoryOrders {
    state: Arc<Mutex<State>>,
    outbox: MemoryOutbox,
    cursors: CursorCodec,
}

impl MemoryOrders {
    /// An empty repository whose events go to `outbox` (pass a clone of the outbox the
    /// dispatcher reads).
    pub fn new(outbox: MemoryOutbox) -> Self {
        MemoryOrders { state: Arc::default(), outbox, cursors: random_cursor_codec("orders") }
    }

    /// The outbox this repository appends to.
    pub fn outbox(&self) -> &MemoryOutbox {
        &self.outbox
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl OrderRepository for MemoryOrders {
    async fn insert(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError> {
        let mut state = self.lock();
        if state.orders.contains_key(&order.id()) {
            return Err(StoreError::AlreadyExists {
                entity: "order",
                key: format!("id {}", order.id()),
            });
        }
        state.check_refunds(order)?;
        // Lock order: orders (held) -> outbox.
        let mut outbox = self.outbox.lock();
        outbox.append(events);
        state.store(order.clone(), 1);
        Ok(1)
    }

    async fn update(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let actual = state
            .orders
            .get(&order.id())
            .map(Order::version)
            .ok_or_else(|| StoreError::not_found("order", order.id()))?;
        if actual != order.version() {
            return Err(StoreError::VersionConflict {
                entity: "order",
                id: order.id().to_string(),
                expected: order.version(),
                actual,
            });
        }
        state.check_refunds(order)?;
        let version = actual + 1;
        // Lock order: orders (held) -> outbox.
        let mut outbox = self.outbox.lock();
        outbox.append(events);
        state.store(order.clone(), version);
        Ok(version)
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        Ok(self.lock().orders.get(&id).cloned())
    }

    async fn by_refund(&self, id: RefundId) -> Result<Option<Order>, StoreError> {
        let state = self.lock();
        Ok(state.by_refund.get(&id).and_then(|order| state.orders.get(order)).cloned())
    }

    async fn list(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        let after = match &query.cursor {
            Some(cursor) => Bound::Excluded(decode_key(&self.cursors.decode(cursor)?)?),
            None => Bound::Unbounded,
        };
        let limit = clamp_page_limit(query.limit);
        let state = self.lock();
        let mut matching = state
            .listing
            .range((after, Bound::Unbounded))
            .filter_map(|(_, id)| state.orders.get(id))
            .filter(|order| {
                query.customer.is_none_or(|c| order.customer() == Some(c))
                    && query.status.is_none_or(|s| order.status() == s)
            });
        let items: Vec<Order> = matching.by_ref().take(limit).cloned().collect();
        let next_cursor = match items.last() {
            Some(last) if matching.next().is_some() => {
                Some(self.cursors.encode(&encode_key(&list_key(last))))
            }
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use shopkit_core::events::DomainEvent;
    use shopkit_core::ids::{CartId, CustomerId, Email, EventId, LineId, ProductId, Sku};
    use shopkit_core::money::{Currency, Money};
    use shopkit_core::orders::{
        NewOrder, OrderLine, OrderStatus, OrderTotals, Payment, RefundRequest,
    };
    use shopkit_core::ports::{Cursor, OutboxStore};
    use shopkit_core::quantity::Quantity;
    use uuid::Uuid;

    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn placed(customer: Option<CustomerId>, at: DateTime<Utc>) -> (Order, Vec<EventEnvelope>) {
        let line = OrderLine {
            id: LineId::from_uuid(Uuid::new_v4()),
            product_id: ProductId::from_uuid(Uuid::new_v4()),
            sku: Sku::new("TEE").unwrap(),
            title: "Tee".into(),
            quantity: Quantity::new(2).unwrap(),
            unit_price: usd(1000),
            subtotal: usd(2000),
            discount: usd(0),
            tax: usd(0),
            total: usd(2000),
            fulfilled: 0,
            refunded: 0,
        };
        let new = NewOrder {
            id: OrderId::from_uuid(Uuid::new_v4()),
            cart_id: CartId::from_uuid(Uuid::new_v4()),
            customer,
            email: Email::new("ann@example.com").unwrap(),
            currency: Currency::USD,
            lines: vec![line],
            totals: OrderTotals {
                subtotal: usd(2000),
                discount_total: usd(0),
                shipping_total: usd(0),
                tax_total: usd(0),
                grand_total: usd(2000),
                shipping_discount: usd(0),
                shipping_tax: usd(0),
                prices_include_tax: false,
                applied_promotions: vec![],
            },
            shipping_address: None,
            shipping_method: None,
            coupons: vec![],
            payment: Payment {
                reference: "pi_1".into(),
                authorized: usd(2000),
                captured: usd(0),
                refunded: usd(0),
                voided: false,
            },
            placed_at: at,
        };
        let (order, event) = Order::place(new).unwrap();
        (order, vec![envelope(event, at)])
    }

    fn envelope(event: DomainEvent, at: DateTime<Utc>) -> EventEnvelope {
        EventEnvelope { id: EventId::from_uuid(Uuid::new_v4()), occurred_at: at, event }
    }

    async fn event_count(outbox: &MemoryOutbox) -> usize {
        outbox.list(None, None, 100).await.unwrap().items.len()
    }

    #[tokio::test]
    async fn an_insert_of_a_taken_id_writes_no_event() {
        let outbox = MemoryOutbox::new();
        let orders = MemoryOrders::new(outbox.clone());
        let (order, events) = placed(None, t0());
        assert_eq!(orders.insert(&order, &events).await.unwrap(), 1);
        let retry_events =
            vec![envelope(DomainEvent::OrderDelivered { order_id: order.id() }, t0())];

        let err = orders.insert(&order, &retry_events).await.unwrap_err();

        assert!(matches!(err, StoreError::AlreadyExists { entity: "order", .. }));
        assert_eq!(event_count(&outbox).await, 1);
    }

    #[tokio::test]
    async fn a_stale_update_writes_neither_order_nor_event() {
        let outbox = MemoryOutbox::new();
        let orders = MemoryOrders::new(outbox.clone());
        let (mut order, events) = placed(None, t0());
        order.set_version(orders.insert(&order, &events).await.unwrap());
        let stale = order.clone();
        let paid = order.mark_paid(usd(2000), t0()).unwrap();
        assert_eq!(orders.update(&order, &[envelope(paid, t0())]).await.unwrap(), 2);

        let mut conflicting = stale;
        let cancelled = conflicting.cancel("changed my mind".into(), t0()).unwrap();
        let err = orders.update(&conflicting, &[envelope(cancelled, t0())]).await.unwrap_err();

        assert!(matches!(err, StoreError::VersionConflict { expected: 1, actual: 2, .. }));
        assert_eq!(orders.get(order.id()).await.unwrap().unwrap().status(), OrderStatus::Paid);
        assert_eq!(event_count(&outbox).await, 2);
    }

    #[tokio::test]
    async fn an_order_is_found_by_its_refund() {
        let orders = MemoryOrders::new(MemoryOutbox::new());
        let (mut order, events) = placed(None, t0());
        order.set_version(orders.insert(&order, &events).await.unwrap());
        order.mark_paid(usd(2000), t0()).unwrap();
        let refund = RefundId::from_uuid(Uuid::new_v4());
        let request = RefundRequest {
            lines: vec![(order.lines()[0].id, Quantity::ONE)],
            extra_amount: None,
            restock: false,
            reason: "too small".into(),
        };
        order.request_refund(refund, request, t0()).unwrap();

        orders.update(&order, &[]).await.unwrap();

        let found = orders.by_refund(refund).await.unwrap().unwrap();
        assert_eq!((found.id(), found.version()), (order.id(), 2));
        assert!(orders.by_refund(RefundId::from_uuid(Uuid::new_v4())).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn list_pages_newest_first_with_filters() {
        let orders = MemoryOrders::new(MemoryOutbox::new());
        let ann = CustomerId::from_uuid(Uuid::new_v4());
        let mut ids = Vec::new();
        for minutes in 0..5 {
            let customer = if minutes == 2 { None } else { Some(ann) };
            let (order, events) = placed(customer, t0() + Duration::minutes(minutes));
            orders.insert(&order, &events).await.unwrap();
            ids.push(order.id());
        }
        let query = |cursor: Option<Cursor>| OrderQuery {
            customer: Some(ann),
            status: Some(OrderStatus::Placed),
            cursor,
            limit: 3,
        };

        let first = orders.list(&query(None)).await.unwrap();
        let second = orders.list(&query(first.next_cursor.clone())).await.unwrap();

        let got: Vec<OrderId> = first.items.iter().chain(&second.items).map(Order::id).collect();
        assert_eq!(got, [ids[4], ids[3], ids[1], ids[0]]);
        assert_eq!(second.next_cursor, None);
        let paid = OrderQuery { status: Some(OrderStatus::Paid), ..query(None) };
        assert!(orders.list(&paid).await.unwrap().items.is_empty());
    }

    #[tokio::test]
    async fn cursors_from_another_listing_are_rejected() {
        let outbox = MemoryOutbox::new();
        let orders = MemoryOrders::new(outbox.clone());
        for minutes in 0..3 {
            let (order, events) = placed(None, t0() + Duration::minutes(minutes));
            orders.insert(&order, &events).await.unwrap();
        }
        let outbox_cursor = outbox.list(None, None, 1).await.unwrap().next_cursor;
        let query = OrderQuery { cursor: outbox_cursor, limit: 1, ..OrderQuery::default() };

        assert!(matches!(orders.list(&query).await, Err(StoreError::InvalidCursor)));
    }
}
