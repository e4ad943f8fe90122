//! The safety net: any error response that is not already JSON (axum's 405 for a known
//! path with another method, a layer's bare status, plain text) becomes problem+json, keeping its status
//! and headers (`Allow`, `Retry-After`). Responses without `Cache-Control` get `no-store`,
//! so a CDN never caches personal data by accident; catalog reads set their own.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::dto::ProblemDto;
use crate::error::{ApiError, PROBLEM_JSON, ProblemCode};

/// Router fallback: no route has this path.
pub(crate) async fn route_not_found() -> ApiError {
    ApiError::new(
        ProblemCode::RouteNotFound,
        "no route matches this path: see /api/docs for the API",
    )
}

/// Whether a handler wrote this error body on purpose (a problem, or JSON such as the
/// readiness report); bare statuses and plain text are not.
fn is_deliberate(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON) || v.starts_with("application/json"))
}

fn detail_for(code: ProblemCode, status: StatusCode) -> String {
    match code {
        ProblemCode::RouteNotFound => {
            "no route matches this path: see /api/docs for the API".into()
        }
        ProblemCode::MethodNotAllowed => {
            "this route does not accept this method: see the Allow header".into()
        }
        ProblemCode::PayloadTooLarge => {
            "the request body is larger than this server accepts: send less data".into()
        }
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    }
}

/// Rewrites a bare error response as problem+json.
fn as_problem(response: Response) -> Response {
    let status = response.status();
    let code = ProblemCode::for_status(status);
    let (mut parts, _) = response.into_parts();
    let mut problem = ApiError::new(code, detail_for(code, status)).to_problem();
    // Keep the status the response had, even when no code maps to it exactly.
    problem.status = status.as_u16();
    let body = serde_json::to_vec::<ProblemDto>(&problem).unwrap_or_default();
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, Body::from(body))
}

pub(crate) async fn problem_responses(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if !response.headers().contains_key(CACHE_CONTROL) {
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let status = response.status();
    if (status.is_client_error() || status.is_server_error()) && !is_deliberate(&response) {
        return as_problem(response);
    }
    response
}

/// A panic in a handler: `500 internal`, the panic message logged, never sent.
pub(crate) fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a handler panicked".to_owned());
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}
