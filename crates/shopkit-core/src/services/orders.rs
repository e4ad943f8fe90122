//! Order management after checkout: read, list, capture, ship, deliver, cancel.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::{CustomerId, EventId, LineId, LocationId, OrderId, RefundId, ShipmentId};
use crate::orders::{Order, OrderError, OrderStatus, Tracking};
use crate::ports::{
    Clock, Cursor, IdGenerator, OrderQuery, OrderRepository, Page, PaymentError, PaymentGateway,
    PromotionRepository, StoreError,
};
use crate::quantity::Quantity;

use super::MAX_ATTEMPTS;
use super::access::Caller;
use super::error::ShopError;
use super::keys;

/// An order listing request, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderListing {
    /// Only this customer's orders (admins only; a customer always lists their own).
    pub customer: Option<CustomerId>,
    /// Only this status.
    pub status: Option<OrderStatus>,
    /// Where to continue.
    pub cursor: Option<Cursor>,
    /// Page size, 1 to 100.
    pub limit: usize,
}

/// Which units a shipment takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShipLines {
    /// Every unit not yet shipped or refunded.
    Remaining,
    /// These lines and units.
    Only(Vec<(LineId, Quantity)>),
}

/// A shipment to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShipmentRequest {
    /// What leaves the warehouse.
    pub lines: ShipLines,
    /// Carrier tracking, if any.
    pub tracking: Option<Tracking>,
}

impl ShipmentRequest {
    /// Every unit not yet shipped or refunded, with optional tracking.
    pub fn remaining(tracking: Option<Tracking>) -> Self {
        ShipmentRequest { lines: ShipLines::Remaining, tracking }
    }
}

/// How an order is found.
#[derive(Clone, Copy, Debug)]
pub(crate) enum OrderRef {
    Id(OrderId),
    Refund(RefundId),
}

/// Loads and writes orders for the order and refund services: access checks, one event per
/// change written atomically with it, and version conflicts retried on a fresh copy.
#[derive(Clone)]
pub(crate) struct OrderWriter {
    pub(crate) orders: Arc<dyn OrderRepository>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<dyn IdGenerator>,
}

impl OrderWriter {
    /// An order the caller may see (customers: their own; others' are "not found").
    pub(crate) async fn load(&self, by: OrderRef, caller: &Caller) -> Result<Order, ShopError> {
        let (order, entity, id) = match by {
            OrderRef::Id(id) => (self.orders.get(id).await?, "order", id.to_string()),
            OrderRef::Refund(id) => (self.orders.by_refund(id).await?, "refund", id.to_string()),
        };
        order.filter(|o| caller.can_see_order(o)).ok_or(ShopError::NotFound { entity, id })
    }

    /// Loads the order, applies `apply` (which returns the event of the change, or `None`
    /// when there is nothing to do), and writes the order with its event. Returns the order
    /// and whether this call changed it.
    pub(crate) async fn change(
        &self,
        by: OrderRef,
        caller: &Caller,
        apply: impl Fn(&mut Order, DateTime<Utc>) -> Result<Option<DomainEvent>, ShopError>,
    ) -> Result<(Order, bool), ShopError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let now = self.clock.now();
            let mut order = self.load(by, caller).await?;
            let Some(event) = apply(&mut order, now)? else {
                return Ok((order, false));
            };
            let envelope =
                EventEnvelope { id: EventId::from_uuid(self.ids.uuid()), occurred_at: now, event };
            match self.orders.update(&order, std::slice::from_ref(&envelope)).await {
                Ok(version) => {
                    order.set_version(version);
                    return Ok((order, true));
                }
                Err(StoreError::VersionConflict { .. }) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(order = %order.id(), attempt, "order changed concurrently; re-applying the change");
                }
                Err(e) => return Err(e.into()),
            }
        }
        let (entity, id) = match by {
            OrderRef::Id(id) => ("order", id.to_string()),
            OrderRef::Refund(id) => ("refund", id.to_string()),
        };
        Err(ShopError::Conflict { entity, id })
    }
}

