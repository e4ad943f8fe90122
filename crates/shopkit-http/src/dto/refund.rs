//! Refunds and returns on the wire, as the customer sees them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shopkit_core::ids::LineId;
use shopkit_core::orders::{Refund, RefundRequest, RefundStatus};
use utoipa::ToSchema;
use uuid::Uuid;

use super::MoneyDto;
use super::cart::{QuantityInput, required_quantity};
use crate::error::ApiError;

/// The most lines one return may name.
const MAX_RETURN_LINES: usize = 100;
/// The longest reason accepted.
const REASON_MAX: usize = 1000;

/// Where a refund is: `requested -> approved -> processed | failed`, or `rejected`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatusDto {
    /// Asked for; the shop reviews it.
    Requested,
    /// Approved; the money is on its way back.
    Approved,
    /// Paid back.
    Processed,
    /// Turned down (`note` says why).
    Rejected,
    /// The payment provider refused to pay it back; the shop will be in touch.
    Failed,
}

impl From<RefundStatus> for RefundStatusDto {
    fn from(s: RefundStatus) -> Self {
        match s {
            RefundStatus::Requested => RefundStatusDto::Requested,
            RefundStatus::Approved => RefundStatusDto::Approved,
            RefundStatus::Processed => RefundStatusDto::Processed,
            RefundStatus::Rejected => RefundStatusDto::Rejected,
            RefundStatus::Failed => RefundStatusDto::Failed,
        }
    }
}

/// Units of one order line in a refund.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundLineDto {
    /// The order line.
    pub line_id: Uuid,
    /// Its SKU.
    pub sku: String,
    /// Units returned.
    pub quantity: u32,
    /// What those units cost the customer (their share of the line total, after
    /// discounts).
    pub amount: MoneyDto,
}

/// A refund (or return) of an order. Gateway references and internal notes are never
/// shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundDto {
    /// The refund id.
    pub id: Uuid,
    /// The order.
    pub order_id: Uuid,
    /// Where it is.
    pub status: RefundStatusDto,
    /// What is paid back in total.
    pub amount: MoneyDto,
    /// The lines and units returned.
    pub lines: Vec<RefundLineDto>,
    /// Why it was asked for.
    pub reason: String,
    /// Why it was rejected (only for `rejected`).
    pub note: Option<String>,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&Refund> for RefundDto {
    fn from(r: &Refund) -> Self {
        RefundDto {
            id: r.id.as_uuid(),
            order_id: r.order_id.as_uuid(),
            status: r.status.into(),
            amount: r.amount.into(),
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
            reason: r.reason.clone(),
            // A failed refund's note is the gateway's answer: internal, not for customers.
            note: (r.status == RefundStatus::Rejected).then(|| r.outcome_note.clone()).flatten(),
            requested_at: r.requested_at,
            updated_at: r.updated_at,
        }
    }
}

/// Units of an order line to send back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReturnLineRequest {
    /// The order line (`lines[].id` of the order).
    pub line_id: Uuid,
    /// How many units.
    #[serde(default)]
    #[schema(value_type = QuantityInput, required = true)]
    pub quantity: Option<QuantityInput>,
}

/// A return (`POST /orders/{order_id}/returns`): lines and units to send back, refunded
/// at what they cost once the shop processes the return, and put back in stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReturnRequest {
    /// 1 to 100 lines.
    pub lines: Vec<ReturnLineRequest>,
    /// Why (1 to 1000 characters).
    pub reason: String,
}

impl TryFrom<ReturnRequest> for RefundRequest {
    type Error = ApiError;

    fn try_from(r: ReturnRequest) -> Result<Self, ApiError> {
        if r.lines.is_empty() || r.lines.len() > MAX_RETURN_LINES {
            return Err(ApiError::validation(
                "lines",
                format!("a return names 1 to {MAX_RETURN_LINES} lines"),
            ));
        }
        let reason = r.reason.trim();
        if reason.is_empty() || reason.chars().count() > REASON_MAX {
            return Err(ApiError::validation(
                "reason",
                format!("say why in 1 to {REASON_MAX} characters"),
            ));
        }
        let lines = r
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let quantity = required_quantity(l.quantity, &format!("lines[{i}].quantity"))?;
                Ok((LineId::from_uuid(l.line_id), quantity))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(RefundRequest::returning(lines, reason))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: serde_json::Value) -> Result<RefundRequest, ApiError> {
        crate::extract::parse_json::<ReturnRequest>(body.to_string().as_bytes())?.try_into()
    }

    #[test]
    fn a_return_restocks_the_lines_it_names() {
        let line = Uuid::from_u128(7);

        let request =
            parse(json!({"lines": [{"line_id": line, "quantity": 2}], "reason": "too small"}))
                .unwrap();

        assert_eq!(request.lines[0].0.as_uuid(), line);
        assert_eq!(request.lines[0].1.get(), 2);
        assert!(request.restock);
        assert_eq!(request.extra_amount, None, "a customer never names an amount");
    }

    #[test]
    fn a_return_needs_lines_whole_quantities_and_a_reason() {
        let line = Uuid::from_u128(7);
        for (body, field) in [
            (json!({"lines": [], "reason": "x"}), "lines"),
            (
                json!({"lines": [{"line_id": line, "quantity": 0}], "reason": "x"}),
                "lines[0].quantity",
            ),
            (json!({"lines": [{"line_id": line}], "reason": "x"}), "lines[0].quantity"),
            (json!({"lines": [{"line_id": line, "quantity": 1}], "reason": " "}), "reason"),
            (
                json!({"lines": [{"line_id": "nope", "quantity": 1}], "reason": "x"}),
                "lines[0].line_id",
            ),
        ] {
            let err = parse(body.clone()).unwrap_err();
            assert_eq!(err.extension("field").unwrap(), field, "{body}");
        }
    }
}
