//! [`PgOutbox`]: events waiting for delivery, claimed by several dispatchers at once with
//! `FOR UPDATE SKIP LOCKED`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use shopkit_core::events::{EventEnvelope, OutboxEntry, OutboxStatus};
use shopkit_core::ids::EventId;
use shopkit_core::ports::{Cursor, OutboxStore, Page, StoreError, clamp_page_limit};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::error::{store_error, undecodable};
use crate::shared::Shared;

fn status_str(status: OutboxStatus) -> &'static str {
    match status {
        OutboxStatus::Pending => "pending",
        OutboxStatus::InFlight => "in_flight",
        OutboxStatus::Delivered => "delivered",
        OutboxStatus::Dead => "dead",
    }
}

fn parse_status(raw: &str) -> Result<OutboxStatus, StoreError> {
    Ok(match raw {
        "pending" => OutboxStatus::Pending,
        "in_flight" => OutboxStatus::InFlight,
        "delivered" => OutboxStatus::Delivered,
        "dead" => OutboxStatus::Dead,
        other => {
            return Err(StoreError::Unavailable {
                message: format!("outbox status {other:?} is unknown to this version of shopkit"),
                source: None,
            });
        }
    })
}

/// Appends `events` on `conn` (inside the caller's transaction), skipping ids already in
/// the outbox. One statement whatever the number of events.
pub(crate) async fn append_in(
    conn: &mut PgConnection,
    events: &[EventEnvelope],
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(events.len());
    let mut kinds = Vec::with_capacity(events.len());
    let mut occurred = Vec::with_capacity(events.len());
    let mut payloads = Vec::with_capacity(events.len());
    for e in events {
        ids.push(e.id.as_uuid());
        kinds.push(e.event.kind());
        occurred.push(e.occurred_at);
        payloads.push(serde_json::to_value(e).map_err(|err| sqlx::Error::Encode(Box::new(err)))?);
    }
    sqlx::query(
        "INSERT INTO outbox (id, kind, occurred_at, status, attempts, next_attempt_at, delivered_to, last_error, payload)
         SELECT e.id, e.kind, e.occurred_at, 'pending', 0, e.occurred_at, '{}', NULL, e.payload
         FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::jsonb[]) WITH ORDINALITY
              AS e(id, kind, occurred_at, payload, n)
         ORDER BY e.n
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(ids)
    .bind(kinds)
    .bind(occurred)
    .bind(payloads)
    .execute(conn)
    .await?;
    Ok(())
}

fn entry_from_row(row: &PgRow) -> Result<OutboxEntry, StoreError> {
    let payload: serde_json::Value = row.try_get("payload").map_err(store_error)?;
    let envelope: EventEnvelope =
        serde_json::from_value(payload).map_err(|e| undecodable("outbox event", e))?;
    let status: String = row.try_get("status").map_err(store_error)?;
    let attempts: i32 = row.try_get("attempts").map_err(store_error)?;
    Ok(OutboxEntry {
        envelope,
        status: parse_status(&status)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at: row.try_get("next_attempt_at").map_err(store_error)?,
        delivered_to: row.try_get("delivered_to").map_err(store_error)?,
        last_error: row.try_get("last_error").map_err(store_error)?,
    })
}

