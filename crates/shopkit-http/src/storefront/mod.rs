//! The storefront API, mounted under `/api/v1`: what shoppers' web, mobile and desktop
//! clients call.
//!
//! One module per area; each has a `router()` registering its handlers with
//! `routes!(handler)` (one `routes!` per path: it puts the handler both in the axum router
//! and in the OpenAPI document). Add a module here and merge its router below.

pub mod account;
pub mod auth;
pub mod carts;
pub mod checkout;
pub mod orders;
pub mod products;
pub mod recommendations;
pub mod search;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every storefront route, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(products::router())
        .merge(auth::router())
        .merge(search::router())
        .merge(recommendations::router())
        .merge(carts::router())
        .merge(checkout::router())
        .merge(orders::router())
        .merge(account::router())
}
