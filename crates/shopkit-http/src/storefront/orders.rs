//! The signed-in customer's orders and returns: `GET /orders`, `GET /orders/{order_id}`,
//! `POST /orders/{order_id}/cancel`, `POST /orders/{order_id}/returns` and `GET
//! /refunds/{refund_id}`, through the order and refund services.
//!
//! Every route needs a bearer token and acts for its customer only: another customer's
//! order or refund answers `404 not_found`, as one that does not exist. Guest orders are
//! not readable here (no token opens them): guests get their confirmation and updates by
//! email.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::Response;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use shopkit_core::ids::{OrderId, RefundId};
use shopkit_core::orders::RefundRequest;
use shopkit_core::services::OrderListing;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::checkout::refusal_frees_key;
use crate::auth::{CustomerAuth, OrderAuth};
use crate::dto::{
    CancelOrderRequest, OrderDto, OrderStatusDto, OrderSummaryDto, PageDto, PageLimit, ProblemDto,
    RefundDto, ReturnRequest, cursor,
};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, body_error, parse_json, require_json};
use crate::idempotency::{IdempotencyKeyHeader, Idempotent};
use crate::state::AppState;

/// The order and refund routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(request_return))
        .routes(routes!(get_refund))
}

/// A JSON body that may be left out: an empty body is `T::default()`; a non-empty one is
/// read as [`ApiJson`](crate::ApiJson) reads it (415 unless JSON, 400/422 as usual).
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = require_json(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        json?;
        parse_json(&bytes).map(OptionalJson)
    }
}

/// Filters and paging of `GET /orders`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    /// Only orders in this status.
    #[param(inline)]
    pub status: Option<OrderStatusDto>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The signed-in customer's orders, newest first.
#[utoipa::path(
    get,
    path = "/orders",
    tag = "orders",
    security(("bearer" = [])),
    params(OrderListQuery),
    responses((status = 200, description = "A page of orders", body = PageDto<OrderSummaryDto>))
)]
pub async fn list_orders(
    State(state): State<AppState>,
    auth: CustomerAuth,
    ApiQuery(query): ApiQuery<OrderListQuery>,
) -> Result<Json<PageDto<OrderSummaryDto>>, ApiError> {
    let listing = OrderListing {
        customer: None,
        status: query.status.map(Into::into),
        cursor: cursor(query.cursor),
        limit: PageLimit::new(query.limit)?.get(),
    };
    let page = state.shop().orders().list(&auth.caller(), listing).await?;
    Ok(Json(PageDto::from_page(page, |o| OrderSummaryDto::from(&o))))
}

/// One of the customer's orders: lines, totals, payment (no provider references),
/// shipments with tracking, status history and refunds. A guest reads their order with
/// the `X-Cart-Token` of the cart they checked out (sent instead of a bearer token).
#[utoipa::path(
    get,
    path = "/orders/{order_id}",
    tag = "orders",
    security(("bearer" = []), ("cart_token" = [])),
    params(("order_id" = Uuid, Path, description = "The order")),
    responses(
        (status = 200, description = "The order", body = OrderDto),
        (status = 404, description = "No order of this customer has this id (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn get_order(
    State(state): State<AppState>,
    auth: OrderAuth,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<Json<OrderDto>, ApiError> {
    let order = state.shop().orders().get(&auth.caller(), id).await?;
    Ok(Json(OrderDto::from(&order)))
}

/// Cancels an order while it is only placed (payment not yet taken): the hold on the
/// payment method is released and the stock goes back. Cancelling a cancelled order
/// answers it unchanged. The body (`{"reason": ...}`) may be left out.
#[utoipa::path(
    post,
    path = "/orders/{order_id}/cancel",
    tag = "orders",
    security(("bearer" = []), ("cart_token" = [])),
    params(("order_id" = Uuid, Path, description = "The order")),
    request_body(content = Option<CancelOrderRequest>, description = "Optional: why"),
    responses(
        (status = 200, description = "The cancelled order", body = OrderDto),
        (status = 409, description = "The payment was already taken (`illegal_transition`): ask the shop, or return the items once they arrive", body = ProblemDto, content_type = "application/problem+json"),
        (status = 404, description = "No order of this customer has this id (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 503, description = "The payment gateway did not answer (`payment_gateway_unavailable`): nothing changed, retry", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn cancel_order(
    State(state): State<AppState>,
    auth: OrderAuth,
    ApiPath(id): ApiPath<OrderId>,
    OptionalJson(request): OptionalJson<CancelOrderRequest>,
) -> Result<Json<OrderDto>, ApiError> {
    let reason = request.reason()?;
    let order = state.shop().orders().cancel(&auth.caller(), id, reason).await?;
    Ok(Json(OrderDto::from(&order)))
}

/// Asks to return units of a paid order. The refund is `requested`; the shop approves it
/// and pays back what the units cost (after discounts) once processed.
#[utoipa::path(
    post,
    path = "/orders/{order_id}/returns",
    tag = "orders",
    security(("bearer" = []), ("cart_token" = [])),
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKeyHeader),
    request_body = ReturnRequest,
    responses(
        (status = 201, description = "The return's refund, `requested`; `Location` is its URL. A retry with the same key replays this response", body = RefundDto),
        (status = 400, description = "No `Idempotency-Key` (`idempotency_key_required`) or a malformed one (`invalid_header`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 404, description = "No order of this customer has this id (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The order is not paid (`not_refundable`), or changed concurrently (`conflict`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "A line not on the order (`unknown_line`), more units than are left to return (`too_many_units`), a bad field (`validation_failed`), or the key used for another request (`idempotency_key_reused`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn request_return(
    State(state): State<AppState>,
    auth: OrderAuth,
    ApiPath(id): ApiPath<OrderId>,
    Idempotent { body, guard }: Idempotent<ReturnRequest>,
) -> Response {
    let result = async {
        let request = RefundRequest::try_from(body)?;
        let refund =
            state.shop().refunds().request_once(&auth.caller(), id, request, guard.key()).await?;
        let location = HeaderValue::from_str(&format!("/api/v1/refunds/{}", refund.id))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok::<_, ApiError>((
            StatusCode::CREATED,
            [(LOCATION, location)],
            Json(RefundDto::from(&refund)),
        ))
    }
    .await;
    guard.finish(result.map_err(refusal_frees_key)).await
}

/// One of the customer's refunds or returns.
#[utoipa::path(
    get,
    path = "/refunds/{refund_id}",
    tag = "orders",
    security(("bearer" = []), ("cart_token" = [])),
    params(("refund_id" = Uuid, Path, description = "The refund")),
    responses(
        (status = 200, description = "The refund", body = RefundDto),
        (status = 404, description = "No refund of this customer has this id (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn get_refund(
    State(state): State<AppState>,
    auth: OrderAuth,
    ApiPath(id): ApiPath<RefundId>,
) -> Result<Json<RefundDto>, ApiError> {
    let refund = state.shop().refunds().get(&auth.caller(), id).await?;
    Ok(Json(RefundDto::from(&refund)))
}
