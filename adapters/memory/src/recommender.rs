//! Recommendations from co-occurrence: "customers who liked this also liked…".

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use shopkit_core::ids::{CustomerId, ProductId};
use shopkit_core::ports::{Interaction, InteractionKind, Recommender, StoreError};

/// How strongly an interaction ties a customer to a product.
fn weight(kind: InteractionKind) -> u64 {
    match kind {
        InteractionKind::View => 1,
        InteractionKind::AddToCart => 2,
        InteractionKind::Purchase => 4,
    }
}

/// An in-memory [`Recommender`] that learns from recorded interactions.
///
/// Each customer's tie to a product is the weight of their strongest interaction with it
/// (purchase 4 > add to cart 2 > view 1; repeating a view does not make it stronger). Two
/// products are similar through every customer tied to both, by the product of the two
/// ties, summed over those customers.
///
/// - [`similar`](Recommender::similar): products similar to the one asked about, never
///   itself, best first, ties by product id.
/// - [`for_customer`](Recommender::for_customer): products similar to what the customer
///   interacted with (weighted by their tie to it, learnt from *other* customers), minus
///   what they bought; best first, ties by product id.
/// - Unknown products and customers, and a `limit` of 0, give an empty list.
/// - [`set_down`](Self::set_down) makes every call `Unavailable`.
#[derive(Debug, Default)]
pub struct MemoryRecommender {
    ties: Mutex<HashMap<CustomerId, BTreeMap<ProductId, u64>>>,
    down: AtomicBool,
}

impl MemoryRecommender {
    /// A recommender that knows nothing yet.
    pub fn new() -> Self {
        MemoryRecommender::default()
    }

    /// Takes the recommender down (`true`): every call is `Unavailable` until
    /// `set_down(false)`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CustomerId, BTreeMap<ProductId, u64>>> {
        self.ties.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_up(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                message: "the recommender is down (set_down(true))".into(),
                source: None,
            });
        }
        Ok(())
    }
}

/// Products co-occurring with `product` among customers other than `except`, with scores
/// (the product of both ties, summed over customers).
fn co_occurring(
    ties: &HashMap<CustomerId, BTreeMap<ProductId, u64>>,
    product: ProductId,
    except: Option<CustomerId>,
) -> HashMap<ProductId, u64> {
    let mut scores = HashMap::new();
    for (customer, products) in ties {
        if Some(*customer) == except {
            continue;
        }
        let Some(tie) = products.get(&product) else {
            continue;
        };
        for (other, other_tie) in products {
            if *other != product {
                let score: &mut u64 = scores.entry(*other).or_default();
                *score = score.saturating_add(tie.saturating_mul(*other_tie));
            }
        }
    }
    scores
}

/// The best `limit` products, best first, ties by product id.
fn best(scores: HashMap<ProductId, u64>, limit: usize) -> Vec<ProductId> {
    let mut ranked: Vec<(ProductId, u64)> = scores.into_iter().filter(|(_, s)| *s > 0).collect();
    ranked.sort_by(|(a, sa), (b, sb)| sb.cmp(sa).then_with(|| a.cmp(b)));
    ranked.into_iter().take(limit).map(|(p, _)| p).collect()
}

#[async_trait]
impl Recommender for MemoryRecommender {
    async fn record(&self, interaction: &Interaction) -> Result<(), StoreError> {
        self.check_up()?;
        let mut ties = self.lock();
        let tie =
            ties.entry(interaction.customer).or_default().entry(interaction.product).or_default();
        *tie = (*tie).max(weight(interaction.kind));
        Ok(())
    }

    async fn similar(
        &self,
        product: ProductId,
        limit: usize,
    ) -> Result<Vec<ProductId>, StoreError> {
        self.check_up()?;
        let ties = self.lock();
        Ok(best(co_occurring(&ties, product, None), limit))
    }

