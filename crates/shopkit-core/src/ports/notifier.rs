//! Sending messages to customers.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email (SES v2 in the AWS profile).
    Email,
    /// SMS (AWS End User Messaging).
    Sms,
    /// Mobile push (the Pinpoint SendMessages API).
    Push,
}

/// A rendered message. The core renders; notifiers only deliver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Deduplication key: the same key MUST NOT be delivered twice by a notifier that can
    /// tell (derived from the event id and the template).
    pub dedup_key: String,
    /// The channel.
    pub channel: Channel,
    /// Address, phone number or device token.
    pub to: String,
    /// Subject (email) or title (push).
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body (email only).
    pub html: Option<String>,
}

/// A notifier failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The recipient is malformed or suppressed; retrying will not help.
    #[error("recipient rejected: {reason}")]
    Rejected {
        /// Why.
        reason: String,
    },
    /// The provider is unreachable or throttling. Retryable.
    #[error("notifier unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
    },
}

/// Delivers messages.
///
/// # Contract
/// - `send` returns a provider message id on acceptance.
/// - A second `send` with a `dedup_key` already accepted SHOULD return the first id without
///   delivering again, where the provider can tell (the outbox may redeliver an event).
/// - A transient failure MUST be `Unavailable` (the outbox retries); a permanent one
///   `Rejected` (the outbox records it and moves on).
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Sends one message.
    async fn send(&self, message: &Message) -> Result<String, NotifyError>;
}
