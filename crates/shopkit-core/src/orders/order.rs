//! The order aggregate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customers::Address;
use crate::events::{DomainEvent, EventLine};
use crate::ids::{
    CartId, CouponCode, CustomerId, Email, LineId, OrderId, ProductId, RefundId, ShipmentId,
    ShippingMethodId, Sku,
};
use crate::money::{Currency, Money, MoneyError};
use crate::quantity::Quantity;

use super::refund::{Refund, RefundStatus};

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Created; payment authorized, not captured.
    Placed,
    /// Payment captured.
    Paid,
    /// Some units shipped.
    PartiallyFulfilled,
    /// Every unit shipped.
    Fulfilled,
    /// Arrived; the order is complete.
    Delivered,
    /// Cancelled before fulfilment.
    Cancelled,
}

impl OrderStatus {
    /// The lower-case name (`partially_fulfilled`).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Paid => "paid",
            OrderStatus::PartiallyFulfilled => "partially_fulfilled",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

/// A priced line of an order: frozen at checkout, never re-priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The line id.
    pub id: LineId,
    /// The product.
    pub product_id: ProductId,
    /// The SKU.
    pub sku: Sku,
    /// Product and variant title at the time of purchase.
    pub title: String,
    /// Units bought.
    pub quantity: Quantity,
    /// Price per unit.
    pub unit_price: Money,
    /// `unit_price × quantity`.
    pub subtotal: Money,
    /// Discounts allocated to this line (line and order promotions).
    pub discount: Money,
    /// Tax on this line (included in or added to the total per the shop's tax mode).
    pub tax: Money,
    /// What the customer pays for this line.
    pub total: Money,
    /// Units shipped (including any that came back later).
    pub fulfilled: u32,
    /// Units refunded (processed refunds): returned after shipping, or cancelled before it.
    /// [`Order::units_to_ship`] tells the two apart.
    pub refunded: u32,
}

/// The money summary of an order, as quoted at checkout. Reconciles exactly:
/// `grand_total = Σ line.total + shipping_total`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTotals {
    /// Sum of line subtotals.
    pub subtotal: Money,
    /// All discounts (lines and shipping).
    pub discount_total: Money,
    /// Shipping after its discount, with its tax if exclusive.
    pub shipping_total: Money,
    /// All tax.
    pub tax_total: Money,
    /// What the customer pays.
    pub grand_total: Money,
}

/// The order's payment at the gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The gateway's reference (a Stripe PaymentIntent id, say).
    pub reference: String,
    /// Amount authorized.
    pub authorized: Money,
    /// Amount captured.
    pub captured: Money,
    /// Amount refunded (processed refunds).
    pub refunded: Money,
    /// Whether the authorization was voided.
    pub voided: bool,
}

/// Carrier tracking for a shipment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracking {
    /// The carrier (`"DHL"`).
    pub carrier: String,
    /// The tracking number.
    pub number: String,
    /// A tracking page, if the carrier has one.
    pub url: Option<String>,
}

/// Units of an order that left the warehouse together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    /// The shipment id.
    pub id: ShipmentId,
    /// Lines and units shipped.
    pub lines: Vec<(LineId, Quantity)>,
    /// Carrier tracking.
    pub tracking: Option<Tracking>,
    /// When it shipped.
    pub shipped_at: DateTime<Utc>,
}

/// One entry of the status history shown to the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// The status before (none for placement).
    pub from: Option<OrderStatus>,
    /// The status after.
    pub to: OrderStatus,
    /// When.
    pub at: DateTime<Utc>,
    /// A note (cancellation reason, tracking number).
    pub note: Option<String>,
}

/// A cancellation under way: recorded before the payment is voided or refunded at the
/// gateway, so that nothing ships and no refund is requested while the money goes back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCancellation {
    /// Why the order is being cancelled.
    pub reason: String,
    /// When the cancellation started.
    pub started_at: DateTime<Utc>,
}

