//! [`PgIdempotency`]: one remembered result per `(scope, key)`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use shopkit_core::ids::IdempotencyKey;
use shopkit_core::ports::{IdempotencyBegin, IdempotencyStore, StoreError};
use sqlx::Row;

use crate::error::store_error;
use crate::shared::Shared;

fn after(now: DateTime<Utc>, span: Duration, what: &str) -> Result<DateTime<Utc>, StoreError> {
    now.checked_add_signed(span).ok_or_else(|| StoreError::Invalid {
        reason: format!("a {what} of {span} from {now} is out of range: use a shorter one"),
    })
}

/// How many times `begin` re-reads a record that changed between its claim and its read
/// (abandoned or expired in between) before giving up with `Unavailable`.
const BEGIN_ATTEMPTS: usize = 3;

/// The PostgreSQL [`IdempotencyStore`] (table `idempotency_keys`).
///
/// - `begin` is one `INSERT ... ON CONFLICT DO UPDATE ... WHERE <may be taken over>`: of
///   any number of concurrent callers exactly one inserts, or takes over a lapsed lease
///   (`now >= lease_until`, same fingerprint) or an expired result; the others read the
///   record and get `InProgress`, `Completed(result)` or `Mismatch` (a different
///   fingerprint, whatever the record's state). Usually one round trip, two when the key
///   is taken.
/// - `complete` stores the result until `now + retention`; completing a completed key
///   keeps the first result; a key that is not recorded is `NotFound`.
/// - `abandon` deletes a started record (a completed one is kept).
/// - Expired results are replaced by the next `begin` of their key;
///   [`purge_expired`](Self::purge_expired) deletes the others (run it from a
///   maintenance job).
#[derive(Clone, Debug)]
pub struct PgIdempotency {
    shared: Arc<Shared>,
}

impl PgIdempotency {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        PgIdempotency { shared }
    }

    /// Deletes the completed records whose retention ended at or before `now`; returns
    /// how many.
    ///
    /// # Errors
    /// `Unavailable` when PostgreSQL cannot be reached.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM idempotency_keys WHERE state = 'completed' AND expires_at <= $1",
        )
        .bind(now)
        .execute(&self.shared.pool)
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl IdempotencyStore for PgIdempotency {
    async fn begin(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyBegin, StoreError> {
        let lease_until = after(now, lease, "lease")?;
        for _ in 0..BEGIN_ATTEMPTS {
            let claimed = sqlx::query(
                "INSERT INTO idempotency_keys AS k (scope, key, fingerprint, state, lease_until, result, expires_at)
                 VALUES ($1, $2, $3, 'started', $4, NULL, NULL)
                 ON CONFLICT (scope, key) DO UPDATE
                 SET fingerprint = EXCLUDED.fingerprint, state = 'started',
                     lease_until = EXCLUDED.lease_until, result = NULL, expires_at = NULL
                 WHERE (k.state = 'completed' AND k.expires_at <= $5)
                    OR (k.state = 'started' AND k.lease_until <= $5 AND k.fingerprint = EXCLUDED.fingerprint)",
            )
            .bind(scope)
            .bind(key.as_str())
            .bind(fingerprint)
            .bind(lease_until)
            .bind(now)
            .execute(&self.shared.pool)
            .await
            .map_err(store_error)?
            .rows_affected()
                == 1;
            if claimed {
                return Ok(IdempotencyBegin::Started);
            }
            let row = sqlx::query(
                "SELECT fingerprint, state, result FROM idempotency_keys WHERE scope = $1 AND key = $2",
            )
            .bind(scope)
            .bind(key.as_str())
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(store_error)?;
            let Some(row) = row else {
                // Abandoned between the two statements: claim it again.
                continue;
            };
            let stored: String = row.try_get("fingerprint").map_err(store_error)?;
            if stored != fingerprint {
                return Ok(IdempotencyBegin::Mismatch);
            }
            let state: String = row.try_get("state").map_err(store_error)?;
            let result: Option<String> = row.try_get("result").map_err(store_error)?;
            return Ok(match (state.as_str(), result) {
                ("completed", Some(result)) => IdempotencyBegin::Completed(result),
                _ => IdempotencyBegin::InProgress,
            });
        }
        Err(StoreError::Unavailable {
            message: format!(
                "idempotency key {scope}/{key} keeps changing under concurrent calls; retry"
            ),
            source: None,
        })
    }

    async fn complete(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        result: &str,
        now: DateTime<Utc>,
        retention: Duration,
    ) -> Result<(), StoreError> {
        let expires_at = after(now, retention, "retention")?;
        let done = sqlx::query(
            "UPDATE idempotency_keys
             SET state = 'completed', result = $3, expires_at = $4, lease_until = NULL
             WHERE scope = $1 AND key = $2 AND state = 'started'",
        )
        .bind(scope)
        .bind(key.as_str())
        .bind(result)
        .bind(expires_at)
        .execute(&self.shared.pool)
        .await
        .map_err(store_error)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        // Completing twice keeps the first result; an unknown or expired key is NotFound.
        let still_completed: Option<bool> = sqlx::query_scalar(
            "SELECT expires_at > $3 FROM idempotency_keys
             WHERE scope = $1 AND key = $2 AND state = 'completed'",
        )
        .bind(scope)
        .bind(key.as_str())
        .bind(now)
        .fetch_optional(&self.shared.pool)
        .await
        .map_err(store_error)?;
        match still_completed {
            Some(true) => Ok(()),
            _ => Err(StoreError::not_found("idempotency key", format!("{scope}/{key}"))),
        }
    }

    async fn abandon(&self, scope: &str, key: &IdempotencyKey) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'started'",
        )
        .bind(scope)
        .bind(key.as_str())
        .execute(&self.shared.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }
}