/// Subscriber names without repeats, in the order given.
fn distinct(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for n in names {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

/// The PostgreSQL [`OutboxStore`] (table `outbox`).
///
/// - `append` is idempotent by event id (`ON CONFLICT DO NOTHING`); the order and customer
///   repositories append in their own transactions;
/// - `claim_due` is one statement: `UPDATE ... FROM (SELECT ... ORDER BY occurred_at, seq
///   LIMIT n FOR UPDATE SKIP LOCKED)`, so concurrent dispatchers (threads or processes)
///   never take the same entry, and a row another claimer holds is skipped rather than
///   waited for; the claim counts as an attempt and leases the entry until `now + lease`;
/// - `mark_failed`/`mark_dead` on a `Delivered` or `Dead` entry are `Invalid` (`mark_dead`
///   of a dead entry is accepted again); an unknown id is `NotFound`;
/// - `redeliver` puts a delivered or dead entry back to pending, due now, with
///   `delivered_to` cleared and the attempt count reset; an in-flight one is `Invalid`;
/// - `list` is newest first (`occurred_at`, then append order), keyset-paged.
///
/// Delivery timestamps (`next_attempt_at`) are kept to the microsecond.
#[derive(Clone, Debug)]
pub struct PgOutbox {
    shared: Arc<Shared>,
}

impl PgOutbox {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        PgOutbox { shared }
    }

    /// After an update matched no row: `NotFound`, or `Invalid` naming the entry's state.
    async fn refusal(&self, id: EventId, action: &str) -> StoreError {
        let status: Result<Option<String>, _> =
            sqlx::query_scalar("SELECT status FROM outbox WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&self.shared.pool)
                .await;
        match status {
            Ok(None) => StoreError::not_found("event", id),
            Ok(Some(status)) if status == "in_flight" => StoreError::Invalid {
                reason: format!("event {id} is being delivered right now: wait for the outcome"),
            },
            Ok(Some(status)) => StoreError::Invalid {
                reason: format!(
                    "event {id} is already {status}: cannot {action} it; use redeliver to send it again"
                ),
            },
            Err(e) => store_error(e),
        }
    }
}

fn lease_until(now: DateTime<Utc>, lease: Duration) -> Result<DateTime<Utc>, StoreError> {
    let until = now.checked_add_signed(lease).ok_or_else(|| StoreError::Invalid {
        reason: format!("a lease of {lease} from {now} is out of range: use a shorter lease"),
    })?;
    if until <= now {
        return Err(StoreError::Invalid { reason: format!("lease {lease} must be positive") });
    }
    Ok(until)
}

fn encode_position(occurred_at: DateTime<Utc>, seq: i64) -> String {
    format!("{}|{seq}", occurred_at.timestamp_micros())
}

fn decode_position(raw: &str) -> Result<(DateTime<Utc>, i64), StoreError> {
    let (micros, seq) = raw.split_once('|').ok_or(StoreError::InvalidCursor)?;
    let micros: i64 = micros.parse().map_err(|_| StoreError::InvalidCursor)?;
    let at = DateTime::from_timestamp_micros(micros).ok_or(StoreError::InvalidCursor)?;
    Ok((at, seq.parse().map_err(|_| StoreError::InvalidCursor)?))
}

#[async_trait]
impl OutboxStore for PgOutbox {
    async fn append(&self, events: &[EventEnvelope]) -> Result<(), StoreError> {
        let mut conn = self.shared.pool.acquire().await.map_err(store_error)?;
        append_in(&mut conn, events).await.map_err(store_error)
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let until = lease_until(now, lease)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "WITH due AS (
                 SELECT id FROM outbox
                 WHERE status IN ('pending', 'in_flight') AND next_attempt_at <= $1
                 ORDER BY occurred_at, seq
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE outbox o
             SET status = 'in_flight',
                 next_attempt_at = $2,
                 attempts = CASE WHEN o.attempts < 2147483647 THEN o.attempts + 1 ELSE o.attempts END
             FROM due
             WHERE o.id = due.id
             RETURNING o.id, o.seq, o.occurred_at, o.status, o.attempts, o.next_attempt_at,
                       o.delivered_to, o.last_error, o.payload",
        )
        .bind(now)
        .bind(until)
        .bind(limit)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(store_error)?;
        // RETURNING has no order: oldest first again.
        let mut keyed = Vec::with_capacity(rows.len());
        for row in &rows {
            let at: DateTime<Utc> = row.try_get("occurred_at").map_err(store_error)?;
            let seq: i64 = row.try_get("seq").map_err(store_error)?;
            keyed.push(((at, seq), entry_from_row(row)?));
        }
        keyed.sort_by_key(|(key, _)| *key);
        Ok(keyed.into_iter().map(|(_, e)| e).collect())
    }

    async fn mark_delivered(&self, id: EventId, delivered_to: &[String]) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE outbox
             SET status = 'delivered',
                 delivered_to = delivered_to || ARRAY(
                     SELECT d.name FROM unnest($2::text[]) WITH ORDINALITY AS d(name, n)
                     WHERE d.name <> ALL(outbox.delivered_to) ORDER BY d.n)
             WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(distinct(delivered_to))
        .execute(&self.shared.pool)
        .await
        .map_err(store_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("event", id));
        }
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: EventId,
        delivered_to: &[String],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE outbox
             SET status = 'pending',
                 next_attempt_at = $3,
                 last_error = $4,
                 delivered_to = delivered_to || ARRAY(
                     SELECT d.name FROM unnest($2::text[]) WITH ORDINALITY AS d(name, n)
                     WHERE d.name <> ALL(outbox.delivered_to) ORDER BY d.n)
             WHERE id = $1 AND status IN ('pending', 'in_flight')",
        )
        .bind(id.as_uuid())
        .bind(distinct(delivered_to))
        .bind(next_attempt_at)
        .bind(error)
        .execute(&self.shared.pool)
        .await
        .map_err(store_error)?;
        if done.rows_affected() == 0 {
            return Err(self.refusal(id, "mark failed").await);
        }
        Ok(())
    }

    async fn mark_dead(
        &self,
        id: EventId,
        delivered_to: &[String],
        error: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE outbox
             SET status = 'dead',
                 last_error = $3,
                 delivered_to = delivered_to || ARRAY(
                     SELECT d.name FROM unnest($2::text[]) WITH ORDINALITY AS d(name, n)
                     WHERE d.name <> ALL(outbox.delivered_to) ORDER BY d.n)
             WHERE id = $1 AND status IN ('pending', 'in_flight', 'dead')",
        )
        .bind(id.as_uuid())
        .bind(distinct(delivered_to))
        .bind(error)
        .execute(&self.shared.pool)
        .await
        .map_err(store_error)?;
        if done.rows_affected() == 0 {
            return Err(self.refusal(id, "mark dead").await);
        }
        Ok(())
    }

    async fn redeliver(&self, id: EventId, now: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE outbox
             SET next_attempt_at = $2,
                 delivered_to = CASE WHEN status = 'pending' THEN delivered_to ELSE '{}' END,
                 attempts = CASE WHEN status = 'pending' THEN attempts ELSE 0 END,
                 status = 'pending'
             WHERE id = $1 AND status <> 'in_flight'",
        )
        .bind(id.as_uuid())
        .bind(now)
        .execute(&self.shared.pool)
        .await
        .map_err(store_error)?;
        if done.rows_affected() == 0 {
            return Err(self.refusal(id, "redeliver").await);
        }
        Ok(())
    }

    async fn list(
        &self,
        status: Option<OutboxStatus>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page<OutboxEntry>, StoreError> {
        let key = self.shared.cursor_key().await?;
        let codec = key.codec("outbox");
        let after = match &cursor {
            Some(c) => Some(decode_position(&codec.decode(c)?)?),
            None => None,
        };
        let limit = clamp_page_limit(limit);
        let rows = sqlx::query(
            "SELECT id, seq, occurred_at, status, attempts, next_attempt_at, delivered_to, last_error, payload
             FROM outbox
             WHERE ($1::text IS NULL OR status = $1)
               AND ($2::timestamptz IS NULL OR (occurred_at, seq) < ($2, $3))
             ORDER BY occurred_at DESC, seq DESC
             LIMIT $4",
        )
        .bind(status.map(status_str))
        .bind(after.map(|(at, _)| at))
        .bind(after.map_or(0, |(_, seq)| seq))
        .bind(limit as i64 + 1)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(store_error)?;
        let more = rows.len() > limit;
        let mut items = Vec::with_capacity(limit);
        let mut last = None;
        for row in rows.iter().take(limit) {
            items.push(entry_from_row(row)?);
            let at: DateTime<Utc> = row.try_get("occurred_at").map_err(store_error)?;
            let seq: i64 = row.try_get("seq").map_err(store_error)?;
            last = Some((at, seq));
        }
        let next_cursor = match last {
            Some((at, seq)) if more => Some(codec.encode(&encode_position(at, seq))),
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
        let at = DateTime::from_timestamp_micros(1_893_456_000_123_456).unwrap();

        let raw = encode_position(at, 42);

        assert_eq!(decode_position(&raw).unwrap(), (at, 42));
        assert!(matches!(decode_position("x|1"), Err(StoreError::InvalidCursor)));
        assert!(matches!(decode_position("12"), Err(StoreError::InvalidCursor)));
    }

    #[test]
    fn subscriber_names_keep_their_first_occurrence() {
        let names = ["mail", "ledger", "mail"].map(String::from);

        assert_eq!(distinct(&names), vec!["mail".to_owned(), "ledger".to_owned()]);
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            OutboxStatus::Pending,
            OutboxStatus::InFlight,
            OutboxStatus::Delivered,
            OutboxStatus::Dead,
        ] {
            assert_eq!(parse_status(status_str(s)).unwrap(), s);
        }
    }
}
