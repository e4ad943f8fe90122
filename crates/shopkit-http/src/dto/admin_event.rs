//! The event log (the outbox) on the wire: each event with its delivery bookkeeping.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopkit_core::events::{OutboxEntry, OutboxStatus};
use utoipa::ToSchema;
use uuid::Uuid;

/// Delivery state of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdminEventStatusDto {
    /// Waiting for (re)delivery at `next_attempt_at`.
    Pending,
    /// Being delivered by a dispatcher (until `next_attempt_at`).
    InFlight,
    /// Every subscriber has it.
    Delivered,
    /// Given up after the attempt limit or a permanent error: redeliver by hand.
    Dead,
}

impl From<OutboxStatus> for AdminEventStatusDto {
    fn from(s: OutboxStatus) -> Self {
        match s {
            OutboxStatus::Pending => AdminEventStatusDto::Pending,
            OutboxStatus::InFlight => AdminEventStatusDto::InFlight,
            OutboxStatus::Delivered => AdminEventStatusDto::Delivered,
            OutboxStatus::Dead => AdminEventStatusDto::Dead,
        }
    }
}

impl From<AdminEventStatusDto> for OutboxStatus {
    fn from(s: AdminEventStatusDto) -> Self {
        match s {
            AdminEventStatusDto::Pending => OutboxStatus::Pending,
            AdminEventStatusDto::InFlight => OutboxStatus::InFlight,
            AdminEventStatusDto::Delivered => OutboxStatus::Delivered,
            AdminEventStatusDto::Dead => OutboxStatus::Dead,
        }
    }
}

/// An event of the log with its delivery state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AdminEventDto {
    /// The event id (subscribers deduplicate on it).
    pub id: Uuid,
    /// What happened (`order_placed`, `refund_processed`...).
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Delivery state.
    pub status: AdminEventStatusDto,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (pending) or the current one's lease ends (in flight).
    pub next_attempt_at: DateTime<Utc>,
    /// Subscribers that have handled it.
    pub delivered_to: Vec<String>,
    /// The last delivery error.
    pub last_error: Option<String>,
    /// The event's data as the outbox records it (an object whose `type` is the event's).
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<&OutboxEntry> for AdminEventDto {
    fn from(e: &OutboxEntry) -> Self {
        let event = &e.envelope.event;
        AdminEventDto {
            id: e.envelope.id.as_uuid(),
            kind: event.kind().to_owned(),
            occurred_at: e.envelope.occurred_at,
            status: e.status.into(),
            attempts: e.attempts,
            next_attempt_at: e.next_attempt_at,
            delivered_to: e.delivered_to.clone(),
            last_error: e.last_error.clone(),
            // Plain data with string keys: serializing it cannot fail; `null` if it ever did.
            payload: serde_json::to_value(event).unwrap_or(Value::Null),
        }
    }
}
