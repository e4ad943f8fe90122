//! Contracts of [`PromotionRepository`]: redemptions within the usage limit under any
//! concurrency, idempotent per order, release, unique coupon codes, ordering, settings.
//!
//! Each contract takes a fresh, empty repository.

use std::sync::Arc;

use rust_decimal::Decimal;
use shopkit_core::ids::{CouponCode, OrderId, PromotionId};
use shopkit_core::money::RoundingPolicy;
use shopkit_core::ports::{PricingSettings, PromotionRepository, RedeemError, StoreError};
use shopkit_core::pricing::{Promotion, PromotionKind};

use crate::fixtures::{unique, uuid};
use crate::support::{Must, race};

fn coupon() -> CouponCode {
    CouponCode::new(&format!("SAVE-{}", unique())).must("build a coupon code")
}

fn promotion(limit: Option<u32>, code: Option<CouponCode>, priority: i32) -> Promotion {
    let mut b = Promotion::builder(
        PromotionId::from_uuid(uuid()),
        "Ten off",
        PromotionKind::Percentage(Decimal::new(10, 0)),
    )
    .priority(priority);
    if let Some(l) = limit {
        b = b.usage_limit(l);
    }
    if let Some(c) = code {
        b = b.coupon(c);
    }
    b.build().must("build a promotion")
}

fn order() -> OrderId {
    OrderId::from_uuid(uuid())
}

async fn times_used(repo: &dyn PromotionRepository, id: PromotionId) -> u32 {
    repo.get(id).await.must("get the promotion").must("find the promotion").times_used()
}

/// `upsert` stores a promotion; `get` and `by_coupon` (any letter case) return it;
/// `delete` removes it.
pub async fn promotions_can_be_stored_found_and_deleted(repo: Arc<dyn PromotionRepository>) {
    // Arrange
    let code = coupon();
    let p = promotion(Some(3), Some(code.clone()), 0);

    // Act
    repo.upsert(&p).await.must("upsert");
    let by_id = repo.get(p.id()).await.must("get");
    let by_code = repo
        .by_coupon(&CouponCode::new(&code.as_str().to_lowercase()).must("code"))
        .await
        .must("by_coupon");
    repo.delete(p.id()).await.must("delete");

    // Assert
    assert_eq!(by_id, Some(p.clone()));
    assert_eq!(by_code, Some(p.clone()));
    assert_eq!(repo.get(p.id()).await.must("get after delete"), None);
    assert_eq!(repo.by_coupon(&code).await.must("by_coupon after delete"), None);
}

/// `all` lists promotions by priority (highest first) then id.
pub async fn all_is_ordered_by_priority_then_id(repo: Arc<dyn PromotionRepository>) {
    // Arrange
    let mut low = [promotion(None, None, 1), promotion(None, None, 1)];
    low.sort_by_key(Promotion::id);
    let high = promotion(None, None, 9);
    let negative = promotion(None, None, -5);
    for p in [&low[1], &negative, &high, &low[0]] {
        repo.upsert(p).await.must("upsert");
    }

    // Act
    let all = repo.all().await.must("all");

    // Assert
    let got: Vec<PromotionId> = all.iter().map(Promotion::id).collect();
    assert_eq!(got, vec![high.id(), low[0].id(), low[1].id(), negative.id()]);
}

/// Coupon codes are unique: `upsert` of another promotion with a taken code is
/// `AlreadyExists`; replacing the holder itself is fine.
pub async fn coupon_codes_are_unique(repo: Arc<dyn PromotionRepository>) {
    // Arrange
    let code = coupon();
    let holder = promotion(None, Some(code.clone()), 0);
    repo.upsert(&holder).await.must("upsert");
    let rival = promotion(None, Some(code.clone()), 0);

    // Act
    let clash = repo.upsert(&rival).await;
    let replace = repo.upsert(&holder).await;

    // Assert
    assert!(
        matches!(clash, Err(StoreError::AlreadyExists { .. })),
        "a taken coupon code must be AlreadyExists, got {clash:?}"
    );
    replace.must("replace the promotion holding the code");
    assert_eq!(repo.get(rival.id()).await.must("get"), None, "the rival was not stored");
    assert_eq!(repo.by_coupon(&code).await.must("by_coupon").map(|p| p.id()), Some(holder.id()));
}

