//! Where promotions and pricing settings live.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::ids::{CouponCode, OrderId, PromotionId};
use crate::money::RoundingPolicy;
use crate::pricing::{Promotion, ShippingTable, TaxTable};

/// The shop's tax and shipping settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PricingSettings {
    /// Tax rates and mode.
    pub taxes: TaxTable,
    /// Shipping rates.
    pub shipping: ShippingTable,
    /// How computed amounts round.
    pub rounding: RoundingPolicy,
}

/// Why a promotion could not be redeemed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedeemError {
    /// The usage limit is reached: remove the coupon.
    #[error("promotion {promotion} has reached its usage limit")]
    UsageLimitReached {
        /// The promotion.
        promotion: PromotionId,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Promotions and pricing settings.
///
/// # Contract
/// - `redeem` MUST be atomic: with a usage limit of `n`, of any number of concurrent
///   redemptions by different orders exactly `n` succeed in total. Redeeming again for the
///   same order is a no-op success (checkout retries).
/// - `release` undoes one order's redemption (failed checkout); unknown is a no-op.
/// - A promotion's `times_used` as returned by `all`/`get` reflects redemptions.
/// - `delete` of an unknown promotion is `NotFound`.
/// - Coupon codes are unique among promotions: `upsert` MUST fail with `AlreadyExists`
///   when another promotion holds the code.
#[async_trait]
pub trait PromotionRepository: Send + Sync + 'static {
    /// Creates or replaces a promotion.
    async fn upsert(&self, promotion: &Promotion) -> Result<(), StoreError>;
    /// A promotion.
    async fn get(&self, id: PromotionId) -> Result<Option<Promotion>, StoreError>;
    /// The promotion with a coupon code.
    async fn by_coupon(&self, code: &CouponCode) -> Result<Option<Promotion>, StoreError>;
    /// Every promotion, by priority (highest first) then id.
    async fn all(&self) -> Result<Vec<Promotion>, StoreError>;
    /// Removes a promotion.
    async fn delete(&self, id: PromotionId) -> Result<(), StoreError>;
    /// Counts one use by `order`, within the usage limit.
    async fn redeem(&self, id: PromotionId, order: OrderId) -> Result<(), RedeemError>;
    /// Gives back `order`'s use.
    async fn release(&self, id: PromotionId, order: OrderId) -> Result<(), StoreError>;
    /// The tax and shipping settings.
    async fn settings(&self) -> Result<PricingSettings, StoreError>;
    /// Replaces the tax and shipping settings.
    async fn save_settings(&self, settings: &PricingSettings) -> Result<(), StoreError>;
}
