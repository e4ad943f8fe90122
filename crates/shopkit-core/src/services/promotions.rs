//! [`PromotionService`]: the back-office view of promotions, coupons, tax and shipping.

use std::sync::Arc;

use crate::ids::PromotionId;
use crate::ports::{PricingSettings, PromotionRepository};
use crate::pricing::Promotion;

use super::access::Caller;
use super::error::ShopError;

/// Promotions and pricing settings, for back-office staff only. Promotions are validated
/// by their builder before they get here; the repository keeps coupon codes unique and
/// owns the usage counts.
#[derive(Clone)]
pub struct PromotionService {
    promotions: Arc<dyn PromotionRepository>,
}

impl std::fmt::Debug for PromotionService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromotionService").finish_non_exhaustive()
    }
}

impl PromotionService {
    /// A service over the promotion repository.
    pub fn new(promotions: Arc<dyn PromotionRepository>) -> Self {
        PromotionService { promotions }
    }

    /// Every promotion, highest priority first.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`] for a customer; storage errors.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<Promotion>, ShopError> {
        caller.require_admin("list promotions")?;
        Ok(self.promotions.all().await?)
    }

    /// One promotion.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`]; [`ShopError::NotFound`].
    pub async fn get(&self, caller: &Caller, id: PromotionId) -> Result<Promotion, ShopError> {
        caller.require_admin("read promotions")?;
        self.promotions.get(id).await?.ok_or_else(|| ShopError::not_found("promotion", id))
    }

    /// Creates or replaces a promotion (its usage count stays the store's).
    ///
    /// # Errors
    /// [`ShopError::Forbidden`]; [`ShopError::AlreadyExists`] when another promotion holds
    /// the coupon code.
    pub async fn save(
        &self,
        caller: &Caller,
        promotion: &Promotion,
    ) -> Result<Promotion, ShopError> {
        caller.require_admin("change promotions")?;
        self.promotions.upsert(promotion).await?;
        self.get(caller, promotion.id()).await
    }

    /// Removes a promotion.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`]; [`ShopError::NotFound`].
    pub async fn delete(&self, caller: &Caller, id: PromotionId) -> Result<(), ShopError> {
        caller.require_admin("delete promotions")?;
        Ok(self.promotions.delete(id).await?)
    }

    /// The tax and shipping settings.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`]; storage errors.
    pub async fn settings(&self, caller: &Caller) -> Result<PricingSettings, ShopError> {
        caller.require_admin("read pricing settings")?;
        Ok(self.promotions.settings().await?)
    }

    /// Replaces the tax and shipping settings.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`]; storage errors.
    pub async fn save_settings(
        &self,
        caller: &Caller,
        settings: &PricingSettings,
    ) -> Result<PricingSettings, ShopError> {
        caller.require_admin("change pricing settings")?;
        self.promotions.save_settings(settings).await?;
        Ok(self.promotions.settings().await?)
    }
}
