//! Carts: create, read, lines, coupons, delivery and the quote, through the
//! [`CartService`](shopkit_core::services::CartService).
//!
//! Who may use a cart ([`CartAuth`]): the signed-in customer who owns it (bearer token),
//! or the holder of a guest cart's `X-Cart-Token`. Any other cart, an expired one, or a
//! guest token of another cart answers `404 not_found`, exactly as a cart that does not
//! exist (nothing tells a cart id is real).
//!
//! Requests never carry prices: unknown members such as `price` or `total` are ignored,
//! and the server's price is the cart's `quote`. Every call answers the cart with its new
//! `version` and its quote (priced once, by `CartService::with_quote`), so a client needs
//! no second request for the totals; `GET /carts/{cart_id}/quote` gives the quote alone.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shopkit_core::cart::Cart;
use shopkit_core::ids::{CartId, CouponCode, LineId};
use shopkit_core::services::{Delivery, QuotedCart};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{CartAuth, OptionalAuth};
use crate::dto::{
    AddLineRequest, ApplyCouponRequest, CartDto, CartShippingMethodsDto, CreateCartRequest,
    CreatedCartDto, DeliveryRequest, ProblemDto, QuoteDto, UpdateCartRequest, UpdateLineRequest,
};
use crate::error::{ApiError, ProblemCode};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// The cart routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_cart))
        .routes(routes!(get_cart, update_cart))
        .routes(routes!(add_line))
        .routes(routes!(update_line, remove_line))
        .routes(routes!(apply_coupon))
        .routes(routes!(remove_coupon))
        .routes(routes!(set_delivery))
        .routes(routes!(shipping_methods))
        .routes(routes!(quote))
}

/// `cart` with its quote now (or the problem that kept it from being priced).
async fn priced(state: &AppState, cart: Cart) -> CartDto {
    let QuotedCart { cart, quote, .. } = state.shop().carts().with_quote(cart).await;
    CartDto::new(&cart, quote.map_err(|e| ApiError::from(e).to_problem()))
}

async fn cart(state: &AppState, cart: Cart) -> Json<CartDto> {
    Json(priced(state, cart).await)
}

