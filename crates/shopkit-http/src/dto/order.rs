//! Checkout and orders on the wire, as the customer sees them. The payment shows amounts
//! and a status only: gateway references never leave the server.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shopkit_core::ids::{CartId, Email, IdempotencyKey};
use shopkit_core::orders::{
    Order, OrderLine, OrderStatus, OrderTotals, Payment, Shipment, StatusChange, Tracking,
};
use shopkit_core::ports::PaymentMethodToken;
use shopkit_core::services::{CartAccess, CheckoutRequest};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{AddressDto, AppliedPromotionDto, MoneyDto, RefundDto};
use crate::error::ApiError;

/// The longest payment method token accepted.
const PAYMENT_METHOD_MAX: usize = 255;
/// The longest cancellation reason accepted.
const CANCEL_REASON_MAX: usize = 500;

/// A checkout (`POST /checkout`): which cart, where to send the confirmation, and the
/// payment provider's token for the payment method. No amount: the server charges its own
/// quote of the cart.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct PlaceOrderRequest {
    /// The cart to check out.
    pub cart_id: Uuid,
    /// Where the confirmation goes (guests get theirs only this way).
    #[schema(value_type = crate::openapi::EmailSchema)]
    pub email: String,
    /// The payment provider's payment method id (`pm_…` from Stripe Elements or the
    /// mobile SDK); never card numbers.
    #[schema(example = "pm_card_visa")]
    pub payment_method: String,
    /// The grand total the shopper was shown (the cart's quote). Optional but
    /// recommended: when the cart now costs anything else (a price, promotion, tax or
    /// shipping rate changed), the checkout is refused with `409 price_changed` carrying
    /// the new `quote`, and nothing is taken or charged.
    #[serde(default)]
    pub expected_total: Option<MoneyDto>,
}

/// `202 Accepted` from `POST /checkout`: the checkout is running and will place the order
/// or give back everything it took, whatever the client does now. Send the same request
/// with the SAME `Idempotency-Key` after `Retry-After` seconds: it answers `409
/// idempotency_in_progress` while the checkout runs, then replays its final answer (`201`
/// with the order, or the refusal).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckoutPendingDto {
    /// Always `processing`.
    #[schema(example = "processing")]
    pub status: String,
    /// What to do next.
    pub detail: String,
    /// Seconds to wait before retrying (also in `Retry-After`).
    #[schema(example = 1)]
    pub retry_after_seconds: u64,
}

impl CheckoutPendingDto {
    /// The answer for a checkout still running after the request's wait.
    pub fn processing(retry_after_seconds: u64) -> Self {
        CheckoutPendingDto {
            status: "processing".into(),
            detail: "the checkout is still running and will finish by itself: send the same \
                     request with the same Idempotency-Key to get its result"
                .into(),
            retry_after_seconds,
        }
    }
}

impl fmt::Debug for PlaceOrderRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlaceOrderRequest").field("cart_id", &self.cart_id).finish_non_exhaustive()
    }
}

impl PlaceOrderRequest {
    /// The checkout service's request, for a caller with `access` to the cart, under the
    /// client's idempotency key.
    ///
    /// # Errors
    /// `422 validation_failed` naming `email`, `payment_method` or `expected_total`.
    pub fn into_checkout(
        self,
        access: CartAccess,
        key: IdempotencyKey,
    ) -> Result<CheckoutRequest, ApiError> {
        let email =
            Email::new(&self.email).map_err(|e| ApiError::validation("email", e.to_string()))?;
        let method = self.payment_method.trim();
        if method.is_empty() || method.len() > PAYMENT_METHOD_MAX {
            return Err(ApiError::validation(
                "payment_method",
                "send the payment provider's payment method id (pm_…)",
            ));
        }
        Ok(CheckoutRequest {
            cart_id: CartId::from_uuid(self.cart_id),
            access,
            email,
            payment_method: PaymentMethodToken(method.to_owned()),
            expected_total: self
                .expected_total
                .as_ref()
                .map(|m| m.to_money("expected_total"))
                .transpose()?,
            idempotency_key: key,
        })
    }
}

/// A cancellation (`POST /orders/{order_id}/cancel`); the body may be left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CancelOrderRequest {
    /// Why (at most 500 characters).
    #[serde(default)]
    pub reason: Option<String>,
}

