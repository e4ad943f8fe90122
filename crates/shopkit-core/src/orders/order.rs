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
use crate::pricing::{AppliedPromotion, Quote, receipt_total};
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

/// The money summary of an order, frozen from the checkout's quote. It reads as a receipt:
///
/// - prices exclusive of tax: `subtotal − discount_total + shipping_total + tax_total =
///   grand_total`;
/// - prices inclusive of tax (`prices_include_tax`): `subtotal − discount_total +
///   shipping_total = grand_total`, and `tax_total` is the tax those amounts contain;
///
/// with `discount_total = Σ line.discount + shipping_discount`, `tax_total = Σ line.tax +
/// shipping_tax`, `grand_total = Σ line.total + shipping_charged()`, and the
/// `applied_promotions` adding up to `discount_total`. [`Order::place`] refuses totals that
/// break any of these.
///
/// Orders stored before shipping was given apart (their `shipping_total` was shipping
/// after its discount, with its tax when exclusive) are read into this shape, from their
/// lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTotals {
    /// Sum of line subtotals (`unit_price × quantity`), before discounts.
    pub subtotal: Money,
    /// Every discount: the lines' and shipping's (`shipping_discount`).
    pub discount_total: Money,
    /// Shipping at its price, before its discount (in `discount_total`) and its tax (in
    /// `tax_total`); zero when nothing is shipped.
    pub shipping_total: Money,
    /// Every tax: the lines' and shipping's (`shipping_tax`).
    pub tax_total: Money,
    /// What the customer pays.
    pub grand_total: Money,
    /// What free-shipping promotions took off shipping (part of `discount_total`).
    pub shipping_discount: Money,
    /// The tax on shipping (part of `tax_total`).
    pub shipping_tax: Money,
    /// Whether prices (and so every amount) include tax, rather than have it added.
    pub prices_include_tax: bool,
    /// The promotions that applied, by name, with what each took off (lines and shipping).
    /// Empty for orders placed before they were recorded.
    pub applied_promotions: Vec<AppliedPromotion>,
}

impl OrderTotals {
    /// What shipping adds to the grand total: `shipping_total − shipping_discount`, plus
    /// `shipping_tax` when prices exclude tax (the quote's `shipping.total`).
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] for totals in mixed currencies.
    pub fn shipping_charged(&self) -> Result<Money, MoneyError> {
        let net = self.shipping_total.checked_sub(&self.shipping_discount)?;
        if self.prices_include_tax { Ok(net) } else { net.checked_add(&self.shipping_tax) }
    }

    /// The first rule of the receipt (see the type's docs) these totals break with `lines`,
    /// in `currency`.
    pub(super) fn check(
        &self,
        currency: Currency,
        lines: &[OrderLine],
    ) -> Result<(), &'static str> {
        fn holds(cond: Result<bool, MoneyError>, rule: &'static str) -> Result<(), &'static str> {
            if cond == Ok(true) { Ok(()) } else { Err(rule) }
        }
        let sum = |part: fn(&OrderLine) -> &Money| Money::sum(currency, lines.iter().map(part));
        let amounts = [
            &self.subtotal,
            &self.discount_total,
            &self.shipping_total,
            &self.tax_total,
            &self.grand_total,
            &self.shipping_discount,
            &self.shipping_tax,
        ];
        holds(
            Ok(amounts.iter().all(|m| m.currency() == currency)),
            "order totals in another currency than the order",
        )?;
        holds(
            Ok(!self.shipping_tax.is_negative()
                && !self.shipping_discount.is_negative()
                && self.shipping_discount.amount() <= self.shipping_total.amount()),
            "order totals with a shipping discount or tax out of range",
        )?;
        holds(
            sum(|l| &l.subtotal).map(|s| s == self.subtotal),
            "order totals whose subtotal is not the sum of the line subtotals",
        )?;
        holds(
            sum(|l| &l.discount)
                .and_then(|d| d.checked_add(&self.shipping_discount))
                .map(|d| d == self.discount_total),
            "order totals whose discount total is not the lines' and shipping's discounts",
        )?;
        holds(
            sum(|l| &l.tax)
                .and_then(|t| t.checked_add(&self.shipping_tax))
                .map(|t| t == self.tax_total),
            "order totals whose tax total is not the lines' and shipping's tax",
        )?;
        holds(
            sum(|l| &l.total)
                .and_then(|t| t.checked_add(&self.shipping_charged()?))
                .map(|t| t == self.grand_total),
            "order totals that do not reconcile to the grand total",
        )?;
        holds(
            receipt_total(
                &self.subtotal,
                &self.discount_total,
                &self.shipping_total,
                &self.tax_total,
                !self.prices_include_tax,
            )
            .map(|t| t == self.grand_total),
            "order totals that do not read as a receipt",
        )?;
        if self.applied_promotions.is_empty() {
            return Ok(());
        }
        holds(
            Money::sum(currency, self.applied_promotions.iter().map(|a| &a.amount))
                .map(|d| d == self.discount_total),
            "order totals whose promotions do not add up to the discount total",
        )
    }
}

