//! A key-value cache.

use async_trait::async_trait;
use chrono::Duration;

use super::StoreError;

/// A cache (ElastiCache/Redis in the AWS profile).
///
/// # Contract
/// - `get` after `set` returns the value until `ttl` passes, then `None`.
/// - `delete` of a missing key is not an error.
/// - A `ttl` of zero or less MUST be `StoreError::Invalid`.
/// - Callers treat every error as a miss (a cache never breaks a read).
#[async_trait]
pub trait Cache: Send + Sync + 'static {
    /// The value at `key`, if present and fresh.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores a value for `ttl`.
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError>;
    /// Removes a value.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
}