impl CancelOrderRequest {
    /// The reason to record.
    ///
    /// # Errors
    /// `422 validation_failed` (`field: "reason"`) when too long.
    pub fn reason(self) -> Result<String, ApiError> {
        let reason = self.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        match reason {
            Some(r) if r.chars().count() > CANCEL_REASON_MAX => Err(ApiError::validation(
                "reason",
                format!("at most {CANCEL_REASON_MAX} characters"),
            )),
            Some(r) => Ok(r),
            None => Ok("cancelled by the customer".to_owned()),
        }
    }
}

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatusDto {
    /// Placed; payment authorized, not yet taken. The customer may still cancel.
    Placed,
    /// Payment taken.
    Paid,
    /// Some units shipped.
    PartiallyFulfilled,
    /// Every unit shipped.
    Fulfilled,
    /// Arrived.
    Delivered,
    /// Cancelled before shipping.
    Cancelled,
}

impl From<OrderStatus> for OrderStatusDto {
    fn from(s: OrderStatus) -> Self {
        match s {
            OrderStatus::Placed => OrderStatusDto::Placed,
            OrderStatus::Paid => OrderStatusDto::Paid,
            OrderStatus::PartiallyFulfilled => OrderStatusDto::PartiallyFulfilled,
            OrderStatus::Fulfilled => OrderStatusDto::Fulfilled,
            OrderStatus::Delivered => OrderStatusDto::Delivered,
            OrderStatus::Cancelled => OrderStatusDto::Cancelled,
        }
    }
}

impl From<OrderStatusDto> for OrderStatus {
    fn from(s: OrderStatusDto) -> Self {
        match s {
            OrderStatusDto::Placed => OrderStatus::Placed,
            OrderStatusDto::Paid => OrderStatus::Paid,
            OrderStatusDto::PartiallyFulfilled => OrderStatus::PartiallyFulfilled,
            OrderStatusDto::Fulfilled => OrderStatus::Fulfilled,
            OrderStatusDto::Delivered => OrderStatus::Delivered,
            OrderStatusDto::Cancelled => OrderStatus::Cancelled,
        }
    }
}

/// A line of an order, priced at checkout and never re-priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderLineDto {
    /// The line id (what a return names).
    pub id: Uuid,
    /// The product.
    pub product_id: Uuid,
    /// The SKU.
    pub sku: String,
    /// Product and variant title when bought.
    pub title: String,
    /// Units bought.
    pub quantity: u32,
    /// Price per unit.
    pub unit_price: MoneyDto,
    /// `unit_price × quantity`.
    pub subtotal: MoneyDto,
    /// Discounts on the line.
    pub discount: MoneyDto,
    /// Tax on the line.
    pub tax: MoneyDto,
    /// What the line cost.
    pub total: MoneyDto,
    /// Units shipped.
    pub fulfilled: u32,
    /// Units refunded.
    pub refunded: u32,
}

impl From<&OrderLine> for OrderLineDto {
    fn from(l: &OrderLine) -> Self {
        OrderLineDto {
            id: l.id.as_uuid(),
            product_id: l.product_id.as_uuid(),
            sku: l.sku.to_string(),
            title: l.title.clone(),
            quantity: l.quantity.get(),
            unit_price: l.unit_price.into(),
            subtotal: l.subtotal.into(),
            discount: l.discount.into(),
            tax: l.tax.into(),
            total: l.total.into(),
            fulfilled: l.fulfilled,
            refunded: l.refunded,
        }
    }
}

/// The money summary of an order, as a receipt: `subtotal − discount_total +
/// shipping_total + tax_total = grand_total` when tax is added on top; when prices include
/// tax (`prices_include_tax`), `subtotal − discount_total + shipping_total = grand_total`
/// and `tax_total` is the tax they contain. Also `grand_total = Σ lines.total +
/// shipping.total`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderTotalsDto {
    /// Sum of line subtotals, before discounts.
    pub subtotal: MoneyDto,
    /// Every discount: lines and shipping (`shipping.discount`); what `applied_promotions`
    /// took off.
    pub discount_total: MoneyDto,
    /// Shipping at its price (`shipping.price`), before its discount (in `discount_total`)
    /// and its tax (in `tax_total`).
    pub shipping_total: MoneyDto,
    /// Every tax: lines and shipping (`shipping.tax`).
    pub tax_total: MoneyDto,
    /// What the customer paid.
    pub grand_total: MoneyDto,
    /// Shipping apart: its price, discount and tax, and what it added to the grand total.
    pub shipping: OrderShippingDto,
    /// Whether prices and totals include tax (otherwise tax is added on top).
    pub prices_include_tax: bool,
    /// The promotions that applied, by name, with what each took off (lines and shipping
    /// together). Empty for orders placed before promotions were recorded on orders.
    pub applied_promotions: Vec<AppliedPromotionDto>,
}

/// The shipping of an order, apart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderShippingDto {
    /// The price before promotions (the receipt's `shipping_total`).
    pub price: MoneyDto,
    /// What free-shipping promotions took off (part of `discount_total`).
    pub discount: MoneyDto,
    /// The tax on shipping (part of `tax_total`).
    pub tax: MoneyDto,
    /// What shipping added to the grand total: `price − discount`, plus `tax` when tax is
    /// added on top.
    pub total: MoneyDto,
}