/// Starts a cart. A guest gets a new cart and, once, its `cart_token`; a signed-in
/// customer gets their open cart or a new one, in the currency asked for: an open cart in
/// another currency is switched to it, its lines repriced (as `PATCH /carts/{cart_id}`
/// does).
#[utoipa::path(
    post,
    path = "/carts",
    tag = "carts",
    security((), ("bearer" = [])),
    request_body = CreateCartRequest,
    responses(
        (status = 201, description = "A new guest cart and its token (keep the token: it is the only key to the cart)", body = CreatedCartDto),
        (status = 200, description = "The signed-in customer's open cart (new if they had none), in the currency asked for; `cart_token` is null", body = CreatedCartDto),
        (status = 409, description = "The customer's open cart changed concurrently while its currency was being switched (`conflict`): retry", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "An unknown currency (`validation_failed`, `field: currency`), or a line of the customer's open cart that is not sold in it (`no_price_in_currency` with `sku` and `currency`: remove it, or ask for the cart's currency)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn create_cart(
    State(state): State<AppState>,
    auth: OptionalAuth,
    ApiJson(request): ApiJson<CreateCartRequest>,
) -> Result<Response, ApiError> {
    let currency = request.currency()?;
    let carts = state.shop().carts();
    Ok(match auth.0 {
        Some(principal) => {
            let cart = carts.cart_for_customer(principal.customer, currency).await?;
            let body = CreatedCartDto { cart: priced(&state, cart).await, cart_token: None };
            (StatusCode::OK, Json(body)).into_response()
        }
        None => {
            let cart = carts.create_guest_cart(currency).await?;
            let cart_token = Some(cart.token().expose().to_owned());
            let body = CreatedCartDto { cart: priced(&state, cart).await, cart_token };
            (StatusCode::CREATED, Json(body)).into_response()
        }
    })
}

/// A cart.
#[utoipa::path(
    get,
    path = "/carts/{cart_id}",
    tag = "carts",
    security(("bearer" = []), ("cart_token" = [])),
    params(("cart_id" = Uuid, Path, description = "The cart")),
    responses(
        (status = 200, description = "The cart", body = CartDto),
        (status = 404, description = "No cart the caller may use has this id (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn get_cart(
    State(state): State<AppState>,
    CartAuth(access): CartAuth,
    ApiPath(id): ApiPath<CartId>,
) -> Result<Json<CartDto>, ApiError> {
    Ok(cart(&state, state.shop().carts().get(id, &access).await?).await)
}

/// Changes the cart's own settings: its currency (as Medusa's `POST /store/carts/{id}`
/// changes a cart's region). The lines are repriced from the catalog in the new currency;
/// coupons and delivery stay, and the quote tells whether they still apply. Members left
/// out stay as they are.
#[utoipa::path(
    patch,
    path = "/carts/{cart_id}",
    tag = "carts",
    security(("bearer" = []), ("cart_token" = [])),
    params(("cart_id" = Uuid, Path, description = "The cart")),
    request_body = UpdateCartRequest,
    responses(
        (status = 200, description = "The cart, priced in its currency", body = CartDto),
        (status = 404, description = "No such cart for this caller (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The cart is closed or expired (`cart_closed`, `cart_expired`), or changed concurrently (`conflict`): retry", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "An unknown currency (`validation_failed`, `field: currency`), or a line not sold in it (`no_price_in_currency` with `sku` and `currency`: remove it first) or no longer sold at all (`unknown_sku`, `not_for_sale`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn update_cart(
    State(state): State<AppState>,
    CartAuth(access): CartAuth,
    ApiPath(id): ApiPath<CartId>,
    ApiJson(request): ApiJson<UpdateCartRequest>,
) -> Result<Json<CartDto>, ApiError> {
    let carts = state.shop().carts();
    let updated = match request.currency()? {
        Some(currency) => carts.set_currency(id, &access, currency).await?,
        None => carts.get(id, &access).await?,
    };
    Ok(cart(&state, updated).await)
}

/// Adds units of a SKU (a line of the same SKU grows). The price is never taken from the
/// request.
#[utoipa::path(
    post,
    path = "/carts/{cart_id}/lines",
    tag = "carts",
    security(("bearer" = []), ("cart_token" = [])),
    params(("cart_id" = Uuid, Path, description = "The cart")),
    request_body = AddLineRequest,
    responses(
        (status = 200, description = "The cart with the line", body = CartDto),
        (status = 404, description = "No such cart for this caller (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The cart is checked out, merged or expired (`cart_closed`, `cart_expired`), or changed concurrently (`conflict`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "A quantity that is not a whole number from 1 (`validation_failed`, `field: quantity`), over the per-line limit (`quantity_limit`), too many lines (`too_many_lines`), or a SKU that does not exist (`unknown_sku`), is not on sale (`not_for_sale`) or has no price in the cart's currency (`no_price_in_currency`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn add_line(
    State(state): State<AppState>,
    CartAuth(access): CartAuth,
    ApiPath(id): ApiPath<CartId>,
    ApiJson(request): ApiJson<AddLineRequest>,
) -> Result<Json<CartDto>, ApiError> {
    let (sku, quantity) = request.parse()?;
    Ok(cart(&state, state.shop().carts().add_line(id, &access, sku, quantity).await?).await)
}

/// Sets a line's quantity.
#[utoipa::path(
    patch,
    path = "/carts/{cart_id}/lines/{line_id}",
    tag = "carts",
    security(("bearer" = []), ("cart_token" = [])),
    params(
        ("cart_id" = Uuid, Path, description = "The cart"),
        ("line_id" = Uuid, Path, description = "The line"),
    ),
    request_body = UpdateLineRequest,
    responses(
        (status = 200, description = "The cart with the new quantity", body = CartDto),
        (status = 404, description = "No such cart or line (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The cart is closed or expired (`cart_closed`, `cart_expired`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "A quantity that is not a whole number from 1 (`validation_failed`), or over the per-line limit (`quantity_limit`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn update_line(
    State(state): State<AppState>,
    CartAuth(access): CartAuth,
    ApiPath((id, line)): ApiPath<(CartId, LineId)>,
    ApiJson(request): ApiJson<UpdateLineRequest>,
) -> Result<Json<CartDto>, ApiError> {
    let quantity = request.parse()?;
    Ok(cart(&state, state.shop().carts().set_quantity(id, &access, line, quantity).await?).await)
}

/// Removes a line.
#[utoipa::path(
    delete,
    path = "/carts/{cart_id}/lines/{line_id}",
    tag = "carts",
    security(("bearer" = []), ("cart_token" = [])),
    params(
        ("cart_id" = Uuid, Path, description = "The cart"),
        ("line_id" = Uuid, Path, description = "The line"),
    ),
    responses(
        (status = 200, description = "The cart without the line", body = CartDto),
        (status = 404, description = "No such cart or line (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The cart is closed or expired (`cart_closed`, `cart_expired`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn remove_line(
    State(state): State<AppState>,
    CartAuth(access): CartAuth,
    ApiPath((id, line)): ApiPath<(CartId, LineId)>,
) -> Result<Json<CartDto>, ApiError> {
    Ok(cart(&state, state.shop().carts().remove_line(id, &access, line).await?).await)
}

/// Applies a coupon, after checking it against the current promotions.
#[utoipa::path(
    post,
    path = "/carts/{cart_id}/coupons",
    tag = "carts",
    security(("bearer" = []), ("cart_token" = [])),
    params(("cart_id" = Uuid, Path, description = "The cart")),
    request_body = ApplyCouponRequest,
    responses(
        (status = 200, description = "The cart with the coupon (whether it discounts anything shows in the quote)", body = CartDto),
        (status = 404, description = "No such cart for this caller (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The cart is closed or expired (`cart_closed`, `cart_expired`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "The coupon does not apply (`coupon_rejected` with `reason`: `unknown`, `expired`, `not_started`, `usage_limit_reached`, `wrong_currency`, `min_subtotal_not_met`...), or the cart holds the most coupons (`too_many_coupons`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn apply_coupon(
    State(state): State<AppState>,
    CartAuth(access): CartAuth,
    ApiPath(id): ApiPath<CartId>,
    ApiJson(request): ApiJson<ApplyCouponRequest>,
) -> Result<Json<CartDto>, ApiError> {
    let code = request.parse()?;
    Ok(cart(&state, state.shop().carts().apply_coupon(id, &access, code).await?).await)
}

/// Removes a coupon (removing one that is not applied is fine).
#[utoipa::path(
    delete,
    path = "/carts/{cart_id}/coupons/{code}",
    tag = "carts",
    security(("bearer" = []), ("cart_token" = [])),
    params(
        ("cart_id" = Uuid, Path, description = "The cart"),
        ("code" = inline(crate::openapi::CouponCodeSchema), Path, description = "The coupon code (case-insensitive)"),
    ),
    responses(
        (status = 200, description = "The cart without the coupon", body = CartDto),
        (status = 404, description = "No such cart for this caller (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The cart is closed or expired (`cart_closed`, `cart_expired`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn remove_coupon(
    State(state): State<AppState>,
    CartAuth(access): CartAuth,
    ApiPath((id, code)): ApiPath<(CartId, String)>,
) -> Result<Json<CartDto>, ApiError> {
    let code = CouponCode::new(&code)
        .map_err(|e| ApiError::new(ProblemCode::InvalidPath, e.to_string()))?;
    Ok(cart(&state, state.shop().carts().remove_coupon(id, &access, &code).await?).await)
}

/// Sets where and how to ship (both replaced; leave one out to clear it). A cart holding
/// goods to ship (`requires_shipping`) needs both before checkout; `GET
/// /carts/{cart_id}/shipping-methods` lists the methods for its address.
#[utoipa::path(
    put,
    path = "/carts/{cart_id}/delivery",
    tag = "carts",
    security(("bearer" = []), ("cart_token" = [])),
    params(("cart_id" = Uuid, Path, description = "The cart")),
    request_body = DeliveryRequest,
    responses(
        (status = 200, description = "The cart with its delivery choices", body = CartDto),
        (status = 404, description = "No such cart for this caller (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The cart is closed or expired (`cart_closed`, `cart_expired`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "An incomplete address (`validation_failed` with `field`), a malformed method handle (`validation_failed`, `field: shipping_method`), or a method the shop does not have or that does not deliver to the address in the cart's currency (`shipping_unavailable` with `method` and `region`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn set_delivery(
    State(state): State<AppState>,
    CartAuth(access): CartAuth,
    ApiPath(id): ApiPath<CartId>,
    ApiJson(request): ApiJson<DeliveryRequest>,
) -> Result<Json<CartDto>, ApiError> {
    let delivery = Delivery::try_from(request)?;
    Ok(cart(&state, state.shop().carts().set_delivery(id, &access, delivery).await?).await)
}

/// The shipping methods that can ship the cart to its shipping address, each priced for
/// this cart (its weight, its merchandise total against the method's free-over threshold,
/// free-shipping promotions and tax): what the quote shows once the method is chosen.
/// Set the address first: without one, only methods serving everywhere are listed. A cart
/// with nothing to ship (empty, or only digital goods) lists none.
#[utoipa::path(
    get,
    path = "/carts/{cart_id}/shipping-methods",
    tag = "carts",
    security(("bearer" = []), ("cart_token" = [])),
    params(("cart_id" = Uuid, Path, description = "The cart")),
    responses(
        (status = 200, description = "The methods, in the shop's order", body = CartShippingMethodsDto),
        (status = 404, description = "No such cart for this caller (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "A line can no longer be sold (`unknown_sku`, `not_for_sale`, `no_price_in_currency`: remove it)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn shipping_methods(
    State(state): State<AppState>,
    CartAuth(access): CartAuth,
    ApiPath(id): ApiPath<CartId>,
) -> Result<Json<CartShippingMethodsDto>, ApiError> {
    let options = state.shop().carts().shipping_options(id, &access).await?;
    Ok(Json(CartShippingMethodsDto::from(options.as_slice())))
}

/// What the cart costs now, as the server prices it: lines, discounts, shipping, tax and
/// the grand total that checkout charges.
#[utoipa::path(
    get,
    path = "/carts/{cart_id}/quote",
    tag = "carts",
    security(("bearer" = []), ("cart_token" = [])),
    params(("cart_id" = Uuid, Path, description = "The cart")),
    responses(
        (status = 200, description = "The quote", body = QuoteDto),
        (status = 404, description = "No such cart for this caller (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "A line can no longer be sold (`unknown_sku`, `not_for_sale`, `no_price_in_currency`: remove it), or the shipping method cannot ship this cart (`shipping_unavailable`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn quote(
    State(state): State<AppState>,
    CartAuth(access): CartAuth,
    ApiPath(id): ApiPath<CartId>,
) -> Result<Json<QuoteDto>, ApiError> {
    let quote = state.shop().carts().quote(id, &access).await?;
    Ok(Json(QuoteDto::from(&quote)))
}
