//! Refunds and returns: request, approve or reject, and pay back through the gateway.

use std::sync::Arc;

use crate::ids::{LocationId, OrderId, RefundId, Sku};
use crate::orders::{Order, Refund, RefundError, RefundRequest, RefundStatus};
use crate::ports::{Clock, IdGenerator, InventoryStore, OrderRepository, PaymentError, PaymentGateway};

use super::access::Caller;
use super::error::ShopError;
use super::inventory::give_back;
use super::keys;
use super::orders::{OrderRef, OrderWriter};

/// Refunds, guarded by the order they belong to (cumulative refunds never exceed what was
/// captured: the order aggregate checks it, its version guards it).
///
/// `requested -> approved -> processed | failed`, or `-> rejected`. Processing pays back
/// through the gateway with a key derived from the refund id, so a retried `process` never
/// pays twice; a gateway timeout leaves the refund approved for a retry.
#[derive(Clone)]
pub struct RefundService {
    writer: OrderWriter,
    gateway: Arc<dyn PaymentGateway>,
    inventory: Arc<dyn InventoryStore>,
    location: LocationId,
}

impl std::fmt::Debug for RefundService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefundService").field("location", &self.location).finish_non_exhaustive()
    }
}

impl RefundService {
    /// A refund service; restocked units go back at `location`.
    pub fn new(
        orders: Arc<dyn OrderRepository>,
        gateway: Arc<dyn PaymentGateway>,
        inventory: Arc<dyn InventoryStore>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        location: LocationId,
    ) -> Self {
        RefundService { writer: OrderWriter { orders, clock, ids }, gateway, inventory, location }
    }

    /// Asks for a refund of lines and units, an amount, or both (`RefundRequested`).
    /// Customers may ask on their own orders; the refund holds its amount and units until
    /// it is processed, rejected or fails.
    ///
    /// # Errors
    /// [`ShopError::NotFound`] for an order the caller cannot see; [`ShopError::Refund`]
    /// when the order is not refundable, the units or amount exceed what is left, or the
    /// request is empty.
    pub async fn request(&self, caller: &Caller, order: OrderId, request: RefundRequest) -> Result<Refund, ShopError> {
        let id = RefundId::from_uuid(self.writer.ids.uuid());
        let (order, _) = self
            .writer
            .change(OrderRef::Id(order), caller, |o, now| Ok(Some(o.request_refund(id, request.clone(), now)?)))
            .await?;
        refund_of(&order, id)
    }

    /// A refund the caller may see.
    ///
    /// # Errors
    /// [`ShopError::NotFound`].
    pub async fn get(&self, caller: &Caller, id: RefundId) -> Result<Refund, ShopError> {
        let order = self.writer.load(OrderRef::Refund(id), caller).await?;
        refund_of(&order, id)
    }

    /// Approves a requested refund (`RefundApproved`). Approving an approved refund returns it.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`] for a customer; [`ShopError::Refund`] for a refund that is
    /// not requested.
    pub async fn approve(&self, caller: &Caller, id: RefundId) -> Result<Refund, ShopError> {
        caller.require_admin("approve refunds")?;
        let (order, _) = self
            .writer
            .change(OrderRef::Refund(id), caller, |o, now| {
                if o.refund(id).is_some_and(|r| r.status == RefundStatus::Approved) {
                    return Ok(None);
                }
                Ok(Some(o.approve_refund(id, now)?))
            })
            .await?;
        refund_of(&order, id)
    }

    /// Rejects a requested or approved refund (`RefundRejected`); its amount and units are
    /// free again.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`] for a customer; [`ShopError::Refund`] for a refund already
    /// processed, failed or rejected.
    pub async fn reject(&self, caller: &Caller, id: RefundId, reason: String) -> Result<Refund, ShopError> {
        caller.require_admin("reject refunds")?;
        let (order, _) = self
            .writer
            .change(OrderRef::Refund(id), caller, |o, now| Ok(Some(o.reject_refund(id, reason.clone(), now)?)))
            .await?;
        refund_of(&order, id)
    }

    /// Pays an approved refund back. On success the refund is processed
    /// (`RefundProcessed`) and, if it restocks, its units go back on hand; on a gateway
    /// refusal it is failed (`RefundFailed`, its amount free again) and returned with that
    /// status. Processing a processed refund returns it.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`] for a customer; [`ShopError::Refund`] for a refund that is
    /// not approved; [`ShopError::Payment`] on a gateway timeout or outage: the refund stays
    /// approved, retry later (the same gateway key makes it pay once).
    pub async fn process(&self, caller: &Caller, id: RefundId) -> Result<Refund, ShopError> {
        caller.require_admin("process refunds")?;
        let order = self.writer.load(OrderRef::Refund(id), caller).await?;
        let refund = refund_of(&order, id)?;
        match refund.status {
            RefundStatus::Approved => {}
            RefundStatus::Processed => return Ok(refund),
            status @ (RefundStatus::Requested | RefundStatus::Rejected | RefundStatus::Failed) => {
                return Err(RefundError::IllegalTransition { refund: id, status: status.as_str(), action: "process" }.into());
            }
        }
        let paid = self.gateway.refund(&order.payment().reference, refund.amount, &keys::refund_key(id)).await;
        let (order, changed) = match paid {
            Ok(receipt) => {
                self.writer
                    .change(OrderRef::Refund(id), caller, |o, now| {
                        if o.refund(id).is_some_and(|r| r.status == RefundStatus::Processed) {
                            return Ok(None);
                        }
                        Ok(Some(o.refund_processed(id, receipt.reference.clone(), now)?))
                    })
                    .await?
            }
            Err(e @ (PaymentError::Timeout | PaymentError::Unavailable { .. })) => return Err(e.into()),
            Err(
                refusal @ (PaymentError::Declined { .. }
                | PaymentError::InvalidPaymentMethod { .. }
                | PaymentError::UnknownPayment { .. }
                | PaymentError::InvalidState { .. }),
            ) => {
                tracing::warn!(refund = %id, error = %refusal, "gateway refused a refund");
                let reason = refusal.to_string();
                self.writer
                    .change(OrderRef::Refund(id), caller, |o, now| Ok(Some(o.refund_failed(id, reason.clone(), now)?)))
                    .await?
            }
        };
        let refund = refund_of(&order, id)?;
        if changed && refund.status == RefundStatus::Processed && refund.restock {
            let lines: Vec<(Sku, u32)> = refund.lines.iter().map(|l| (l.sku.clone(), l.quantity.get())).collect();
            give_back(self.inventory.as_ref(), &self.location, &lines).await;
        }
        Ok(refund)
    }

    /// Approves and processes in one step (the back-office's "refund now").
    ///
    /// # Errors
    /// As [`RefundService::approve`] and [`RefundService::process`].
    pub async fn approve_and_process(&self, caller: &Caller, id: RefundId) -> Result<Refund, ShopError> {
        self.approve(caller, id).await?;
        self.process(caller, id).await
    }
}

fn refund_of(order: &Order, id: RefundId) -> Result<Refund, ShopError> {
    order.refund(id).cloned().ok_or_else(|| ShopError::not_found("refund", id))
}