impl From<&OrderTotals> for OrderTotalsDto {
    fn from(t: &OrderTotals) -> Self {
        // Totals are in one currency (`Order::place` checks it), so this cannot fail.
        let charged = t.shipping_charged().unwrap_or(t.shipping_total);
        OrderTotalsDto {
            subtotal: t.subtotal.into(),
            discount_total: t.discount_total.into(),
            shipping_total: t.shipping_total.into(),
            tax_total: t.tax_total.into(),
            grand_total: t.grand_total.into(),
            shipping: OrderShippingDto {
                price: t.shipping_total.into(),
                discount: t.shipping_discount.into(),
                tax: t.shipping_tax.into(),
                total: charged.into(),
            },
            prices_include_tax: t.prices_include_tax,
            applied_promotions: t.applied_promotions.iter().map(Into::into).collect(),
        }
    }
}

/// Where the payment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatusDto {
    /// Held on the payment method, not yet taken.
    Authorized,
    /// Taken.
    Captured,
    /// Taken, and part of it paid back.
    PartiallyRefunded,
    /// Taken and paid back in full.
    Refunded,
    /// The hold was released; nothing was taken.
    Voided,
    /// Nothing to pay (a free order).
    NotRequired,
}

/// The order's payment, without any payment provider reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentSummaryDto {
    /// Where it is.
    pub status: PaymentStatusDto,
    /// Amount held.
    pub authorized: MoneyDto,
    /// Amount taken.
    pub captured: MoneyDto,
    /// Amount paid back.
    pub refunded: MoneyDto,
}

impl From<&Payment> for PaymentSummaryDto {
    fn from(p: &Payment) -> Self {
        let status = if p.voided {
            PaymentStatusDto::Voided
        } else if p.authorized.is_zero() {
            PaymentStatusDto::NotRequired
        } else if p.refunded.is_positive() && p.refunded == p.captured {
            PaymentStatusDto::Refunded
        } else if p.refunded.is_positive() {
            PaymentStatusDto::PartiallyRefunded
        } else if p.captured.is_positive() {
            PaymentStatusDto::Captured
        } else {
            PaymentStatusDto::Authorized
        };
        PaymentSummaryDto {
            status,
            authorized: p.authorized.into(),
            captured: p.captured.into(),
            refunded: p.refunded.into(),
        }
    }
}

/// Carrier tracking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrackingDto {
    /// The carrier (`DHL`).
    pub carrier: String,
    /// The tracking number.
    pub number: String,
    /// The carrier's tracking page.
    pub url: Option<String>,
}

impl From<&Tracking> for TrackingDto {
    fn from(t: &Tracking) -> Self {
        TrackingDto { carrier: t.carrier.clone(), number: t.number.clone(), url: t.url.clone() }
    }
}

/// Units of one line in a shipment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentLineDto {
    /// The order line.
    pub line_id: Uuid,
    /// Units shipped.
    pub quantity: u32,
}

/// Units that left the warehouse together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentDto {
    /// The shipment id.
    pub id: Uuid,
    /// Lines and units.
    pub lines: Vec<ShipmentLineDto>,
    /// Carrier tracking, if any.
    pub tracking: Option<TrackingDto>,
    /// When it shipped.
    pub shipped_at: DateTime<Utc>,
}

impl From<&Shipment> for ShipmentDto {
    fn from(s: &Shipment) -> Self {
        ShipmentDto {
            id: s.id.as_uuid(),
            lines: s
                .lines
                .iter()
                .map(|(line, q)| ShipmentLineDto { line_id: line.as_uuid(), quantity: q.get() })
                .collect(),
            tracking: s.tracking.as_ref().map(TrackingDto::from),
            shipped_at: s.shipped_at,
        }
    }
}

/// One step of the order's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusChangeDto {
    /// The status before (`null` for placement).
    pub from: Option<OrderStatusDto>,
    /// The status after.
    pub to: OrderStatusDto,
    /// When.
    pub at: DateTime<Utc>,
    /// A note (a cancellation reason, a tracking number).
    pub note: Option<String>,
}

impl From<&StatusChange> for StatusChangeDto {
    fn from(c: &StatusChange) -> Self {
        StatusChangeDto {
            from: c.from.map(Into::into),
            to: c.to.into(),
            at: c.at,
            note: c.note.clone(),
        }
    }
}

