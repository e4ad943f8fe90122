//! [`ApiError`]: the one error type of the HTTP layer, rendered as RFC 9457
//! `application/problem+json`.
//!
//! - [`ProblemCode`] is the stable, machine-readable `code` (and `type` URI); each code has
//!   one HTTP status.
//! - `From<ShopError>` (`error/domain.rs`) maps every domain error, nested enums included.
//! - Server errors (5xx) never show their detail to the client: the client gets a fixed
//!   text per code and the `request_id`; the detail and the source chain are logged once,
//!   in the request's span, when the error becomes a response.
//!
//! # Status rules
//! - 400: the request cannot be read: JSON syntax, an empty body, a path segment or query
//!   string of the wrong form, a malformed header.
//! - 422: the request was read, but a value has the wrong type, is missing, or breaks a
//!   rule (domain `Invalid`, quantity limits, unknown SKU, rejected coupon...).
//! - 409: the state of a record forbids it now (concurrent change, out of stock, closed
//!   cart, illegal transition, in-progress idempotent request).

mod code;
mod domain;

use std::error::Error as StdError;
use std::fmt;

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

pub use code::ProblemCode;

use crate::dto::ProblemDto;
use crate::middleware::request_id;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error a handler or extractor answers with. Becomes `application/problem+json`:
///
/// ```json
/// { "type": "https://shopkit.dev/problems/out_of_stock", "title": "Out of stock",
///   "status": 409, "detail": "out of stock: TEE-M has 1 available, 3 requested",
///   "code": "out_of_stock", "request_id": "…", "sku": "TEE-M", "requested": 3, "available": 1 }
/// ```
///
/// Handlers return `Result<_, ApiError>` and use `?` on service calls: `ShopError`
/// converts by itself. Build other errors with the constructors ([`ApiError::validation`],
/// [`ApiError::not_found`], ...) or [`ApiError::new`] plus [`ApiError::with`] for extension
/// members.
pub struct ApiError {
    // Boxed: errors travel in `Result`s through every handler; keep them one pointer wide.
    inner: Box<Inner>,
}

struct Inner {
    code: ProblemCode,
    detail: String,
    extensions: Map<String, Value>,
    headers: HeaderMap,
    retryable: bool,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("code", &self.inner.code)
            .field("detail", &self.inner.detail)
            .field("extensions", &self.inner.extensions)
            .field("retryable", &self.inner.retryable)
            .field("source", &self.inner.source)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.inner.code,
            self.inner.code.status().as_u16(),
            self.inner.detail
        )
    }
}

impl StdError for ApiError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

/// Members every problem has; [`ApiError::with`] cannot overwrite them.
const RESERVED: &[&str] = &["type", "title", "status", "detail", "code", "request_id", "instance"];

