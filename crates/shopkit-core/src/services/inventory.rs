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

    /// What a shopper may know of stock: per SKU, whether it can be bought now and, when
    /// stock is low (5 or fewer), how many are left. SKUs without a stock record are not
    /// purchasable. Locations add up.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn availability(&self, skus: &[Sku]) -> Result<Vec<Availability>, ShopError> {
        let levels = self.inventory.levels(skus).await?;
        Ok(skus
            .iter()
            .map(|sku| {
                let mine: Vec<&StockLevel> = levels.iter().filter(|l| &l.sku == sku).collect();
                let reservable =
                    mine.iter().map(|l| l.reservable()).fold(0i64, i64::saturating_add);
                let backorder = mine.iter().any(|l| l.available() <= 0 && l.reservable() > 0);
                Availability {
                    sku: sku.clone(),
                    in_stock: reservable > 0,
                    backorder,
                    low_stock: (reservable > 0 && reservable <= LOW_STOCK && !backorder)
                        .then_some(reservable as u32),
                }
            })
            .collect())
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

/// At or below this many units, a shopper is told how many are left.
const LOW_STOCK: i64 = 5;

/// A SKU's availability as a storefront shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Availability {
    /// The SKU.
    pub sku: Sku,
    /// Whether it can be added and bought now.
    pub in_stock: bool,
    /// Whether it sells on backorder (out of stock, but allowed).
    pub backorder: bool,
    /// Units left, when few.
    pub low_stock: Option<u32>,
}