impl From<&Quote> for OrderTotals {
    /// The totals of an order placed at `quote`: the one place they are taken from it.
    fn from(quote: &Quote) -> Self {
        let zero = Money::zero(quote.currency());
        OrderTotals {
            subtotal: quote.subtotal(),
            discount_total: quote.discount_total(),
            shipping_total: quote.shipping_total(),
            tax_total: quote.tax_total(),
            grand_total: quote.grand_total(),
            shipping_discount: quote.shipping().map_or(zero, |s| s.discount),
            shipping_tax: quote.shipping().map_or(zero, |s| s.tax),
            prices_include_tax: quote.prices_include_tax(),
            applied_promotions: quote.applied_promotions().to_vec(),
        }
    }
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
#[serde(try_from = "OrderRecord")]
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

/// An order as stored, by this version or an earlier one: [`Order`]'s fields, with the
/// totals as they were written.
#[derive(Deserialize)]
struct OrderRecord {
    id: OrderId,
    cart_id: CartId,
    customer: Option<CustomerId>,
    email: Email,
    currency: Currency,
    lines: Vec<OrderLine>,
    totals: StoredTotals,
    shipping_address: Option<Address>,
    shipping_method: Option<ShippingMethodId>,
    coupons: Vec<CouponCode>,
    payment: Payment,
    shipments: Vec<Shipment>,
    refunds: Vec<Refund>,
    status: OrderStatus,
    history: Vec<StatusChange>,
    placed_at: DateTime<Utc>,
    version: u64,
    #[serde(default)]
    cancelling: Option<PendingCancellation>,
}

impl TryFrom<OrderRecord> for Order {
    type Error = MoneyError;

    fn try_from(r: OrderRecord) -> Result<Self, MoneyError> {
        let totals = r.totals.read(r.currency, &r.lines)?;
        Ok(Order {
            id: r.id,
            cart_id: r.cart_id,
            customer: r.customer,
            email: r.email,
            currency: r.currency,
            lines: r.lines,
            totals,
            shipping_address: r.shipping_address,
            shipping_method: r.shipping_method,
            coupons: r.coupons,
            payment: r.payment,
            shipments: r.shipments,
            refunds: r.refunds,
            status: r.status,
            history: r.history,
            placed_at: r.placed_at,
            version: r.version,
            cancelling: r.cancelling,
        })
    }
}

/// [`OrderTotals`] as stored. Orders written before shipping was given apart have no
/// `shipping_discount`, `shipping_tax`, `prices_include_tax` or `applied_promotions`, and
/// their `shipping_total` is what shipping added to the grand total (after its discount,
/// with its tax when prices exclude tax).
#[derive(Deserialize)]
struct StoredTotals {
    subtotal: Money,
    discount_total: Money,
    shipping_total: Money,
    tax_total: Money,
    grand_total: Money,
    #[serde(default)]
    shipping_discount: Option<Money>,
    #[serde(default)]
    shipping_tax: Option<Money>,
    #[serde(default)]
    prices_include_tax: Option<bool>,
    #[serde(default)]
    applied_promotions: Vec<AppliedPromotion>,
}

impl StoredTotals {
    /// The totals, read from an earlier shape when they are in one.
    fn read(self, currency: Currency, lines: &[OrderLine]) -> Result<OrderTotals, MoneyError> {
        let (Some(shipping_discount), Some(shipping_tax), Some(prices_include_tax)) =
            (self.shipping_discount, self.shipping_tax, self.prices_include_tax)
        else {
            return self.read_before_shipping_apart(currency, lines);
        };
        Ok(OrderTotals {
            subtotal: self.subtotal,
            discount_total: self.discount_total,
            shipping_total: self.shipping_total,
            tax_total: self.tax_total,
            grand_total: self.grand_total,
            shipping_discount,
            shipping_tax,
            prices_include_tax,
            applied_promotions: self.applied_promotions,
        })
    }

    /// Shipping's discount and tax are what the lines' do not account for; lines with tax
    /// tell whether it was contained in their totals or added; the price is then what was
    /// charged, with the discount given back and the tax added on top taken off.
    fn read_before_shipping_apart(
        self,
        currency: Currency,
        lines: &[OrderLine],
    ) -> Result<OrderTotals, MoneyError> {
        let line_discounts = Money::sum(currency, lines.iter().map(|l| &l.discount))?;
        let line_taxes = Money::sum(currency, lines.iter().map(|l| &l.tax))?;
        let shipping_discount = self.discount_total.checked_sub(&line_discounts)?;
        let shipping_tax = self.tax_total.checked_sub(&line_taxes)?;
        let prices_include_tax = lines
            .iter()
            .any(|l| !l.tax.is_zero() && l.subtotal.checked_sub(&l.discount) == Ok(l.total));
        let before_discount = self.shipping_total.checked_add(&shipping_discount)?;
        let shipping_total = if prices_include_tax {
            before_discount
        } else {
            before_discount.checked_sub(&shipping_tax)?
        };
        Ok(OrderTotals {
            subtotal: self.subtotal,
            discount_total: self.discount_total,
            shipping_total,
            tax_total: self.tax_total,
            grand_total: self.grand_total,
            shipping_discount,
            shipping_tax,
            prices_include_tax,
            applied_promotions: self.applied_promotions,
        })
    }
}

impl Order {
    /// Creates an order from a checkout and the `OrderPlaced` event.
    ///
    /// # Errors
    /// [`OrderError::Money`] when the totals do not reconcile with the lines or do not
    /// read as a receipt (see [`OrderTotals`]), or mix currencies: an order is never
    /// written with totals computed in two places that disagree.
    pub fn place(new: NewOrder) -> Result<(Order, DomainEvent), OrderError> {
        new.totals
            .check(new.currency, &new.lines)
            .map_err(|reason| OrderError::Money(MoneyError::InvalidAllocation { reason }))?;
        let shipping = new.totals.shipping_charged()?;
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
            shipping,
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
