//! The error every storage port speaks, and cursor pagination.

use std::error::Error as StdError;

use serde::{Deserialize, Serialize};

/// What a storage port can report. Adapters map their backend's errors here (by error code
/// or constraint name, never by message text) and keep the backend error as the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such record.
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of record (`"order"`).
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// The record changed since it was read: re-read and try again.
    #[error(
        "{entity} {id} was changed concurrently (expected version {expected}, found {actual}): reload and retry"
    )]
    VersionConflict {
        /// The kind of record.
        entity: &'static str,
        /// Its id.
        id: String,
        /// The version the writer had read.
        expected: u64,
        /// The version stored now.
        actual: u64,
    },
    /// A record with this id or unique key already exists.
    #[error("{entity} with {key} already exists")]
    AlreadyExists {
        /// The kind of record.
        entity: &'static str,
        /// The clashing key (`"slug red-shirt"`).
        key: String,
    },
    /// A pagination cursor that this store did not hand out (or that was tampered with).
    #[error("invalid cursor: pass back a next_cursor exactly as it was returned")]
    InvalidCursor,
    /// The request breaks a rule the store enforces (too large, malformed).
    #[error("invalid request: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// The backend is unreachable, overloaded or timed out. Retryable.
    #[error("storage unavailable: {message}")]
    Unavailable {
        /// What failed, for logs (no secrets).
        message: String,
        /// The backend error.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
}

impl StoreError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. } | StoreError::VersionConflict { .. })
    }

    /// A `NotFound` for `entity` with `id`.
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        StoreError::NotFound { entity, id: id.to_string() }
    }

    /// An `Unavailable` wrapping a backend error.
    pub fn unavailable(
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        StoreError::Unavailable { message: message.into(), source: Some(Box::new(source)) }
    }
}

/// An opaque pagination cursor. Clients pass back what they got; stores reject anything
/// else with [`StoreError::InvalidCursor`] (they sign cursors with
/// [`CursorCodec`](super::CursorCodec)).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// An empty last page.
    pub fn empty() -> Self {
        Page { items: Vec::new(), next_cursor: None }
    }
}
