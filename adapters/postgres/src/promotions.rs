//! [`PgPromotions`]: promotions, their redemptions and the pricing settings.

use std::sync::Arc;

use async_trait::async_trait;
use shopkit_core::ids::{CouponCode, OrderId, PromotionId};
use shopkit_core::ports::{PricingSettings, PromotionRepository, RedeemError, StoreError};
use shopkit_core::pricing::Promotion;
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::error::{
    Fail, retrying, sqlstate, store_error, undecodable, unencodable, unique_violation, violated,
};
use crate::shared::Shared;

fn promotion_from_row(row: &PgRow) -> Result<Promotion, StoreError> {
    let body: serde_json::Value = row.try_get("body").map_err(store_error)?;
    let used: i64 = row.try_get("used").map_err(store_error)?;
    let promotion: Promotion =
        serde_json::from_value(body).map_err(|e| undecodable("promotion", e))?;
    Ok(promotion.with_times_used(u32::try_from(used).unwrap_or(u32::MAX)))
}

/// The PostgreSQL [`PromotionRepository`] (tables `promotions`, `promotion_redemptions`,
/// `pricing_settings`).
///
/// - Coupon codes are unique (`promotions_coupon_key`): another promotion's code is
///   `AlreadyExists`.
/// - The store owns the usage count: a new promotion starts from the `times_used` it is
///   created with, and each distinct order that redeems it adds one; replacing a
///   promotion keeps its count.
/// - `redeem` is one transaction: record the (promotion, order) pair (`ON CONFLICT DO
///   NOTHING`: the same order again is a no-op success), then
///   `UPDATE ... SET redeemed = redeemed + 1 WHERE used_before + redeemed < usage_limit`,
///   which PostgreSQL re-checks on the latest row under its lock: with a limit of `n`,
///   exactly `n` concurrent orders succeed; the others roll back with
///   `UsageLimitReached`. An unknown promotion is `NotFound`.
/// - `release` removes one order's redemption and its count in one statement.
/// - `delete` of an unknown promotion is `NotFound`.
#[derive(Clone, Debug)]
pub struct PgPromotions {
    shared: Arc<Shared>,
}

impl PgPromotions {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        PgPromotions { shared }
    }

    async fn redeem_once(&self, id: PromotionId, order: OrderId) -> Result<(), Fail<RedeemError>> {
        let mut tx = self.shared.pool.begin().await?;
        let recorded = sqlx::query(
            "INSERT INTO promotion_redemptions (promotion_id, order_id) VALUES ($1, $2)
             ON CONFLICT (promotion_id, order_id) DO NOTHING",
        )
        .bind(id.as_uuid())
        .bind(order.as_uuid())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if recorded == 0 {
            // This order already holds a use: a retried checkout.
            return Ok(());
        }
        let counted = sqlx::query(
            "UPDATE promotions SET redeemed = redeemed + 1
             WHERE id = $1 AND (usage_limit IS NULL OR used_before + redeemed < usage_limit)",
        )
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if counted == 0 {
            return Err(Fail::Domain(RedeemError::UsageLimitReached { promotion: id }));
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl PromotionRepository for PgPromotions {
    async fn upsert(&self, promotion: &Promotion) -> Result<(), StoreError> {
        let body = serde_json::to_value(promotion).map_err(|e| unencodable("promotion", e))?;
        sqlx::query(
            "INSERT INTO promotions (id, coupon, priority, usage_limit, used_before, redeemed, body)
             VALUES ($1, $2, $3, $4, $5, 0, $6)
             ON CONFLICT (id) DO UPDATE
             SET coupon = EXCLUDED.coupon, priority = EXCLUDED.priority,
                 usage_limit = EXCLUDED.usage_limit, body = EXCLUDED.body",
        )
        .bind(promotion.id().as_uuid())
        .bind(promotion.coupon().map(CouponCode::as_str))
        .bind(promotion.priority())
        .bind(promotion.usage_limit().map(i64::from))
        .bind(i64::from(promotion.times_used()))
        .bind(body)
        .execute(&self.shared.pool)
        .await
        .map_err(|e| match (unique_violation(&e), promotion.coupon()) {
            (Some("promotions_coupon_key"), Some(code)) => StoreError::AlreadyExists {
                entity: "promotion",
                key: format!("coupon {code}"),
            },
            _ => store_error(e),
        })?;
        Ok(())
    }

    async fn get(&self, id: PromotionId) -> Result<Option<Promotion>, StoreError> {
        let row = sqlx::query(
            "SELECT body, used_before + redeemed AS used FROM promotions WHERE id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.shared.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(promotion_from_row).transpose()
    }

    async fn by_coupon(&self, code: &CouponCode) -> Result<Option<Promotion>, StoreError> {
        let row = sqlx::query(
            "SELECT body, used_before + redeemed AS used FROM promotions WHERE coupon = $1",
        )
        .bind(code.as_str())
        .fetch_optional(&self.shared.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(promotion_from_row).transpose()
    }

    async fn all(&self) -> Result<Vec<Promotion>, StoreError> {
        let rows = sqlx::query(
            "SELECT body, used_before + redeemed AS used FROM promotions ORDER BY priority DESC, id",
        )
        .fetch_all(&self.shared.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(promotion_from_row).collect()
    }

    async fn delete(&self, id: PromotionId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM promotions WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.shared.pool)
            .await
            .map_err(store_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("promotion", id));
        }
        Ok(())
    }

    async fn redeem(&self, id: PromotionId, order: OrderId) -> Result<(), RedeemError> {
        retrying(|| self.redeem_once(id, order)).await.map_err(|e| match e {
            Fail::Db(db)
                if violated(&db, sqlstate::FOREIGN_KEY_VIOLATION)
                    == Some("promotion_redemptions_promotion_fkey") =>
            {
                RedeemError::Store(StoreError::not_found("promotion", id))
            }
            Fail::Db(db) => RedeemError::Store(store_error(db)),
            Fail::Domain(e) => e,
        })
    }

    async fn release(&self, id: PromotionId, order: OrderId) -> Result<(), StoreError> {
        sqlx::query(
            "WITH gone AS (
                 DELETE FROM promotion_redemptions WHERE promotion_id = $1 AND order_id = $2 RETURNING 1
             )
             UPDATE promotions SET redeemed = redeemed - (SELECT count(*) FROM gone)
             WHERE id = $1 AND EXISTS (SELECT 1 FROM gone)",
        )
        .bind(id.as_uuid())
        .bind(order.as_uuid())
        .execute(&self.shared.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn settings(&self) -> Result<PricingSettings, StoreError> {
        let body: Option<serde_json::Value> =
            sqlx::query_scalar("SELECT body FROM pricing_settings WHERE id")
                .fetch_optional(&self.shared.pool)
                .await
                .map_err(store_error)?;
        match body {
            Some(body) => {
                serde_json::from_value(body).map_err(|e| undecodable("pricing settings", e))
            }
            None => Ok(PricingSettings::default()),
        }
    }

    async fn save_settings(&self, settings: &PricingSettings) -> Result<(), StoreError> {
        let body =
            serde_json::to_value(settings).map_err(|e| unencodable("pricing settings", e))?;
        sqlx::query(
            "INSERT INTO pricing_settings (id, body) VALUES (true, $1)
             ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
        )
        .bind(body)
        .execute(&self.shared.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }
}
