//! Handing one [`StoreError`] to several callers.
//!
//! `StoreError` is not `Clone` (it may own its backend error), but a single-flight load
//! answers every caller that shared it. Each caller gets an equal error: the same variant
//! and fields, and for `Unavailable` the same message with the original error as source.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use shopkit_core::ports::StoreError;

/// A copy of `error` for one more caller.
pub(crate) fn reissue(error: &Arc<StoreError>) -> StoreError {
    match &**error {
        StoreError::NotFound { entity, id } => StoreError::NotFound { entity, id: id.clone() },
        StoreError::VersionConflict { entity, id, expected, actual } => {
            StoreError::VersionConflict {
                entity,
                id: id.clone(),
                expected: *expected,
                actual: *actual,
            }
        }
        StoreError::AlreadyExists { entity, key } => {
            StoreError::AlreadyExists { entity, key: key.clone() }
        }
        StoreError::InvalidCursor => StoreError::InvalidCursor,
        StoreError::Invalid { reason } => StoreError::Invalid { reason: reason.clone() },
        StoreError::Unavailable { message, .. } => StoreError::Unavailable {
            message: message.clone(),
            source: Some(Box::new(Shared(Arc::clone(error)))),
        },
        // A variant added to the port later: retryable is the safe reading.
        other => StoreError::Unavailable {
            message: other.to_string(),
            source: Some(Box::new(Shared(Arc::clone(error)))),
        },
    }
}

/// The original error, shared, as the source of a reissued one.
#[derive(Debug)]
struct Shared(Arc<StoreError>);

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl StdError for Shared {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reissued_errors_keep_their_variant_and_fields() {
        let conflict = Arc::new(StoreError::VersionConflict {
            entity: "product",
            id: "p1".into(),
            expected: 1,
            actual: 2,
        });
        let down = Arc::new(StoreError::unavailable("db down", std::io::Error::other("reset")));

        let again = reissue(&conflict);
        let down_again = reissue(&down);

        assert!(matches!(
            again,
            StoreError::VersionConflict { entity: "product", expected: 1, actual: 2, ref id } if id == "p1"
        ));
        assert!(down_again.is_retryable());
        assert_eq!(down_again.to_string(), down.to_string());
        let source = down_again.source().map(ToString::to_string);
        assert_eq!(source, Some(down.to_string()), "the original is the source");
    }
}
