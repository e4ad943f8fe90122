//! [`RecommendationService`]: similar items and "for you", as products.

use std::sync::Arc;

use crate::catalog::Product;
use crate::ids::{CustomerId, ProductId};
use crate::ports::{Clock, Interaction, InteractionKind, ProductRepository, Recommender};

use super::error::ShopError;

/// Recommendations through the recommender port, resolved to active products. A
/// recommender outage degrades to an empty list: a shopper never sees an error for it.
#[derive(Clone)]
pub struct RecommendationService {
    recommender: Arc<dyn Recommender>,
    products: Arc<dyn ProductRepository>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RecommendationService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecommendationService").finish_non_exhaustive()
    }
}

impl RecommendationService {
    /// A service over the recommender and the catalog.
    pub fn new(
        recommender: Arc<dyn Recommender>,
        products: Arc<dyn ProductRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        RecommendationService { recommender, products, clock }
    }

    /// Active products similar to `product`, best first, at most `limit` (1 to 50).
    ///
    /// # Errors
    /// Storage errors of the catalog only.
    pub async fn similar(
        &self,
        product: ProductId,
        limit: usize,
    ) -> Result<Vec<Product>, ShopError> {
        let limit = limit.clamp(1, 50);
        let ids = match self.recommender.similar(product, limit).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "recommender unavailable; no similar items");
                Vec::new()
            }
        };
        self.resolve(ids).await
    }

    /// Active products for a customer, best first, at most `limit` (1 to 50).
    ///
    /// # Errors
    /// Storage errors of the catalog only.
    pub async fn for_customer(
        &self,
        customer: CustomerId,
        limit: usize,
    ) -> Result<Vec<Product>, ShopError> {
        let limit = limit.clamp(1, 50);
        let ids = match self.recommender.for_customer(customer, limit).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "recommender unavailable; no recommendations");
                Vec::new()
            }
        };
        self.resolve(ids).await
    }

    /// Records that a signed-in customer viewed a product (best effort: never fails).
    pub async fn viewed(&self, customer: CustomerId, product: ProductId) {
        let interaction =
            Interaction { customer, product, kind: InteractionKind::View, at: self.clock.now() };
        if let Err(e) = self.recommender.record(&interaction).await {
            tracing::debug!(error = %e, "view not recorded");
        }
    }

    async fn resolve(&self, ids: Vec<ProductId>) -> Result<Vec<Product>, ShopError> {
        let found =
            futures::future::try_join_all(ids.iter().map(|id| self.products.get(*id))).await?;
        Ok(found.into_iter().flatten().filter(Product::is_active).collect())
    }
}
