//! [`PgCheckoutJournal`]: where running checkouts got to (table `checkout_journal`).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopkit_core::ids::OrderId;
use shopkit_core::ports::{CheckoutJournal, CheckoutProgress, StoreError};
use sqlx::Row;

use crate::error::{store_error, undecodable, unencodable};
use crate::shared::Shared;

/// The PostgreSQL [`CheckoutJournal`]: one row per running checkout, the progress as a
/// JSONB document; `save` is one upsert, `stale` an index scan by age.
#[derive(Clone, Debug)]
pub struct PgCheckoutJournal {
    shared: Arc<Shared>,
}

impl PgCheckoutJournal {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        PgCheckoutJournal { shared }
    }
}

fn decode(row: &sqlx::postgres::PgRow) -> Result<CheckoutProgress, StoreError> {
    let progress: serde_json::Value = row.try_get("progress").map_err(store_error)?;
    serde_json::from_value(progress).map_err(|e| undecodable("checkout progress", e))
}

#[async_trait]
impl CheckoutJournal for PgCheckoutJournal {
    async fn save(&self, progress: &CheckoutProgress) -> Result<(), StoreError> {
        let document =
            serde_json::to_value(progress).map_err(|e| unencodable("checkout progress", e))?;
        sqlx::query(
            "INSERT INTO checkout_journal (order_id, updated_at, progress) VALUES ($1, $2, $3)
             ON CONFLICT (order_id) DO UPDATE
                SET updated_at = EXCLUDED.updated_at, progress = EXCLUDED.progress",
        )
        .bind(progress.order_id.as_uuid())
        .bind(progress.updated_at)
        .bind(document)
        .execute(&self.shared.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn get(&self, order: OrderId) -> Result<Option<CheckoutProgress>, StoreError> {
        let row = sqlx::query("SELECT progress FROM checkout_journal WHERE order_id = $1")
            .bind(order.as_uuid())
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(decode).transpose()
    }

    async fn remove(&self, order: OrderId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM checkout_journal WHERE order_id = $1")
            .bind(order.as_uuid())
            .execute(&self.shared.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn stale(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<CheckoutProgress>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT progress FROM checkout_journal WHERE updated_at < $1
             ORDER BY updated_at, order_id LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(decode).collect()
    }
}
