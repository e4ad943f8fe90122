//! Idempotent requests: checkout, payment-changing and refund calls require an
//! `Idempotency-Key` header, and a retry with the same key gets the first response back.
//!
//! Use [`Idempotent<T>`] as the body extractor (last argument) and hand the handler's
//! result to [`IdempotencyGuard::finish`]:
//!
//! ```no_run
//! use axum::Json;
//! use axum::extract::State;
//! use axum::http::StatusCode;
//! use axum::response::Response;
//! use shopkit_core::services::ProductDraft;
//! use shopkit_http::dto::{AdminProductDto, CreateProductRequest};
//! use shopkit_http::{AdminAuth, ApiError, AppState, Idempotent};
//!
//! async fn create_product(
//!     State(state): State<AppState>,
//!     _admin: AdminAuth,
//!     Idempotent { body, guard }: Idempotent<CreateProductRequest>,
//! ) -> Response {
//!     let result = async {
//!         let draft = ProductDraft::try_from(body)?;
//!         let product = state.shop().catalog().create_product(draft).await?;
//!         Ok::<_, ApiError>((StatusCode::CREATED, Json(AdminProductDto::from(&product))))
//!     }
//!     .await;
//!     guard.finish(result).await
//! }
//!
//! let _: axum::Router<AppState> =
//!     axum::Router::new().route("/products", axum::routing::post(create_product));
//! ```
//!
//! A checkout handler does the same with `CartAuth` and passes `guard.key()` on to the
//! checkout service, whose own idempotency makes the saga resumable.
//!
//! What happens:
//! - no key: `400 idempotency_key_required`; a malformed one: `400 invalid_header`;
//! - the body is read and parsed first (`400`/`413`/`415`/`422` as [`ApiJson`](crate::ApiJson)),
//!   so malformed requests never claim a key;
//! - the fingerprint is SHA-256 over method, path and query, caller (customer, guest cart
//!   token digest, or anonymous) and the canonical JSON body (key order and whitespace do
//!   not matter);
//! - [`IdempotencyStore::begin`] in scope `http/<caller>`: keys belong to their caller (two
//!   callers who pick the same key never meet, even after a record's retention); a first request runs the handler; a
//!   replay of a finished one gets the stored status and body with
//!   `Idempotent-Replayed: true` (the handler does not run); the same key with another
//!   fingerprint is `422 idempotency_key_reused`; one still running is
//!   `409 idempotency_in_progress` with `Retry-After`;
//! - `finish` stores successes and final client errors (so a replay is identical), and
//!   releases the key on server errors and retryable refusals (conflicts, 429) so the
//!   client can retry with the same key. A handler dropped mid-way (timeout, disconnect)
//!   keeps the key until the lease (`HttpConfig::idempotency_lease`) ends; then a retry
//!   takes it over, which is why the work behind the key must be resumable.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest, OriginalUri, Request};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use shopkit_core::ids::IdempotencyKey;
use shopkit_core::ports::{Clock, IdempotencyBegin, IdempotencyStore};
use shopkit_core::services::ShopError;

use crate::auth;
use crate::error::{ApiError, ProblemCode};
use crate::extract::{body_error, parse_json, require_json};
use crate::state::AppState;

/// The request header naming an idempotent operation.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set to `true` on a replayed response.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// The idempotency store scope of HTTP replays.
pub const SCOPE: &str = "http";

/// The `Idempotency-Key` header, for `#[utoipa::path(params(IdempotencyKeyHeader))]`.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// A key unique to this operation (a fresh UUID per checkout, payment or refund; reuse
    /// it only to retry the same request): 1 to 255 visible ASCII characters.
    #[param(
        rename = "Idempotency-Key",
        value_type = crate::openapi::IdempotencyKeySchema,
        inline,
        example = "5f2b8f0e-8a3c-4d8e-9a55-0b1a7c3e9d21"
    )]
    pub idempotency_key: String,
}

/// A JSON body of an idempotent request, plus the guard that records its response.
#[derive(Debug)]
pub struct Idempotent<T> {
    /// The parsed body. An empty body parses as JSON `null` (use `()` or `Option<_>` for
    /// calls without a body).
    pub body: T,
    /// Hand the handler's result to [`IdempotencyGuard::finish`].
    pub guard: IdempotencyGuard,
}