/// A transition the order's state does not allow, or a request that breaks its rules.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrderError {
    /// The order is not in a state that allows this.
    #[error("order {order} is {status}: cannot {action}")]
    IllegalTransition {
        /// The order.
        order: OrderId,
        /// Its current status.
        status: &'static str,
        /// What was attempted.
        action: &'static str,
    },
    /// No such line in the order.
    #[error("order {order} has no line {line}")]
    UnknownLine {
        /// The order.
        order: OrderId,
        /// The line.
        line: LineId,
    },
    /// More units than remain to ship.
    #[error("line {line} has {remaining} units left to ship, {requested} requested")]
    OverFulfilment {
        /// The line.
        line: LineId,
        /// Units asked for.
        requested: u32,
        /// Units left.
        remaining: u32,
    },
    /// A capture above what was authorized.
    #[error("cannot capture {requested}: only {authorized} was authorized")]
    CaptureExceedsAuthorized {
        /// Asked for.
        requested: Money,
        /// Authorized.
        authorized: Money,
    },
    /// A shipment needs at least one line.
    #[error("a shipment needs at least one line")]
    EmptyShipment,
    /// Money arithmetic failed (a currency mismatch).
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Everything needed to create an order; built by the checkout service from the quote.
#[derive(Clone, Debug)]
pub struct NewOrder {
    /// The order id (derived from the checkout's idempotency key).
    pub id: OrderId,
    /// The cart it came from.
    pub cart_id: CartId,
    /// The customer, for a signed-in checkout.
    pub customer: Option<CustomerId>,
    /// Contact address.
    pub email: Email,
    /// The currency.
    pub currency: Currency,
    /// Priced lines.
    pub lines: Vec<OrderLine>,
    /// Totals from the quote.
    pub totals: OrderTotals,
    /// Where to ship.
    pub shipping_address: Option<Address>,
    /// How to ship.
    pub shipping_method: Option<ShippingMethodId>,
    /// Coupons that applied.
    pub coupons: Vec<CouponCode>,
    /// The authorization.
    pub payment: Payment,
    /// When.
    pub placed_at: DateTime<Utc>,
}

/// An order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub(super) id: OrderId,
    pub(super) cart_id: CartId,
    pub(super) customer: Option<CustomerId>,
    pub(super) email: Email,
    pub(super) currency: Currency,
    pub(super) lines: Vec<OrderLine>,
    pub(super) totals: OrderTotals,
    pub(super) shipping_address: Option<Address>,
    pub(super) shipping_method: Option<ShippingMethodId>,
    pub(super) coupons: Vec<CouponCode>,
    pub(super) payment: Payment,
    pub(super) shipments: Vec<Shipment>,
    pub(super) refunds: Vec<Refund>,
    pub(super) status: OrderStatus,
    pub(super) history: Vec<StatusChange>,
    pub(super) placed_at: DateTime<Utc>,
    pub(super) version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cancelling: Option<PendingCancellation>,
}

impl Order {
    /// Creates an order from a checkout and the `OrderPlaced` event.
    ///
    /// # Errors
    /// [`OrderError::Money`] when the totals do not reconcile (`grand_total` must equal the
    /// sum of line totals plus shipping) or mix currencies: an order is never written with
    /// totals computed in two places that disagree.
    pub fn place(new: NewOrder) -> Result<(Order, DomainEvent), OrderError> {
        let line_totals: Vec<Money> = new.lines.iter().map(|l| l.total).collect();
        let expected =
            Money::sum(new.currency, &line_totals)?.checked_add(&new.totals.shipping_total)?;
        if expected != new.totals.grand_total {
            return Err(OrderError::Money(MoneyError::InvalidAllocation {
                reason: "order totals that do not reconcile to the grand total",
            }));
        }
        let order = Order {
            id: new.id,
            cart_id: new.cart_id,
            customer: new.customer,
            email: new.email,
            currency: new.currency,
            lines: new.lines,
            totals: new.totals,
            shipping_address: new.shipping_address,
            shipping_method: new.shipping_method,
            coupons: new.coupons,
            payment: new.payment,
            shipments: Vec::new(),
            refunds: Vec::new(),
            status: OrderStatus::Placed,
            history: vec![StatusChange {
                from: None,
                to: OrderStatus::Placed,
                at: new.placed_at,
                note: None,
            }],
            placed_at: new.placed_at,
            version: 0,
            cancelling: None,
        };
        let event = DomainEvent::OrderPlaced {
            order_id: order.id,
            customer_id: order.customer,
            email: order.email.clone(),
            total: order.totals.grand_total,
            tax: order.totals.tax_total,
            shipping: order.totals.shipping_total,
            lines: order
                .lines
                .iter()
                .map(|l| event_line(l, l.quantity.get(), Some(l.total)))
                .collect(),
        };
        Ok((order, event))
    }

