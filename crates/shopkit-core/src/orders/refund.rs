//! Refunds and returns, guarded by the order they belong to.
//!
//! A refund is by lines and quantities (a return) or by an amount (goodwill, shipping).
//! The amount of `k` units of a line is taken from the line's *total* (after its share of
//! order discounts, with tax when tax is added), split once per unit by largest remainder.
//! A refund takes the lowest units of the line no other refund holds and pays back their
//! shares; a rejected or failed refund gives its units back. So unit `i` always costs share
//! `i`, and refunds of a whole line add up to the line total exactly, to the minor unit,
//! whatever was requested, rejected or failed on the way. This is where Vendure and Solidus
//! have had bugs (refunding the undiscounted price, or losing a cent per unit).
//!
//! Units refunded after they shipped came back (a return): they do not count against the
//! units left to ship. Units refunded beyond those that had shipped are cancelled and never
//! ship.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::DomainEvent;
use crate::ids::{LineId, OrderId, RefundId, Sku};
use crate::money::{Money, MoneyError};
use crate::quantity::Quantity;

use super::order::{Order, OrderStatus, event_line};

/// Where a refund is in its life: `requested -> approved -> processed | failed`, or
/// `requested | approved -> rejected`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Asked for; holds its amount and units against the order.
    Requested,
    /// Approved by an admin; waiting for the gateway.
    Approved,
    /// Paid back.
    Processed,
    /// Turned down.
    Rejected,
    /// The gateway refused; nothing was paid back.
    Failed,
}

impl RefundStatus {
    /// Whether the refund still holds amount and units (requested or approved).
    pub fn is_open(self) -> bool {
        matches!(self, RefundStatus::Requested | RefundStatus::Approved)
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Requested => "requested",
            RefundStatus::Approved => "approved",
            RefundStatus::Processed => "processed",
            RefundStatus::Rejected => "rejected",
            RefundStatus::Failed => "failed",
        }
    }
}

/// Units of one order line in a refund, with their share of the amount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    /// The order line.
    pub line_id: LineId,
    /// Its SKU.
    pub sku: Sku,
    /// Units refunded.
    pub quantity: Quantity,
    /// What those units cost the customer.
    pub amount: Money,
    /// Which of the line's units these are (0-based, ascending): unit `i` is paid back its
    /// `i`-th share of the line total. Empty in refunds stored before units were numbered.
    #[serde(default)]
    pub units: Vec<u32>,
    /// Of `quantity`, the units that had shipped and came back; the others had not shipped
    /// and never will. Set when the refund is processed.
    #[serde(default)]
    pub returned: u32,
}

/// What a customer or an admin asks to refund.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// Lines and units to refund (a return). May be empty for an amount-only refund.
    pub lines: Vec<(LineId, Quantity)>,
    /// An amount on top of the lines (shipping, goodwill). `None` for lines only.
    pub extra_amount: Option<Money>,
    /// Whether the units go back into stock when processed.
    pub restock: bool,
    /// Why.
    pub reason: String,
}

impl RefundRequest {
    /// A return of these lines and units, put back in stock when processed.
    pub fn returning(lines: Vec<(LineId, Quantity)>, reason: impl Into<String>) -> Self {
        RefundRequest { lines, extra_amount: None, restock: true, reason: reason.into() }
    }

    /// A refund of an amount (shipping, goodwill), with no units and no restock.
    pub fn amount(amount: Money, reason: impl Into<String>) -> Self {
        RefundRequest {
            lines: Vec::new(),
            extra_amount: Some(amount),
            restock: false,
            reason: reason.into(),
        }
    }
}

