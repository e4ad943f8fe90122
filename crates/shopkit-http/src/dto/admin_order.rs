//! Orders and refunds as the back office sees and changes them: everything the customer
//! sees plus the payment at the gateway (reference, authorized, captured, refunded,
//! voided), the customer, the refunds' restock flag and gateway references, and the
//! order's version. Lines, totals, shipments, history and addresses are the storefront's
//! types (`dto/order.rs`, `dto/customer.rs`); the types here are prefixed `Admin` so they
//! never clash with the storefront's (in Rust or in the OpenAPI document).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shopkit_core::ids::LineId;
use shopkit_core::orders::{Order, Payment, Refund, RefundRequest, Tracking};
use shopkit_core::quantity::Quantity;
use shopkit_core::services::{ShipLines, ShipmentRequest};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    AddressDto, MoneyDto, OrderLineDto, OrderStatusDto, OrderTotalsDto, RefundLineDto,
    RefundStatusDto, ShipmentDto, StatusChangeDto, TrackingDto,
};
use crate::error::ApiError;

/// The order's payment at the gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminPaymentDto {
    /// The gateway's reference (a Stripe PaymentIntent id, say).
    pub reference: String,
    /// Amount authorized.
    pub authorized: MoneyDto,
    /// Amount captured.
    pub captured: MoneyDto,
    /// Amount refunded (processed refunds and cancellations).
    pub refunded: MoneyDto,
    /// Whether the authorization was voided.
    pub voided: bool,
}

impl From<&Payment> for AdminPaymentDto {
    fn from(p: &Payment) -> Self {
        AdminPaymentDto {
            reference: p.reference.clone(),
            authorized: p.authorized.into(),
            captured: p.captured.into(),
            refunded: p.refunded.into(),
            voided: p.voided,
        }
    }
}

/// Units of one order line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminLineQuantityDto {
    /// The order line.
    pub line_id: Uuid,
    /// Units (at least 1).
    pub quantity: u32,
}

/// A refund of (part of) an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminRefundDto {
    /// The refund id.
    pub id: Uuid,
    /// The order.
    pub order_id: Uuid,
    /// Lines and units (empty for an amount-only refund).
    pub lines: Vec<RefundLineDto>,
    /// The total to pay back.
    pub amount: MoneyDto,
    /// Whether the units go back into stock when processed.
    pub restock: bool,
    /// Why it was asked for.
    pub reason: String,
    /// Its state.
    pub status: RefundStatusDto,
    /// The gateway's refund reference, once processed.
    pub gateway_reference: Option<String>,
    /// Why it was rejected or failed.
    pub outcome_note: Option<String>,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&Refund> for AdminRefundDto {
    fn from(r: &Refund) -> Self {
        AdminRefundDto {
            id: r.id.as_uuid(),
            order_id: r.order_id.as_uuid(),
            lines: r
                .lines
                .iter()
                .map(|l| RefundLineDto {
                    line_id: l.line_id.as_uuid(),
                    sku: l.sku.to_string(),
                    quantity: l.quantity.get(),
                    amount: l.amount.into(),
                })
                .collect(),
            amount: r.amount.into(),
            restock: r.restock,
            reason: r.reason.clone(),
            status: r.status.into(),
            gateway_reference: r.gateway_reference.clone(),
            outcome_note: r.outcome_note.clone(),
            requested_at: r.requested_at,
            updated_at: r.updated_at,
        }
    }
}

/// An order as the back office sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminOrderDto {
    /// The order id.
    pub id: Uuid,
    /// Where it is in its life.
    pub status: OrderStatusDto,
    /// The customer (`null` for a guest checkout).
    pub customer_id: Option<Uuid>,
    /// Contact address.
    pub email: String,
    /// The order's currency.
    #[schema(value_type = crate::openapi::CurrencyCodeSchema)]
    pub currency: String,
    /// The lines.
    pub lines: Vec<OrderLineDto>,
    /// The money summary.
    pub totals: OrderTotalsDto,
    /// Where to ship.
    pub shipping_address: Option<AddressDto>,
    /// How to ship (a method handle).
    pub shipping_method: Option<String>,
    /// Coupons that applied.
    pub coupons: Vec<String>,
    /// The payment at the gateway.
    pub payment: AdminPaymentDto,
    /// Shipments so far.
    pub shipments: Vec<ShipmentDto>,
    /// Refunds, in request order.
    pub refunds: Vec<AdminRefundDto>,
    /// Status history, oldest first.
    pub history: Vec<StatusChangeDto>,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// The stored version.
    pub version: u64,
}

impl From<&Order> for AdminOrderDto {
    fn from(o: &Order) -> Self {
        AdminOrderDto {
            id: o.id().as_uuid(),
            status: o.status().into(),
            customer_id: o.customer().map(|c| c.as_uuid()),
            email: o.email().to_string(),
            currency: o.currency().code().to_owned(),
            lines: o.lines().iter().map(OrderLineDto::from).collect(),
            totals: OrderTotalsDto::from(o.totals()),
            shipping_address: o.shipping_address().map(AddressDto::from),
            shipping_method: o.shipping_method().map(ToString::to_string),
            coupons: o.coupons().iter().map(ToString::to_string).collect(),
            payment: o.payment().into(),
            shipments: o.shipments().iter().map(ShipmentDto::from).collect(),
            refunds: o.refunds().iter().map(AdminRefundDto::from).collect(),
            history: o.history().iter().map(StatusChangeDto::from).collect(),
            placed_at: o.placed_at(),
            version: o.version(),
        }
    }
}