/// Owns an idempotency key for the duration of one request.
#[must_use = "call guard.finish(result) so the response is stored for replays"]
pub struct IdempotencyGuard {
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
    /// The caller's scope: keys are per caller, so two callers who pick the same key
    /// never see each other's response.
    scope: String,
    key: IdempotencyKey,
    retention: chrono::Duration,
    finished: bool,
}

impl std::fmt::Debug for IdempotencyGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyGuard").field("key", &self.key).finish_non_exhaustive()
    }
}

/// A response as stored for replays.
#[derive(Serialize, Deserialize)]
struct StoredResponse {
    status: u16,
    content_type: Option<String>,
    location: Option<String>,
    body: String,
}

fn chrono_duration(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn key_of(headers: &HeaderMap) -> Result<IdempotencyKey, ApiError> {
    let value = headers.get(&IDEMPOTENCY_KEY).ok_or_else(|| {
        ApiError::new(
            ProblemCode::IdempotencyKeyRequired,
            "send an Idempotency-Key header (a fresh UUID per operation; the same one to retry)",
        )
    })?;
    value.to_str().ok().and_then(|v| IdempotencyKey::new(v).ok()).ok_or_else(|| {
        ApiError::invalid_header("Idempotency-Key", "use 1 to 255 visible ASCII characters")
    })
}

/// Writes JSON with object keys sorted, so equal documents fingerprint equally.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn fingerprint(method: &str, target: &str, subject: &str, body: &Value) -> String {
    let mut doc = String::new();
    canonical(body, &mut doc);
    let mut hash = Sha256::new();
    for part in [method, target, subject, &doc] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    hex::encode(hash.finalize())
}

fn replay(stored: &str) -> Response {
    let Ok(stored) = serde_json::from_str::<StoredResponse>(stored) else {
        return ApiError::internal("an idempotency record could not be read").into_response();
    };
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    headers.remove(CONTENT_TYPE);
    if let Some(value) = stored.content_type.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(CONTENT_TYPE, value);
    }
    if let Some(value) = stored.location.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(LOCATION, value);
    }
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl<T, S> FromRequest<S> for Idempotent<T>
where
    T: DeserializeOwned + Send,
    AppState: FromRef<S>,
    S: Send + Sync,
{
    /// A problem, or the replayed first response.
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let app = AppState::from_ref(state);
        let (mut parts, body) = req.into_parts();
        let key = key_of(&parts.headers).map_err(IntoResponse::into_response)?;
        let subject = auth::subject(&mut parts, &app).await.map_err(IntoResponse::into_response)?;
        let method = parts.method.to_string();
        let target = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |o| &o.0)
            .path_and_query()
            .map_or_else(String::new, ToString::to_string);
        let content_type_ok = require_json(&parts.headers);
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| body_error(e).into_response())?;

        let (value, body) = if bytes.iter().all(u8::is_ascii_whitespace) {
            let body = serde_json::from_value::<T>(Value::Null).map_err(|_| {
                ApiError::new(ProblemCode::MalformedJson, "this request needs a JSON body")
                    .into_response()
            })?;
            (Value::Null, body)
        } else {
            content_type_ok.map_err(IntoResponse::into_response)?;
            let body = parse_json::<T>(&bytes).map_err(IntoResponse::into_response)?;
            let value = parse_json::<Value>(&bytes).map_err(IntoResponse::into_response)?;
            (value, body)
        };

        let config = app.config();
        let scope = format!("{SCOPE}/{subject}");
        let outcome = app
            .idempotency()
            .begin(
                &scope,
                &key,
                &fingerprint(&method, &target, &subject, &value),
                app.clock().now(),
                chrono_duration(config.idempotency_lease),
            )
            .await
            .map_err(|e| ApiError::from(ShopError::from(e)).into_response())?;
        match outcome {
            IdempotencyBegin::Started => Ok(Idempotent {
                body,
                guard: IdempotencyGuard {
                    store: app.idempotency().clone(),
                    clock: app.clock().clone(),
                    scope,
                    key,
                    retention: chrono_duration(config.idempotency_retention),
                    finished: false,
                },
            }),
            IdempotencyBegin::Completed(stored) => Err(replay(&stored)),
            IdempotencyBegin::InProgress => Err(ApiError::new(
                ProblemCode::IdempotencyInProgress,
                "a request with this Idempotency-Key is still being processed: retry shortly with the same key",
            )
            .retry_after(1)
            .into_response()),
            IdempotencyBegin::Mismatch => Err(ApiError::new(
                ProblemCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request: send this request with a new key",
            )
            .into_response()),
        }
    }
}