    /// The id.
    pub fn id(&self) -> OrderId {
        self.id
    }
    /// The cart it came from.
    pub fn cart_id(&self) -> CartId {
        self.cart_id
    }
    /// The customer, for a signed-in checkout.
    pub fn customer(&self) -> Option<CustomerId> {
        self.customer
    }
    /// Contact address.
    pub fn email(&self) -> &Email {
        &self.email
    }
    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// The lines.
    pub fn lines(&self) -> &[OrderLine] {
        &self.lines
    }
    /// The totals.
    pub fn totals(&self) -> &OrderTotals {
        &self.totals
    }
    /// Where to ship.
    pub fn shipping_address(&self) -> Option<&Address> {
        self.shipping_address.as_ref()
    }
    /// How to ship.
    pub fn shipping_method(&self) -> Option<&ShippingMethodId> {
        self.shipping_method.as_ref()
    }
    /// Coupons that applied.
    pub fn coupons(&self) -> &[CouponCode] {
        &self.coupons
    }
    /// The payment.
    pub fn payment(&self) -> &Payment {
        &self.payment
    }
    /// Shipments so far.
    pub fn shipments(&self) -> &[Shipment] {
        &self.shipments
    }
    /// Refunds, in request order.
    pub fn refunds(&self) -> &[Refund] {
        &self.refunds
    }
    /// The refund with `id`.
    pub fn refund(&self, id: RefundId) -> Option<&Refund> {
        self.refunds.iter().find(|r| r.id == id)
    }
    /// The status.
    pub fn status(&self) -> OrderStatus {
        self.status
    }
    /// The status history, oldest first.
    pub fn history(&self) -> &[StatusChange] {
        &self.history
    }
    /// When it was placed.
    pub fn placed_at(&self) -> DateTime<Utc> {
        self.placed_at
    }
    /// The cancellation under way, if any (see [`Order::begin_cancel`]).
    pub fn pending_cancellation(&self) -> Option<&PendingCancellation> {
        self.cancelling.as_ref()
    }
    /// The stored version this order was read at (0: never stored).
    pub fn version(&self) -> u64 {
        self.version
    }
    /// Records the version the repository gave the order on save. Called by repositories only.
    pub fn set_version(&mut self, version: u64) {
        self.version = version;
    }

    fn illegal(&self, action: &'static str) -> OrderError {
        OrderError::IllegalTransition { order: self.id, status: self.status.as_str(), action }
    }

    fn transition(&mut self, to: OrderStatus, at: DateTime<Utc>, note: Option<String>) {
        if self.status != to {
            self.history.push(StatusChange { from: Some(self.status), to, at, note });
            self.status = to;
        }
    }