/// An order as its customer sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderDto {
    /// The order id.
    pub id: Uuid,
    /// Where it is.
    pub status: OrderStatusDto,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Where confirmations go.
    pub email: String,
    /// The ISO 4217 currency.
    #[schema(value_type = crate::openapi::CurrencyCodeSchema)]
    pub currency: String,
    /// The lines.
    pub lines: Vec<OrderLineDto>,
    /// The totals.
    pub totals: OrderTotalsDto,
    /// Where it ships.
    pub shipping_address: Option<AddressDto>,
    /// How it ships.
    pub shipping_method: Option<String>,
    /// Coupons that applied.
    pub coupons: Vec<String>,
    /// The payment.
    pub payment: PaymentSummaryDto,
    /// Shipments so far, with tracking.
    pub shipments: Vec<ShipmentDto>,
    /// The status history, oldest first.
    pub history: Vec<StatusChangeDto>,
    /// Refunds and returns, oldest first.
    pub refunds: Vec<RefundDto>,
}

impl From<&Order> for OrderDto {
    fn from(o: &Order) -> Self {
        OrderDto {
            id: o.id().as_uuid(),
            status: o.status().into(),
            placed_at: o.placed_at(),
            email: o.email().to_string(),
            currency: o.currency().code().to_owned(),
            lines: o.lines().iter().map(OrderLineDto::from).collect(),
            totals: o.totals().into(),
            shipping_address: o.shipping_address().map(AddressDto::from),
            shipping_method: o.shipping_method().map(|m| m.as_str().to_owned()),
            coupons: o.coupons().iter().map(|c| c.as_str().to_owned()).collect(),
            payment: o.payment().into(),
            shipments: o.shipments().iter().map(ShipmentDto::from).collect(),
            history: o.history().iter().map(StatusChangeDto::from).collect(),
            refunds: o.refunds().iter().map(RefundDto::from).collect(),
        }
    }
}

/// An order in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderSummaryDto {
    /// The order id.
    pub id: Uuid,
    /// Where it is.
    pub status: OrderStatusDto,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// What the customer paid.
    pub grand_total: MoneyDto,
    /// Units bought.
    pub item_count: u64,
}

impl From<&Order> for OrderSummaryDto {
    fn from(o: &Order) -> Self {
        OrderSummaryDto {
            id: o.id().as_uuid(),
            status: o.status().into(),
            placed_at: o.placed_at(),
            grand_total: o.totals().grand_total.into(),
            item_count: o.lines().iter().map(|l| u64::from(l.quantity.get())).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use shopkit_core::money::{Currency, Money};

    use super::*;

    fn payment(authorized: i64, captured: i64, refunded: i64, voided: bool) -> Payment {
        let usd = |m| Money::from_minor(m, Currency::USD);
        Payment {
            reference: "pi_secret_reference".into(),
            authorized: usd(authorized),
            captured: usd(captured),
            refunded: usd(refunded),
            voided,
        }
    }

    #[test]
    fn the_payment_summary_says_where_the_money_is_without_the_reference() {
        for (p, status) in [
            (payment(10_00, 0, 0, false), PaymentStatusDto::Authorized),
            (payment(10_00, 10_00, 0, false), PaymentStatusDto::Captured),
            (payment(10_00, 10_00, 4_00, false), PaymentStatusDto::PartiallyRefunded),
            (payment(10_00, 10_00, 10_00, false), PaymentStatusDto::Refunded),
            (payment(10_00, 0, 0, true), PaymentStatusDto::Voided),
            (payment(0, 0, 0, false), PaymentStatusDto::NotRequired),
        ] {
            let dto = PaymentSummaryDto::from(&p);
            assert_eq!(dto.status, status);
            assert!(!serde_json::to_string(&dto).unwrap().contains("pi_secret"));
        }
    }

    #[test]
    fn a_checkout_request_needs_an_email_and_a_payment_method() {
        let key = IdempotencyKey::new("k1").unwrap();
        let access = CartAccess::Admin;
        let request = |email: &str, method: &str| PlaceOrderRequest {
            cart_id: Uuid::from_u128(1),
            email: email.into(),
            payment_method: method.into(),
            expected_total: None,
        };

        let ok =
            request("ann@example.com", " pm_card_visa ").into_checkout(access.clone(), key.clone());
        let email = request("ann", "pm_card_visa").into_checkout(access.clone(), key.clone());
        let method = request("ann@example.com", " ").into_checkout(access, key);

        assert_eq!(ok.unwrap().payment_method.0, "pm_card_visa");
        assert_eq!(email.unwrap_err().extension("field").unwrap(), "email");
        assert_eq!(method.unwrap_err().extension("field").unwrap(), "payment_method");
    }

    #[test]
    fn a_cancellation_reason_defaults_and_is_bounded() {
        assert_eq!(CancelOrderRequest::default().reason().unwrap(), "cancelled by the customer");
        let long = CancelOrderRequest { reason: Some("x".repeat(501)) };
        assert_eq!(long.reason().unwrap_err().extension("field").unwrap(), "reason");
    }
}
