//! Order management: list and read orders, capture, ship (partially, with tracking),
//! deliver, cancel (voids or refunds the payment and gives the stock back), and
//! admin-initiated refunds.
//!
//! Calls that move money or stock take an `Idempotency-Key`: capture, shipments (which
//! capture first when needed), cancel and refund requests. A retry with the same key
//! replays the first response.

use axum::Json;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shopkit_core::ids::{CustomerId, OrderId};
use shopkit_core::orders::RefundRequest;
use shopkit_core::services::{OrderListing, ShipmentRequest};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::NoBody;
use crate::auth::AdminAuth;
use crate::dto::{
    AdminCancelOrderRequest, AdminOrderDto, AdminRefundDto, AdminRefundRequest,
    AdminShipmentRequest, OrderStatusDto, PageDto, PageLimit, ProblemDto, cursor,
};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::idempotency::{IdempotencyKeyHeader, Idempotent};
use crate::state::AppState;

/// The order routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(capture_order))
        .routes(routes!(ship_order))
        .routes(routes!(deliver_order))
        .routes(routes!(cancel_order))
        .routes(routes!(refund_order))
}

/// Filters and paging of the order list (newest first).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminOrderListQuery {
    /// Only orders in this status.
    #[param(inline)]
    pub status: Option<OrderStatusDto>,
    /// Only this customer's orders (a customer id).
    pub customer: Option<Uuid>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

fn order_json(order: &shopkit_core::orders::Order) -> Json<AdminOrderDto> {
    Json(AdminOrderDto::from(order))
}

/// Orders of every customer, newest first.
#[utoipa::path(
    get,
    path = "/orders",
    operation_id = "admin_list_orders",
    tag = "admin-orders",
    security(("bearer" = [])),
    params(AdminOrderListQuery),
    responses((status = 200, description = "A page of orders", body = PageDto<AdminOrderDto>))
)]
pub async fn list_orders(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiQuery(query): ApiQuery<AdminOrderListQuery>,
) -> Result<Json<PageDto<AdminOrderDto>>, ApiError> {
    let listing = OrderListing {
        customer: query.customer.map(CustomerId::from_uuid),
        status: query.status.map(Into::into),
        cursor: cursor(query.cursor),
        limit: PageLimit::new(query.limit)?.get(),
    };
    let page = state.shop().orders().list(&admin.caller(), listing).await?;
    Ok(Json(PageDto::from_page(page, |o| AdminOrderDto::from(&o))))
}