/// A refund of (part of) an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// The refund id.
    pub id: RefundId,
    /// The order.
    pub order_id: OrderId,
    /// Lines and units.
    pub lines: Vec<RefundLine>,
    /// The total to pay back (lines plus extra amount).
    pub amount: Money,
    /// Whether to restock on processing.
    pub restock: bool,
    /// Why.
    pub reason: String,
    /// Its state.
    pub status: RefundStatus,
    /// The gateway's refund reference, once processed.
    pub gateway_reference: Option<String>,
    /// Why it was rejected or failed.
    pub outcome_note: Option<String>,
    /// When it was requested.
    pub requested_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A refund the order's rules do not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefundError {
    /// Refunds need captured money.
    #[error("order {order} is {status}: only paid orders can be refunded")]
    NotRefundable {
        /// The order.
        order: OrderId,
        /// Its status.
        status: &'static str,
    },
    /// The refund would take the order's refunds above what was captured.
    #[error("refund of {requested} exceeds the {refundable} still refundable on this order")]
    RefundExceedsCaptured {
        /// The refund asked for.
        requested: Money,
        /// Captured minus refunds processed or in progress.
        refundable: Money,
    },
    /// More units than are left to refund on a line.
    #[error("line {line} has {refundable} units left to refund, {requested} requested")]
    TooManyUnits {
        /// The line.
        line: LineId,
        /// Asked for.
        requested: u32,
        /// Left.
        refundable: u32,
    },
    /// No such line on the order.
    #[error("order {order} has no line {line}")]
    UnknownLine {
        /// The order.
        order: OrderId,
        /// The line.
        line: LineId,
    },
    /// No such refund on the order.
    #[error("order {order} has no refund {refund}")]
    UnknownRefund {
        /// The order.
        order: OrderId,
        /// The refund.
        refund: RefundId,
    },
    /// The refund's state does not allow this.
    #[error("refund {refund} is {status}: cannot {action}")]
    IllegalTransition {
        /// The refund.
        refund: RefundId,
        /// Its state.
        status: &'static str,
        /// What was attempted.
        action: &'static str,
    },
    /// Nothing to refund: no lines and no positive amount.
    #[error("a refund needs lines or a positive amount")]
    Empty,
    /// The same id was already used for another refund.
    #[error("refund {refund} already exists")]
    DuplicateId {
        /// The id.
        refund: RefundId,
    },
    /// Money arithmetic failed (a currency mismatch).
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl Order {
    /// Money captured and not yet refunded or held by an open refund.
    pub fn refundable_amount(&self) -> Result<Money, MoneyError> {
        let held: Vec<Money> =
            self.refunds.iter().filter(|r| r.status.is_open()).map(|r| r.amount).collect();
        let held = Money::sum(self.currency, &held)?;
        self.payment.captured.checked_sub(&self.payment.refunded)?.checked_sub(&held)
    }

    /// Which units of line `idx` processed and open refunds hold. Refund lines stored
    /// before units were numbered hold the lowest units left, in request order.
    fn held_units(&self, idx: usize) -> Vec<bool> {
        let line = &self.lines[idx];
        let mut held = vec![false; line.quantity.get() as usize];
        let mut unnumbered = 0u32;
        let holding = self
            .refunds
            .iter()
            .filter(|r| r.status.is_open() || r.status == RefundStatus::Processed)
            .flat_map(|r| r.lines.iter())
            .filter(|rl| rl.line_id == line.id);
        for rl in holding {
            if rl.units.is_empty() {
                unnumbered += rl.quantity.get();
            }
            for u in &rl.units {
                if let Some(h) = held.get_mut(*u as usize) {
                    *h = true;
                }
            }
        }
        for h in held.iter_mut().filter(|h| !**h).take(unnumbered as usize) {
            *h = true;
        }
        held
    }

    /// The lowest `quantity` units of line `idx` no refund holds, and what they cost the
    /// customer: the sum of their shares of the line total.
    fn take_units(&self, idx: usize, quantity: u32) -> Result<(Vec<u32>, Money), MoneyError> {
        let line = &self.lines[idx];
        let shares = line.total.allocate_by_weights(&vec![1; line.quantity.get() as usize])?;
        let units: Vec<u32> = self
            .held_units(idx)
            .iter()
            .zip(0u32..)
            .filter(|(held, _)| !**held)
            .map(|(_, u)| u)
            .take(quantity as usize)
            .collect();
        let taken: Vec<Money> = units.iter().map(|u| shares[*u as usize]).collect();
        Ok((units, Money::sum(self.currency, &taken)?))
    }

    /// The tax in refund `id`: each of its units' share of its line's tax, split over the
    /// line's units as the line total is (so refunding a whole line gives back exactly its
    /// tax). An extra amount (shipping, goodwill) is taken as carrying no tax. Refund lines
    /// stored before units were numbered are taken as the line's first units.
    ///
    /// # Errors
    /// [`RefundError::UnknownRefund`]; [`RefundError::Money`] on a currency mismatch.
    pub fn refund_tax(&self, id: RefundId) -> Result<Money, RefundError> {
        let refund =
            self.refund(id).ok_or(RefundError::UnknownRefund { order: self.id, refund: id })?;
        let mut taxes = Vec::new();
        for rl in &refund.lines {
            let Some(line) = self.lines.iter().find(|l| l.id == rl.line_id) else {
                continue;
            };
            let shares = line.tax.allocate_by_weights(&vec![1; line.quantity.get() as usize])?;
            if rl.units.is_empty() {
                taxes.extend(shares.iter().take(rl.quantity.get() as usize));
            } else {
                taxes.extend(rl.units.iter().filter_map(|u| shares.get(*u as usize)));
            }
        }
        Ok(Money::sum(self.currency, &taxes)?)
    }

    /// Units of line `idx` that shipped and came back with a processed refund.
    pub(super) fn returned_units(&self, idx: usize) -> u32 {
        let line = &self.lines[idx];
        self.refunds
            .iter()
            .filter(|r| r.status == RefundStatus::Processed)
            .flat_map(|r| r.lines.iter())
            .filter(|rl| rl.line_id == line.id)
            .map(|rl| rl.returned)
            .sum()
    }

    /// Requests a refund. All or nothing; holds the amount and units until it is
    /// processed, rejected or failed.
    ///
    /// # Errors
    /// [`RefundError::RefundExceedsCaptured`] when the order's refunds would exceed what was
    /// captured; [`RefundError::TooManyUnits`] for units already refunded or held.
    pub fn request_refund(
        &mut self,
        id: RefundId,
        request: RefundRequest,
        at: DateTime<Utc>,
    ) -> Result<DomainEvent, RefundError> {
        if !matches!(
            self.status,
            OrderStatus::Paid
                | OrderStatus::PartiallyFulfilled
                | OrderStatus::Fulfilled
                | OrderStatus::Delivered
        ) {
            return Err(RefundError::NotRefundable {
                order: self.id,
                status: self.status.as_str(),
            });
        }
        if self.cancelling.is_some() {
            return Err(RefundError::NotRefundable { order: self.id, status: "being cancelled" });
        }
        if self.refunds.iter().any(|r| r.id == id) {
            return Err(RefundError::DuplicateId { refund: id });
        }
        let mut per_line = vec![0u32; self.lines.len()];
        for (line, qty) in &request.lines {
            let idx = self
                .lines
                .iter()
                .position(|l| l.id == *line)
                .ok_or(RefundError::UnknownLine { order: self.id, line: *line })?;
            per_line[idx] = per_line[idx].saturating_add(qty.get());
            let refundable = self.refundable_units(idx);
            if per_line[idx] > refundable {
                return Err(RefundError::TooManyUnits {
                    line: *line,
                    requested: per_line[idx],
                    refundable,
                });
            }
        }
        let mut lines = Vec::new();
        for (idx, n) in per_line.iter().enumerate() {
            if let Ok(quantity) = Quantity::new(i64::from(*n)) {
                let line = &self.lines[idx];
                let (units, amount) = self.take_units(idx, *n)?;
                lines.push(RefundLine {
                    line_id: line.id,
                    sku: line.sku.clone(),
                    quantity,
                    amount,
                    units,
                    returned: 0,
                });
            }
        }
        let line_amounts: Vec<Money> = lines.iter().map(|l| l.amount).collect();
        let mut amount = Money::sum(self.currency, &line_amounts)?;
        if let Some(extra) = request.extra_amount {
            if extra.is_negative() {
                return Err(RefundError::Empty);
            }
            amount = amount.checked_add(&extra)?;
        }
        if !amount.is_positive() {
            return Err(RefundError::Empty);
        }
        let refundable = self.refundable_amount()?;
        if amount.try_cmp(&refundable)?.is_gt() {
            return Err(RefundError::RefundExceedsCaptured { requested: amount, refundable });
        }
        self.refunds.push(Refund {
            id,
            order_id: self.id,
            lines,
            amount,
            restock: request.restock,
            reason: request.reason,
            status: RefundStatus::Requested,
            gateway_reference: None,
            outcome_note: None,
            requested_at: at,
            updated_at: at,
        });
        Ok(DomainEvent::RefundRequested { refund_id: id, order_id: self.id, amount })
    }

    fn refund_mut(
        &mut self,
        id: RefundId,
        allowed: &[RefundStatus],
        action: &'static str,
    ) -> Result<&mut Refund, RefundError> {
        let order = self.id;
        let refund = self
            .refunds
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or(RefundError::UnknownRefund { order, refund: id })?;
        if !allowed.contains(&refund.status) {
            return Err(RefundError::IllegalTransition {
                refund: id,
                status: refund.status.as_str(),
                action,
            });
        }
        Ok(refund)
    }

    /// Approves a requested refund.
    pub fn approve_refund(
        &mut self,
        id: RefundId,
        at: DateTime<Utc>,
    ) -> Result<DomainEvent, RefundError> {
        let order_id = self.id;
        let r = self.refund_mut(id, &[RefundStatus::Requested], "approve")?;
        r.status = RefundStatus::Approved;
        r.updated_at = at;
        Ok(DomainEvent::RefundApproved { refund_id: id, order_id, amount: r.amount })
    }

    /// Rejects a requested or approved refund; its amount and units are free again.
    pub fn reject_refund(
        &mut self,
        id: RefundId,
        reason: String,
        at: DateTime<Utc>,
    ) -> Result<DomainEvent, RefundError> {
        let order_id = self.id;
        let r =
            self.refund_mut(id, &[RefundStatus::Requested, RefundStatus::Approved], "reject")?;
        r.status = RefundStatus::Rejected;
        r.outcome_note = Some(reason.clone());
        r.updated_at = at;
        Ok(DomainEvent::RefundRejected { refund_id: id, order_id, reason })
    }

    /// Records that the gateway paid an approved refund back. Its units come back from
    /// those shipped and not yet returned first; any beyond them are cancelled and will
    /// not ship.
    pub fn refund_processed(
        &mut self,
        id: RefundId,
        gateway_reference: String,
        at: DateTime<Utc>,
    ) -> Result<DomainEvent, RefundError> {
        let order_id = self.id;
        let email = self.email.clone();
        let refund = self.refund_mut(id, &[RefundStatus::Approved], "process")?.clone();
        let refunded = self.payment.refunded.checked_add(&refund.amount)?;
        // Units that shipped and have not come back yet, per refund line (before this
        // refund counts as processed).
        let returned: Vec<u32> = refund
            .lines
            .iter()
            .map(|rl| {
                self.lines.iter().position(|l| l.id == rl.line_id).map_or(0, |idx| {
                    let out = self.lines[idx].fulfilled.saturating_sub(self.returned_units(idx));
                    out.min(rl.quantity.get())
                })
            })
            .collect();
        let r = self.refund_mut(id, &[RefundStatus::Approved], "process")?;
        r.status = RefundStatus::Processed;
        r.gateway_reference = Some(gateway_reference);
        r.updated_at = at;
        for (rl, n) in r.lines.iter_mut().zip(returned) {
            rl.returned = n;
        }
        self.payment.refunded = refunded;
        let mut restock = Vec::new();
        for rl in &refund.lines {
            if let Some(line) = self.lines.iter_mut().find(|l| l.id == rl.line_id) {
                line.refunded += rl.quantity.get();
                if refund.restock {
                    restock.push(event_line(line, rl.quantity.get(), None));
                }
            }
        }
        Ok(DomainEvent::RefundProcessed {
            refund_id: id,
            order_id,
            email,
            amount: refund.amount,
            restock,
            location: None,
        })
    }

    /// Records that the gateway refused an approved refund; its amount and units are free.
    pub fn refund_failed(
        &mut self,
        id: RefundId,
        reason: String,
        at: DateTime<Utc>,
    ) -> Result<DomainEvent, RefundError> {
        let order_id = self.id;
        let r = self.refund_mut(id, &[RefundStatus::Approved], "fail")?;
        r.status = RefundStatus::Failed;
        r.outcome_note = Some(reason.clone());
        r.updated_at = at;
        Ok(DomainEvent::RefundFailed { refund_id: id, order_id, reason })
    }
}
