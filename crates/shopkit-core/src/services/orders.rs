//! Order management after checkout: read, list, capture, ship, deliver, cancel.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::{CustomerId, EventId, LineId, LocationId, OrderId, RefundId, ShipmentId, Sku};
use crate::orders::{Order, OrderError, OrderStatus, Tracking};
use crate::ports::{
    Clock, Cursor, IdGenerator, InventoryStore, OrderQuery, OrderRepository, Page, PaymentGateway,
    StoreError,
};
use crate::quantity::Quantity;

use super::MAX_ATTEMPTS;
use super::access::Caller;
use super::error::ShopError;
use super::inventory::give_back;
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
        order.filter(|o| caller.can_see(o.customer())).ok_or(ShopError::NotFound { entity, id })
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
    inventory: Arc<dyn InventoryStore>,
    location: LocationId,
}

impl std::fmt::Debug for OrderService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderService").field("location", &self.location).finish_non_exhaustive()
    }
}

impl OrderService {
    /// An order service; cancelled orders give their stock back at `location`.
    pub fn new(
        orders: Arc<dyn OrderRepository>,
        gateway: Arc<dyn PaymentGateway>,
        inventory: Arc<dyn InventoryStore>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        location: LocationId,
    ) -> Self {
        OrderService { writer: OrderWriter { orders, clock, ids }, gateway, inventory, location }
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
                    ShipLines::Remaining => remaining_units(o),
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
    /// authorization is voided, a paid order's capture refunded, and the stock given back.
    /// Money moves first (with keys derived from the order, so a retry never moves it twice),
    /// then the order changes, then the stock returns; cancelling a cancelled order returns it.
    ///
    /// Customers may cancel their own orders while payment is not yet captured; admins
    /// any order the state machine allows.
    ///
    /// # Errors
    /// [`ShopError::NotFound`]; [`ShopError::Forbidden`] for a customer's paid order;
    /// [`ShopError::Order`] when it shipped; [`ShopError::Payment`] when the gateway fails
    /// (nothing changed: retry).
    pub async fn cancel(
        &self,
        caller: &Caller,
        id: OrderId,
        reason: String,
    ) -> Result<Order, ShopError> {
        let order = self.get(caller, id).await?;
        match order.status() {
            OrderStatus::Cancelled => return Ok(order),
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
        order.clone().cancel(reason.clone(), self.writer.clock.now())?;
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
        let (order, changed) = self
            .writer
            .change(OrderRef::Id(id), caller, |o, now| {
                if o.status() == OrderStatus::Cancelled {
                    return Ok(None);
                }
                Ok(Some(o.cancel(reason.clone(), now)?))
            })
            .await?;
        if changed {
            let lines: Vec<(Sku, u32)> =
                order.lines().iter().map(|l| (l.sku.clone(), l.quantity.get())).collect();
            give_back(self.inventory.as_ref(), &self.location, &lines).await;
        }
        Ok(order)
    }
}

/// Every unit of `order` not yet shipped or refunded.
fn remaining_units(order: &Order) -> Vec<(LineId, Quantity)> {
    order
        .lines()
        .iter()
        .filter_map(|l| {
            let left = l.quantity.get().saturating_sub(l.fulfilled).saturating_sub(l.refunded);
            Quantity::new(i64::from(left)).ok().map(|q| (l.id, q))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::events::DomainEvent;
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
        assert_eq!(world.inventory.level("TEE"), (10, 0), "stock back, once");
        assert_eq!(kinds(&world).iter().filter(|k| **k == "order_cancelled").count(), 1);
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
        assert_eq!(world.inventory.level("MUG"), (3, 0));
    }
}
