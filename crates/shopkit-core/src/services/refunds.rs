//! Refunds and returns: request, approve or reject, and pay back through the gateway.

use std::sync::Arc;

use crate::ids::{IdempotencyKey, LocationId, OrderId, RefundId};
use crate::orders::{Order, Refund, RefundError, RefundRequest, RefundStatus};
use crate::ports::{Clock, IdGenerator, OrderRepository, PaymentError, PaymentGateway};

use super::access::Caller;
use super::error::ShopError;
use super::keys;
use super::orders::{OrderRef, OrderWriter};

/// Refunds, guarded by the order they belong to (cumulative refunds never exceed what was
/// captured: the order aggregate checks it, its version guards it).
///
/// `requested -> approved -> processed | failed`, or `-> rejected`. Processing pays back
/// through the gateway with a key derived from the refund id, so a retried `process` never
/// pays twice; a gateway timeout leaves the refund approved for a retry. Restocked units go
/// back from the outbox (`RefundProcessed` carries them), never from here.
#[derive(Clone)]
pub struct RefundService {
    writer: OrderWriter,
    gateway: Arc<dyn PaymentGateway>,
    location: LocationId,
}

impl std::fmt::Debug for RefundService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefundService").field("location", &self.location).finish_non_exhaustive()
    }
}

impl RefundService {
    /// A refund service; a processed refund's event names `location` as where its
    /// restocked units go back (the
    /// [`RestockSubscriber`](super::subscribers::RestockSubscriber) puts them there).
    pub fn new(
        orders: Arc<dyn OrderRepository>,
        gateway: Arc<dyn PaymentGateway>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        location: LocationId,
    ) -> Self {
        RefundService { writer: OrderWriter { orders, clock, ids }, gateway, location }
    }

    /// Asks for a refund of lines and units, an amount, or both (`RefundRequested`).
    /// Customers may ask on their own orders; the refund holds its amount and units until
    /// it is processed, rejected or fails.
    ///
    /// # Errors
    /// [`ShopError::NotFound`] for an order the caller cannot see; [`ShopError::Refund`]
    /// when the order is not refundable, the units or amount exceed what is left, or the
    /// request is empty.
    pub async fn request(
        &self,
        caller: &Caller,
        order: OrderId,
        request: RefundRequest,
    ) -> Result<Refund, ShopError> {
        let id = RefundId::from_uuid(self.writer.ids.uuid());
        let (order, _) = self
            .writer
            .change(OrderRef::Id(order), caller, |o, now| {
                Ok(Some(o.request_refund(id, request.clone(), now)?))
            })
            .await?;
        refund_of(&order, id)
    }

    /// Requests a refund once per client idempotency key: the refund id is derived from
    /// the order and the key, so a retry (even after the HTTP layer's idempotency record
    /// lapsed, or after a crash) finds the refund the first attempt wrote instead of
    /// requesting a second one.
    ///
    /// # Errors
    /// As [`RefundService::request`].
    pub async fn request_once(
        &self,
        caller: &Caller,
        order: OrderId,
        request: RefundRequest,
        key: &IdempotencyKey,
    ) -> Result<Refund, ShopError> {
        let id = RefundId::from_uuid(keys::derive(&["refund", &order.to_string(), key.as_str()]));
        let (order, _) = self
            .writer
            .change(OrderRef::Id(order), caller, |o, now| {
                if o.refund(id).is_some() {
                    return Ok(None); // the first attempt wrote it
                }
                Ok(Some(o.request_refund(id, request.clone(), now)?))
            })
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
    pub async fn reject(
        &self,
        caller: &Caller,
        id: RefundId,
        reason: String,
    ) -> Result<Refund, ShopError> {
        caller.require_admin("reject refunds")?;
        let (order, _) = self
            .writer
            .change(OrderRef::Refund(id), caller, |o, now| {
                Ok(Some(o.reject_refund(id, reason.clone(), now)?))
            })
            .await?;
        refund_of(&order, id)
    }

    /// Pays an approved refund back. On success the refund is processed
    /// (`RefundProcessed`; if it restocks, the event carries its units and the location,
    /// and the restock subscriber puts them back on hand once); on a gateway
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
                return Err(RefundError::IllegalTransition {
                    refund: id,
                    status: status.as_str(),
                    action: "process",
                }
                .into());
            }
        }
        let paid = self
            .gateway
            .refund(&order.payment().reference, refund.amount, &keys::refund_key(id))
            .await;
        let (order, _) = match paid {
            Ok(receipt) => {
                self.writer
                    .change(OrderRef::Refund(id), caller, |o, now| {
                        if o.refund(id).is_some_and(|r| r.status == RefundStatus::Processed) {
                            return Ok(None);
                        }
                        let processed = o.refund_processed(id, receipt.reference.clone(), now)?;
                        Ok(Some(processed.restocking_at(&self.location)))
                    })
                    .await?
            }
            Err(e @ (PaymentError::Timeout | PaymentError::Unavailable { .. })) => {
                return Err(e.into());
            }
            Err(
                refusal @ (PaymentError::Declined { .. }
                | PaymentError::InvalidPaymentMethod { .. }
                | PaymentError::UnknownPayment { .. }
                | PaymentError::InvalidState { .. }),
            ) => {
                tracing::warn!(refund = %id, error = %refusal, "gateway refused a refund");
                let reason = refusal.to_string();
                self.writer
                    .change(OrderRef::Refund(id), caller, |o, now| {
                        Ok(Some(o.refund_failed(id, reason.clone(), now)?))
                    })
                    .await?
            }
        };
        refund_of(&order, id)
    }

    /// Approves and processes in one step (the back-office's "refund now").
    ///
    /// # Errors
    /// As [`RefundService::approve`] and [`RefundService::process`].
    pub async fn approve_and_process(
        &self,
        caller: &Caller,
        id: RefundId,
    ) -> Result<Refund, ShopError> {
        self.approve(caller, id).await?;
        self.process(caller, id).await
    }
}

