//! How backend failures become the ports' errors, and how transient conflicts are retried.
//!
//! Every sqlx error is mapped here, by SQLSTATE class or constraint name (never by message
//! text), to the port's error enum; the sqlx error is kept only as a boxed `source`. Code
//! inside the adapter speaks [`Fail`]: either a database error, still to be mapped, or a
//! domain answer that is already the port's error.

use std::future::Future;
use std::time::Duration;

use shopkit_core::ports::StoreError;

/// SQLSTATE codes the adapter acts on
/// (<https://www.postgresql.org/docs/current/errcodes-appendix.html>).
pub(crate) mod sqlstate {
    /// `unique_violation`: mapped to a conflict by constraint name.
    pub(crate) const UNIQUE_VIOLATION: &str = "23505";
    /// `foreign_key_violation`: a row refers to one that does not exist.
    pub(crate) const FOREIGN_KEY_VIOLATION: &str = "23503";
    /// `check_violation`: a CHECK constraint or a trigger refused the row.
    pub(crate) const CHECK_VIOLATION: &str = "23514";
    /// `serialization_failure`: retried.
    pub(crate) const SERIALIZATION_FAILURE: &str = "40001";
    /// `deadlock_detected`: retried.
    pub(crate) const DEADLOCK_DETECTED: &str = "40P01";
    /// `query_canceled`: the statement timeout fired.
    pub(crate) const QUERY_CANCELED: &str = "57014";
}

/// A failed step inside the adapter: a database error not yet mapped, or the port's own
/// answer (`NotFound`, `OutOfStock`, ...).
#[derive(Debug)]
pub(crate) enum Fail<E> {
    /// The database said no; mapped at the port boundary.
    Db(sqlx::Error),
    /// A domain answer, already in the port's terms.
    Domain(E),
}

impl<E> From<sqlx::Error> for Fail<E> {
    fn from(e: sqlx::Error) -> Self {
        Fail::Db(e)
    }
}

/// The SQLSTATE of a database error.
pub(crate) fn code(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// The constraint a database error names, when its SQLSTATE is `state`.
pub(crate) fn violated<'e>(e: &'e sqlx::Error, state: &str) -> Option<&'e str> {
    match e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(state) => db.constraint(),
        _ => None,
    }
}

/// The unique constraint a database error reports as violated.
pub(crate) fn unique_violation(e: &sqlx::Error) -> Option<&str> {
    violated(e, sqlstate::UNIQUE_VIOLATION)
}

/// Whether the same transaction may succeed when simply run again: a serialization
/// failure or a deadlock (PostgreSQL rolled the transaction back).
fn is_transient_conflict(e: &sqlx::Error) -> bool {
    matches!(
        code(e).as_deref(),
        Some(sqlstate::SERIALIZATION_FAILURE | sqlstate::DEADLOCK_DETECTED)
    )
}

/// How many times a transaction that hit a serialization failure or a deadlock runs
/// again before the caller sees `Unavailable`.
const MAX_RETRIES: u32 = 4;

/// Runs `attempt` (one whole transaction) and runs it again, up to [`MAX_RETRIES`] times
/// with a short growing pause, when PostgreSQL aborted it with a serialization failure or
/// a deadlock. Every other outcome is returned as it is.
pub(crate) async fn retrying<T, E, F, Fut>(mut attempt: F) -> Result<T, Fail<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Fail<E>>>,
{
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(Fail::Db(e)) if is_transient_conflict(&e) && retries < MAX_RETRIES => {
                retries += 1;
                tracing::debug!(error = %e, retries, "transaction aborted by a concurrent one; running it again");
                // Back off a little so the transaction that won can finish.
                tokio::time::sleep(Duration::from_millis(2u64 << retries)).await;
            }
            other => return other,
        }
    }
}

/// Maps a database error that has no meaning particular to the operation.
///
/// - a unique violation nobody mapped: `AlreadyExists` naming the constraint;
/// - other integrity violations and bad data (classes 22, 23): `Invalid`;
/// - serialization failures and deadlocks that outlived the retries, timeouts, lost or
///   refused connections, an exhausted pool, a server shutting down: `Unavailable`
///   (retryable);
/// - a missing table or schema: `Unavailable`, saying to run the migrations;
/// - anything else, undecodable rows included: `Unavailable` with the error as its source.
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    if let Some(constraint) = unique_violation(&e) {
        return StoreError::AlreadyExists { entity: "record", key: format!("key {constraint}") };
    }
    let message = match &e {
        sqlx::Error::Database(db) => {
            let state = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match state.as_str() {
                sqlstate::SERIALIZATION_FAILURE | sqlstate::DEADLOCK_DETECTED => {
                    "PostgreSQL kept aborting the transaction for concurrent ones; retry"
                }
                sqlstate::QUERY_CANCELED => {
                    "a PostgreSQL statement ran past the statement timeout; retry later"
                }
                // undefined_table, undefined_column, invalid_schema_name
                "42P01" | "42703" | "3F000" => {
                    "the shopkit tables are missing or outdated: run PgStore::migrate"
                }
                s if s.starts_with("22") || s.starts_with("23") => {
                    return StoreError::Invalid {
                        reason: format!("PostgreSQL refused the data ({state}): {}", db.message()),
                    };
                }
                // connection_exception, insufficient_resources, operator_intervention
                // (admin shutdown, terminated backend), system_error.
                s if ["08", "53", "57", "58"].iter().any(|class| s.starts_with(class)) => {
                    "PostgreSQL dropped or refused the connection; retry"
                }
                _ => "PostgreSQL failed the statement",
            }
        }
        sqlx::Error::PoolTimedOut => {
            "no PostgreSQL connection became free within acquire_timeout; retry"
        }
        sqlx::Error::PoolClosed => "the PostgreSQL pool is closed (the shop is shutting down)",
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            "PostgreSQL cannot be reached; retry"
        }
        sqlx::Error::WorkerCrashed => "the PostgreSQL connection worker stopped; retry",
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::TypeNotFound { .. } => {
            "a PostgreSQL row could not be read: the schema does not match this version (run PgStore::migrate)"
        }
        _ => "PostgreSQL failed the request",
    };
    StoreError::unavailable(message, e)
}