/// 40 different orders race to redeem a promotion with a usage limit of 5: exactly 5
/// succeed, the rest get `UsageLimitReached`, and `times_used` is 5.
pub async fn concurrent_redemptions_stay_within_the_usage_limit(
    repo: Arc<dyn PromotionRepository>,
) {
    // Arrange
    let p = promotion(Some(5), Some(coupon()), 0);
    repo.upsert(&p).await.must("upsert");

    // Act
    let results = race(40, |_| {
        let repo = Arc::clone(&repo);
        let id = p.id();
        async move { repo.redeem(id, order()).await }
    })
    .await;

    // Assert
    let mut ok = 0;
    for r in results {
        match r {
            Ok(()) => ok += 1,
            Err(RedeemError::UsageLimitReached { promotion }) => assert_eq!(promotion, p.id()),
            Err(e) => panic!("a redemption over the limit must be UsageLimitReached, got {e:?}"),
        }
    }
    assert_eq!(ok, 5, "exactly `usage_limit` concurrent redemptions must succeed");
    assert_eq!(times_used(&*repo, p.id()).await, 5, "times_used reflects the redemptions");
}

/// Redeeming again for the same order is a no-op success (checkout retries), even
/// concurrently and at the limit.
pub async fn redeeming_twice_for_one_order_counts_once(repo: Arc<dyn PromotionRepository>) {
    // Arrange
    let p = promotion(Some(2), None, 0);
    repo.upsert(&p).await.must("upsert");
    let o = order();
    repo.redeem(p.id(), o).await.must("redeem");

    // Act
    let retries = race(8, |_| {
        let repo = Arc::clone(&repo);
        let id = p.id();
        async move { repo.redeem(id, o).await }
    })
    .await;
    repo.redeem(p.id(), order()).await.must("a second order redeems the last use");
    let at_limit_retry = repo.redeem(p.id(), o).await;

    // Assert
    for r in retries {
        r.must("a retried redemption for the same order succeeds");
    }
    at_limit_retry.must("a retry for an order that holds a use succeeds even at the limit");
    assert_eq!(times_used(&*repo, p.id()).await, 2, "each order counts once");
}

/// `release` gives an order's use back (it can be redeemed by another order); releasing
/// an unknown order is a no-op.
pub async fn release_gives_a_use_back(repo: Arc<dyn PromotionRepository>) {
    // Arrange
    let p = promotion(Some(1), None, 0);
    repo.upsert(&p).await.must("upsert");
    let first = order();
    repo.redeem(p.id(), first).await.must("redeem");
    let full = repo.redeem(p.id(), order()).await;

    // Act
    repo.release(p.id(), first).await.must("release");
    repo.release(p.id(), first).await.must("release again");
    repo.release(p.id(), order()).await.must("release an order that never redeemed");
    let after = times_used(&*repo, p.id()).await;
    let next = repo.redeem(p.id(), order()).await;

    // Assert
    assert!(
        matches!(full, Err(RedeemError::UsageLimitReached { .. })),
        "limit 1 is reached, got {full:?}"
    );
    assert_eq!(after, 0, "release undoes the use once");
    next.must("redeem the released use");
    assert_eq!(times_used(&*repo, p.id()).await, 1);
}

/// `save_settings` replaces the tax and shipping settings that `settings` returns.
pub async fn settings_round_trip(repo: Arc<dyn PromotionRepository>) {
    // Arrange
    let settings = PricingSettings { rounding: RoundingPolicy::Up, ..PricingSettings::default() };

    // Act
    repo.save_settings(&settings).await.must("save settings");
    let got = repo.settings().await.must("settings");

    // Assert
    assert_eq!(got, settings);
}
