//! Integration ports the back end feeds from events: accounting, fulfilment, CRM,
//! analytics. Each call carries the event id as its idempotency key.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customers::Address;
use crate::events::EventLine;
use crate::ids::{CustomerId, Email, EventId, OrderId};
use crate::money::{Money, MoneyError};

/// A failure of an integration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrationError {
    /// The request is malformed (an unbalanced journal entry); retrying cannot help.
    #[error("rejected: {reason}")]
    Rejected {
        /// Why.
        reason: String,
    },
    /// The system is unreachable. Retryable.
    #[error("unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
    },
}

/// A ledger account of the shop's chart of accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerAccount {
    /// Money the payment provider owes the shop.
    PaymentsReceivable,
    /// Sales revenue (net of discounts).
    Revenue,
    /// Shipping revenue.
    ShippingRevenue,
    /// Tax collected, owed to the authorities.
    TaxPayable,
    /// Refunds paid back.
    Refunds,
}

/// Debit or credit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingSide {
    /// Debit.
    Debit,
    /// Credit.
    Credit,
}

/// One leg of a journal entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// The account.
    pub account: LedgerAccount,
    /// Debit or credit.
    pub side: PostingSide,
    /// The amount (non-negative).
    pub amount: Money,
}

/// A balanced double-entry journal entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    id: EventId,
    at: DateTime<Utc>,
    memo: String,
    postings: Vec<Posting>,
}

impl JournalEntry {
    /// A journal entry; debits MUST equal credits, in one currency, none negative.
    pub fn new(
        id: EventId,
        at: DateTime<Utc>,
        memo: String,
        postings: Vec<Posting>,
    ) -> Result<Self, MoneyError> {
        let Some(first) = postings.first() else {
            return Err(MoneyError::InvalidAllocation {
                reason: "a journal entry with no postings",
            });
        };
        let currency = first.amount.currency();
        let mut debit = Money::zero(currency);
        let mut credit = Money::zero(currency);
        for p in &postings {
            if p.amount.is_negative() {
                return Err(MoneyError::InvalidAllocation { reason: "a negative posting" });
            }
            match p.side {
                PostingSide::Debit => debit = debit.checked_add(&p.amount)?,
                PostingSide::Credit => credit = credit.checked_add(&p.amount)?,
            }
        }
        if debit != credit {
            return Err(MoneyError::InvalidAllocation {
                reason: "debits that do not equal credits",
            });
        }
        Ok(JournalEntry { id, at, memo, postings })
    }
    /// The id (the event it records).
    pub fn id(&self) -> EventId {
        self.id
    }
    /// When.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }
    /// What it records.
    pub fn memo(&self) -> &str {
        &self.memo
    }
    /// The postings.
    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }
}

/// An accounting ledger.
///
/// # Contract: `post` is idempotent by entry id.
#[async_trait]
pub trait AccountingLedger: Send + Sync + 'static {
    /// Posts a balanced entry.
    async fn post(&self, entry: &JournalEntry) -> Result<(), IntegrationError>;
}

/// What to ask a fulfilment provider (a 3PL) to ship.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilmentRequest {
    /// Idempotency key.
    pub id: EventId,
    /// The order.
    pub order_id: OrderId,
    /// What to ship.
    pub lines: Vec<EventLine>,
    /// Where.
    pub address: Option<Address>,
}

/// A fulfilment provider.
///
/// # Contract: `request` is idempotent by request id and returns the provider's reference.
#[async_trait]
pub trait FulfilmentProvider: Send + Sync + 'static {
    /// Asks for a shipment.
    async fn request(&self, request: &FulfilmentRequest) -> Result<String, IntegrationError>;
}

/// A contact in the CRM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmContact {
    /// The customer.
    pub customer: CustomerId,
    /// Their address.
    pub email: Email,
    /// Orders placed, as the CRM last heard.
    pub orders: u64,
}

/// A CRM.
///
/// # Contract: `upsert_contact` is idempotent; `record_activity` by event id.
#[async_trait]
pub trait Crm: Send + Sync + 'static {
    /// Creates or updates a contact.
    async fn upsert_contact(&self, contact: &CrmContact) -> Result<(), IntegrationError>;
    /// Records an activity (`order_placed`) on a contact's timeline.
    async fn record_activity(
        &self,
        customer: CustomerId,
        event: EventId,
        activity: &str,
    ) -> Result<(), IntegrationError>;
}

/// An analytics event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsEvent {
    /// Idempotency key.
    pub id: EventId,
    /// The name (`order_placed`).
    pub name: String,
    /// Who, when known.
    pub customer: Option<CustomerId>,
    /// When.
    pub at: DateTime<Utc>,
    /// Properties, as text.
    pub properties: BTreeMap<String, String>,
}

/// An analytics sink.
///
/// # Contract: `track` is idempotent by event id.
#[async_trait]
pub trait AnalyticsSink: Send + Sync + 'static {
    /// Records an event.
    async fn track(&self, event: &AnalyticsEvent) -> Result<(), IntegrationError>;
}