fn refund_of(order: &Order, id: RefundId) -> Result<Refund, ShopError> {
    order.refund(id).cloned().ok_or_else(|| ShopError::not_found("refund", id))
}

#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping, reason = "amounts in cents: 115_50 reads as 115.50")]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::orders::OrderStatus;
    use crate::ports::{OutboxStore, RefundReceipt};
    use crate::quantity::Quantity;
    use crate::services::orders::{ShipLines, ShipmentRequest};
    use crate::services::test_support::*;

    async fn shipped_order(world: &World) -> Order {
        let order = world.annes_order(&[("TEE", 2)]).await;
        let ship = ShipmentRequest { lines: ShipLines::Remaining, tracking: None };
        world.shop().orders().fulfil(&Caller::Admin, order.id(), ship).await.unwrap()
    }

    fn one_tee(order: &Order, restock: bool) -> RefundRequest {
        RefundRequest {
            lines: vec![(order.lines()[0].id, Quantity::ONE)],
            extra_amount: None,
            restock,
            reason: "too small".into(),
        }
    }

    fn refunds_with(world: &World, gateway: MockGateway) -> RefundService {
        RefundService::new(
            world.orders.clone(),
            Arc::new(gateway),
            world.clock.clone(),
            world.ids.clone(),
            LocationId::main(),
        )
    }

    #[tokio::test]
    async fn a_processed_refund_pays_back_once_and_restocks() {
        let world = World::new();
        let order = shipped_order(&world).await;
        assert_eq!(world.inventory.level("TEE"), (8, 0));
        let refunds = world.shop().refunds().clone();

        let requested = refunds
            .request(&Caller::Customer(ann()), order.id(), one_tee(&order, true))
            .await
            .unwrap();
        let processed = refunds.approve_and_process(&Caller::Admin, requested.id).await.unwrap();
        let again = refunds.process(&Caller::Admin, requested.id).await.unwrap();

        assert_eq!(processed.status, RefundStatus::Processed);
        assert_eq!(processed.amount, usd(20_00));
        assert_eq!(again, processed);
        assert_eq!(world.gateway.refunds.lock().unwrap().len(), 1, "paid once");
        world.deliver().await;
        assert_eq!(world.inventory.level("TEE"), (9, 0), "restocked once");
        let order = world.shop().orders().get(&Caller::Admin, order.id()).await.unwrap();
        assert_eq!(order.payment().refunded, usd(20_00));
    }

    #[tokio::test]
    async fn a_crash_right_after_the_refund_is_written_loses_no_stock() {
        let world = World::new();
        let order = shipped_order(&world).await;
        let refunds = world.shop().refunds().clone();
        let requested =
            refunds.request(&Caller::Admin, order.id(), one_tee(&order, true)).await.unwrap();
        refunds.approve(&Caller::Admin, requested.id).await.unwrap();
        let crashing =
            Arc::new(CrashAfterWrite { inner: world.orders.clone(), kind: "refund_processed" });
        let crashing = world.shop_with(world.gateway.clone(), crashing).refunds().clone();

        let crashed = crashing.process(&Caller::Admin, requested.id).await;
        let retried = refunds.process(&Caller::Admin, requested.id).await.unwrap();
        world.deliver().await;

        assert!(crashed.is_err(), "{crashed:?}");
        assert_eq!(retried.status, RefundStatus::Processed);
        assert_eq!(world.gateway.refunds.lock().unwrap().len(), 1, "paid once");
        assert_eq!(world.inventory.level("TEE"), (9, 0), "the outbox restocks the tee");
    }

    #[tokio::test]
    async fn a_redelivered_refund_restocks_once() {
        let world = World::new();
        let order = shipped_order(&world).await;
        let refunds = world.shop().refunds().clone();
        let requested =
            refunds.request(&Caller::Admin, order.id(), one_tee(&order, true)).await.unwrap();
        refunds.approve_and_process(&Caller::Admin, requested.id).await.unwrap();
        world.deliver().await;
        let processed = world
            .outbox
            .entries()
            .into_iter()
            .find(|e| e.envelope.event.kind() == "refund_processed")
            .unwrap();

        world.outbox.redeliver(processed.envelope.id, world.clock.now()).await.unwrap();
        let report = world.deliver().await;

        assert_eq!(report.delivered, 1);
        assert_eq!(world.inventory.level("TEE"), (9, 0), "restocked once");
    }

    #[tokio::test]
    async fn customers_refund_their_own_orders_and_cannot_approve() {
        let world = World::new();
        let order = shipped_order(&world).await;
        let refunds = world.shop().refunds().clone();
        let bob = Caller::Customer(crate::ids::CustomerId::from_uuid(uuid::Uuid::from_u128(0xb0b)));

        let hidden = refunds.request(&bob, order.id(), one_tee(&order, false)).await.unwrap_err();
        assert!(matches!(hidden, ShopError::NotFound { .. }));
        let mine = refunds
            .request(&Caller::Customer(ann()), order.id(), one_tee(&order, false))
            .await
            .unwrap();
        let forbidden = refunds.approve(&Caller::Customer(ann()), mine.id).await.unwrap_err();
        assert!(matches!(forbidden, ShopError::Forbidden { .. }));
        assert!(matches!(refunds.get(&bob, mine.id).await, Err(ShopError::NotFound { .. })));
    }

    #[tokio::test]
    async fn a_refund_above_what_is_left_is_refused_by_the_order() {
        let world = World::new();
        let order = shipped_order(&world).await;
        let too_much = RefundRequest {
            lines: vec![],
            extra_amount: Some(usd(1_000_00)),
            restock: false,
            reason: "x".into(),
        };
        let err =
            world.shop().refunds().request(&Caller::Admin, order.id(), too_much).await.unwrap_err();
        assert!(matches!(err, ShopError::Refund(RefundError::RefundExceedsCaptured { .. })));
    }

    #[tokio::test]
    async fn a_gateway_refusal_fails_the_refund_and_frees_its_amount() {
        let world = World::new();
        let order = shipped_order(&world).await;
        let mut gateway = MockGateway::new();
        gateway.expect_refund().times(1).returning(|reference, _, _| {
            Err(PaymentError::InvalidState {
                reference: reference.into(),
                action: "refunded",
                reason: "disputed".into(),
            })
        });
        let refunds = refunds_with(&world, gateway);
        let requested =
            refunds.request(&Caller::Admin, order.id(), one_tee(&order, true)).await.unwrap();

        let failed = refunds.approve_and_process(&Caller::Admin, requested.id).await.unwrap();

        assert_eq!(failed.status, RefundStatus::Failed);
        assert!(failed.outcome_note.as_deref().is_some_and(|n| n.contains("disputed")));
        world.deliver().await;
        assert_eq!(world.inventory.level("TEE"), (8, 0), "nothing restocked");
        let order = world.orders.get(order.id()).await.unwrap().unwrap();
        assert_eq!(order.refundable_amount().unwrap(), order.payment().captured);
        assert_eq!(order.status(), OrderStatus::Fulfilled);
    }

    #[tokio::test]
    async fn a_gateway_timeout_leaves_the_refund_approved_and_a_retry_uses_the_same_key() {
        let world = World::new();
        let order = shipped_order(&world).await;
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
        let refunds = refunds_with(&world, gateway);
        let requested =
            refunds.request(&Caller::Admin, order.id(), one_tee(&order, false)).await.unwrap();

        let err = refunds.approve_and_process(&Caller::Admin, requested.id).await.unwrap_err();
        assert!(matches!(err, ShopError::Payment(PaymentError::Timeout)));
        assert_eq!(
            refunds.get(&Caller::Admin, requested.id).await.unwrap().status,
            RefundStatus::Approved
        );

        let processed = refunds.process(&Caller::Admin, requested.id).await.unwrap();
        assert_eq!(processed.status, RefundStatus::Processed);
        assert_eq!(processed.gateway_reference.as_deref(), Some("re_1"));
        let seen = keys_seen.lock().unwrap().clone();
        assert_eq!(seen[0], seen[1]);
        assert_eq!(seen[0], keys::refund_key(requested.id));
    }
}
