//! [`PgOrders`]: orders (with refunds and payment) written together with their events.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopkit_core::events::EventEnvelope;
use shopkit_core::ids::{OrderId, RefundId};
use shopkit_core::orders::Order;
use shopkit_core::ports::{OrderQuery, OrderRepository, Page, StoreError, clamp_page_limit};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::error::{Fail, retrying, store_error, undecodable, unencodable, unique_violation};
use crate::outbox::append_in;
use crate::shared::Shared;

fn order_from_row(row: &PgRow) -> Result<Order, StoreError> {
    let body: serde_json::Value = row.try_get("body").map_err(store_error)?;
    let version: i64 = row.try_get("version").map_err(store_error)?;
    let mut order: Order = serde_json::from_value(body).map_err(|e| undecodable("order", e))?;
    order.set_version(u64::try_from(version).unwrap_or(0));
    Ok(order)
}

fn body(order: &Order, version: u64) -> Result<serde_json::Value, StoreError> {
    let mut stored = order.clone();
    stored.set_version(version);
    serde_json::to_value(&stored).map_err(|e| unencodable("order", e))
}

fn count(n: u32) -> i64 {
    i64::from(n)
}

/// Writes the relational projections of `order` (lines, status history, payment,
/// refunds) in one statement. Returns how many of its refunds were written: fewer than
/// it has means a refund id already belongs to another order.
async fn write_projections(conn: &mut PgConnection, order: &Order) -> Result<i64, sqlx::Error> {
    let lines = order.lines();
    let history = order.history();
    let refunds = order.refunds();
    let payment = order.payment();
    let currency = order.currency().code();
    sqlx::query_scalar(
        "WITH lines AS (
             INSERT INTO order_lines (order_id, line_id, position, product_id, sku, title, quantity, currency,
                                      unit_price, subtotal, discount, tax, total, fulfilled, refunded)
             SELECT $1, l.line_id, l.position, l.product_id, l.sku, l.title, l.quantity, $2,
                    l.unit_price, l.subtotal, l.discount, l.tax, l.total, l.fulfilled, l.refunded
             FROM unnest($3::uuid[], $4::int4[], $5::uuid[], $6::text[], $7::text[], $8::int8[],
                         $9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[],
                         $14::int8[], $15::int8[])
                  AS l(line_id, position, product_id, sku, title, quantity, unit_price, subtotal,
                       discount, tax, total, fulfilled, refunded)
             ON CONFLICT (order_id, line_id) DO UPDATE
             SET fulfilled = EXCLUDED.fulfilled, refunded = EXCLUDED.refunded
         ),
         history AS (
             INSERT INTO order_status_history (order_id, seq, from_status, to_status, at, note)
             SELECT $1, h.seq, h.from_status, h.to_status, h.at, h.note
             FROM unnest($16::int4[], $17::text[], $18::text[], $19::timestamptz[], $20::text[])
                  AS h(seq, from_status, to_status, at, note)
             ON CONFLICT (order_id, seq) DO NOTHING
         ),
         payment AS (
             INSERT INTO payments (order_id, reference, currency, authorized, captured, refunded, voided)
             VALUES ($1, $21, $2, $22, $23, $24, $25)
             ON CONFLICT (order_id) DO UPDATE
             SET reference = EXCLUDED.reference, authorized = EXCLUDED.authorized,
                 captured = EXCLUDED.captured, refunded = EXCLUDED.refunded, voided = EXCLUDED.voided
         ),
         refunds AS (
             INSERT INTO refunds (id, order_id, status, currency, amount, restock, gateway_reference,
                                  requested_at, updated_at)
             SELECT r.id, $1, r.status, $2, r.amount, r.restock, r.gateway_reference, r.requested_at, r.updated_at
             FROM unnest($26::uuid[], $27::text[], $28::numeric[], $29::bool[], $30::text[],
                         $31::timestamptz[], $32::timestamptz[])
                  AS r(id, status, amount, restock, gateway_reference, requested_at, updated_at)
             ON CONFLICT (id) DO UPDATE
             SET status = EXCLUDED.status, amount = EXCLUDED.amount, restock = EXCLUDED.restock,
                 gateway_reference = EXCLUDED.gateway_reference, updated_at = EXCLUDED.updated_at
             WHERE refunds.order_id = EXCLUDED.order_id
             RETURNING id
         )
         SELECT count(*) FROM refunds",
    )
    .bind(order.id().as_uuid())
    .bind(currency)
    .bind(lines.iter().map(|l| l.id.as_uuid()).collect::<Vec<_>>())
    .bind((0..lines.len()).map(|i| i32::try_from(i).unwrap_or(i32::MAX)).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.product_id.as_uuid()).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.sku.as_str()).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.title.as_str()).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| count(l.quantity.get())).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.unit_price.amount()).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.subtotal.amount()).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.discount.amount()).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.tax.amount()).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.total.amount()).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| count(l.fulfilled)).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| count(l.refunded)).collect::<Vec<_>>())
    .bind((0..history.len()).map(|i| i32::try_from(i).unwrap_or(i32::MAX)).collect::<Vec<_>>())
    .bind(history.iter().map(|h| h.from.map(|s| s.as_str())).collect::<Vec<_>>())
    .bind(history.iter().map(|h| h.to.as_str()).collect::<Vec<_>>())
    .bind(history.iter().map(|h| h.at).collect::<Vec<_>>())
    .bind(history.iter().map(|h| h.note.as_deref()).collect::<Vec<_>>())
    .bind(payment.reference.as_str())
    .bind(payment.authorized.amount())
    .bind(payment.captured.amount())
    .bind(payment.refunded.amount())
    .bind(payment.voided)
    .bind(refunds.iter().map(|r| r.id.as_uuid()).collect::<Vec<_>>())
    .bind(refunds.iter().map(|r| r.status.as_str()).collect::<Vec<_>>())
    .bind(refunds.iter().map(|r| r.amount.amount()).collect::<Vec<_>>())
    .bind(refunds.iter().map(|r| r.restock).collect::<Vec<_>>())
    .bind(refunds.iter().map(|r| r.gateway_reference.as_deref()).collect::<Vec<_>>())
    .bind(refunds.iter().map(|r| r.requested_at).collect::<Vec<_>>())
    .bind(refunds.iter().map(|r| r.updated_at).collect::<Vec<_>>())
    .fetch_one(conn)
    .await
}

