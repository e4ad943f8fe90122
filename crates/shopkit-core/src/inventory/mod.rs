//! Inventory: stock on hand per SKU and location, and reservations that hold stock for a
//! checkout until they are committed (the order took the units), released, or expire.
//!
//! `available = on_hand - reserved`. With [`BackorderPolicy::Deny`], available never goes
//! below zero; that rule is enforced by the inventory adapter atomically, under any
//! concurrency.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AdjustmentId, LocationId, ReservationId, Sku};
use crate::quantity::Quantity;

/// Whether a SKU may be sold beyond its stock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum BackorderPolicy {
    /// Never sell more than is available.
    #[default]
    Deny,
    /// Sell up to `limit` units beyond stock (no limit when `None`).
    Allow {
        /// Units that may be oversold.
        limit: Option<u32>,
    },
}

/// Stock of one SKU at one location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// The SKU.
    pub sku: Sku,
    /// The location.
    pub location: LocationId,
    /// Units physically there (committed sales already taken off).
    pub on_hand: i64,
    /// Units held by active reservations.
    pub reserved: i64,
    /// The backorder rule for this SKU.
    pub backorder: BackorderPolicy,
}

impl StockLevel {
    /// Units that can still be reserved without backorder.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }

    /// Units that can still be reserved, counting the backorder allowance
    /// (`i64::MAX` for an unlimited backorder).
    pub fn reservable(&self) -> i64 {
        match self.backorder {
            BackorderPolicy::Deny => self.available().max(0),
            BackorderPolicy::Allow { limit: None } => i64::MAX,
            BackorderPolicy::Allow { limit: Some(l) } => (self.available() + i64::from(l)).max(0),
        }
    }
}

/// One SKU in a reservation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationLine {
    /// The SKU.
    pub sku: Sku,
    /// Units held.
    pub quantity: Quantity,
}

/// Where a reservation is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// Holding stock.
    Active,
    /// The order took the units: on-hand went down, the hold is gone.
    Committed,
    /// Given back (checkout failed or was abandoned).
    Released,
    /// Given back because it passed its expiry.
    Expired,
}

/// What a checkout asks the inventory to hold, all or nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationRequest {
    /// The reservation id, chosen by the caller so a retried checkout reserves once.
    pub id: ReservationId,
    /// The location to take stock from.
    pub location: LocationId,
    /// The SKUs and quantities; each SKU at most once.
    pub lines: Vec<ReservationLine>,
    /// When the hold lapses if not committed.
    pub expires_at: DateTime<Utc>,
}

/// Stock held for a checkout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// The id.
    pub id: ReservationId,
    /// The location the stock is held at.
    pub location: LocationId,
    /// What is held.
    pub lines: Vec<ReservationLine>,
    /// Its state.
    pub status: ReservationStatus,
    /// When it lapses if still active.
    pub expires_at: DateTime<Utc>,
}

/// A change of on-hand stock that must happen once, however often it is asked for (stock
/// given back by a cancelled order or a restocking refund, applied by an event subscriber
/// that may see its event more than once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockAdjustment {
    /// The key, chosen by the caller (derived from what causes the change, so a repeat
    /// carries the same key).
    pub id: AdjustmentId,
    /// The SKU.
    pub sku: Sku,
    /// The location.
    pub location: LocationId,
    /// Units to add to `on_hand` (negative to remove).
    pub delta: i64,
}

/// What [`InventoryStore::adjust_once`](crate::ports::InventoryStore::adjust_once) did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Adjusted {
    /// This call applied the adjustment: the stock after it.
    Applied(StockLevel),
    /// The adjustment had been applied before (by an earlier or a concurrent call): nothing
    /// changed.
    AlreadyApplied,
}

/// What can go wrong with inventory. Each variant says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InventoryError {
    /// Not enough stock; nothing was reserved.
    #[error("out of stock: {sku} has {available} available, {requested} requested")]
    OutOfStock {
        /// The first SKU that fell short.
        sku: Sku,
        /// Units asked for.
        requested: u32,
        /// Units that could have been reserved.
        available: i64,
    },
    /// The SKU has no stock record at that location.
    #[error("no stock record for {sku} at {location}: set its stock first")]
    UnknownSku {
        /// The SKU.
        sku: Sku,
        /// The location.
        location: LocationId,
    },
    /// No such reservation.
    #[error("no reservation {id}")]
    ReservationNotFound {
        /// The id.
        id: ReservationId,
    },
    /// The reservation was released or expired and can no longer be committed; reserve again.
    #[error("reservation {id} is {status:?}: reserve again")]
    ReservationClosed {
        /// The id.
        id: ReservationId,
        /// Its state.
        status: ReservationStatus,
    },
    /// The same id was used with different lines.
    #[error("reservation {id} already exists with other lines")]
    ReservationMismatch {
        /// The id.
        id: ReservationId,
    },
    /// The request itself is malformed (no lines, a SKU twice, a negative stock level).
    #[error("invalid inventory request: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// The backend could not be reached; retry later.
    #[error(transparent)]
    Store(#[from] crate::ports::StoreError),
}

impl ReservationRequest {
    /// Checks the request: at least one line and each SKU once.
    pub fn validate(&self) -> Result<(), InventoryError> {
        if self.lines.is_empty() {
            return Err(InventoryError::Invalid {
                reason: "a reservation needs at least one line".into(),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for l in &self.lines {
            if !seen.insert(&l.sku) {
                return Err(InventoryError::Invalid {
                    reason: format!("SKU {} appears twice", l.sku),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservable_respects_the_backorder_policy() {
        let mut level = StockLevel {
            sku: Sku::new("A").unwrap(),
            location: LocationId::main(),
            on_hand: 5,
            reserved: 7,
            backorder: BackorderPolicy::Deny,
        };
        assert_eq!(level.available(), -2);
        assert_eq!(level.reservable(), 0);
        level.backorder = BackorderPolicy::Allow { limit: Some(10) };
        assert_eq!(level.reservable(), 8);
        level.backorder = BackorderPolicy::Allow { limit: None };
        assert_eq!(level.reservable(), i64::MAX);
    }
}