/// Lines and units, with `field` naming the list in errors.
fn line_quantities(
    lines: &[AdminLineQuantityDto],
    field: &str,
) -> Result<Vec<(LineId, Quantity)>, ApiError> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let quantity = Quantity::new(i64::from(l.quantity)).map_err(|e| {
                ApiError::validation(format!("{field}[{i}].quantity"), e.to_string())
            })?;
            Ok((LineId::from_uuid(l.line_id), quantity))
        })
        .collect()
}

/// A shipment to record (`POST /orders/{order_id}/shipments`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminShipmentRequest {
    /// Lines and units leaving; absent: everything not yet shipped or refunded.
    #[serde(default)]
    pub lines: Option<Vec<AdminLineQuantityDto>>,
    /// Carrier tracking.
    #[serde(default)]
    pub tracking: Option<TrackingDto>,
}

impl TryFrom<AdminShipmentRequest> for ShipmentRequest {
    type Error = ApiError;

    /// # Errors
    /// `422 validation_failed` for an empty `lines` list (leave it out to ship everything)
    /// or a quantity of 0.
    fn try_from(r: AdminShipmentRequest) -> Result<Self, ApiError> {
        let lines = match r.lines {
            None => ShipLines::Remaining,
            Some(lines) if lines.is_empty() => {
                return Err(ApiError::validation(
                    "lines",
                    "name at least one line, or leave `lines` out to ship everything remaining",
                ));
            }
            Some(lines) => ShipLines::Only(line_quantities(&lines, "lines")?),
        };
        let tracking =
            r.tracking.map(|t| Tracking { carrier: t.carrier, number: t.number, url: t.url });
        Ok(ShipmentRequest { lines, tracking })
    }
}

/// Cancels an order (`POST /orders/{order_id}/cancel`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminCancelOrderRequest {
    /// Why (kept in the order's history and told to the customer).
    pub reason: String,
}

/// An admin-initiated refund (`POST /orders/{order_id}/refunds`): lines and units (a
/// return), an amount (goodwill, shipping), or both. It starts `requested`: approve and
/// process it next (or `approve-and-process`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminRefundRequest {
    /// Lines and units to refund.
    #[serde(default)]
    pub lines: Vec<AdminLineQuantityDto>,
    /// An amount on top of the lines, in the order's currency.
    #[serde(default)]
    pub amount: Option<MoneyDto>,
    /// Whether the units go back into stock when processed (default: `true` when lines are
    /// refunded).
    #[serde(default)]
    pub restock: Option<bool>,
    /// Why.
    pub reason: String,
}

impl TryFrom<AdminRefundRequest> for RefundRequest {
    type Error = ApiError;

    /// # Errors
    /// `422 validation_failed` for a quantity of 0 or a malformed amount (an empty refund
    /// is the domain's to refuse).
    fn try_from(r: AdminRefundRequest) -> Result<Self, ApiError> {
        let lines = line_quantities(&r.lines, "lines")?;
        let extra_amount = r.amount.as_ref().map(|a| a.to_money("amount")).transpose()?;
        let restock = r.restock.unwrap_or(!lines.is_empty());
        Ok(RefundRequest { lines, extra_amount, restock, reason: r.reason })
    }
}

/// Turns a refund down (`POST /refunds/{refund_id}/reject`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminRejectRefundRequest {
    /// Why (told to the customer).
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shipment_without_lines_ships_everything_and_an_empty_list_is_refused() {
        let everything = ShipmentRequest::try_from(AdminShipmentRequest::default()).unwrap();
        let empty = AdminShipmentRequest { lines: Some(vec![]), tracking: None };
        let zero = AdminShipmentRequest {
            lines: Some(vec![AdminLineQuantityDto { line_id: Uuid::nil(), quantity: 0 }]),
            tracking: None,
        };

        assert_eq!(everything.lines, ShipLines::Remaining);
        assert_eq!(
            ShipmentRequest::try_from(empty).unwrap_err().extension("field").unwrap(),
            "lines"
        );
        assert_eq!(
            ShipmentRequest::try_from(zero).unwrap_err().extension("field").unwrap(),
            "lines[0].quantity"
        );
    }

    #[test]
    fn refunded_lines_restock_by_default_and_amounts_do_not() {
        let line = AdminLineQuantityDto { line_id: Uuid::nil(), quantity: 1 };
        let lines = AdminRefundRequest {
            lines: vec![line],
            amount: None,
            restock: None,
            reason: "too small".into(),
        };
        let amount = AdminRefundRequest {
            lines: vec![],
            amount: Some(MoneyDto { amount: "5.00".into(), currency: "EUR".into() }),
            restock: None,
            reason: "goodwill".into(),
        };

        assert!(RefundRequest::try_from(lines).unwrap().restock);
        assert!(!RefundRequest::try_from(amount).unwrap().restock);
    }
}