/// Orders after checkout. Every state change is an event written with the order; gateway
/// calls carry keys derived from the order, so a retried call never captures, voids or
/// refunds twice.
#[derive(Clone)]
pub struct OrderService {
    writer: OrderWriter,
    gateway: Arc<dyn PaymentGateway>,
    promotions: Arc<dyn PromotionRepository>,
    location: LocationId,
}

impl std::fmt::Debug for OrderService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderService").field("location", &self.location).finish_non_exhaustive()
    }
}

impl OrderService {
    /// An order service; cancelled orders give their promotion uses back to `promotions`,
    /// and their `OrderCancelled` event names `location` as where their stock goes back
    /// (the [`RestockSubscriber`](super::subscribers::RestockSubscriber) puts it there).
    pub fn new(
        orders: Arc<dyn OrderRepository>,
        gateway: Arc<dyn PaymentGateway>,
        promotions: Arc<dyn PromotionRepository>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        location: LocationId,
    ) -> Self {
        OrderService { writer: OrderWriter { orders, clock, ids }, gateway, promotions, location }
    }

    /// An order. Customers see their own orders only; another's order is "not found"
    /// (never "forbidden", which would confirm it exists).
    ///
    /// # Errors
    /// [`ShopError::NotFound`].
    pub async fn get(&self, caller: &Caller, id: OrderId) -> Result<Order, ShopError> {
        self.writer.load(OrderRef::Id(id), caller).await
    }

    /// A page of orders, newest first. A customer lists their own, whatever the filter.
    ///
    /// # Errors
    /// [`ShopError::Invalid`] for a foreign cursor; storage errors.
    pub async fn list(
        &self,
        caller: &Caller,
        listing: OrderListing,
    ) -> Result<Page<Order>, ShopError> {
        let customer = match caller {
            Caller::Customer(me) => Some(*me),
            Caller::Guest(_) => return Err(ShopError::Forbidden { action: "list orders" }),
            Caller::Admin => listing.customer,
        };
        let query = OrderQuery {
            customer,
            status: listing.status,
            cursor: listing.cursor,
            limit: listing.limit.clamp(1, 100),
        };
        Ok(self.writer.orders.list(&query).await?)
    }

    /// Captures the authorized amount: `placed -> paid` (`OrderPaid`). Capturing a paid
    /// order again returns it unchanged.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`] for a customer; [`ShopError::Order`] for a cancelled order;
    /// [`ShopError::Payment`] when the gateway refuses or times out (retry: same key).
    pub async fn capture(&self, caller: &Caller, id: OrderId) -> Result<Order, ShopError> {
        caller.require_admin("capture payments")?;
        let order = self.get(caller, id).await?;
        self.capture_loaded(caller, order).await
    }

    async fn capture_loaded(&self, caller: &Caller, order: Order) -> Result<Order, ShopError> {
        let now = self.writer.clock.now();
        let authorized = order.payment().authorized;
        match order.status() {
            OrderStatus::Placed => {}
            OrderStatus::Paid
            | OrderStatus::PartiallyFulfilled
            | OrderStatus::Fulfilled
            | OrderStatus::Delivered => {
                return Ok(order);
            }
            OrderStatus::Cancelled => {
                // Let the aggregate say why.
                order.clone().mark_paid(authorized, now)?;
            }
        }
        if order.pending_cancellation().is_some() {
            return Err(OrderError::IllegalTransition {
                order: order.id(),
                status: order.status().as_str(),
                action: "capture while a cancellation is under way",
            }
            .into());
        }
        let captured = if authorized.is_zero() {
            authorized // a free order: there is nothing to capture at the gateway
        } else {
            self.gateway
                .capture(&order.payment().reference, authorized, &keys::capture_key(order.id()))
                .await?
        };
        let (order, _) = self
            .writer
            .change(OrderRef::Id(order.id()), caller, |o, now| {
                if o.status() != OrderStatus::Placed {
                    return Ok(None);
                }
                Ok(Some(o.mark_paid(captured, now)?))
            })
            .await?;
        Ok(order)
    }

