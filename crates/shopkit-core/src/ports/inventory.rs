//! The inventory port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ids::{LocationId, ReservationId, Sku};
use crate::inventory::{
    Adjusted, BackorderPolicy, InventoryError, Reservation, ReservationRequest, StockAdjustment,
    StockLevel,
};

/// Stock levels and reservations.
///
/// # Contract
/// - `reserve` MUST be atomic over all lines: either every line is held or none is, and
///   then it fails with `OutOfStock` naming the first SKU (in request order) that fell
///   short. Under any concurrency, for a SKU with `BackorderPolicy::Deny`, `reserved`
///   MUST never exceed `on_hand` (no oversell).
/// - `reserve` with an id that exists with the same lines MUST return the stored
///   reservation without holding more stock (a retried checkout reserves once); with
///   other lines it MUST fail with `ReservationMismatch`.
/// - `commit` turns an active reservation into a sale (`on_hand` and `reserved` both drop
///   by its quantities) and is idempotent; on a released or expired one it MUST fail with
///   `ReservationClosed`.
/// - `release` gives stock back and is idempotent; on a committed reservation it is a
///   no-op returning the reservation unchanged.
/// - `release_expired` releases every active reservation with `expires_at <= now` (status
///   `Expired`) and returns how many it released.
/// - `adjust` adds `delta` to `on_hand` (negative to remove); it MUST fail with `Invalid`
///   rather than take `on_hand` below `reserved` for a `Deny` SKU.
/// - `adjust_once` is `adjust` under a key: the first call with a key adds its `delta` and
///   records the key in the same atomic write, returning `Applied`; every later call with
///   that key (the same SKU, location and delta) MUST change nothing and return
///   `AlreadyApplied`, however many race (exactly one of concurrent calls applies it). The
///   same key with another SKU, location or delta MUST fail with `Invalid` and change
///   nothing. A refused adjustment (`UnknownSku`, `Invalid`, a store error) MUST NOT
///   record its key: a retry may still apply it. Keys are kept for good.
/// - An unknown SKU/location in `reserve`, `adjust` or `adjust_once` MUST be `UnknownSku`.
#[async_trait]
pub trait InventoryStore: Send + Sync + 'static {
    /// Creates or replaces a stock record (keeps its reservations).
    async fn set_stock(
        &self,
        sku: &Sku,
        location: &LocationId,
        on_hand: i64,
        backorder: BackorderPolicy,
    ) -> Result<StockLevel, InventoryError>;
    /// Adds `delta` to on-hand stock.
    async fn adjust(
        &self,
        sku: &Sku,
        location: &LocationId,
        delta: i64,
    ) -> Result<StockLevel, InventoryError>;
    /// Adds `adjustment.delta` to on-hand stock once per `adjustment.id`.
    async fn adjust_once(&self, adjustment: &StockAdjustment) -> Result<Adjusted, InventoryError>;
    /// Stock of these SKUs at every location (records that exist).
    async fn levels(&self, skus: &[Sku]) -> Result<Vec<StockLevel>, InventoryError>;
    /// Holds stock for a checkout, all or nothing.
    async fn reserve(&self, request: &ReservationRequest) -> Result<Reservation, InventoryError>;
    /// Turns a reservation into a sale.
    async fn commit(&self, id: ReservationId) -> Result<Reservation, InventoryError>;
    /// Gives a reservation's stock back.
    async fn release(&self, id: ReservationId) -> Result<Reservation, InventoryError>;
    /// The reservation with `id`.
    async fn reservation(&self, id: ReservationId) -> Result<Option<Reservation>, InventoryError>;
    /// Active reservations that hold `sku` (back-office view).
    async fn active_reservations(&self, sku: &Sku) -> Result<Vec<Reservation>, InventoryError>;
    /// Expires active reservations due at `now`; returns how many.
    async fn release_expired(&self, now: DateTime<Utc>) -> Result<usize, InventoryError>;
}
