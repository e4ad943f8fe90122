//! # shopkit-http
//!
//! The HTTP adapter of shopkit: axum routers over the core's services. The storefront API
//! lives under `/api/v1`, the back office under `/api/admin/v1`; the OpenAPI 3.1 document
//! (generated from the code) at `/api/openapi.json`, a reference page at `/api/docs`, and
//! the probes at `/healthz` and `/readyz`.
//!
//! ```no_run
//! # async fn run(state: shopkit_http::AppState, stop: tokio::sync::oneshot::Receiver<()>) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let app = shopkit_http::router(state);
//! shopkit_http::serve(listener, app, async { let _ = stop.await; }).await
//! # }
//! ```
//!
//! # Layout
//! - [`state`]: [`AppState`] (services + the few ports HTTP needs) and its builder;
//!   [`config`]: [`HttpConfig`].
//! - [`error`]: [`ApiError`], RFC 9457 problem+json with a stable [`ProblemCode`]; the
//!   exhaustive mapping of `ShopError` lives in `error/domain.rs`.
//! - [`extract`]: [`ApiJson`], [`ApiPath`], [`ApiQuery`] (bad input → 4xx problems);
//!   [`auth`]: [`CustomerAuth`], [`AdminAuth`], [`OptionalAuth`], [`CartAuth`],
//!   [`GuestCartToken`]; [`idempotency`]: [`Idempotent`] and its guard;
//!   [`catalog_cache`]: [`CatalogCache`] (ETag, Cache-Control, 304).
//! - [`dto`]: wire types and their conversions to and from domain types.
//! - [`storefront`], [`admin`]: one module per area, each with a `router()`;
//!   [`health`]: probes; `openapi`: the document and the docs page.
//! - [`middleware`]: request id, tracing, panics, problem safety net, CORS, rate limit,
//!   timeout, body limit (order documented there).
//!
//! # Adding a route
//! 1. Write the handler in the area's module (`storefront/carts.rs`): it extracts
//!    (`State<AppState>`, an auth extractor, `ApiPath`/`ApiQuery`, then the body last:
//!    `ApiJson<T>` or `Idempotent<T>`), converts the DTO into domain types (`TryFrom`,
//!    errors are 4xx `ApiError`s naming the field), calls ONE service method through
//!    `state.shop()...` (never a port or a store), and converts the result into a DTO
//!    (`From<&Domain>`). Return `Result<_, ApiError>`; `?` on a `ShopError` maps it
//!    (no per-handler error mapping). Lists return [`PageDto`].
//! 2. Annotate it with `#[utoipa::path(method, path = "/relative", tag = ..., params(..),
//!    request_body = .., responses(..), security(("bearer" = [])))]`, documenting the
//!    success response and the errors specific to it; the common problem responses (400,
//!    401, 403, 422, 429, 500, 503) are added to every operation by `openapi.rs`.
//!    Derive `ToSchema` on every DTO (`IntoParams` on query structs).
//! 3. Register it in the module's `router()` with `.routes(routes!(handler))`: one
//!    `routes!` per path (handlers of the same path may share one). That adds it to both
//!    the axum router and the OpenAPI document; a new module's router is merged in
//!    `storefront::router()` or `admin::router()`.
//! 4. Test it through [`router`] with `tower::ServiceExt::oneshot` (see `tests/http/`).
//!
//! Storefront handlers act for the signed-in person ([`CustomerAuth::caller`] is always a
//! customer, so other customers' ids answer 404); back-office handlers take [`AdminAuth`].
//! Checkout, payment-changing and refund handlers take [`Idempotent<T>`].

pub mod admin;
pub mod auth;
pub mod catalog_cache;
pub mod config;
pub mod dto;
pub mod error;
pub mod extract;
pub mod health;
pub mod idempotency;
pub mod middleware;
mod openapi;
pub mod state;
pub mod storefront;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use auth::{AdminAuth, CartAuth, CustomerAuth, GuestCartToken, OptionalAuth};
pub use catalog_cache::CatalogCache;
pub use config::{HttpConfig, InvalidConfig};
pub use dto::{MoneyDto, PageDto, ProblemDto};
pub use error::{ApiError, ProblemCode};
pub use extract::{ApiJson, ApiPath, ApiQuery};
pub use idempotency::{IdempotencyGuard, Idempotent};
pub use state::{AppState, AppStateBuilder, AppStateError};

/// The documented routes: the storefront and back-office APIs and the probes.
fn documented() -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let (api, mut doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", storefront::router())
        .nest("/api/admin/v1", admin::router())
        .split_for_parts();
    let (health, health_doc) = health::router().split_for_parts();
    doc.merge(health_doc);
    (api, health, openapi::finish(doc))
}

/// The OpenAPI 3.1 document of every route, as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().2
}

/// The whole application: every route, the OpenAPI document and docs page, the probes,
/// a problem+json fallback for unknown routes, and the middleware stack. A pure function
/// of its state: tests call it and drive it with `tower::ServiceExt::oneshot`.
pub fn router(state: AppState) -> Router {
    let (api, health, doc) = documented();
    let config = state.config().clone();
    let shared_limiter = state.rate_limiter().cloned();
    let api = middleware::api_layers(api, &config, shared_limiter).with_state(state.clone());
    let app = Router::new()
        .merge(api)
        .merge(health.with_state(state))
        .merge(openapi::routes(&doc))
        .fallback(middleware::problems::route_not_found);
    middleware::outer_layers(app, &config)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish (graceful shutdown). Peer addresses reach the rate limiter through
/// `ConnectInfo`. Tests bind port 0 and pass a oneshot receiver as `shutdown`.
///
/// # Errors
/// The listener's I/O errors.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