    /// Records a capture: `placed -> paid`.
    pub fn mark_paid(
        &mut self,
        captured: Money,
        at: DateTime<Utc>,
    ) -> Result<DomainEvent, OrderError> {
        if self.status != OrderStatus::Placed {
            return Err(self.illegal("capture payment"));
        }
        // A free order (authorized zero) is paid by capturing zero; otherwise something.
        let nothing_for_something = captured.is_zero() && !self.payment.authorized.is_zero();
        if captured.try_cmp(&self.payment.authorized)?.is_gt()
            || captured.is_negative()
            || nothing_for_something
        {
            return Err(OrderError::CaptureExceedsAuthorized {
                requested: captured,
                authorized: self.payment.authorized,
            });
        }
        self.payment.captured = captured;
        self.transition(OrderStatus::Paid, at, None);
        Ok(DomainEvent::OrderPaid { order_id: self.id, amount: captured })
    }

    /// Ships units: `paid | partially fulfilled -> partially fulfilled | fulfilled`.
    /// All or nothing: an invalid line leaves the order unchanged.
    pub fn fulfil(
        &mut self,
        shipment: ShipmentId,
        lines: Vec<(LineId, Quantity)>,
        tracking: Option<Tracking>,
        at: DateTime<Utc>,
    ) -> Result<DomainEvent, OrderError> {
        if !matches!(self.status, OrderStatus::Paid | OrderStatus::PartiallyFulfilled) {
            return Err(self.illegal("ship"));
        }
        if self.cancelling.is_some() {
            return Err(self.illegal("ship while a cancellation is under way"));
        }
        if lines.is_empty() {
            return Err(OrderError::EmptyShipment);
        }
        // Check everything first (a line may appear twice: add up).
        let mut add = vec![0u32; self.lines.len()];
        for (line, qty) in &lines {
            let idx = self
                .lines
                .iter()
                .position(|l| l.id == *line)
                .ok_or(OrderError::UnknownLine { order: self.id, line: *line })?;
            add[idx] = add[idx].saturating_add(qty.get());
            let remaining = self.unshipped_units(idx);
            if add[idx] > remaining {
                return Err(OrderError::OverFulfilment {
                    line: *line,
                    requested: add[idx],
                    remaining,
                });
            }
        }
        let mut shipped = Vec::new();
        for (idx, n) in add.into_iter().enumerate() {
            if n > 0 {
                self.lines[idx].fulfilled += n;
                shipped.push(event_line(&self.lines[idx], n, None));
            }
        }
        let all_done = (0..self.lines.len()).all(|idx| self.unshipped_units(idx) == 0);
        let to = if all_done { OrderStatus::Fulfilled } else { OrderStatus::PartiallyFulfilled };
        let note = tracking.as_ref().map(|t| format!("{} {}", t.carrier, t.number));
        self.shipments.push(Shipment {
            id: shipment,
            lines,
            tracking: tracking.clone(),
            shipped_at: at,
        });
        self.transition(to, at, note);
        Ok(DomainEvent::OrderShipped {
            order_id: self.id,
            shipment_id: shipment,
            email: self.email.clone(),
            lines: shipped,
            tracking,
        })
    }

    /// Records delivery: `fulfilled -> delivered`.
    pub fn deliver(&mut self, at: DateTime<Utc>) -> Result<DomainEvent, OrderError> {
        if self.status != OrderStatus::Fulfilled {
            return Err(self.illegal("mark delivered"));
        }
        self.transition(OrderStatus::Delivered, at, None);
        Ok(DomainEvent::OrderDelivered { order_id: self.id })
    }

    /// Whether the order may be cancelled: placed or paid, and no refund open or paid.
    fn check_cancellable(&self) -> Result<(), OrderError> {
        if !matches!(self.status, OrderStatus::Placed | OrderStatus::Paid) {
            return Err(self.illegal("cancel"));
        }
        if self.refunds.iter().any(|r| r.status.is_open() || r.status == RefundStatus::Processed) {
            return Err(self.illegal("cancel an order with refunds"));
        }
        Ok(())
    }