/// `AlreadyExists` for a refund of `order` that another order holds.
fn refund_clash(order: &Order) -> StoreError {
    StoreError::AlreadyExists {
        entity: "refund",
        key: format!("an id already used by another order than {}", order.id()),
    }
}

fn encode_position(placed_at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}|{id}", placed_at.timestamp_micros())
}

fn decode_position(raw: &str) -> Result<(DateTime<Utc>, Uuid), StoreError> {
    let (micros, id) = raw.split_once('|').ok_or(StoreError::InvalidCursor)?;
    let micros: i64 = micros.parse().map_err(|_| StoreError::InvalidCursor)?;
    let at = DateTime::from_timestamp_micros(micros).ok_or(StoreError::InvalidCursor)?;
    Ok((at, id.parse().map_err(|_| StoreError::InvalidCursor)?))
}

/// The PostgreSQL [`OrderRepository`] (tables `orders`, `order_lines`,
/// `order_status_history`, `payments`, `refunds`, and `outbox`).
///
/// - `insert` and `update` write, in ONE transaction: the order row (the aggregate as
///   JSON, version-checked on update), its relational projections (lines, status history,
///   payment, refunds: one statement) and its events in the outbox (one statement). Both
///   or neither, even if the connection dies mid-way: 5 round trips (begin, order,
///   projections, outbox, commit).
/// - An existing id is `AlreadyExists` (constraint `orders_pkey`) and writes nothing; so
///   is a refund id that another order holds. A stale version is `VersionConflict` with
///   the stored version and writes nothing; a missing order is `NotFound`.
/// - Serialization failures and deadlocks rerun the whole transaction (a few times).
/// - `by_refund` is an index lookup (`refunds_pkey`); `list` is newest first
///   (`placed_at` DESC, then id), keyset-paged, one query per page.
#[derive(Clone, Debug)]
pub struct PgOrders {
    shared: Arc<Shared>,
}

