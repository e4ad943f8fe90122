//! The customer repository.

use async_trait::async_trait;

use super::{Cursor, Page, StoreError};
use crate::customers::Customer;
use crate::events::EventEnvelope;
use crate::ids::{CustomerId, Email};

/// Where customers live (PostgreSQL/RDS in the AWS profile).
///
/// # Contract
/// - `insert` MUST fail with `AlreadyExists` when the id or the email (compared
///   case-insensitively) is taken, and otherwise store the customer (version 1) and append
///   `events` to the outbox atomically.
/// - `update` MUST fail with `VersionConflict` unless the stored version equals
///   `customer.version`; email uniqueness holds on update; a missing customer is `NotFound`.
#[async_trait]
pub trait CustomerRepository: Send + Sync + 'static {
    /// Stores a new customer and its events atomically.
    async fn insert(
        &self,
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<u64, StoreError>;
    /// Replaces a customer if its version matches; returns the new version.
    async fn update(&self, customer: &Customer) -> Result<u64, StoreError>;
    /// The customer with `id`.
    async fn get(&self, id: CustomerId) -> Result<Option<Customer>, StoreError>;
    /// The customer with `email` (case-insensitive).
    async fn by_email(&self, email: &Email) -> Result<Option<Customer>, StoreError>;
    /// A page of customers, by id.
    async fn list(
        &self,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page<Customer>, StoreError>;
}
