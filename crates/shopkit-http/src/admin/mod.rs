//! The back-office API, mounted under `/api/admin/v1`. Every handler takes
//! [`AdminAuth`](crate::auth::AdminAuth): 401 without a valid token, 403 for a customer.
//!
//! Same pattern as the storefront: one module per area, each with a `router()`.

pub mod products;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every back-office route, relative to `/api/admin/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(products::router())
}
