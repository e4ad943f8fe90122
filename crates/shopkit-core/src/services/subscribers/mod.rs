//! Event subscribers the shop ships with: restock, notifications, accounting ledger,
//! analytics, CRM and recommendations. Each is idempotent by event id (delivery is at least
//! once): the integration ports take the event id as their idempotency key, notifications
//! carry `"{event_id}:{template}"` as their dedup key, and restocks are stock adjustments
//! keyed by the event id and the SKU.
//!
//! Errors map one way everywhere: "unavailable" downstream is
//! [`SubscriberError::Transient`] (the dispatcher
//! retries), a refusal that retrying cannot fix is `Permanent` (the entry goes dead for a
//! human), except for notifications, where a rejected recipient is logged and skipped.

mod analytics;
mod crm;
mod ledger;
mod notifications;
mod recommendations;
mod restock;

pub use analytics::AnalyticsSubscriber;
pub use crm::CrmSubscriber;
pub use ledger::LedgerSubscriber;
pub use notifications::NotificationSubscriber;
pub use recommendations::RecommenderSubscriber;
pub use restock::RestockSubscriber;

use crate::ports::{IntegrationError, StoreError, SubscriberError};

fn integration(e: IntegrationError) -> SubscriberError {
    match e {
        IntegrationError::Unavailable { message } => SubscriberError::Transient(message),
        IntegrationError::Rejected { reason } => SubscriberError::Permanent(reason),
    }
}

fn store(e: StoreError) -> SubscriberError {
    if e.is_retryable() {
        SubscriberError::Transient(e.to_string())
    } else {
        SubscriberError::Permanent(e.to_string())
    }
}
