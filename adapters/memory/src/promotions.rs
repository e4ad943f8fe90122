//! [`MemoryPromotions`]: promotions, their redemptions and the pricing settings.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use shopkit_core::ids::{CouponCode, OrderId, PromotionId};
use shopkit_core::ports::{PricingSettings, PromotionRepository, RedeemError, StoreError};
use shopkit_core::pricing::Promotion;

#[derive(Debug)]
struct Stored {
    /// The promotion as returned, with `times_used` = `used_before` + redemptions.
    promotion: Promotion,
    /// Uses counted before this store (the `times_used` the promotion was created with).
    used_before: u32,
    /// The orders that redeemed it.
    redeemed_by: HashSet<OrderId>,
}

impl Stored {
    fn times_used(&self) -> u32 {
        let redeemed = u32::try_from(self.redeemed_by.len()).unwrap_or(u32::MAX);
        self.used_before.saturating_add(redeemed)
    }

    /// Rewrites the promotion's `times_used` after the redemptions changed.
    fn refresh(&mut self) {
        self.promotion = self.promotion.clone().with_times_used(self.times_used());
    }
}

#[derive(Debug, Default)]
struct State {
    promotions: HashMap<PromotionId, Stored>,
    coupons: HashMap<CouponCode, PromotionId>,
    settings: PricingSettings,
}

/// The in-memory [`PromotionRepository`].
///
/// - coupon codes are unique: `upsert` fails with `AlreadyExists` naming the code when
///   another promotion holds it;
/// - the store owns the usage count: a new promotion starts from the `times_used` it is
///   created with, and every distinct order that redeems it adds one. Replacing a
///   promotion keeps its count (the `times_used` of the replacement is ignored), so an
///   edit cannot lose or double redemptions;
/// - `redeem` checks the limit and records the order under one lock: with a limit of `n`,
///   exactly `n` distinct orders succeed; the same order again is a no-op success;
///   redeeming an unknown promotion is `NotFound`;
/// - `release` takes one order's use back; unknown promotions or orders are no-ops;
/// - `delete` of an unknown promotion is `NotFound`.
///
/// Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryPromotions {
    state: Arc<Mutex<State>>,
}

