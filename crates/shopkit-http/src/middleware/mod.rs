//! The middleware stack every route runs behind, outermost first:
//!
//! 1. request id ([`request_id`]): set or generated, echoed, in every problem body;
//! 2. a tracing span per request (method, matched path, request id, then status and
//!    latency);
//! 3. catch-panic: a panicking handler answers `500 internal`;
//! 4. problem safety net (`middleware/problems.rs`): bare error statuses become problem+json;
//!    `Cache-Control: no-store` unless the handler set caching;
//! 5. CORS, from [`HttpConfig::cors_allowed_origins`] (absent when empty);
//! 6. per-client rate limit (`middleware/rate_limit.rs`), API routes only (not health probes);
//! 7. request timeout: `503 timed_out`;
//! 8. body size limit (enforced by the body extractors: `413 payload_too_large`).

pub(crate) mod problems;
pub(crate) mod rate_limit;
pub mod request_id;

use std::sync::Arc;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::{
    AUTHORIZATION, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::auth::X_CART_TOKEN;
use crate::config::HttpConfig;
use crate::error::{ApiError, ProblemCode};
use crate::idempotency::{IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED};
use request_id::X_REQUEST_ID;

/// Applies the inner layers (timeout, body limit, rate limit) to the API routes.
pub(crate) fn api_layers<S>(
    router: Router<S>,
    config: &HttpConfig,
    shared: Option<Arc<dyn shopkit_core::ports::RateLimiter>>,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let router = router
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(from_fn_with_state(config.request_timeout, timeout));
    match rate_limit::RateLimiter::from_config(config, shared) {
        Some(limiter) => router.layer(from_fn_with_state(limiter, rate_limit::rate_limit)),
        None => router,
    }
}

/// Applies the outer layers (CORS, problems, panics, tracing, request id) to everything.
pub(crate) fn outer_layers(router: Router, config: &HttpConfig) -> Router {
    let router = match cors(config) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(from_fn(problems::problem_responses))
        .layer(CatchPanicLayer::custom(problems::panic_response))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(())
                .on_response(on_response),
        )
        .layer(from_fn(request_id::request_id))
}

fn make_span(req: &Request) -> Span {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned());
    let request_id = req.headers().get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!(
        "http_request",
        method = %req.method(),
        path = %path,
        request_id = %request_id,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

fn on_response(response: &Response, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    span.record("status", status);
    span.record("latency_ms", latency_ms);
    tracing::info!(parent: span, status, latency_ms, "response");
}

async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            ProblemCode::TimedOut,
            format!("the request did not finish within {} ms", limit.as_millis()),
        )
        .retry_after(1)
        .into_response(),
    }
}

/// The CORS layer for the configured origins; `None` (same-origin only) when empty.
fn cors(config: &HttpConfig) -> Option<CorsLayer> {
    if config.cors_allowed_origins.is_empty() {
        return None;
    }
    let origin = if config.cors_allowed_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        // Validated by `HttpConfig::validate` when the state was built.
        AllowOrigin::list(
            config.cors_allowed_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(origin)
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                AUTHORIZATION,
                CONTENT_TYPE,
                IF_NONE_MATCH,
                IDEMPOTENCY_KEY,
                HeaderName::from_static(X_CART_TOKEN),
                X_REQUEST_ID,
            ])
            .expose_headers([
                ETAG,
                LOCATION,
                RETRY_AFTER,
                WWW_AUTHENTICATE,
                X_REQUEST_ID,
                IDEMPOTENT_REPLAYED,
            ])
            .max_age(Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn call(router: Router, uri: &str) -> (StatusCode, serde_json::Value, Option<String>) {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let id = response.headers().get(&X_REQUEST_ID).map(|v| v.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or_default(), id)
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_request_times_out_with_a_503_problem() {
        let config =
            HttpConfig { request_timeout: Duration::from_secs(2), ..HttpConfig::default() };
        let slow = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "done"
            }),
        );
        let router = outer_layers(api_layers(slow, &config, None), &config);

        let (status, problem, _) = call(router, "/slow").await;

        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(problem["code"], "timed_out");
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_500_problem_without_the_panic_message() {
        let config = HttpConfig::default();
        let boom = Router::new().route(
            "/boom",
            get(|| async {
                if true {
                    panic!("secret connection string");
                }
                "unreachable"
            }),
        );
        let router = outer_layers(api_layers(boom, &config, None), &config);

        let (status, problem, id) = call(router, "/boom").await;

        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(problem["code"], "internal");
        assert!(!problem.to_string().contains("secret"));
        assert_eq!(problem["request_id"].as_str(), id.as_deref());
    }

    #[tokio::test]
    async fn a_plain_text_error_from_anywhere_becomes_a_problem() {
        let config = HttpConfig::default();
        let teapot =
            Router::new().route("/plain", get(|| async { (StatusCode::BAD_REQUEST, "nope") }));
        let router = outer_layers(teapot, &config);

        let (status, problem, _) = call(router, "/plain").await;

        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["code"], "malformed_request");
    }
}