    /// Ships units (`OrderShipped` with tracking), capturing the payment first if the order
    /// is still only placed.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`] for a customer; [`ShopError::Order`] for unknown lines,
    /// more units than remain, nothing left to ship, or a cancelled order;
    /// [`ShopError::Payment`] when the capture fails.
    pub async fn fulfil(
        &self,
        caller: &Caller,
        id: OrderId,
        shipment: ShipmentRequest,
    ) -> Result<Order, ShopError> {
        caller.require_admin("ship orders")?;
        let order = self.get(caller, id).await?;
        if order.status() == OrderStatus::Placed {
            self.capture_loaded(caller, order).await?;
        }
        let shipment_id = ShipmentId::from_uuid(self.writer.ids.uuid());
        let (order, _) = self
            .writer
            .change(OrderRef::Id(id), caller, |o, now| {
                let lines = match &shipment.lines {
                    ShipLines::Only(lines) => lines.clone(),
                    ShipLines::Remaining => o.units_to_ship(),
                };
                Ok(Some(o.fulfil(shipment_id, lines, shipment.tracking.clone(), now)?))
            })
            .await?;
        Ok(order)
    }

    /// Records delivery: `fulfilled -> delivered`. Idempotent.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`] for a customer; [`ShopError::Order`] when not fulfilled.
    pub async fn deliver(&self, caller: &Caller, id: OrderId) -> Result<Order, ShopError> {
        caller.require_admin("mark orders delivered")?;
        let (order, _) = self
            .writer
            .change(OrderRef::Id(id), caller, |o, now| {
                if o.status() == OrderStatus::Delivered {
                    return Ok(None);
                }
                Ok(Some(o.deliver(now)?))
            })
            .await?;
        Ok(order)
    }

    /// Cancels an order before anything shipped (`OrderCancelled`): a placed order's
    /// authorization is voided, a paid order's capture refunded, the stock given back and
    /// the usage-limited promotions it redeemed released.
    ///
    /// In three steps, so that money moves only for an order that does get cancelled:
    /// 1. the order is checked and held (`OrderCancellationStarted`, one versioned write):
    ///    from here nothing ships and no refund can be requested;
    /// 2. the money goes back, with keys derived from the order, so a retry never moves it
    ///    twice;
    /// 3. the order is cancelled (`OrderCancelled`, with its lines and the location their
    ///    stock goes back to), then its promotion uses are given back. The stock goes back
    ///    from the outbox: the [`RestockSubscriber`](super::subscribers::RestockSubscriber)
    ///    puts it back once per event, so neither a crash right after the write nor a
    ///    redelivery loses or doubles it.
    ///
    /// A refusal in step 1 (it shipped, a refund is open) moves no money. A gateway refusal
    /// in step 2 drops the hold (`OrderCancellationAbandoned`): nothing changed. A gateway
    /// timeout keeps the hold: retry (the same keys make the money move once). Cancelling a
    /// cancelled order returns it, and releases any promotion use a cut-short first attempt
    /// left behind (a release is per order, so it never frees another order's use).
    ///
    /// Customers may cancel their own orders while payment is not yet captured; admins
    /// any order the state machine allows.
    ///
    /// # Errors
    /// [`ShopError::NotFound`]; [`ShopError::Order`] for a customer's paid order, or once it
    /// shipped; [`ShopError::Payment`] when the gateway refuses (nothing changed) or times
    /// out (retry).
    pub async fn cancel(
        &self,
        caller: &Caller,
        id: OrderId,
        reason: String,
    ) -> Result<Order, ShopError> {
        let order = self.get(caller, id).await?;
        match order.status() {
            OrderStatus::Cancelled => {
                self.release_promotions(&order).await;
                return Ok(order);
            }
            OrderStatus::Placed => {}
            // A customer may cancel only before payment; after it, the shop decides.
            status if !caller.is_admin() => {
                return Err(OrderError::IllegalTransition {
                    order: id,
                    status: status.as_str(),
                    action: "cancel once paid (ask the shop to cancel it)",
                }
                .into());
            }
            _ => {}
        }
        // 1. Check and hold (a retry finds the hold of the first attempt and goes on).
        let (held, _) = self
            .writer
            .change(OrderRef::Id(id), caller, |o, now| {
                if o.status() == OrderStatus::Cancelled || o.pending_cancellation().is_some() {
                    return Ok(None);
                }
                Ok(Some(o.begin_cancel(reason.clone(), now)?))
            })
            .await?;
        if held.status() == OrderStatus::Cancelled {
            self.release_promotions(&held).await;
            return Ok(held);
        }
        // 2. Move the money.
        if let Err(e) = self.pay_back(&held).await {
            let outcome_unknown = matches!(
                e,
                ShopError::Payment(PaymentError::Timeout | PaymentError::Unavailable { .. })
            );
            if !outcome_unknown {
                self.abandon_cancel(caller, id, &e).await;
            }
            return Err(e);
        }
        // 3. Record it (the event carries the stock back), then give back the promotions.
        let paid_back_for = held.status();
        let (order, _) = self
            .writer
            .change(OrderRef::Id(id), caller, |o, now| {
                if o.status() == OrderStatus::Cancelled {
                    return Ok(None);
                }
                if o.status() != paid_back_for {
                    // Captured while the authorization was being voided: retry, to refund.
                    return Err(ShopError::Conflict { entity: "order", id: id.to_string() });
                }
                Ok(Some(o.cancel(reason.clone(), now)?.restocking_at(&self.location)))
            })
            .await?;
        self.release_promotions(&order).await;
        Ok(order)
    }

