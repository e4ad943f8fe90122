//! Contracts of [`Notifier`]: accepted messages get a provider id, permanent refusals are
//! `Rejected`, outages are `Unavailable`, and a repeated dedup key is delivered once by a
//! notifier that can tell.
//!
//! Each contract takes a notifier and its [`NotifierCases`]: the messages that provider
//! accepts and refuses (SES: its mailbox simulator), the same adapter pointed at a dead
//! endpoint, and whether it deduplicates.

use std::fmt;
use std::sync::Arc;

use shopkit_core::ports::{Channel, Message, Notifier, NotifyError};

use crate::fixtures::unique;
use crate::support::Must;

/// Whether, and how the test can see that, a notifier deduplicates by `dedup_key`.
#[derive(Clone)]
pub enum Dedup {
    /// The notifier deduplicates; the function counts the deliveries the provider made of
    /// the message with a dedup key (a recording fake's log, a provider's message log).
    Observable(Arc<dyn Fn(&str) -> usize + Send + Sync>),
    /// The provider cannot tell (SES has no deduplication): a repeat is delivered again.
    /// The contract then only checks that a repeat is accepted.
    NotSupported,
}

impl fmt::Debug for Dedup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dedup::Observable(_) => f.write_str("Dedup::Observable"),
            Dedup::NotSupported => f.write_str("Dedup::NotSupported"),
        }
    }
}

/// What the notifier contracts need besides the notifier.
#[derive(Clone)]
pub struct NotifierCases {
    /// A message the provider accepts (its `dedup_key` is replaced by a fresh one).
    pub accepted: Message,
    /// A message the provider refuses for good (a malformed or suppressed recipient).
    pub rejected: Message,
    /// The same adapter configured against an endpoint that does not answer.
    pub unreachable: Arc<dyn Notifier>,
    /// Whether it deduplicates.
    pub dedup: Dedup,
}

impl fmt::Debug for NotifierCases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifierCases")
            .field("accepted", &self.accepted)
            .field("rejected", &self.rejected)
            .field("dedup", &self.dedup)
            .finish_non_exhaustive()
    }
}

/// An email message to `to` with a fresh dedup key: a convenient base for
/// [`NotifierCases`].
pub fn email_to(to: &str) -> Message {
    Message {
        dedup_key: format!("testkit-{}", unique()),
        channel: Channel::Email,
        to: to.to_owned(),
        subject: "Your order".to_owned(),
        text: "Thank you for your order.".to_owned(),
        html: Some("<p>Thank you for your order.</p>".to_owned()),
    }
}

fn fresh(message: &Message) -> Message {
    Message { dedup_key: format!("testkit-{}", unique()), ..message.clone() }
}

/// `send` of an acceptable message returns a (non-blank) provider message id.
pub async fn an_accepted_message_gets_a_provider_id(
    notifier: Arc<dyn Notifier>,
    cases: NotifierCases,
) {
    // Arrange
    let message = fresh(&cases.accepted);

    // Act
    let id = notifier.send(&message).await.must("send an acceptable message");

    // Assert
    assert!(!id.trim().is_empty(), "an accepted message has a provider id");
}

/// A recipient the provider refuses for good is `Rejected` (the outbox records it and
/// moves on), never `Unavailable` (which would retry forever).
pub async fn a_refused_recipient_is_rejected(notifier: Arc<dyn Notifier>, cases: NotifierCases) {
    // Arrange
    let message = fresh(&cases.rejected);

    // Act
    let result = notifier.send(&message).await;

    // Assert
    assert!(
        matches!(result, Err(NotifyError::Rejected { .. })),
        "expected Rejected, got {result:?}"
    );
}

/// A provider that does not answer is `Unavailable` (the outbox retries).
///
/// `unreachable` is the adapter configured against an endpoint that does not answer
/// ([`NotifierCases::unreachable`]); `accepted` a message the live provider would accept.
pub async fn an_unreachable_provider_is_unavailable(
    unreachable: Arc<dyn Notifier>,
    accepted: Message,
) {
    // Arrange
    let message = fresh(&accepted);

    // Act
    let result = unreachable.send(&message).await;

    // Assert
    assert!(
        matches!(result, Err(NotifyError::Unavailable { .. })),
        "expected Unavailable, got {result:?}"
    );
}

/// Sending a message again with the same dedup key is accepted, and a notifier that can
/// tell delivers it once.
pub async fn a_repeated_dedup_key_is_delivered_once(
    notifier: Arc<dyn Notifier>,
    cases: NotifierCases,
) {
    // Arrange
    let message = fresh(&cases.accepted);
    notifier.send(&message).await.must("send");

    // Act
    let again = notifier.send(&message).await;

    // Assert
    again.must("a repeat with the same dedup key is accepted");
    match &cases.dedup {
        Dedup::Observable(deliveries) => {
            assert_eq!(
                deliveries(&message.dedup_key),
                1,
                "the same dedup key must not be delivered twice"
            );
        }
        Dedup::NotSupported => {}
    }
}