impl ApiError {
    /// An error with a code and a detail saying what went wrong and what to do. For a 5xx
    /// code the detail is logged, never sent.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        let status = code.status();
        ApiError {
            inner: Box::new(Inner {
                code,
                detail: detail.into(),
                extensions: Map::new(),
                headers: HeaderMap::new(),
                retryable: status.is_server_error()
                    || status == StatusCode::TOO_MANY_REQUESTS
                    || matches!(code, ProblemCode::Conflict | ProblemCode::IdempotencyInProgress),
                source: None,
            }),
        }
    }

    /// Adds an extension member (`sku`, `field`, `available`...). Values that cannot be
    /// serialized, and the reserved names (`type`, `title`, `status`, `detail`, `code`,
    /// `request_id`, `instance`), are ignored.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        if !RESERVED.contains(&key)
            && let Ok(value) = serde_json::to_value(value)
        {
            self.inner.extensions.insert(key.to_owned(), value);
        }
        self
    }

    /// Adds a response header.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.inner.headers.append(name, value);
        self
    }

    /// Sets `Retry-After` (seconds, at least 1).
    #[must_use]
    pub fn retry_after(self, seconds: u64) -> Self {
        self.with_header(RETRY_AFTER, HeaderValue::from(seconds.max(1)))
    }

    /// Keeps the underlying error for the log (never sent to the client).
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Overrides whether the same request may succeed later (decides whether an
    /// idempotent request's response is stored for replay or the key is released).
    #[must_use]
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.inner.retryable = retryable;
        self
    }

    /// `404 not_found` for a record of kind `entity` (`"order"`).
    pub fn not_found(entity: &str, id: impl fmt::Display) -> Self {
        ApiError::new(ProblemCode::NotFound, format!("{entity} {id} not found: check the id"))
            .with("entity", entity)
            .with("id", id.to_string())
    }

    /// `422 validation_failed` naming the `field` at fault (a JSON path such as
    /// `variants[0].sku`, or a parameter name).
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let field = field.into();
        ApiError::new(ProblemCode::ValidationFailed, detail).with("field", field)
    }

    /// `400 invalid_query` naming the parameter at fault.
    pub fn invalid_query(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let field = field.into();
        ApiError::new(ProblemCode::InvalidQuery, detail).with("field", field)
    }

    /// `400 invalid_header` naming the header at fault.
    pub fn invalid_header(header: &str, detail: impl Into<String>) -> Self {
        ApiError::new(ProblemCode::InvalidHeader, detail).with("header", header)
    }

    /// `401 unauthenticated` with `WWW-Authenticate: Bearer`; `token_error` (RFC 6750
    /// `invalid_token`) is set when a token was sent but refused.
    pub fn unauthenticated(detail: impl Into<String>, token_error: bool) -> Self {
        let challenge = if token_error {
            HeaderValue::from_static(r#"Bearer realm="shopkit", error="invalid_token""#)
        } else {
            HeaderValue::from_static(r#"Bearer realm="shopkit""#)
        };
        ApiError::new(ProblemCode::Unauthenticated, detail).with_header(WWW_AUTHENTICATE, challenge)
    }

    /// `403 forbidden`.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::new(ProblemCode::Forbidden, detail)
    }

    /// `500 internal`: `message` is logged with the request id, never sent.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(ProblemCode::Internal, message)
    }

    /// `503 unavailable` with `Retry-After: 5`; `source` is logged, never sent.
    pub fn unavailable(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        ApiError::new(ProblemCode::Unavailable, "a backend is unavailable")
            .retry_after(5)
            .with_source(source)
    }

    /// The stable code.
    pub fn code(&self) -> ProblemCode {
        self.inner.code
    }

    /// The HTTP status (always `self.inner.code().status()`).
    pub fn status(&self) -> StatusCode {
        self.inner.code.status()
    }

    /// The detail as written (for 5xx, what is logged rather than sent).
    pub fn detail(&self) -> &str {
        &self.inner.detail
    }

    /// An extension member.
    pub fn extension(&self, key: &str) -> Option<&Value> {
        self.inner.extensions.get(key)
    }

    /// The extra response headers (`Retry-After`, `WWW-Authenticate`).
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// Whether the same request may succeed later (conflicts, rate limits, outages).
    pub fn is_retryable(&self) -> bool {
        self.inner.retryable
    }

    /// What the client is told: the detail for 4xx, a fixed text for 5xx.
    fn public_detail(&self) -> String {
        match self.inner.code {
            ProblemCode::Unavailable => "a backend is unavailable: retry later".to_owned(),
            ProblemCode::PaymentGatewayUnavailable => {
                "the payment gateway did not answer: retry with the same Idempotency-Key".to_owned()
            }
            ProblemCode::TimedOut => "the request took too long and may or may not have taken \
                 effect: retry it (with the same Idempotency-Key where one is required)"
                .to_owned(),
            code if code.status().is_server_error() => {
                "an internal error occurred: retry later, or contact support quoting the request_id"
                    .to_owned()
            }
            _ => self.inner.detail.clone(),
        }
    }

    /// The problem document this error renders to (with `request_id` when known).
    pub fn to_problem(&self) -> ProblemDto {
        ProblemDto {
            type_uri: self.inner.code.type_uri(),
            title: self.inner.code.title().to_owned(),
            status: self.inner.code.status().as_u16(),
            detail: self.public_detail(),
            code: self.inner.code,
            request_id: request_id::current(),
            extensions: self.inner.extensions.clone(),
        }
    }

    fn log(&self) {
        let status = self.inner.code.status().as_u16();
        if self.inner.code.status().is_server_error() {
            let chain = source_chain(self.inner.source.as_deref());
            tracing::error!(code = %self.inner.code, status, detail = %self.inner.detail, source = %chain, "request failed");
        } else {
            tracing::debug!(code = %self.inner.code, status, detail = %self.inner.detail, "request refused");
        }
    }
}

fn source_chain(source: Option<&(dyn StdError + Send + Sync + 'static)>) -> String {
    let mut out = String::new();
    let mut next = source.map(|e| e as &(dyn StdError + 'static));
    while let Some(e) = next {
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let problem = self.to_problem();
        let body = match serde_json::to_vec(&problem) {
            Ok(body) => body,
            // A map of JSON values always serializes; keep a valid body regardless.
            Err(_) => br#"{"type":"about:blank","title":"Internal error","status":500,"code":"internal","detail":"an internal error occurred"}"#.to_vec(),
        };
        let mut response = (
            self.inner.code.status(),
            [(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
            body,
        )
            .into_response();
        response.headers_mut().extend(self.inner.headers);
        response
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn render(error: ApiError) -> (StatusCode, HeaderMap, Value) {
        let response = error.into_response();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_problem_carries_its_code_type_status_and_extensions() {
        let error = ApiError::new(ProblemCode::OutOfStock, "only 1 left").with("available", 1);

        let (status, headers, body) = render(error).await;

        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(headers[CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(body["type"], "https://shopkit.dev/problems/out_of_stock");
        assert_eq!(body["code"], "out_of_stock");
        assert_eq!(body["status"], 409);
        assert_eq!(body["title"], "Out of stock");
        assert_eq!(body["detail"], "only 1 left");
        assert_eq!(body["available"], 1);
    }

    #[tokio::test]
    async fn extensions_cannot_overwrite_the_standard_members() {
        let error = ApiError::new(ProblemCode::NotFound, "gone").with("status", 200);

        let (_, _, body) = render(error).await;

        assert_eq!(body["status"], 404);
    }

    #[tokio::test]
    async fn a_server_error_hides_its_detail_and_source() {
        let error = ApiError::internal("order 42 missing after checkout; db=10.0.0.7")
            .with_source(std::io::Error::other("password=hunter2"));

        let (status, _, body) = render(error).await;

        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let text = body.to_string();
        assert!(!text.contains("10.0.0.7") && !text.contains("hunter2"), "{text}");
        assert_eq!(body["code"], "internal");
    }

    #[tokio::test]
    async fn unauthenticated_errors_challenge_for_a_bearer_token() {
        let (status, headers, _) = render(ApiError::unauthenticated("sign in", true)).await;

        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(headers[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"));
    }
}
