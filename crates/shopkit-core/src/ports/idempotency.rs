//! The idempotency store: one result per client key.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::StoreError;
use crate::ids::IdempotencyKey;

/// What `begin` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The caller owns the key now (new, or a previous owner's lease ran out): do the work,
    /// then `complete` or `abandon`.
    Started,
    /// Another caller is working on it: answer "in progress", retry later.
    InProgress,
    /// Done before with this result: replay it.
    Completed(String),
    /// The key was used with a different request: refuse.
    Mismatch,
}

/// Remembers the result of each idempotent operation by `(scope, key)`.
///
/// # Contract
/// - `begin` MUST be atomic: of any number of concurrent calls with one `(scope, key)`,
///   exactly one gets `Started`; the others get `InProgress` (or `Completed` once done).
/// - `begin` with a fingerprint different from the stored one MUST return `Mismatch`.
/// - An `InProgress` record whose lease (`now + lease` at begin) has passed MAY be taken
///   over: `begin` returns `Started` again (the work must itself be resumable).
/// - `complete` stores the result; later `begin`s return `Completed(result)` until the
///   record expires (`retention` after completion); after that the key is new again and
///   `begin` returns `Started`.
/// - `abandon` deletes an in-progress record so the key can be used again.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims the key or reports what is known of it.
    async fn begin(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyBegin, StoreError>;
    /// Stores the result of a started operation.
    async fn complete(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        result: &str,
        now: DateTime<Utc>,
        retention: Duration,
    ) -> Result<(), StoreError>;
    /// Forgets a started operation that failed without effects.
    async fn abandon(&self, scope: &str, key: &IdempotencyKey) -> Result<(), StoreError>;
}
