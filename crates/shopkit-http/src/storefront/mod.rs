//! The storefront API, mounted under `/api/v1`: what shoppers' web, mobile and desktop
//! clients call.
//!
//! One module per area; each has a `router()` registering its handlers with
//! `routes!(handler)` (one `routes!` per path: it puts the handler both in the axum router
//! and in the OpenAPI document). Add a module here and merge its router below.

pub mod auth;
pub mod products;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every storefront route, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(products::router()).merge(auth::router())
}