impl MemoryPromotions {
    /// No promotions and default settings.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl PromotionRepository for MemoryPromotions {
    async fn upsert(&self, promotion: &Promotion) -> Result<(), StoreError> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let id = promotion.id();
        if let Some(code) = promotion.coupon()
            && state.coupons.get(code).is_some_and(|owner| *owner != id)
        {
            return Err(StoreError::AlreadyExists {
                entity: "promotion",
                key: format!("coupon {code}"),
            });
        }
        let old_code = match state.promotions.get_mut(&id) {
            Some(old) => {
                let replacement = promotion.clone().with_times_used(old.times_used());
                std::mem::replace(&mut old.promotion, replacement).coupon().cloned()
            }
            None => {
                let stored = Stored {
                    promotion: promotion.clone(),
                    used_before: promotion.times_used(),
                    redeemed_by: HashSet::new(),
                };
                state.promotions.insert(id, stored);
                None
            }
        };
        if let Some(code) = old_code {
            state.coupons.remove(&code);
        }
        if let Some(code) = promotion.coupon() {
            state.coupons.insert(code.clone(), id);
        }
        Ok(())
    }

    async fn get(&self, id: PromotionId) -> Result<Option<Promotion>, StoreError> {
        Ok(self.lock().promotions.get(&id).map(|s| s.promotion.clone()))
    }

    async fn by_coupon(&self, code: &CouponCode) -> Result<Option<Promotion>, StoreError> {
        let state = self.lock();
        Ok(state
            .coupons
            .get(code)
            .and_then(|id| state.promotions.get(id))
            .map(|s| s.promotion.clone()))
    }

    async fn all(&self) -> Result<Vec<Promotion>, StoreError> {
        let mut all: Vec<Promotion> =
            self.lock().promotions.values().map(|s| s.promotion.clone()).collect();
        all.sort_by(|a, b| b.priority().cmp(&a.priority()).then_with(|| a.id().cmp(&b.id())));
        Ok(all)
    }

    async fn delete(&self, id: PromotionId) -> Result<(), StoreError> {
        let mut state = self.lock();
        let old =
            state.promotions.remove(&id).ok_or_else(|| StoreError::not_found("promotion", id))?;
        if let Some(code) = old.promotion.coupon() {
            state.coupons.remove(code);
        }
        Ok(())
    }

    async fn redeem(&self, id: PromotionId, order: OrderId) -> Result<(), RedeemError> {
        let mut state = self.lock();
        let stored =
            state.promotions.get_mut(&id).ok_or_else(|| StoreError::not_found("promotion", id))?;
        if stored.redeemed_by.contains(&order) {
            return Ok(());
        }
        if stored.promotion.usage_limit().is_some_and(|limit| stored.times_used() >= limit) {
            return Err(RedeemError::UsageLimitReached { promotion: id });
        }
        stored.redeemed_by.insert(order);
        stored.refresh();
        Ok(())
    }

    async fn release(&self, id: PromotionId, order: OrderId) -> Result<(), StoreError> {
        let mut state = self.lock();
        let Some(stored) = state.promotions.get_mut(&id) else {
            return Ok(());
        };
        if stored.redeemed_by.remove(&order) {
            stored.refresh();
        }
        Ok(())
    }

    async fn settings(&self) -> Result<PricingSettings, StoreError> {
        Ok(self.lock().settings.clone())
    }

    async fn save_settings(&self, settings: &PricingSettings) -> Result<(), StoreError> {
        self.lock().settings = settings.clone();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use shopkit_core::pricing::PromotionKind;
    use uuid::Uuid;

    use super::*;

    fn promotion(n: u128, coupon: Option<&str>, limit: Option<u32>) -> Promotion {
        let mut builder = Promotion::builder(
            PromotionId::from_uuid(Uuid::from_u128(n)),
            "Ten off",
            PromotionKind::Percentage(Decimal::TEN),
        );
        if let Some(code) = coupon {
            builder = builder.coupon(CouponCode::new(code).unwrap());
        }
        if let Some(limit) = limit {
            builder = builder.usage_limit(limit);
        }
        builder.build().unwrap()
    }

    fn order() -> OrderId {
        OrderId::from_uuid(Uuid::new_v4())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_redemptions_stop_at_the_usage_limit() {
        let repo = MemoryPromotions::new();
        let p = promotion(1, Some("SAVE"), Some(5));
        repo.upsert(&p).await.unwrap();
        let id = p.id();
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let repo = repo.clone();
                tokio::spawn(async move { repo.redeem(id, order()).await })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => ok += 1,
                Err(err) => assert!(matches!(err, RedeemError::UsageLimitReached { .. })),
            }
        }
        assert_eq!(ok, 5);
        assert_eq!(repo.get(id).await.unwrap().unwrap().times_used(), 5);
    }

    #[tokio::test]
    async fn the_same_order_redeems_once_and_release_gives_the_use_back() {
        let repo = MemoryPromotions::new();
        let p = promotion(1, None, Some(1));
        repo.upsert(&p).await.unwrap();
        let (first, second) = (order(), order());

        repo.redeem(p.id(), first).await.unwrap();
        repo.redeem(p.id(), first).await.unwrap();
        let blocked = repo.redeem(p.id(), second).await;
        repo.release(p.id(), first).await.unwrap();
        repo.release(p.id(), first).await.unwrap();
        repo.redeem(p.id(), second).await.unwrap();

        assert!(matches!(blocked, Err(RedeemError::UsageLimitReached { .. })));
        assert_eq!(repo.all().await.unwrap()[0].times_used(), 1);
    }

    #[tokio::test]
    async fn replacing_a_promotion_keeps_its_redemptions() {
        let repo = MemoryPromotions::new();
        let p = promotion(1, Some("SAVE"), Some(3));
        repo.upsert(&p).await.unwrap();
        repo.redeem(p.id(), order()).await.unwrap();
        let edited = promotion(1, Some("SAVE2"), Some(3));

        repo.upsert(&edited).await.unwrap();

        let stored = repo.by_coupon(&CouponCode::new("save2").unwrap()).await.unwrap().unwrap();
        assert_eq!(stored.times_used(), 1);
        assert!(repo.by_coupon(&CouponCode::new("SAVE").unwrap()).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_coupon_code_belongs_to_one_promotion() {
        let repo = MemoryPromotions::new();
        repo.upsert(&promotion(1, Some("SAVE"), None)).await.unwrap();

        let err = repo.upsert(&promotion(2, Some("save"), None)).await.unwrap_err();

        assert!(matches!(err, StoreError::AlreadyExists { ref key, .. } if key == "coupon SAVE"));
        assert!(repo.get(PromotionId::from_uuid(Uuid::from_u128(2))).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn redeeming_an_unknown_promotion_is_not_found() {
        let repo = MemoryPromotions::new();
        let err = repo.redeem(PromotionId::from_uuid(Uuid::new_v4()), order()).await.unwrap_err();
        assert!(matches!(err, RedeemError::Store(StoreError::NotFound { .. })));
    }

    #[tokio::test]
    async fn uses_counted_before_the_store_count_towards_the_limit() {
        let repo = MemoryPromotions::new();
        let id = PromotionId::from_uuid(Uuid::from_u128(1));
        let p = Promotion::builder(id, "Ten off", PromotionKind::Percentage(Decimal::TEN))
            .usage_limit(3)
            .times_used(2)
            .build()
            .unwrap();
        repo.upsert(&p).await.unwrap();

        repo.redeem(id, order()).await.unwrap();
        let blocked = repo.redeem(id, order()).await;

        assert!(matches!(blocked, Err(RedeemError::UsageLimitReached { .. })));
        assert_eq!(repo.get(id).await.unwrap().unwrap().times_used(), 3);
    }

    #[tokio::test]
    async fn all_comes_by_priority_then_id() {
        let repo = MemoryPromotions::new();
        let high = Promotion::builder(
            PromotionId::from_uuid(Uuid::from_u128(9)),
            "High",
            PromotionKind::FreeShipping,
        )
        .priority(10)
        .build()
        .unwrap();
        for p in [promotion(2, None, None), high, promotion(1, None, None)] {
            repo.upsert(&p).await.unwrap();
        }
        let order: Vec<u128> =
            repo.all().await.unwrap().iter().map(|p| p.id().as_uuid().as_u128()).collect();
        assert_eq!(order, [9, 1, 2]);
    }
}
