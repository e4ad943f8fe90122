//! The outbox and its subscribers.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{Cursor, Page, StoreError};
use crate::events::{EventEnvelope, OutboxEntry, OutboxStatus};
use crate::ids::EventId;

/// Events waiting for delivery, written atomically with the state change they record.
///
/// # Contract
/// - `append` is idempotent by event id (appending an id again changes nothing).
/// - `claim_due` MUST hand each due entry (`Pending` with `next_attempt_at <= now`, or
///   `InFlight` whose lease has passed) to ONE caller at a time: it marks them `InFlight`
///   until `now + lease` (returned entries already show `InFlight` and
///   `next_attempt_at = now + lease`), so several dispatchers never deliver the same entry at once
///   (PostgreSQL: `FOR UPDATE SKIP LOCKED`). Oldest first.
/// - Each claim counts as one attempt (`attempts` + 1), whatever its outcome.
/// - `mark_delivered`, `mark_failed` and `mark_dead` record the outcome of a claimed entry;
///   `mark_failed`/`mark_dead` on an entry already `Delivered` or `Dead` MUST be `Invalid`
///   (a dispatcher whose lease ran out cannot undo another's result).
/// - `redeliver` puts a `Delivered` or `Dead` entry back to `Pending`, due now, with its
///   `delivered_to` cleared (subscribers dedupe by event id).
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Adds events (outside an aggregate's own atomic write, e.g. a cart sweep).
    async fn append(&self, events: &[EventEnvelope]) -> Result<(), StoreError>;
    /// Claims up to `limit` due entries for `lease`.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Every subscriber has the entry.
    async fn mark_delivered(&self, id: EventId, delivered_to: &[String]) -> Result<(), StoreError>;
    /// Some subscriber failed: retry at `next_attempt_at`.
    async fn mark_failed(
        &self,
        id: EventId,
        delivered_to: &[String],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Give up on an entry.
    async fn mark_dead(
        &self,
        id: EventId,
        delivered_to: &[String],
        error: &str,
    ) -> Result<(), StoreError>;
    /// Puts an entry back for delivery now.
    async fn redeliver(&self, id: EventId, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// The event log, newest first, optionally one status.
    async fn list(
        &self,
        status: Option<OutboxStatus>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page<OutboxEntry>, StoreError>;
}

/// Why a subscriber could not handle an event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubscriberError {
    /// Try again later (a downstream service is down).
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying cannot help (malformed data); the entry goes dead for a human to look at.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Something that reacts to events: notifications, ledger, CRM, fulfilment, analytics.
///
/// # Contract
/// - `handle` MUST be idempotent by `event.id`: delivery is at least once.
/// - `name` is stable: the outbox records which subscribers already have an event.
#[async_trait]
pub trait EventSubscriber: Send + Sync + 'static {
    /// A stable name (`"notifications"`).
    fn name(&self) -> &str;
    /// Handles one event.
    async fn handle(&self, event: &EventEnvelope) -> Result<(), SubscriberError>;
}
