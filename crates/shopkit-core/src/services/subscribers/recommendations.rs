//! Purchases as the recommender's training signal.

use std::sync::Arc;

use async_trait::async_trait;

use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::Sku;
use crate::ports::{EventSubscriber, Interaction, InteractionKind, ProductRepository, Recommender, SubscriberError};
use crate::services::quoting::product_ids_of;

use super::store;

/// `OrderPlaced` by a signed-in customer records one `Purchase` interaction per product
/// bought (products looked up by SKU in one catalog read). Guest orders are skipped: the
/// recommender learns per customer.
#[derive(Clone)]
pub struct RecommenderSubscriber {
    recommender: Arc<dyn Recommender>,
    products: Arc<dyn ProductRepository>,
}

impl std::fmt::Debug for RecommenderSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecommenderSubscriber").finish_non_exhaustive()
    }
}

impl RecommenderSubscriber {
    /// A subscriber feeding `recommender`.
    pub fn new(recommender: Arc<dyn Recommender>, products: Arc<dyn ProductRepository>) -> Self {
        RecommenderSubscriber { recommender, products }
    }
}

#[async_trait]
impl EventSubscriber for RecommenderSubscriber {
    fn name(&self) -> &str {
        "recommendations"
    }

    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), SubscriberError> {
        let DomainEvent::OrderPlaced { customer_id: Some(customer), lines, .. } = &envelope.event else {
            return Ok(());
        };
        let skus: Vec<Sku> = lines.iter().map(|l| l.sku.clone()).collect();
        let products = self.products.by_skus(&skus).await.map_err(store)?;
        for product in product_ids_of(&products, &skus) {
            let interaction = Interaction { customer: *customer, product, kind: InteractionKind::Purchase, at: envelope.occurred_at };
            self.recommender.record(&interaction).await.map_err(store)?;
        }
        Ok(())
    }
}
