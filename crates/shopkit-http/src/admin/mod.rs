//! The back-office API, mounted under `/api/admin/v1`. Every handler takes
//! [`AdminAuth`](crate::auth::AdminAuth) first: 401 without a valid token, 403 for a
//! customer, before the path, query or body are looked at.
//!
//! Same pattern as the storefront: one module per area, each with a `router()`.
//!
//! | module | routes |
//! |---|---|
//! | [`products`] | `/products`, `/products/{id}`, `/products/{id}/status`, `/categories`, `/categories/{id}` |
//! | [`promotions`] | `/promotions`, `/promotions/{id}` |
//! | [`settings`] | `/settings/pricing` |
//! | [`inventory`] | `/inventory/{sku}`, `/inventory/{sku}/adjustments` |
//! | [`orders`] | `/orders`, `/orders/{order_id}` and its `capture`, `shipments`, `deliver`, `cancel`, `refunds` |
//! | [`refunds`] | `/refunds/{refund_id}` and its `approve`, `reject`, `process`, `approve-and-process` |
//! | [`customers`] | `/customers`, `/customers/{id}` |
//! | [`events`] | `/events`, `/events/{event_id}/redeliver` |
//! | [`media`] | `/media/{key}` (the key may contain slashes) |

pub mod customers;
pub mod events;
pub mod inventory;
pub mod media;
pub mod orders;
pub mod products;
pub mod promotions;
pub mod refunds;
pub mod settings;

use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every back-office route, relative to `/api/admin/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(products::router())
        .merge(promotions::router())
        .merge(settings::router())
        .merge(inventory::router())
        .merge(orders::router())
        .merge(refunds::router())
        .merge(customers::router())
        .merge(events::router())
        .merge(media::router())
}

/// The body of an idempotent call that takes none: empty, `null` or `{}` (use as
/// `Idempotent<Option<NoBody>>`). Any member is refused with a 422, so a client that
/// thinks it is sending options learns it is not.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoBody {}