/// An order with its payment, shipments, refunds and history.
#[utoipa::path(
    get,
    path = "/orders/{order_id}",
    operation_id = "admin_get_order",
    tag = "admin-orders",
    security(("bearer" = [])),
    params(("order_id" = Uuid, Path, description = "The order id")),
    responses(
        (status = 200, description = "The order", body = AdminOrderDto),
        (status = 404, description = "No such order (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn get_order(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<Json<AdminOrderDto>, ApiError> {
    let order = state.shop().orders().get(&admin.caller(), id).await?;
    Ok(order_json(&order))
}

/// Captures the authorized payment (`placed -> paid`); a paid order is returned as it is.
/// No body (or `{}`).
#[utoipa::path(
    post,
    path = "/orders/{order_id}/capture",
    operation_id = "admin_capture_order",
    tag = "admin-orders",
    security(("bearer" = [])),
    params(("order_id" = Uuid, Path, description = "The order id"), IdempotencyKeyHeader),
    responses(
        (status = 200, description = "The paid order", body = AdminOrderDto),
        (status = 404, description = "No such order (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The order is cancelled (`illegal_transition`) or the gateway refused (`payment_conflict`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 503, description = "The gateway did not answer (`payment_gateway_unavailable`): retry with the same key", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn capture_order(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<OrderId>,
    Idempotent { body: _, guard }: Idempotent<Option<NoBody>>,
) -> Response {
    let result = async {
        let order = state.shop().orders().capture(&admin.caller(), id).await?;
        Ok::<_, ApiError>(order_json(&order))
    }
    .await;
    guard.finish(result).await
}

/// Records a shipment: the named lines and units, or (without `lines`, or without a body)
/// everything not yet shipped or refunded, with optional tracking. A placed order is
/// captured first.
#[utoipa::path(
    post,
    path = "/orders/{order_id}/shipments",
    operation_id = "admin_ship_order",
    tag = "admin-orders",
    security(("bearer" = [])),
    params(("order_id" = Uuid, Path, description = "The order id"), IdempotencyKeyHeader),
    request_body = AdminShipmentRequest,
    responses(
        (status = 201, description = "The order with the new shipment (last in `shipments`)", body = AdminOrderDto),
        (status = 404, description = "No such order (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The order is cancelled or delivered (`illegal_transition`), or the capture was refused (`payment_conflict`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "An unknown line (`unknown_line`), more units than remain (`over_fulfilment`), or nothing left to ship (`validation_failed`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn ship_order(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<OrderId>,
    Idempotent { body, guard }: Idempotent<Option<AdminShipmentRequest>>,
) -> Response {
    let result = async {
        let shipment = ShipmentRequest::try_from(body.unwrap_or_default())?;
        let order = state.shop().orders().fulfil(&admin.caller(), id, shipment).await?;
        Ok::<_, ApiError>((StatusCode::CREATED, order_json(&order)))
    }
    .await;
    guard.finish(result).await
}

/// Records delivery (`fulfilled -> delivered`); a delivered order is returned as it is.
#[utoipa::path(
    post,
    path = "/orders/{order_id}/deliver",
    operation_id = "admin_deliver_order",
    tag = "admin-orders",
    security(("bearer" = [])),
    params(("order_id" = Uuid, Path, description = "The order id")),
    responses(
        (status = 200, description = "The delivered order", body = AdminOrderDto),
        (status = 404, description = "No such order (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "Not everything has shipped (`illegal_transition`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn deliver_order(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<Json<AdminOrderDto>, ApiError> {
    let order = state.shop().orders().deliver(&admin.caller(), id).await?;
    Ok(order_json(&order))
}

/// Cancels an order before anything shipped: a placed order's authorization is voided, a
/// paid order's capture refunded, and the stock given back. A cancelled order is returned
/// as it is.
#[utoipa::path(
    post,
    path = "/orders/{order_id}/cancel",
    operation_id = "admin_cancel_order",
    tag = "admin-orders",
    security(("bearer" = [])),
    params(("order_id" = Uuid, Path, description = "The order id"), IdempotencyKeyHeader),
    request_body = AdminCancelOrderRequest,
    responses(
        (status = 200, description = "The cancelled order", body = AdminOrderDto),
        (status = 404, description = "No such order (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "Something already shipped (`illegal_transition`), or the gateway refused (`payment_conflict`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 503, description = "The gateway did not answer (`payment_gateway_unavailable`): nothing changed, retry with the same key", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn cancel_order(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<OrderId>,
    Idempotent { body, guard }: Idempotent<AdminCancelOrderRequest>,
) -> Response {
    let result = async {
        let order = state.shop().orders().cancel(&admin.caller(), id, body.reason).await?;
        Ok::<_, ApiError>(order_json(&order))
    }
    .await;
    guard.finish(result).await
}

/// Opens a refund on an order for lines and units, an amount, or both. It starts
/// `requested`: approve and process it next (`/refunds/{refund_id}/...`).
#[utoipa::path(
    post,
    path = "/orders/{order_id}/refunds",
    operation_id = "admin_refund_order",
    tag = "admin-orders",
    security(("bearer" = [])),
    params(("order_id" = Uuid, Path, description = "The order id"), IdempotencyKeyHeader),
    request_body = AdminRefundRequest,
    responses(
        (status = 201, description = "The refund; `Location` is its URL", body = AdminRefundDto),
        (status = 404, description = "No such order (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The order is not paid (`not_refundable`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "More than is left to refund (`refund_exceeds_captured`, `too_many_units`), an unknown line (`unknown_line`) or an empty refund (`validation_failed`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn refund_order(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<OrderId>,
    Idempotent { body, guard }: Idempotent<AdminRefundRequest>,
) -> Response {
    let result = async {
        let request = RefundRequest::try_from(body)?;
        let refund =
            state.shop().refunds().request_once(&admin.caller(), id, request, guard.key()).await?;
        let location = HeaderValue::from_str(&format!("/api/admin/v1/refunds/{}", refund.id))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok::<_, ApiError>(
            (StatusCode::CREATED, [(LOCATION, location)], Json(AdminRefundDto::from(&refund)))
                .into_response(),
        )
    }
    .await;
    guard.finish(result).await
}
