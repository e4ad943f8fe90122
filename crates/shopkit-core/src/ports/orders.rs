//! The order repository.

use async_trait::async_trait;

use super::{Cursor, Page, StoreError};
use crate::events::EventEnvelope;
use crate::ids::{CustomerId, OrderId, RefundId};
use crate::orders::{Order, OrderStatus};

/// An order listing request, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// Only this customer's orders.
    pub customer: Option<CustomerId>,
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
    /// Where to continue.
    pub cursor: Option<Cursor>,
    /// Page size, 1 to 100 (adapters clamp).
    pub limit: usize,
}

/// Where orders (with their refunds) live, together with the outbox.
///
/// # Contract
/// - `insert` MUST write the order (version 1) and append `events` to the outbox in ONE
///   atomic step: both or neither, even if the process dies mid-way. An existing id MUST
///   fail with `AlreadyExists` and write nothing (checkout relies on this to place an
///   order once per idempotency key).
/// - `update` MUST do the same for a change, failing with `VersionConflict` unless the
///   stored version equals `order.version()`; on success it returns the new version.
/// - `update` of an order that does not exist MUST be `NotFound`.
/// - `by_refund` finds the order that holds a refund.
/// - `list` pages newest first with opaque cursors.
#[async_trait]
pub trait OrderRepository: Send + Sync + 'static {
    /// Stores a new order and its events atomically; returns the version (1).
    async fn insert(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError>;
    /// Stores a change and its events atomically; returns the new version.
    async fn update(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError>;
    /// The order with `id`.
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError>;
    /// The order that holds refund `id`.
    async fn by_refund(&self, id: RefundId) -> Result<Option<Order>, StoreError>;
    /// A page of orders.
    async fn list(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError>;
}
