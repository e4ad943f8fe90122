//! [`PgCustomers`]: customers, registered together with their events.

use std::sync::Arc;

use async_trait::async_trait;
use shopkit_core::customers::Customer;
use shopkit_core::events::EventEnvelope;
use shopkit_core::ids::{CustomerId, Email};
use shopkit_core::ports::{Cursor, CustomerRepository, Page, StoreError, clamp_page_limit};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::error::{Fail, retrying, store_error, undecodable, unencodable, unique_violation};
use crate::outbox::append_in;
use crate::shared::Shared;

/// The uniqueness key of an email: the whole address lower-cased (as the in-memory
/// adapter compares them).
fn email_key(email: &Email) -> String {
    email.as_str().to_lowercase()
}

fn customer_from_row(row: &PgRow) -> Result<Customer, StoreError> {
    let body: serde_json::Value = row.try_get("body").map_err(store_error)?;
    let version: i64 = row.try_get("version").map_err(store_error)?;
    let mut customer: Customer =
        serde_json::from_value(body).map_err(|e| undecodable("customer", e))?;
    customer.version = u64::try_from(version).unwrap_or(0);
    Ok(customer)
}

fn body(customer: &Customer, version: u64) -> Result<serde_json::Value, StoreError> {
    let mut stored = customer.clone();
    stored.version = version;
    serde_json::to_value(&stored).map_err(|e| unencodable("customer", e))
}

fn clash(customer: &Customer, e: Fail<StoreError>) -> StoreError {
    match e {
        Fail::Db(db) => match unique_violation(&db) {
            Some("customers_pkey") => {
                StoreError::AlreadyExists { entity: "customer", key: format!("id {}", customer.id) }
            }
            // Not the address itself: personal data does not belong in error logs.
            Some("customers_email_key") => {
                StoreError::AlreadyExists { entity: "customer", key: "this email address".into() }
            }
            _ => store_error(db),
        },
        Fail::Domain(e) => e,
    }
}

/// The PostgreSQL [`CustomerRepository`] (table `customers`).
///
/// - `insert` writes the customer and appends its events to the outbox in ONE transaction
///   (4 round trips: begin, insert, append, commit); a taken id or email (ignoring case,
///   constraint `customers_email_key`) is `AlreadyExists` and writes nothing.
/// - `update` is version-checked (`VersionConflict` with the stored version, `NotFound`);
///   email uniqueness holds on update.
/// - `list` pages by id with opaque cursors.
#[derive(Clone, Debug)]
pub struct PgCustomers {
    shared: Arc<Shared>,
}

impl PgCustomers {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        PgCustomers { shared }
    }

    async fn insert_once(
        &self,
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<u64, Fail<StoreError>> {
        let body = body(customer, 1).map_err(Fail::Domain)?;
        let mut tx = self.shared.pool.begin().await?;
        sqlx::query(
            "INSERT INTO customers (id, email_key, version, created_at, body) VALUES ($1, $2, 1, $3, $4)",
        )
        .bind(customer.id.as_uuid())
        .bind(email_key(&customer.email))
        .bind(customer.created_at)
        .bind(body)
        .execute(&mut *tx)
        .await?;
        append_in(&mut tx, events).await?;
        tx.commit().await?;
        Ok(1)
    }

    async fn update_once(&self, customer: &Customer) -> Result<u64, Fail<StoreError>> {
        let body = body(customer, customer.version.saturating_add(1)).map_err(Fail::Domain)?;
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE customers SET email_key = $3, created_at = $4, body = $5, version = version + 1
             WHERE id = $1 AND version = $2
             RETURNING version",
        )
        .bind(customer.id.as_uuid())
        .bind(i64::try_from(customer.version).unwrap_or(i64::MAX))
        .bind(email_key(&customer.email))
        .bind(customer.created_at)
        .bind(body)
        .fetch_optional(&self.shared.pool)
        .await?;
        if let Some(v) = version {
            return Ok(u64::try_from(v).unwrap_or(0));
        }
        let actual: Option<i64> = sqlx::query_scalar("SELECT version FROM customers WHERE id = $1")
            .bind(customer.id.as_uuid())
            .fetch_optional(&self.shared.pool)
            .await?;
        Err(Fail::Domain(match actual {
            None => StoreError::not_found("customer", customer.id),
            Some(actual) => StoreError::VersionConflict {
                entity: "customer",
                id: customer.id.to_string(),
                expected: customer.version,
                actual: u64::try_from(actual).unwrap_or(0),
            },
        }))
    }
}

#[async_trait]
impl CustomerRepository for PgCustomers {
    async fn insert(
        &self,
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<u64, StoreError> {
        retrying(|| self.insert_once(customer, events)).await.map_err(|e| clash(customer, e))
    }

    async fn update(&self, customer: &Customer) -> Result<u64, StoreError> {
        retrying(|| self.update_once(customer)).await.map_err(|e| clash(customer, e))
    }

    async fn get(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        let row = sqlx::query("SELECT body, version FROM customers WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(customer_from_row).transpose()
    }

    async fn by_email(&self, email: &Email) -> Result<Option<Customer>, StoreError> {
        let row = sqlx::query("SELECT body, version FROM customers WHERE email_key = $1")
            .bind(email_key(email))
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(customer_from_row).transpose()
    }

    async fn list(
        &self,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page<Customer>, StoreError> {
        let key = self.shared.cursor_key().await?;
        let codec = key.codec("customers");
        let after: Option<Uuid> = match &cursor {
            Some(c) => Some(codec.decode(c)?.parse().map_err(|_| StoreError::InvalidCursor)?),
            None => None,
        };
        let limit = clamp_page_limit(limit);
        let rows = sqlx::query(
            "SELECT body, version FROM customers
             WHERE ($1::uuid IS NULL OR id > $1)
             ORDER BY id
             LIMIT $2",
        )
        .bind(after)
        .bind(limit as i64 + 1)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(store_error)?;
        let more = rows.len() > limit;
        let items: Vec<Customer> =
            rows.iter().take(limit).map(customer_from_row).collect::<Result<_, _>>()?;
        let next_cursor = match items.last() {
            Some(last) if more => Some(codec.encode(&last.id.to_string())),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }
}