    /// Starts a cancellation (`OrderCancellationStarted`), before the caller voids or refunds
    /// the payment at the gateway. The order is checked as [`Order::cancel`] checks it, and
    /// until [`Order::cancel`] completes the cancellation or [`Order::abandon_cancel`] drops
    /// it, nothing ships and no refund can be requested: money never goes back for an order
    /// that then ships.
    ///
    /// # Errors
    /// [`OrderError::IllegalTransition`] when the order cannot be cancelled (see
    /// [`Order::cancel`]) or a cancellation is already under way.
    pub fn begin_cancel(
        &mut self,
        reason: String,
        at: DateTime<Utc>,
    ) -> Result<DomainEvent, OrderError> {
        self.check_cancellable()?;
        if self.cancelling.is_some() {
            return Err(self.illegal("start a second cancellation"));
        }
        self.cancelling = Some(PendingCancellation { reason: reason.clone(), started_at: at });
        Ok(DomainEvent::OrderCancellationStarted { order_id: self.id, reason })
    }

    /// Drops the cancellation under way (`OrderCancellationAbandoned`) when the gateway
    /// refused to void or refund: no money moved, and the order carries on as before.
    ///
    /// # Errors
    /// [`OrderError::IllegalTransition`] when no cancellation is under way.
    pub fn abandon_cancel(&mut self, reason: String) -> Result<DomainEvent, OrderError> {
        if self.cancelling.take().is_none() {
            return Err(self.illegal("abandon a cancellation that is not under way"));
        }
        Ok(DomainEvent::OrderCancellationAbandoned { order_id: self.id, reason })
    }

    /// Cancels before anything shipped: `placed | paid -> cancelled`, completing a
    /// cancellation under way if there is one. The caller first voids the authorization
    /// (placed) or refunds the capture (paid) at the gateway; the order records it
    /// (`payment.voided`, or `payment.refunded = captured`). The caller gives the stock back.
    ///
    /// # Errors
    /// [`OrderError::IllegalTransition`] once anything shipped, or with a refund open or
    /// paid.
    pub fn cancel(&mut self, reason: String, at: DateTime<Utc>) -> Result<DomainEvent, OrderError> {
        self.check_cancellable()?;
        self.cancelling = None;
        match self.status {
            OrderStatus::Placed => self.payment.voided = !self.payment.authorized.is_zero(),
            _ => self.payment.refunded = self.payment.captured,
        }
        self.transition(OrderStatus::Cancelled, at, Some(reason.clone()));
        Ok(DomainEvent::OrderCancelled {
            order_id: self.id,
            email: self.email.clone(),
            reason,
            lines: self.lines.iter().map(|l| event_line(l, l.quantity.get(), None)).collect(),
            location: None,
        })
    }

    /// Every line's units still to ship, for lines with any left.
    pub fn units_to_ship(&self) -> Vec<(LineId, Quantity)> {
        (0..self.lines.len())
            .filter_map(|idx| {
                Quantity::new(i64::from(self.unshipped_units(idx)))
                    .ok()
                    .map(|q| (self.lines[idx].id, q))
            })
            .collect()
    }

    /// Units of line `idx` still to ship: neither shipped nor cancelled by a refund before
    /// shipping. (A unit returned after shipping was shipped: it does not count twice.)
    fn unshipped_units(&self, idx: usize) -> u32 {
        let l = &self.lines[idx];
        let cancelled = l.refunded.saturating_sub(self.returned_units(idx));
        l.quantity.get().saturating_sub(l.fulfilled).saturating_sub(cancelled)
    }

    /// Units of a line neither refunded nor held by an open refund.
    pub(super) fn refundable_units(&self, idx: usize) -> u32 {
        let line = &self.lines[idx];
        let pending: u32 = self
            .refunds
            .iter()
            .filter(|r| r.status.is_open())
            .flat_map(|r| r.lines.iter())
            .filter(|rl| rl.line_id == line.id)
            .map(|rl| rl.quantity.get())
            .sum();
        line.quantity.get().saturating_sub(line.refunded).saturating_sub(pending)
    }
}

pub(super) fn event_line(line: &OrderLine, quantity: u32, total: Option<Money>) -> EventLine {
    EventLine { sku: line.sku.clone(), quantity, total }
}