    /// Voids a placed order's authorization, or refunds a paid order's capture.
    async fn pay_back(&self, order: &Order) -> Result<(), ShopError> {
        let id = order.id();
        let payment = order.payment();
        match order.status() {
            OrderStatus::Placed if !payment.authorized.is_zero() => {
                self.gateway
                    .void(&payment.reference, &keys::void_key(id, &payment.reference))
                    .await?;
            }
            OrderStatus::Placed => {} // a free order: nothing was authorized
            _ => {
                let refundable = payment.captured.checked_sub(&payment.refunded)?;
                if refundable.is_positive() {
                    self.gateway
                        .refund(&payment.reference, refundable, &keys::cancel_refund_key(id))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Drops the hold of a cancellation whose money the gateway refused to move.
    async fn abandon_cancel(&self, caller: &Caller, id: OrderId, refusal: &ShopError) {
        let reason = refusal.to_string();
        let dropped = self
            .writer
            .change(OrderRef::Id(id), caller, |o, _| {
                if o.pending_cancellation().is_none() {
                    return Ok(None);
                }
                Ok(Some(o.abandon_cancel(reason.clone())?))
            })
            .await;
        if let Err(e) = dropped {
            tracing::warn!(order = %id, error = %e, "cancellation hold not dropped; a retried cancel goes on from it");
        }
    }

    /// Gives back the uses of usage-limited promotions that `order` redeemed at checkout:
    /// the promotions its receipt names (a release is per order, and a no-op where the
    /// order holds no use, so this is idempotent and never frees another order's use). An
    /// order stored before receipts named their promotions, with a discount, releases
    /// every usage-limited promotion for it instead.
    async fn release_promotions(&self, order: &Order) {
        let totals = order.totals();
        let named: Vec<crate::ids::PromotionId> = if totals.applied_promotions.is_empty()
            && !totals.discount_total.is_zero()
        {
            match self.promotions.all().await {
                Ok(all) => {
                    all.iter().filter(|p| p.usage_limit().is_some()).map(|p| p.id()).collect()
                }
                Err(e) => {
                    tracing::warn!(order = %order.id(), error = %e, "promotion uses not released; a retried cancel releases them");
                    return;
                }
            }
        } else {
            totals.applied_promotions.iter().map(|a| a.id).collect()
        };
        for promotion in named {
            if let Err(e) = self.promotions.release(promotion, order.id()).await {
                tracing::warn!(promotion = %promotion, order = %order.id(), error = %e, "promotion use not released; a retried cancel releases it");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::Ordering;

    use async_trait::async_trait;

    use super::*;
    use crate::events::DomainEvent;
    use crate::money::{Currency, Money};
    use crate::ports::{Authorization, AuthorizeRequest, OutboxStore, PaymentError, RefundReceipt};
    use crate::services::access::CartAccess;
    use crate::services::test_support::*;

    fn bob() -> CustomerId {
        CustomerId::from_uuid(uuid::Uuid::from_u128(0xb0b))
    }

    fn kinds(world: &World) -> Vec<&'static str> {
        world.outbox.entries().iter().map(|e| e.envelope.event.kind()).collect()
    }

    #[tokio::test]
    async fn customers_see_only_their_own_orders_and_others_are_not_found() {
        let world = World::new();
        let order = world.annes_order(&[("TEE", 1)]).await;
        let orders = world.shop().orders().clone();

        assert_eq!(
            orders.get(&Caller::Customer(ann()), order.id()).await.unwrap().id(),
            order.id()
        );
        let hidden = orders.get(&Caller::Customer(bob()), order.id()).await.unwrap_err();
        assert!(matches!(hidden, ShopError::NotFound { entity: "order", .. }));
        let listing = OrderListing { customer: Some(ann()), limit: 10, ..OrderListing::default() };
        assert!(
            orders.list(&Caller::Customer(bob()), listing.clone()).await.unwrap().items.is_empty()
        );
        assert_eq!(
            orders.list(&Caller::Customer(ann()), listing.clone()).await.unwrap().items.len(),
            1
        );
        assert_eq!(orders.list(&Caller::Admin, listing).await.unwrap().items.len(), 1);
    }

    #[tokio::test]
    async fn shipping_a_placed_order_captures_it_first_and_records_the_tracking() {
        let world = World::new();
        let order = world.annes_order(&[("TEE", 2)]).await;
        let orders = world.shop().orders().clone();
        let tracking = Tracking { carrier: "DHL".into(), number: "JD0001".into(), url: None };

        let shipped = orders
            .fulfil(
                &Caller::Admin,
                order.id(),
                ShipmentRequest { lines: ShipLines::Remaining, tracking: Some(tracking.clone()) },
            )
            .await
            .unwrap();

        assert_eq!(shipped.status(), OrderStatus::Fulfilled);
        assert_eq!(shipped.payment().captured, order.totals().grand_total);
        assert_eq!(world.gateway.captures.lock().unwrap().len(), 1);
        assert_eq!(kinds(&world), ["order_placed", "order_paid", "order_shipped"]);
        let last = world.outbox.entries().pop().unwrap();
        assert!(
            matches!(last.envelope.event, DomainEvent::OrderShipped { tracking: Some(t), .. } if t == tracking)
        );
        let again = orders.capture(&Caller::Admin, order.id()).await.unwrap();
        assert_eq!(again.status(), OrderStatus::Fulfilled);
        assert_eq!(world.gateway.captures.lock().unwrap().len(), 1, "no second capture");
    }

    #[tokio::test]
    async fn back_office_operations_are_forbidden_to_customers() {
        let world = World::new();
        let order = world.annes_order(&[("TEE", 1)]).await;
        let orders = world.shop().orders().clone();
        let err = orders.capture(&Caller::Customer(ann()), order.id()).await.unwrap_err();
        assert!(matches!(err, ShopError::Forbidden { .. }));
        let ship = ShipmentRequest { lines: ShipLines::Remaining, tracking: None };
        assert!(matches!(
            orders.fulfil(&Caller::Customer(ann()), order.id(), ship).await,
            Err(ShopError::Forbidden { .. })
        ));
    }

    #[tokio::test]
    async fn a_capture_survives_a_concurrent_order_change() {
        let world = World::new();
        let order = world.annes_order(&[("TEE", 1)]).await;
        world.orders.conflicts.store(1, Ordering::SeqCst);
        let paid = world.shop().orders().capture(&Caller::Admin, order.id()).await.unwrap();
        assert_eq!(paid.status(), OrderStatus::Paid);
        assert_eq!(world.gateway.captures.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn cancelling_a_placed_order_voids_it_and_puts_the_stock_back_once() {
        let world = World::new();
        let order = world.annes_order(&[("TEE", 2)]).await;
        assert_eq!(world.inventory.level("TEE"), (8, 0));
        let orders = world.shop().orders().clone();

        let cancelled = orders
            .cancel(&Caller::Customer(ann()), order.id(), "changed my mind".into())
            .await
            .unwrap();
        let again = orders
            .cancel(&Caller::Customer(ann()), order.id(), "changed my mind".into())
            .await
            .unwrap();

        assert_eq!(cancelled.status(), OrderStatus::Cancelled);
        assert!(cancelled.payment().voided);
        assert_eq!(
            world.gateway.voids.lock().unwrap().as_slice(),
            [order.payment().reference.clone()]
        );
        assert_eq!(again.version(), cancelled.version());
        world.deliver().await;
        assert_eq!(world.inventory.level("TEE"), (10, 0), "stock back, once");
        assert_eq!(kinds(&world).iter().filter(|k| **k == "order_cancelled").count(), 1);
    }

    #[tokio::test]
    async fn a_crash_right_after_the_cancellation_is_written_loses_no_stock() {
        let world = World::new();
        let order = world.annes_order(&[("TEE", 2)]).await;
        let crashing =
            Arc::new(CrashAfterWrite { inner: world.orders.clone(), kind: "order_cancelled" });
        let orders = world.shop_with(world.gateway.clone(), crashing).orders().clone();

        let crashed = orders.cancel(&Caller::Admin, order.id(), "fraud".into()).await;
        let retried =
            world.shop().orders().cancel(&Caller::Admin, order.id(), "fraud".into()).await;
        world.deliver().await;

        assert!(crashed.is_err(), "{crashed:?}");
        assert_eq!(retried.unwrap().status(), OrderStatus::Cancelled);
        assert_eq!(world.inventory.level("TEE"), (10, 0), "the outbox gives the stock back");
    }

    #[tokio::test]
    async fn a_redelivered_cancellation_puts_the_stock_back_once() {
        let world = World::new();
        let order = world.annes_order(&[("TEE", 2)]).await;
        world.shop().orders().cancel(&Caller::Admin, order.id(), "fraud".into()).await.unwrap();
        world.deliver().await;
        let cancelled = world
            .outbox
            .entries()
            .into_iter()
            .find(|e| e.envelope.event.kind() == "order_cancelled")
            .unwrap();

        world.outbox.redeliver(cancelled.envelope.id, world.clock.now()).await.unwrap();
        let report = world.deliver().await;

        assert_eq!(report.delivered, 1);
        assert_eq!(world.inventory.level("TEE"), (10, 0), "stock back, once");
    }

    #[tokio::test]
    async fn a_paid_order_is_cancelled_by_the_back_office_with_a_refund_of_the_capture() {
        let world = World::new();
        let order = world.annes_order(&[("MUG", 1)]).await;
        let orders = world.shop().orders().clone();
        orders.capture(&Caller::Admin, order.id()).await.unwrap();

        let refused = orders
            .cancel(&Caller::Customer(ann()), order.id(), "too late".into())
            .await
            .unwrap_err();
        assert!(
            matches!(refused, ShopError::Order(OrderError::IllegalTransition { .. })),
            "{refused:?}"
        );
        let cancelled = orders
            .cancel(&Caller::Admin, order.id(), "out of stock in the warehouse".into())
            .await
            .unwrap();

        assert_eq!(cancelled.status(), OrderStatus::Cancelled);
        let refunds = world.gateway.refunds.lock().unwrap().clone();
        assert_eq!(refunds.len(), 1);
        assert_eq!(
            refunds[&keys::cancel_refund_key(order.id())].amount,
            order.totals().grand_total
        );
        world.deliver().await;
        assert_eq!(world.inventory.level("MUG"), (3, 0));
    }

    fn one_unit(order: &Order) -> ShipmentRequest {
        ShipmentRequest {
            lines: ShipLines::Only(vec![(order.lines()[0].id, qty(1))]),
            tracking: None,
        }
    }

    #[tokio::test]
    async fn cancelling_a_paid_order_that_cannot_be_cancelled_moves_no_money() {
        let world = World::new();
        let order = world.annes_order(&[("TEE", 2)]).await;
        let orders = world.shop().orders().clone();
        orders.fulfil(&Caller::Admin, order.id(), one_unit(&order)).await.unwrap();

        let refused =
            orders.cancel(&Caller::Admin, order.id(), "too late".into()).await.unwrap_err();

        assert!(
            matches!(refused, ShopError::Order(OrderError::IllegalTransition { .. })),
            "{refused:?}"
        );
        assert!(world.gateway.refunds.lock().unwrap().is_empty(), "nothing refunded");
        assert!(world.gateway.voids.lock().unwrap().is_empty(), "nothing voided");
        let stored = orders.get(&Caller::Admin, order.id()).await.unwrap();
        assert_eq!(stored.status(), OrderStatus::PartiallyFulfilled);
        assert!(stored.payment().refunded.is_zero());
    }

    /// A gateway that lets the warehouse ship a unit of the order while it pays a refund
    /// back, as a concurrent request would.
    struct ShipsWhileRefunding {
        inner: Arc<FakeGateway>,
        orders: Arc<FakeOrders>,
        order: OrderId,
        shipment: Mutex<Option<Result<(), OrderError>>>,
    }

    #[async_trait]
    impl PaymentGateway for ShipsWhileRefunding {
        async fn authorize(
            &self,
            request: &AuthorizeRequest,
        ) -> Result<Authorization, PaymentError> {
            self.inner.authorize(request).await
        }
        async fn capture(
            &self,
            reference: &str,
            amount: Money,
            key: &str,
        ) -> Result<Money, PaymentError> {
            self.inner.capture(reference, amount, key).await
        }
        async fn void(&self, reference: &str, key: &str) -> Result<(), PaymentError> {
            self.inner.void(reference, key).await
        }
        async fn refund(
            &self,
            reference: &str,
            amount: Money,
            key: &str,
        ) -> Result<RefundReceipt, PaymentError> {
            let mut order = self.orders.get(self.order).await.unwrap().unwrap();
            let line = order.lines()[0].id;
            let shipped = order
                .fulfil(
                    ShipmentId::from_uuid(uuid::Uuid::from_u128(0x5e)),
                    vec![(line, qty(1))],
                    None,
                    start(),
                )
                .map(|_| ());
            if shipped.is_ok() {
                self.orders.update(&order, &[]).await.unwrap();
            }
            *self.shipment.lock().unwrap() = Some(shipped);
            self.inner.refund(reference, amount, key).await
        }
    }

    #[tokio::test]
    async fn nothing_ships_while_the_money_of_a_cancelled_order_goes_back() {
        let world = World::new();
        let order = world.annes_order(&[("TEE", 2)]).await;
        world.shop().orders().capture(&Caller::Admin, order.id()).await.unwrap();
        let gateway = Arc::new(ShipsWhileRefunding {
            inner: world.gateway.clone(),
            orders: world.orders.clone(),
            order: order.id(),
            shipment: Mutex::new(None),
        });
        let orders = world.shop_with(gateway.clone(), world.orders.clone()).orders().clone();

        let cancelled = orders.cancel(&Caller::Admin, order.id(), "fraud".into()).await;

        let shipment = gateway.shipment.lock().unwrap().clone();
        assert!(
            matches!(shipment, Some(Err(OrderError::IllegalTransition { .. }))),
            "{shipment:?}"
        );
        let cancelled = cancelled.unwrap();
        assert_eq!(cancelled.status(), OrderStatus::Cancelled);
        assert_eq!(cancelled.payment().refunded, order.totals().grand_total);
        assert_eq!(world.gateway.refunds.lock().unwrap().len(), 1);
        world.deliver().await;
        assert_eq!(world.inventory.level("TEE"), (10, 0));
    }

    #[tokio::test]
    async fn a_refund_the_gateway_refuses_leaves_the_order_shippable() {
        let world = World::new();
        let order = world.annes_order(&[("TEE", 1)]).await;
        world.shop().orders().capture(&Caller::Admin, order.id()).await.unwrap();
        let mut gateway = MockGateway::new();
        gateway.expect_refund().times(1).returning(|reference, _, _| {
            Err(PaymentError::InvalidState {
                reference: reference.into(),
                action: "refunded",
                reason: "disputed".into(),
            })
        });
        let orders = world.shop_with(Arc::new(gateway), world.orders.clone()).orders().clone();

        let err = orders.cancel(&Caller::Admin, order.id(), "fraud".into()).await.unwrap_err();
        let shipped =
            orders.fulfil(&Caller::Admin, order.id(), ShipmentRequest::remaining(None)).await;

        assert!(matches!(err, ShopError::Payment(PaymentError::InvalidState { .. })), "{err:?}");
        assert_eq!(shipped.unwrap().status(), OrderStatus::Fulfilled);
        world.deliver().await;
        assert_eq!(world.inventory.level("TEE"), (9, 0), "no stock given back");
    }

    #[tokio::test]
    async fn a_cancellation_cut_short_by_a_gateway_timeout_holds_the_order_until_retried() {
        let world = World::new();
        let order = world.annes_order(&[("TEE", 1)]).await;
        world.shop().orders().capture(&Caller::Admin, order.id()).await.unwrap();
        let keys_seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = keys_seen.clone();
        let mut gateway = MockGateway::new();
        gateway.expect_refund().times(2).returning(move |_, amount, key| {
            let mut seen = seen.lock().unwrap();
            seen.push(key.to_owned());
            if seen.len() == 1 {
                Err(PaymentError::Timeout)
            } else {
                Ok(RefundReceipt { reference: "re_1".into(), amount })
            }
        });
        let orders = world.shop_with(Arc::new(gateway), world.orders.clone()).orders().clone();

        let timed_out =
            orders.cancel(&Caller::Admin, order.id(), "fraud".into()).await.unwrap_err();
        let held =
            orders.fulfil(&Caller::Admin, order.id(), ShipmentRequest::remaining(None)).await;
        let cancelled = orders.cancel(&Caller::Admin, order.id(), "fraud".into()).await.unwrap();

        assert!(matches!(timed_out, ShopError::Payment(PaymentError::Timeout)));
        assert!(
            matches!(held, Err(ShopError::Order(OrderError::IllegalTransition { .. }))),
            "{held:?}"
        );
        assert_eq!(cancelled.status(), OrderStatus::Cancelled);
        let seen = keys_seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [keys::cancel_refund_key(order.id()), keys::cancel_refund_key(order.id())]
        );
        world.deliver().await;
        assert_eq!(world.inventory.level("TEE"), (10, 0));
    }

    /// An order by `customer` for one TEE with the coupon `SAVE10` (usable once).
    async fn order_with_save10(world: &World, customer: CustomerId) -> Order {
        let shop = world.shop();
        let access = CartAccess::Customer(customer);
        let cart = shop.carts().cart_for_customer(customer, Currency::USD).await.unwrap();
        shop.carts().add_line(cart.id(), &access, sku("TEE"), qty(1)).await.unwrap();
        shop.carts().apply_coupon(cart.id(), &access, coupon("SAVE10")).await.unwrap();
        let delivery =
            crate::services::cart::Delivery { address: Some(address()), method: Some(standard()) };
        shop.carts().set_delivery(cart.id(), &access, delivery).await.unwrap();
        let k = format!("order-{}", world.ids.uuid());
        shop.checkout().checkout(request(&cart, &access, &k)).await.unwrap()
    }

    #[tokio::test]
    async fn a_cancelled_order_gives_its_promotion_use_back_once() {
        let world = World::new();
        let save10 = ten_percent("SAVE10", 1).id();
        let orders = world.shop().orders().clone();
        let annes = order_with_save10(&world, ann()).await;

        orders
            .cancel(&Caller::Customer(ann()), annes.id(), "changed my mind".into())
            .await
            .unwrap();
        assert_eq!(world.promotions.redeemed(save10), 0, "given back");
        let bobs = order_with_save10(&world, bob()).await;
        orders
            .cancel(&Caller::Customer(ann()), annes.id(), "changed my mind".into())
            .await
            .unwrap();

        assert_eq!(bobs.coupons(), &[coupon("SAVE10")]);
        assert_eq!(world.promotions.redeemed(save10), 1, "a retried cancel leaves Bob's use alone");
        orders.capture(&Caller::Admin, bobs.id()).await.unwrap();
        orders.cancel(&Caller::Admin, bobs.id(), "out of stock".into()).await.unwrap();
        assert_eq!(world.promotions.redeemed(save10), 0, "an admin cancel gives it back too");
    }
}
