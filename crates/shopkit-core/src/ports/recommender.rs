//! Recommendations.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::ids::{CustomerId, ProductId};

/// What a shopper did with a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    /// Looked at it.
    View,
    /// Put it in a cart.
    AddToCart,
    /// Bought it.
    Purchase,
}

/// One interaction, the recommender's training signal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    /// Who (anonymous interactions are not recorded).
    pub customer: CustomerId,
    /// Which product.
    pub product: ProductId,
    /// What they did.
    pub kind: InteractionKind,
    /// When.
    pub at: DateTime<Utc>,
}

/// A recommender (Amazon Personalize in the AWS profile).
///
/// # Contract
/// - Results never include the product asked about (`similar`) and hold each product once,
///   best first, at most `limit`.
/// - An unknown product or customer yields an empty list, not an error.
#[async_trait]
pub trait Recommender: Send + Sync + 'static {
    /// Records an interaction.
    async fn record(&self, interaction: &Interaction) -> Result<(), StoreError>;
    /// Products similar to `product`.
    async fn similar(&self, product: ProductId, limit: usize)
    -> Result<Vec<ProductId>, StoreError>;
    /// Products for a customer.
    async fn for_customer(
        &self,
        customer: CustomerId,
        limit: usize,
    ) -> Result<Vec<ProductId>, StoreError>;
}
