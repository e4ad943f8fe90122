//! Stock: `PUT /inventory/{sku}` (set after a stock take), `POST
//! /inventory/{sku}/adjustments` (add or remove units), `GET /inventory/{sku}` (levels by
//! location and the active reservations holding the SKU).

use axum::Json;
use axum::extract::State;
use shopkit_core::ids::Sku;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminAuth;
use crate::dto::{
    InventoryDto, ProblemDto, ReservationDto, SetStockRequest, StockAdjustmentRequest,
    StockLevelDto, location_or_main,
};
use crate::error::{ApiError, ProblemCode};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// The inventory routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_inventory, set_stock)).routes(routes!(adjust_stock))
}

fn sku(raw: &str) -> Result<Sku, ApiError> {
    Sku::new(raw).map_err(|e| {
        ApiError::new(ProblemCode::InvalidPath, format!("{e}: use the SKU as in the catalog"))
    })
}

/// A SKU's stock at every location and the active reservations holding it.
#[utoipa::path(
    get,
    path = "/inventory/{sku}",
    operation_id = "admin_get_inventory",
    tag = "admin-inventory",
    security(("bearer" = [])),
    params(("sku" = inline(crate::openapi::SkuSchema), Path, description = "The SKU")),
    responses(
        (status = 200, description = "Levels by location (empty when no stock was ever set) and active reservations", body = InventoryDto),
    )
)]
pub async fn get_inventory(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<InventoryDto>, ApiError> {
    let sku = sku(&raw)?;
    let inventory = state.shop().inventory();
    let (levels, reservations) = futures::try_join!(
        inventory.levels(std::slice::from_ref(&sku)),
        inventory.reservations(&sku)
    )?;
    Ok(Json(InventoryDto {
        sku: sku.to_string(),
        levels: levels.iter().map(StockLevelDto::from).collect(),
        reservations: reservations.iter().map(ReservationDto::from).collect(),
    }))
}

/// Sets a SKU's on-hand count and backorder rule at a location (default `main`),
/// keeping its reservations.
#[utoipa::path(
    put,
    path = "/inventory/{sku}",
    operation_id = "admin_set_stock",
    tag = "admin-inventory",
    security(("bearer" = [])),
    params(("sku" = inline(crate::openapi::SkuSchema), Path, description = "The SKU")),
    request_body = SetStockRequest,
    responses(
        (status = 200, description = "The stock level at the location", body = StockLevelDto),
        (status = 422, description = "A negative count or a malformed location (`validation_failed`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn set_stock(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(raw): ApiPath<String>,
    ApiJson(request): ApiJson<SetStockRequest>,
) -> Result<Json<StockLevelDto>, ApiError> {
    let sku = sku(&raw)?;
    let location = location_or_main(request.location.as_deref())?;
    let level = state
        .shop()
        .inventory()
        .set_stock(&sku, &location, request.on_hand, request.backorder.into())
        .await?;
    Ok(Json(StockLevelDto::from(&level)))
}

/// Adds units at a location (negative `delta` removes them: damage, shrinkage).
#[utoipa::path(
    post,
    path = "/inventory/{sku}/adjustments",
    operation_id = "admin_adjust_stock",
    tag = "admin-inventory",
    security(("bearer" = [])),
    params(("sku" = inline(crate::openapi::SkuSchema), Path, description = "The SKU")),
    request_body = StockAdjustmentRequest,
    responses(
        (status = 200, description = "The stock level after the adjustment", body = StockLevelDto),
        (status = 422, description = "No stock record at the location (`no_stock_record`: set its stock first), or a removal below what is reserved (`validation_failed`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn adjust_stock(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(raw): ApiPath<String>,
    ApiJson(request): ApiJson<StockAdjustmentRequest>,
) -> Result<Json<StockLevelDto>, ApiError> {
    let sku = sku(&raw)?;
    let location = location_or_main(request.location.as_deref())?;
    let level = state.shop().inventory().adjust(&sku, &location, request.delta).await?;
    Ok(Json(StockLevelDto::from(&level)))
}
