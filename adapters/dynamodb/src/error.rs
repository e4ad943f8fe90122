//! Mapping DynamoDB errors to the ports' errors, by error code (never by message text).
//!
//! | DynamoDB                                                            | port error              |
//! |---------------------------------------------------------------------|-------------------------|
//! | `ThrottlingException`, `ProvisionedThroughputExceededException`, `RequestLimitExceeded`, `LimitExceededException` | `Unavailable` (retryable) |
//! | `InternalServerError`, any 5xx, a dispatch failure or timeout        | `Unavailable`           |
//! | `TransactionConflictException`, `TransactionInProgressException`     | `Unavailable`           |
//! | `ResourceNotFoundException` (no table or index)                       | `Unavailable`, saying to run `create_tables` |
//! | credentials refused (`AccessDeniedException`, `UnrecognizedClientException`, ...) | `Unavailable`, saying to check the IAM policy |
//! | `ValidationException` (item too large, malformed request), `ItemCollectionSizeLimitExceededException` | `Invalid` |
//!
//! `ConditionalCheckFailedException` and `TransactionCanceledException` are not mapped
//! here: each operation reads them (with the item returned by
//! `ReturnValuesOnConditionCheckFailure`) to answer `VersionConflict`, `AlreadyExists`,
//! `OutOfStock`... The SDK error is kept as the `source` of `Unavailable`, never exposed.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use shopkit_core::ports::StoreError;

/// Error codes that mean "slow down and retry".
const THROTTLED: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

/// Error codes that mean "the credentials or their permissions were refused".
const DENIED: &[&str] = &[
    "AccessDeniedException",
    "UnrecognizedClientException",
    "MissingAuthenticationTokenException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "IncompleteSignatureException",
];

/// The port error for a failed DynamoDB call `op` (`"GetItem"`) on `table`.
pub(crate) fn store_error<E>(
    op: &'static str,
    table: &str,
    err: SdkError<E, HttpResponse>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unavailable = |message: String, err: SdkError<E, HttpResponse>| StoreError::Unavailable {
        message,
        source: Some(Box::new(err)),
    };
    match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("");
            let detail = service.err().message().unwrap_or("").to_owned();
            if THROTTLED.contains(&code) {
                unavailable(
                    format!(
                        "DynamoDB throttled {op} on {table} ({code}): retry with backoff; raise the table's capacity or use on-demand mode"
                    ),
                    err,
                )
            } else if code == "ValidationException" || code == "SerializationException" {
                StoreError::Invalid {
                    reason: format!("DynamoDB refused {op} on {table} ({code}): {detail}"),
                }
            } else if code == "ItemCollectionSizeLimitExceededException" {
                StoreError::Invalid {
                    reason: format!(
                        "DynamoDB refused {op} on {table}: an item collection passed 10 GB ({detail})"
                    ),
                }
            } else if code == "ResourceNotFoundException" {
                unavailable(
                    format!(
                        "DynamoDB table {table} or one of its indexes does not exist ({op}): create it with shopkit_dynamodb::create_tables"
                    ),
                    err,
                )
            } else if DENIED.contains(&code) {
                unavailable(
                    format!(
                        "DynamoDB refused the credentials for {op} on {table} ({code}): check the IAM policy and the region"
                    ),
                    err,
                )
            } else if code == "TransactionConflictException"
                || code == "TransactionInProgressException"
            {
                unavailable(
                    format!(
                        "DynamoDB {op} on {table} met a concurrent transaction ({code}): retry"
                    ),
                    err,
                )
            } else {
                let status = service.raw().status().as_u16();
                unavailable(
                    format!(
                        "DynamoDB {op} on {table} failed ({}, HTTP {status}): retry later",
                        if code.is_empty() { "no error code" } else { code }
                    ),
                    err,
                )
            }
        }
        SdkError::TimeoutError(_) => {
            unavailable(format!("DynamoDB {op} on {table} timed out: retry later"), err)
        }
        SdkError::DispatchFailure(_) => unavailable(
            format!(
                "DynamoDB could not be reached for {op} on {table}: check the endpoint and network"
            ),
            err,
        ),
        SdkError::ResponseError(_) => unavailable(
            format!("DynamoDB sent an unreadable response to {op} on {table}: retry later"),
            err,
        ),
        SdkError::ConstructionFailure(_) => StoreError::Invalid {
            reason: format!("the {op} request on {table} could not be built: {err}"),
        },
        _ => unavailable(format!("DynamoDB {op} on {table} failed: retry later"), err),
    }
}

/// The error for a stored item that cannot be read back as a domain value.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable {
        message: format!(
            "a stored {what} could not be read ({detail}): it was written by an incompatible release or by hand; fix or delete the item"
        ),
        source: None,
    }
}