/// A stored JSON body that no longer deserializes into its domain type: reported as
/// `Unavailable` with the serde error as its source (the row needs a data migration).
pub(crate) fn undecodable(entity: &'static str, e: serde_json::Error) -> StoreError {
    StoreError::Unavailable {
        message: format!(
            "a stored {entity} could not be decoded: its JSON does not match this version of shopkit"
        ),
        source: Some(Box::new(e)),
    }
}

/// A domain value that does not serialize (a bug: domain types serialize by construction).
pub(crate) fn unencodable(entity: &'static str, e: serde_json::Error) -> StoreError {
    StoreError::Invalid { reason: format!("the {entity} could not be encoded as JSON: {e}") }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::error::Error as StdError;
    use std::fmt;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// A database error with a SQLSTATE and a constraint, as PostgreSQL reports them.
    #[derive(Debug)]
    struct Reported {
        code: &'static str,
        constraint: Option<&'static str>,
    }

    impl fmt::Display for Reported {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "SQLSTATE {}", self.code)
        }
    }

    impl StdError for Reported {}

    impl DatabaseError for Reported {
        fn message(&self) -> &str {
            "reported by the test"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.code))
        }
        fn constraint(&self) -> Option<&str> {
            self.constraint
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn reported(code: &'static str, constraint: Option<&'static str>) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Reported { code, constraint }))
    }

    #[test]
    fn pool_timeouts_and_io_errors_are_retryable_unavailable() {
        let timeout = store_error(sqlx::Error::PoolTimedOut);
        let io = store_error(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));

        assert!(matches!(timeout, StoreError::Unavailable { .. }));
        assert!(timeout.is_retryable());
        assert!(matches!(io, StoreError::Unavailable { source: Some(_), .. }));
        assert!(io.is_retryable());
    }

    #[test]
    fn errors_are_mapped_by_sqlstate_and_constraint_name() {
        let cases = [
            (reported("57014", None), "unavailable"),
            (reported("57P01", None), "unavailable"),
            (reported("08006", None), "unavailable"),
            (reported("40P01", None), "unavailable"),
            (reported("42P01", None), "unavailable"),
            (reported("23514", Some("some_check")), "invalid"),
            (reported("22003", None), "invalid"),
            (reported("23505", Some("products_slug_key")), "exists"),
        ];
        for (error, want) in cases {
            let mapped = store_error(error);
            let got = match &mapped {
                StoreError::Unavailable { .. } => "unavailable",
                StoreError::Invalid { .. } => "invalid",
                StoreError::AlreadyExists { .. } => "exists",
                _ => "other",
            };
            assert_eq!(got, want, "{mapped:?}");
        }
        let unique = reported("23505", Some("carts_token_key"));
        assert_eq!(unique_violation(&unique), Some("carts_token_key"));
        assert_eq!(unique_violation(&reported("23503", Some("x"))), None);
    }

    #[tokio::test(start_paused = true)]
    async fn retrying_runs_a_deadlocked_or_serialization_failed_transaction_again() {
        let mut calls = 0;

        let result: Result<u32, Fail<StoreError>> = retrying(|| {
            calls += 1;
            let outcome = match calls {
                1 => Err(Fail::Db(reported(sqlstate::DEADLOCK_DETECTED, None))),
                2 => Err(Fail::Db(reported(sqlstate::SERIALIZATION_FAILURE, None))),
                n => Ok(n),
            };
            async move { outcome }
        })
        .await;

        assert!(matches!(result, Ok(3)));
    }

    #[tokio::test(start_paused = true)]
    async fn retrying_gives_up_after_a_few_attempts() {
        let mut calls = 0;

        let result: Result<(), Fail<StoreError>> = retrying(|| {
            calls += 1;
            async { Err(Fail::Db(reported(sqlstate::DEADLOCK_DETECTED, None))) }
        })
        .await;

        assert!(matches!(result, Err(Fail::Db(_))));
        assert_eq!(calls, 1 + MAX_RETRIES);
    }

    #[tokio::test(start_paused = true)]
    async fn retrying_gives_domain_answers_and_other_errors_back_at_once() {
        let mut calls = 0;

        let result: Result<(), Fail<&str>> = retrying(|| {
            calls += 1;
            async { Err(Fail::Domain("no")) }
        })
        .await;
        let unique: Result<(), Fail<&str>> =
            retrying(|| async { Err(Fail::Db(reported("23505", Some("orders_pkey")))) }).await;

        assert!(matches!(result, Err(Fail::Domain("no"))));
        assert_eq!(calls, 1);
        assert!(matches!(unique, Err(Fail::Db(_))));
    }
}
