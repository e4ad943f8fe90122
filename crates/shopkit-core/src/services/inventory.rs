//! Stock administration: levels, adjustments, reservations, expiry.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::ids::{LocationId, ReservationId, Sku};
use crate::inventory::{BackorderPolicy, Reservation, StockLevel};
use crate::ports::InventoryStore;

use super::error::ShopError;

/// Back-office stock operations (the HTTP layer guards them with the admin role).
#[derive(Clone)]
pub struct InventoryService {
    inventory: Arc<dyn InventoryStore>,
}

impl std::fmt::Debug for InventoryService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InventoryService").finish_non_exhaustive()
    }
}

impl InventoryService {
    /// An inventory service.
    pub fn new(inventory: Arc<dyn InventoryStore>) -> Self {
        InventoryService { inventory }
    }

    /// Sets the on-hand count of a SKU at a location (after a stock take), keeping its
    /// reservations.
    ///
    /// # Errors
    /// [`ShopError::Inventory`] for a negative count; storage errors.
    pub async fn set_stock(
        &self,
        sku: &Sku,
        location: &LocationId,
        on_hand: i64,
        backorder: BackorderPolicy,
    ) -> Result<StockLevel, ShopError> {
        Ok(self.inventory.set_stock(sku, location, on_hand, backorder).await?)
    }

    /// Adds `delta` units (negative to remove: damage, shrinkage).
    ///
    /// # Errors
    /// [`ShopError::Inventory`]: `UnknownSku` (set its stock first), or `Invalid` when the
    /// removal would take on-hand below what is reserved.
    pub async fn adjust(
        &self,
        sku: &Sku,
        location: &LocationId,
        delta: i64,
    ) -> Result<StockLevel, ShopError> {
        Ok(self.inventory.adjust(sku, location, delta).await?)
    }

    /// Stock of these SKUs at every location.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn levels(&self, skus: &[Sku]) -> Result<Vec<StockLevel>, ShopError> {
        Ok(self.inventory.levels(skus).await?)
    }

    /// Active reservations holding `sku`.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn reservations(&self, sku: &Sku) -> Result<Vec<Reservation>, ShopError> {
        Ok(self.inventory.active_reservations(sku).await?)
    }

    /// One reservation.
    ///
    /// # Errors
    /// [`ShopError::NotFound`].
    pub async fn reservation(&self, id: ReservationId) -> Result<Reservation, ShopError> {
        self.inventory.reservation(id).await?.ok_or_else(|| ShopError::not_found("reservation", id))
    }

    /// Releases every reservation due at `now` (the shop's runtime calls this
    /// periodically). Returns how many were released.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn release_expired(&self, now: DateTime<Utc>) -> Result<usize, ShopError> {
        Ok(self.inventory.release_expired(now).await?)
    }
}

/// Puts sold units back on hand (a cancelled order, a restocked refund). A failure is
/// logged, not raised: the state change it follows is already written, and a unit too few
/// on hand is undersold, never oversold.
pub(crate) async fn give_back(
    inventory: &dyn InventoryStore,
    location: &LocationId,
    lines: &[(Sku, u32)],
) {
    for (sku, quantity) in lines {
        if let Err(e) = inventory.adjust(sku, location, i64::from(*quantity)).await {
            tracing::error!(%sku, %location, quantity, error = %e, "stock not given back; correct it by hand");
        }
    }
}
