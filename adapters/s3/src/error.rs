//! S3 failures as [`MediaError`]s, by error code and HTTP status (never by message text).
//!
//! | S3 says | the port says |
//! | --- | --- |
//! | `NoSuchKey`, `NotFound`, a bodiless 404 (`HeadObject`) | `NotFound` |
//! | `SlowDown`, throttling, `RequestTimeout`, `InternalError`, `ServiceUnavailable`, 5xx | `Unavailable` (retry later) |
//! | no answer: connection, DNS, TLS, timeout, unreadable response | `Unavailable` |
//! | `BadDigest`, `XAmzContentSHA256Mismatch` (the body arrived damaged) | `Unavailable` |
//! | `NoSuchBucket` | `Unavailable` (create the bucket) |
//! | `AccessDenied`, `InvalidAccessKeyId`, `SignatureDoesNotMatch`, `ExpiredToken` | `Unavailable` (fix the credentials) |
//! | `EntityTooLarge`, `EntityTooSmall`, `InvalidArgument`, `InvalidRequest`, `KeyTooLongError`, other 4xx | `Invalid` |
//!
//! `MediaError::Unavailable` has no `source` field, so the SDK error's chain
//! ([`DisplayErrorContext`]) goes into its message.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use shopkit_core::ports::MediaError;

/// What an S3 failure means for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The object (or upload) is not there.
    NotFound,
    /// The bucket is not there.
    NoSuchBucket,
    /// S3 refused who we are.
    Credentials,
    /// Worth retrying later.
    Transient,
    /// The request itself is wrong; retrying does not help.
    Invalid,
}

/// Classifies an SDK error by its error code, then its HTTP status.
pub(crate) fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Failure {
    match err {
        SdkError::ServiceError(_) => {}
        SdkError::ConstructionFailure(_) => return Failure::Invalid,
        // TimeoutError, DispatchFailure, ResponseError, and any kind added later: S3 did
        // not give an answer we could read.
        _ => return Failure::Transient,
    }
    let status = err.raw_response().map(|r| r.status().as_u16());
    match err.code() {
        Some("NoSuchKey" | "NotFound") => Failure::NotFound,
        Some("NoSuchBucket") => Failure::NoSuchBucket,
        Some(
            "AccessDenied"
            | "AllAccessDisabled"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidToken"
            | "TokenRefreshRequired"
            | "AccountProblem",
        ) => Failure::Credentials,
        Some(
            "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
            | "RequestTimeout"
            | "RequestTimeTooSkewed"
            | "InternalError"
            | "ServiceUnavailable"
            | "OperationAborted"
            | "BadDigest"
            | "XAmzContentSHA256Mismatch"
            | "NoSuchUpload",
        ) => Failure::Transient,
        Some(
            "EntityTooLarge" | "EntityTooSmall" | "InvalidArgument" | "InvalidRequest"
            | "InvalidPart" | "InvalidPartOrder" | "KeyTooLongError" | "MetadataTooLarge"
            | "InvalidDigest" | "MalformedXML",
        ) => Failure::Invalid,
        _ => match status {
            Some(404) => Failure::NotFound,
            Some(401 | 403) => Failure::Credentials,
            Some(408 | 429) => Failure::Transient,
            Some(400..=499) => Failure::Invalid,
            _ => Failure::Transient,
        },
    }
}

/// The port's error for a failed `op` (`"PutObject"`) on `key`, in `bucket`.
pub(crate) fn media_error<E>(
    op: &str,
    bucket: &str,
    key: &str,
    err: SdkError<E, HttpResponse>,
) -> MediaError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().unwrap_or("no error code").to_owned();
    let detail = DisplayErrorContext(&err);
    match classify(&err) {
        Failure::NotFound => MediaError::NotFound { key: key.to_owned() },
        Failure::NoSuchBucket => MediaError::Unavailable {
            message: format!(
                "S3 bucket {bucket} does not exist ({op}): create it (shop setup) or fix the configured bucket"
            ),
        },
        Failure::Credentials => MediaError::Unavailable {
            message: format!(
                "S3 refused the credentials for {op} on {bucket}/{key} ({code}): check the role or keys and the bucket policy: {detail}"
            ),
        },
        Failure::Transient => MediaError::Unavailable {
            message: format!("S3 {op} on {bucket}/{key} failed ({code}); retry later: {detail}"),
        },
        Failure::Invalid => MediaError::Invalid {
            reason: format!(
                "S3 refused {op} on {key} ({code}): {}",
                err.message().unwrap_or("no message")
            ),
        },
    }
}
