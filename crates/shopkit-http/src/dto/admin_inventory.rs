//! Stock on the wire (back office): levels per location, adjustments, and the
//! reservations holding stock for checkouts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shopkit_core::ids::LocationId;
use shopkit_core::inventory::{BackorderPolicy, Reservation, ReservationStatus, StockLevel};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

/// Whether a SKU may be sold beyond its stock: `{"policy": "deny"}` or
/// `{"policy": "allow", "limit": 10}` (`limit` absent or `null`: no limit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum BackorderDto {
    /// Never sell more than is available.
    #[default]
    Deny,
    /// Sell up to `limit` units beyond stock.
    Allow {
        /// Units that may be oversold; `null`: no limit.
        #[serde(default)]
        limit: Option<u32>,
    },
}

impl From<BackorderPolicy> for BackorderDto {
    fn from(p: BackorderPolicy) -> Self {
        match p {
            BackorderPolicy::Deny => BackorderDto::Deny,
            BackorderPolicy::Allow { limit } => BackorderDto::Allow { limit },
        }
    }
}

impl From<BackorderDto> for BackorderPolicy {
    fn from(p: BackorderDto) -> Self {
        match p {
            BackorderDto::Deny => BackorderPolicy::Deny,
            BackorderDto::Allow { limit } => BackorderPolicy::Allow { limit },
        }
    }
}

/// The location of a stock request: the named one, or `main` when absent.
///
/// # Errors
/// `422 validation_failed` (`field: "location"`) for a malformed handle.
pub fn location_or_main(raw: Option<&str>) -> Result<LocationId, ApiError> {
    match raw {
        None => Ok(LocationId::main()),
        Some(raw) => {
            LocationId::new(raw).map_err(|e| ApiError::validation("location", e.to_string()))
        }
    }
}

/// Sets a SKU's stock at a location after a stock take (`PUT /inventory/{sku}`);
/// reservations are kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SetStockRequest {
    /// The location handle; default `main`.
    #[serde(default)]
    pub location: Option<String>,
    /// Units physically there (0 or more).
    pub on_hand: i64,
    /// The backorder rule; default `{"policy": "deny"}`.
    #[serde(default)]
    pub backorder: BackorderDto,
}

/// Adds (or, negative, removes) units (`POST /inventory/{sku}/adjustments`): a delivery,
/// damage, shrinkage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockAdjustmentRequest {
    /// The location handle; default `main`.
    #[serde(default)]
    pub location: Option<String>,
    /// Units to add; negative to remove (never below what is reserved).
    pub delta: i64,
}

/// Stock of one SKU at one location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockLevelDto {
    /// The SKU.
    pub sku: String,
    /// The location handle.
    pub location: String,
    /// Units physically there.
    pub on_hand: i64,
    /// Units held by active reservations.
    pub reserved: i64,
    /// `on_hand - reserved` (negative while backordered).
    pub available: i64,
    /// The backorder rule.
    pub backorder: BackorderDto,
}

impl From<&StockLevel> for StockLevelDto {
    fn from(l: &StockLevel) -> Self {
        StockLevelDto {
            sku: l.sku.to_string(),
            location: l.location.to_string(),
            on_hand: l.on_hand,
            reserved: l.reserved,
            available: l.available(),
            backorder: l.backorder.into(),
        }
    }
}

/// Where a reservation is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatusDto {
    /// Holding stock.
    Active,
    /// The order took the units.
    Committed,
    /// Given back.
    Released,
    /// Given back at its expiry.
    Expired,
}

impl From<ReservationStatus> for ReservationStatusDto {
    fn from(s: ReservationStatus) -> Self {
        match s {
            ReservationStatus::Active => ReservationStatusDto::Active,
            ReservationStatus::Committed => ReservationStatusDto::Committed,
            ReservationStatus::Released => ReservationStatusDto::Released,
            ReservationStatus::Expired => ReservationStatusDto::Expired,
        }
    }
}

/// Units of one SKU held by a reservation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReservationLineDto {
    /// The SKU.
    pub sku: String,
    /// Units held.
    pub quantity: u32,
}

/// Stock held for a checkout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReservationDto {
    /// The reservation id.
    pub id: Uuid,
    /// The location the stock is held at.
    pub location: String,
    /// Its state.
    pub status: ReservationStatusDto,
    /// When the hold lapses if not committed.
    pub expires_at: DateTime<Utc>,
    /// What is held (every SKU of the checkout, not only the one asked about).
    pub lines: Vec<ReservationLineDto>,
}

impl From<&Reservation> for ReservationDto {
    fn from(r: &Reservation) -> Self {
        ReservationDto {
            id: r.id.as_uuid(),
            location: r.location.to_string(),
            status: r.status.into(),
            expires_at: r.expires_at,
            lines: r
                .lines
                .iter()
                .map(|l| ReservationLineDto { sku: l.sku.to_string(), quantity: l.quantity.get() })
                .collect(),
        }
    }
}

/// A SKU's stock everywhere and what holds it (`GET /inventory/{sku}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InventoryDto {
    /// The SKU.
    pub sku: String,
    /// One level per location with a stock record (empty: no stock was ever set).
    pub levels: Vec<StockLevelDto>,
    /// Active reservations holding it, at any location.
    pub reservations: Vec<ReservationDto>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backorder_policies_read_as_tagged_objects() {
        let deny: BackorderDto = serde_json::from_str(r#"{"policy": "deny"}"#).unwrap();
        let capped: BackorderDto =
            serde_json::from_str(r#"{"policy": "allow", "limit": 5}"#).unwrap();
        let unlimited: BackorderDto = serde_json::from_str(r#"{"policy": "allow"}"#).unwrap();

        assert_eq!(BackorderPolicy::from(deny), BackorderPolicy::Deny);
        assert_eq!(BackorderPolicy::from(capped), BackorderPolicy::Allow { limit: Some(5) });
        assert_eq!(BackorderPolicy::from(unlimited), BackorderPolicy::Allow { limit: None });
    }

    #[test]
    fn a_missing_location_is_main_and_a_malformed_one_is_refused() {
        assert_eq!(location_or_main(None).unwrap(), LocationId::main());
        assert_eq!(location_or_main(Some("berlin-1")).unwrap().to_string(), "berlin-1");
        let err = location_or_main(Some("Berlin 1")).unwrap_err();
        assert_eq!(err.extension("field").unwrap(), "location");
    }
}
