//! The checkout journal: where each running checkout got to, so one cut off mid-way (a
//! crash, a killed task) is finished or undone without its client.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{PaymentMethodToken, StoreError};
use crate::events::EventEnvelope;
use crate::ids::{CartId, Email, IdempotencyKey, OrderId, PromotionId, ReservationId};
use crate::money::Money;
use crate::orders::Order;

/// An order ready to be written, with its `OrderPlaced` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedOrder {
    /// The order, its payment authorized.
    pub order: Order,
    /// Its `OrderPlaced` event.
    pub event: EventEnvelope,
    /// The gateway key its payment was authorized under.
    pub gateway_key: String,
}

/// A payment the checkout is asking the gateway for: enough to ask again under the same
/// gateway key, which reveals the authorization if the gateway made one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPayment {
    /// The gateway idempotency key.
    pub gateway_key: String,
    /// The amount asked for.
    pub amount: Money,
    /// The payment method (a gateway token, never card data).
    pub payment_method: PaymentMethodToken,
    /// The receipt address sent along.
    pub email: Option<Email>,
}

/// What one checkout holds so far. Saved after each step that takes something; removed
/// when the checkout ends either way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutProgress {
    /// The order the checkout places (its id is derived from the caller and the key).
    pub order_id: OrderId,
    /// The idempotency scope of the checkout (it names the caller).
    pub scope: String,
    /// The client's key.
    pub idempotency_key: IdempotencyKey,
    /// The request's fingerprint under that key.
    pub fingerprint: String,
    /// The cart being checked out.
    pub cart: CartId,
    /// Usage-limited promotions the checkout redeems (given back when it is undone).
    pub redeemable: Vec<PromotionId>,
    /// The stock reservation, once made.
    pub reservation: Option<ReservationId>,
    /// Payments asked for, oldest first (a retry with another card adds one; all but the
    /// one on the order are voided).
    pub payments: Vec<PendingPayment>,
    /// The order as it will be written, once its payment is authorized: from here on a
    /// checkout whose stock was committed is finished (order written), never undone.
    pub placed: Option<PlacedOrder>,
    /// When this was last saved.
    pub updated_at: DateTime<Utc>,
}

/// Remembers running checkouts.
///
/// # Contract
/// - `save` creates or replaces the progress of `progress.order_id`.
/// - `get` returns the last saved progress of an order, `None` when there is none.
/// - `remove` deletes it; removing an unknown one is a no-op success.
/// - `stale` returns progress last saved before `before`, oldest first, at most `limit`.
#[async_trait]
pub trait CheckoutJournal: Send + Sync + 'static {
    /// Creates or replaces the progress of one checkout.
    async fn save(&self, progress: &CheckoutProgress) -> Result<(), StoreError>;
    /// The progress of the checkout placing `order`.
    async fn get(&self, order: OrderId) -> Result<Option<CheckoutProgress>, StoreError>;
    /// Forgets a checkout that ended.
    async fn remove(&self, order: OrderId) -> Result<(), StoreError>;
    /// Checkouts that made no progress since `before`, oldest first.
    async fn stale(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<CheckoutProgress>, StoreError>;
}
