//! [`PgCarts`]: carts with optimistic concurrency and expiry.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopkit_core::cart::{Cart, CartStatus};
use shopkit_core::ids::{CartId, CartToken, CustomerId};
use shopkit_core::ports::{CartQuery, CartStore, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::error::{Fail, retrying, store_error, undecodable, unencodable, unique_violation};
use crate::shared::Shared;

fn status_str(status: &CartStatus) -> &'static str {
    match status {
        CartStatus::Open => "open",
        CartStatus::CheckedOut { .. } => "checked_out",
        CartStatus::Merged { .. } => "merged",
    }
}

fn cart_from_row(row: &PgRow) -> Result<Cart, StoreError> {
    let body: serde_json::Value = row.try_get("body").map_err(store_error)?;
    let version: i64 = row.try_get("version").map_err(store_error)?;
    let mut cart: Cart = serde_json::from_value(body).map_err(|e| undecodable("cart", e))?;
    cart.set_version(u64::try_from(version).unwrap_or(0));
    Ok(cart)
}

/// The carts among `rows` that are not expired at `now`. SQL filters on the microsecond
/// columns with inclusive bounds (a superset: truncation never turns `>` into `<`); this
/// applies the domain's own rule to the exact values.
fn live(rows: &[PgRow], now: DateTime<Utc>) -> Result<Vec<Cart>, StoreError> {
    let mut carts = Vec::with_capacity(rows.len());
    for row in rows {
        let cart = cart_from_row(row)?;
        if !cart.is_expired(now) {
            carts.push(cart);
        }
    }
    Ok(carts)
}

/// The PostgreSQL [`CartStore`] (table `carts`).
///
/// - `save` of a version-0 cart is an `INSERT` (`AlreadyExists` for a taken id or token,
///   by constraint name); any other save is `UPDATE ... WHERE id = $1 AND version = $2`,
///   so of concurrent saves from one version exactly one wins; a miss is
///   `VersionConflict` (with the stored version) or `NotFound`.
/// - Expired carts are never returned (filtered in SQL, then by `Cart::is_expired`); they
///   stay stored until a sweep deletes them.
/// - One query per call (a conflict costs one more to report the stored version).
#[derive(Clone, Debug)]
pub struct PgCarts {
    shared: Arc<Shared>,
}

impl PgCarts {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        PgCarts { shared }
    }

    async fn save_once(&self, cart: &Cart) -> Result<u64, Fail<StoreError>> {
        let next = cart.version().saturating_add(1);
        let mut stored = cart.clone();
        stored.set_version(next);
        let body =
            serde_json::to_value(&stored).map_err(|e| Fail::Domain(unencodable("cart", e)))?;
        let customer = cart.customer().map(|c| c.as_uuid());
        if cart.version() == 0 {
            sqlx::query(
                "INSERT INTO carts (id, token, customer_id, status, updated_at, expires_at, version, body)
                 VALUES ($1, $2, $3, $4, $5, $6, 1, $7)",
            )
            .bind(cart.id().as_uuid())
            .bind(cart.token().expose())
            .bind(customer)
            .bind(status_str(cart.status()))
            .bind(cart.updated_at())
            .bind(cart.expires_at())
            .bind(body)
            .execute(&self.shared.pool)
            .await?;
            return Ok(1);
        }
        let expected = i64::try_from(cart.version()).unwrap_or(i64::MAX);
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE carts
             SET token = $3, customer_id = $4, status = $5, updated_at = $6, expires_at = $7,
                 version = version + 1, body = $8
             WHERE id = $1 AND version = $2
             RETURNING version",
        )
        .bind(cart.id().as_uuid())
        .bind(expected)
        .bind(cart.token().expose())
        .bind(customer)
        .bind(status_str(cart.status()))
        .bind(cart.updated_at())
        .bind(cart.expires_at())
        .bind(body)
        .fetch_optional(&self.shared.pool)
        .await?;
        if let Some(v) = version {
            return Ok(u64::try_from(v).unwrap_or(0));
        }
        let actual: Option<i64> = sqlx::query_scalar("SELECT version FROM carts WHERE id = $1")
            .bind(cart.id().as_uuid())
            .fetch_optional(&self.shared.pool)
            .await?;
        Err(Fail::Domain(match actual {
            None => StoreError::not_found("cart", cart.id()),
            Some(actual) => StoreError::VersionConflict {
                entity: "cart",
                id: cart.id().to_string(),
                expected: cart.version(),
                actual: u64::try_from(actual).unwrap_or(0),
            },
        }))
    }
}

#[async_trait]
impl CartStore for PgCarts {
    async fn get(&self, id: CartId, now: DateTime<Utc>) -> Result<Option<Cart>, StoreError> {
        let rows =
            sqlx::query("SELECT body, version FROM carts WHERE id = $1 AND expires_at >= $2")
                .bind(id.as_uuid())
                .bind(now)
                .fetch_all(&self.shared.pool)
                .await
                .map_err(store_error)?;
        Ok(live(&rows, now)?.pop())
    }

    async fn by_token(
        &self,
        token: &CartToken,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError> {
        let rows =
            sqlx::query("SELECT body, version FROM carts WHERE token = $1 AND expires_at >= $2")
                .bind(token.expose())
                .bind(now)
                .fetch_all(&self.shared.pool)
                .await
                .map_err(store_error)?;
        Ok(live(&rows, now)?.pop())
    }

    async fn open_cart_of(
        &self,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError> {
        // A few rows, not one: a cart that expires within the column's microsecond
        // rounding is dropped by the exact check and the next one is taken.
        let rows = sqlx::query(
            "SELECT body, version FROM carts
             WHERE customer_id = $1 AND status = 'open' AND expires_at >= $2
             ORDER BY updated_at DESC, id
             LIMIT 2",
        )
        .bind(customer.as_uuid())
        .bind(now)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(store_error)?;
        Ok(live(&rows, now)?.into_iter().next())
    }

    async fn save(&self, cart: &Cart) -> Result<u64, StoreError> {
        retrying(|| self.save_once(cart)).await.map_err(|e| match e {
            Fail::Db(db) => match unique_violation(&db) {
                Some("carts_pkey") => {
                    StoreError::AlreadyExists { entity: "cart", key: format!("id {}", cart.id()) }
                }
                // Never the token itself: it is a bearer secret.
                Some("carts_token_key") => {
                    StoreError::AlreadyExists { entity: "cart", key: "its token".into() }
                }
                _ => store_error(db),
            },
            Fail::Domain(e) => e,
        })
    }

    async fn stale_open_carts(
        &self,
        query: &CartQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<Cart>, StoreError> {
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT body, version FROM carts
             WHERE status = 'open' AND updated_at <= $1 AND expires_at >= $2
             ORDER BY updated_at, id
             LIMIT $3",
        )
        .bind(query.updated_before)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(store_error)?;
        let mut carts = live(&rows, now)?;
        carts.retain(|c| c.updated_at() < query.updated_before);
        Ok(carts)
    }
}