impl PgOrders {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        PgOrders { shared }
    }

    async fn insert_once(
        &self,
        order: &Order,
        events: &[EventEnvelope],
    ) -> Result<u64, Fail<StoreError>> {
        let body = body(order, 1).map_err(Fail::Domain)?;
        let mut tx = self.shared.pool.begin().await?;
        sqlx::query(
            "INSERT INTO orders (id, customer_id, status, placed_at, version, body)
             VALUES ($1, $2, $3, $4, 1, $5)",
        )
        .bind(order.id().as_uuid())
        .bind(order.customer().map(|c| c.as_uuid()))
        .bind(order.status().as_str())
        .bind(order.placed_at())
        .bind(body)
        .execute(&mut *tx)
        .await?;
        if write_projections(&mut tx, order).await? < order.refunds().len() as i64 {
            return Err(Fail::Domain(refund_clash(order)));
        }
        append_in(&mut tx, events).await?;
        tx.commit().await?;
        Ok(1)
    }

    async fn update_once(
        &self,
        order: &Order,
        events: &[EventEnvelope],
    ) -> Result<u64, Fail<StoreError>> {
        let body = body(order, order.version().saturating_add(1)).map_err(Fail::Domain)?;
        let mut tx = self.shared.pool.begin().await?;
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE orders SET customer_id = $3, status = $4, placed_at = $5, body = $6, version = version + 1
             WHERE id = $1 AND version = $2
             RETURNING version",
        )
        .bind(order.id().as_uuid())
        .bind(i64::try_from(order.version()).unwrap_or(i64::MAX))
        .bind(order.customer().map(|c| c.as_uuid()))
        .bind(order.status().as_str())
        .bind(order.placed_at())
        .bind(body)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(version) = version else {
            // Nothing written; find out why (a fresh statement sees the latest commit).
            let actual: Option<i64> =
                sqlx::query_scalar("SELECT version FROM orders WHERE id = $1")
                    .bind(order.id().as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(Fail::Domain(match actual {
                None => StoreError::not_found("order", order.id()),
                Some(actual) => StoreError::VersionConflict {
                    entity: "order",
                    id: order.id().to_string(),
                    expected: order.version(),
                    actual: u64::try_from(actual).unwrap_or(0),
                },
            }));
        };
        if write_projections(&mut tx, order).await? < order.refunds().len() as i64 {
            return Err(Fail::Domain(refund_clash(order)));
        }
        append_in(&mut tx, events).await?;
        tx.commit().await?;
        Ok(u64::try_from(version).unwrap_or(0))
    }

    fn write_error(order: &Order, e: Fail<StoreError>) -> StoreError {
        match e {
            Fail::Db(db) => match unique_violation(&db) {
                Some("orders_pkey") => {
                    StoreError::AlreadyExists { entity: "order", key: format!("id {}", order.id()) }
                }
                Some("refunds_pkey") => refund_clash(order),
                _ => store_error(db),
            },
            Fail::Domain(e) => e,
        }
    }
}

#[async_trait]
impl OrderRepository for PgOrders {
    async fn insert(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError> {
        retrying(|| self.insert_once(order, events)).await.map_err(|e| Self::write_error(order, e))
    }

    async fn update(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError> {
        retrying(|| self.update_once(order, events)).await.map_err(|e| Self::write_error(order, e))
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let row = sqlx::query("SELECT body, version FROM orders WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(order_from_row).transpose()
    }

    async fn by_refund(&self, id: RefundId) -> Result<Option<Order>, StoreError> {
        let row = sqlx::query(
            "SELECT o.body, o.version FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.shared.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(order_from_row).transpose()
    }

    async fn list(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        let key = self.shared.cursor_key().await?;
        let codec = key.codec("orders");
        let after = match &query.cursor {
            Some(c) => Some(decode_position(&codec.decode(c)?)?),
            None => None,
        };
        let limit = clamp_page_limit(query.limit);
        let mut sql = QueryBuilder::<Postgres>::new(
            "SELECT id, placed_at, body, version FROM orders WHERE true",
        );
        if let Some(customer) = query.customer {
            sql.push(" AND customer_id = ").push_bind(customer.as_uuid());
        }
        if let Some(status) = query.status {
            sql.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some((at, id)) = after {
            sql.push(" AND (placed_at < ").push_bind(at);
            sql.push(" OR (placed_at = ").push_bind(at);
            sql.push(" AND id > ").push_bind(id);
            sql.push("))");
        }
        sql.push(" ORDER BY placed_at DESC, id LIMIT ").push_bind(limit as i64 + 1);
        let rows = sql.build().fetch_all(&self.shared.pool).await.map_err(store_error)?;
        let more = rows.len() > limit;
        let mut items = Vec::with_capacity(limit);
        let mut last = None;
        for row in rows.iter().take(limit) {
            items.push(order_from_row(row)?);
            let at: DateTime<Utc> = row.try_get("placed_at").map_err(store_error)?;
            let id: Uuid = row.try_get("id").map_err(store_error)?;
            last = Some((at, id));
        }
        let next_cursor = match last {
            Some((at, id)) if more => Some(codec.encode(&encode_position(at, id))),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_garbage_is_an_invalid_cursor() {
        let at = DateTime::from_timestamp_micros(1_893_456_000_000_001).unwrap();
        let id = Uuid::from_u128(7);

        assert_eq!(decode_position(&encode_position(at, id)).unwrap(), (at, id));
        assert!(matches!(decode_position("1|not-a-uuid"), Err(StoreError::InvalidCursor)));
    }
}
