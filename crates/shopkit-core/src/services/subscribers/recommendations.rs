//! Purchases as the recommender's training signal.

use std::sync::Arc;

use async_trait::async_trait;

use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::Sku;
use crate::ports::{
    EventSubscriber, Interaction, InteractionKind, ProductRepository, Recommender, SubscriberError,
};
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
        let DomainEvent::OrderPlaced { customer_id: Some(customer), lines, .. } = &envelope.event
        else {
            return Ok(());
        };
        let skus: Vec<Sku> = lines.iter().map(|l| l.sku.clone()).collect();
        let products = self.products.by_skus(&skus).await.map_err(store)?;
        for product in product_ids_of(&products, &skus) {
            let interaction = Interaction {
                customer: *customer,
                product,
                kind: InteractionKind::Purchase,
                at: envelope.occurred_at,
            };
            self.recommender.record(&interaction).await.map_err(store)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::events::EventLine;
    use crate::ids::{CustomerId, EventId, OrderId, ProductId};
    use crate::ports::StoreError;
    use crate::services::test_support::*;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<Interaction>>);

    #[async_trait]
    impl Recommender for Recorded {
        async fn record(&self, interaction: &Interaction) -> Result<(), StoreError> {
            self.0.lock().unwrap().push(interaction.clone());
            Ok(())
        }
        async fn similar(&self, _: ProductId, _: usize) -> Result<Vec<ProductId>, StoreError> {
            Ok(vec![])
        }
        async fn for_customer(
            &self,
            _: CustomerId,
            _: usize,
        ) -> Result<Vec<ProductId>, StoreError> {
            Ok(vec![])
        }
    }

    fn placed(customer: Option<CustomerId>) -> EventEnvelope {
        let line = |s: &str| EventLine { sku: sku(s), quantity: 1, total: None };
        EventEnvelope {
            id: EventId::from_uuid(uuid::Uuid::from_u128(1)),
            occurred_at: start(),
            event: DomainEvent::OrderPlaced {
                order_id: OrderId::from_uuid(uuid::Uuid::from_u128(2)),
                customer_id: customer,
                email: email(),
                total: usd(1),
                tax: usd(0),
                shipping: usd(0),
                lines: vec![line("TEE"), line("MUG"), line("GONE")],
            },
        }
    }

    #[tokio::test]
    async fn a_customers_order_records_one_purchase_per_product_and_a_guests_none() {
        let world = World::new();
        let recorded = Arc::new(Recorded::default());
        let subscriber = RecommenderSubscriber::new(recorded.clone(), world.products.clone());

        subscriber.handle(&placed(Some(ann()))).await.unwrap();
        subscriber.handle(&placed(None)).await.unwrap();

        let interactions = recorded.0.lock().unwrap().clone();
        let products: Vec<ProductId> = interactions.iter().map(|i| i.product).collect();
        assert_eq!(products, [product(1, "Tee", &[]).id, product(2, "Mug", &[]).id]);
        assert!(
            interactions.iter().all(|i| i.customer == ann() && i.kind == InteractionKind::Purchase)
        );
    }
}