    async fn for_customer(
        &self,
        customer: CustomerId,
        limit: usize,
    ) -> Result<Vec<ProductId>, StoreError> {
        self.check_up()?;
        let ties = self.lock();
        let Some(own) = ties.get(&customer) else {
            return Ok(Vec::new());
        };
        let bought: HashSet<ProductId> = own
            .iter()
            .filter(|(_, t)| **t >= weight(InteractionKind::Purchase))
            .map(|(p, _)| *p)
            .collect();
        let mut scores: HashMap<ProductId, u64> = HashMap::new();
        for (product, tie) in own {
            for (other, similarity) in co_occurring(&ties, *product, Some(customer)) {
                if !bought.contains(&other) {
                    let score = scores.entry(other).or_default();
                    *score = score.saturating_add(tie.saturating_mul(similarity));
                }
            }
        }
        Ok(best(scores, limit))
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use uuid::Uuid;

    use super::*;

    fn product(n: u128) -> ProductId {
        ProductId::from_uuid(Uuid::from_u128(n))
    }

    fn customer(n: u128) -> CustomerId {
        CustomerId::from_uuid(Uuid::from_u128(1000 + n))
    }

    async fn did(recommender: &MemoryRecommender, c: u128, p: u128, kind: InteractionKind) {
        let interaction = Interaction {
            customer: customer(c),
            product: product(p),
            kind,
            at: DateTime::UNIX_EPOCH,
        };
        recommender.record(&interaction).await.unwrap();
    }

    #[tokio::test]
    async fn similar_products_are_those_the_same_customers_interacted_with() {
        let r = MemoryRecommender::new();
        did(&r, 1, 1, InteractionKind::View).await;
        did(&r, 1, 2, InteractionKind::View).await;
        did(&r, 2, 3, InteractionKind::View).await;

        let similar = r.similar(product(1), 10).await.unwrap();

        assert_eq!(similar, [product(2)]);
    }

    #[tokio::test]
    async fn purchases_weigh_more_than_carts_and_carts_more_than_views() {
        let r = MemoryRecommender::new();
        did(&r, 1, 1, InteractionKind::Purchase).await;
        did(&r, 1, 2, InteractionKind::View).await;
        did(&r, 1, 3, InteractionKind::Purchase).await;
        did(&r, 1, 4, InteractionKind::AddToCart).await;

        let similar = r.similar(product(1), 10).await.unwrap();

        assert_eq!(similar, [product(3), product(4), product(2)]);
    }

    #[tokio::test]
    async fn similar_never_includes_the_product_itself_and_holds_each_product_once() {
        let r = MemoryRecommender::new();
        for c in 1..=3 {
            did(&r, c, 1, InteractionKind::View).await;
            did(&r, c, 2, InteractionKind::View).await;
            did(&r, c, 2, InteractionKind::Purchase).await;
        }

        let similar = r.similar(product(1), 10).await.unwrap();

        assert_eq!(similar, [product(2)]);
    }

    #[tokio::test]
    async fn equal_scores_are_ordered_by_product_id_and_cut_at_the_limit() {
        let r = MemoryRecommender::new();
        for p in [5, 3, 4, 2] {
            did(&r, 1, p, InteractionKind::View).await;
        }
        did(&r, 1, 1, InteractionKind::View).await;

        let similar = r.similar(product(1), 3).await.unwrap();
        let none = r.similar(product(1), 0).await.unwrap();

        assert_eq!(similar, [product(2), product(3), product(4)]);
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn for_customer_suggests_what_similar_customers_liked_but_not_what_was_bought() {
        let r = MemoryRecommender::new();
        did(&r, 1, 1, InteractionKind::Purchase).await;
        did(&r, 1, 2, InteractionKind::View).await;
        did(&r, 2, 1, InteractionKind::Purchase).await;
        did(&r, 2, 2, InteractionKind::Purchase).await;
        did(&r, 2, 3, InteractionKind::AddToCart).await;
        did(&r, 3, 9, InteractionKind::Purchase).await;

        let suggested = r.for_customer(customer(1), 10).await.unwrap();

        // Product 2 (viewed, not bought) is strongly tied to their purchase of 1 through
        // customer 2; product 3 less so (only carted there).
        assert_eq!(suggested, [product(2), product(3)]);
        assert!(!suggested.contains(&product(1)), "bought products are not suggested");
        assert!(!suggested.contains(&product(9)), "unrelated products are not suggested");
    }

    #[tokio::test]
    async fn unknown_products_and_customers_get_empty_lists() {
        let r = MemoryRecommender::new();
        did(&r, 1, 1, InteractionKind::View).await;

        assert!(r.similar(product(42), 10).await.unwrap().is_empty());
        assert!(r.for_customer(customer(42), 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_down_recommender_is_unavailable() {
        let r = MemoryRecommender::new();
        r.set_down(true);

        let result = r.similar(product(1), 10).await;

        assert!(matches!(result, Err(StoreError::Unavailable { .. })));
    }
}