impl IdempotencyGuard {
    /// The client's key (pass it on to services that take one, such as checkout).
    pub fn key(&self) -> &IdempotencyKey {
        &self.key
    }

    /// Turns the handler's result into the response, storing it for replays when it is
    /// final (a success or a non-retryable client error) and releasing the key otherwise.
    /// A store failure is logged: the client still gets its response.
    pub async fn finish<R: IntoResponse>(self, result: Result<R, ApiError>) -> Response {
        let (response, release) = match result {
            Ok(ok) => (ok.into_response(), false),
            Err(e) => {
                let retryable = e.is_retryable();
                (e.into_response(), retryable)
            }
        };
        self.settle(response, release).await
    }

    /// Like [`finish`](Self::finish), for work whose client is no longer waiting (it was
    /// told `202 Accepted`, or it disconnected): every final answer is stored, refusals
    /// included, so the client's retry with the same key learns how it ended instead of
    /// starting the work again. Only server errors and "still in progress" release the
    /// key.
    pub async fn finish_unattended<R: IntoResponse>(self, result: Result<R, ApiError>) -> Response {
        let (response, release) = match result {
            Ok(ok) => (ok.into_response(), false),
            Err(e) => {
                let running = e.code() == ProblemCode::IdempotencyInProgress;
                (e.into_response(), running)
            }
        };
        self.settle(response, release).await
    }

    /// Stores `response` for replays, or releases the key when `release` is set or the
    /// response is a server error.
    async fn settle(mut self, response: Response, release: bool) -> Response {
        self.finished = true;
        if release || response.status().is_server_error() {
            self.abandon().await;
            return response;
        }
        let (parts, body) = response.into_parts();
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                self.abandon().await;
                return ApiError::internal(format!("response body failed: {e}")).into_response();
            }
        };
        match std::str::from_utf8(&bytes) {
            Ok(text) => self.complete(&parts.headers, parts.status, text).await,
            // Only JSON is stored; anything else is not replayable.
            Err(_) => self.abandon().await,
        }
        Response::from_parts(parts, Body::from(bytes))
    }

    async fn complete(&self, headers: &HeaderMap, status: StatusCode, body: &str) {
        let header =
            |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_owned);
        let stored = StoredResponse {
            status: status.as_u16(),
            content_type: header(CONTENT_TYPE),
            location: header(LOCATION),
            body: body.to_owned(),
        };
        let result = match serde_json::to_string(&stored) {
            Ok(record) => {
                self.store
                    .complete(&self.scope, &self.key, &record, self.clock.now(), self.retention)
                    .await
            }
            Err(e) => {
                tracing::error!(error = %e, "idempotency record not serialized");
                return;
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "response not stored for replay; a retry within the lease gets 409");
        }
    }

    async fn abandon(&self) {
        if let Err(e) = self.store.abandon(&self.scope, &self.key).await {
            tracing::error!(error = %e, "idempotency key not released; it frees up when its lease ends");
        }
    }
}

impl Drop for IdempotencyGuard {
    fn drop(&mut self) {
        if !self.finished {
            tracing::warn!(
                "an idempotent request ended without finish(): its key stays in progress until the lease ends"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fingerprints_ignore_key_order_and_whitespace_but_not_values() {
        let a =
            fingerprint("POST", "/c", "customer:1", &json!({"a": 1, "b": [1, {"y": 2, "x": 1}]}));
        let b =
            fingerprint("POST", "/c", "customer:1", &json!({"b": [1, {"x": 1, "y": 2}], "a": 1}));
        let other_value = fingerprint("POST", "/c", "customer:1", &json!({"a": 2, "b": []}));
        let other_caller =
            fingerprint("POST", "/c", "customer:2", &json!({"a": 1, "b": [1, {"y": 2, "x": 1}]}));
        assert_eq!(a, b);
        assert_ne!(a, other_value);
        assert_ne!(a, other_caller);
    }

    #[test]
    fn a_missing_key_and_a_malformed_key_are_told_apart() {
        let mut headers = HeaderMap::new();
        assert_eq!(key_of(&headers).unwrap_err().code(), ProblemCode::IdempotencyKeyRequired);
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("has space"));
        assert_eq!(key_of(&headers).unwrap_err().code(), ProblemCode::InvalidHeader);
    }
}
