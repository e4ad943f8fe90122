//! Promotions and coupons: `GET/POST /promotions`, `GET/PUT/DELETE /promotions/{id}`.
//! Bodies are validated by [`Promotion::builder`](shopkit_core::pricing::Promotion::builder):
//! a rule the domain refuses is a `422` naming the field (`kind.percent`, `ends_at`...).

use axum::Json;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use shopkit_core::ids::PromotionId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::AdminAuth;
use crate::dto::{PageDto, ProblemDto, PromotionDto, PromotionRequest};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// The promotion routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_promotions, create_promotion)).routes(routes!(
        get_promotion,
        put_promotion,
        delete_promotion
    ))
}

/// Every promotion, highest priority first, in one page.
#[utoipa::path(
    get,
    path = "/promotions",
    operation_id = "admin_list_promotions",
    tag = "admin-promotions",
    security(("bearer" = [])),
    responses((status = 200, description = "Every promotion", body = PageDto<PromotionDto>))
)]
pub async fn list_promotions(
    State(state): State<AppState>,
    admin: AdminAuth,
) -> Result<Json<PageDto<PromotionDto>>, ApiError> {
    let promotions = state.promotions().list(&admin.caller()).await?;
    Ok(Json(PageDto::all(promotions.iter().map(PromotionDto::from).collect())))
}

/// Creates a promotion (automatic, or behind a coupon code) with a new id.
#[utoipa::path(
    post,
    path = "/promotions",
    operation_id = "admin_create_promotion",
    tag = "admin-promotions",
    security(("bearer" = [])),
    request_body = PromotionRequest,
    responses(
        (status = 201, description = "The promotion; `Location` is its URL", body = PromotionDto),
        (status = 409, description = "Another promotion holds the coupon code (`already_exists`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "The rule is invalid (`validation_failed`; `field` names it: `kind.percent`, `ends_at`, `coupon`...)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn create_promotion(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiJson(request): ApiJson<PromotionRequest>,
) -> Result<Response, ApiError> {
    let promotion = request.to_promotion(PromotionId::from_uuid(Uuid::now_v7()))?;
    let saved = state.promotions().save(&admin.caller(), &promotion).await?;
    let location = HeaderValue::from_str(&format!("/api/admin/v1/promotions/{}", saved.id()))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(PromotionDto::from(&saved)))
        .into_response())
}

/// A promotion, with its use count.
#[utoipa::path(
    get,
    path = "/promotions/{id}",
    operation_id = "admin_get_promotion",
    tag = "admin-promotions",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The promotion id")),
    responses(
        (status = 200, description = "The promotion", body = PromotionDto),
        (status = 404, description = "No such promotion (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn get_promotion(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<PromotionId>,
) -> Result<Json<PromotionDto>, ApiError> {
    let promotion = state.promotions().get(&admin.caller(), id).await?;
    Ok(Json(PromotionDto::from(&promotion)))
}

/// Creates or replaces the promotion with this id (its use count is kept).
#[utoipa::path(
    put,
    path = "/promotions/{id}",
    operation_id = "admin_put_promotion",
    tag = "admin-promotions",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The promotion id")),
    request_body = PromotionRequest,
    responses(
        (status = 200, description = "The promotion as stored", body = PromotionDto),
        (status = 409, description = "Another promotion holds the coupon code (`already_exists`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "The rule is invalid (`validation_failed` with `field`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn put_promotion(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<PromotionId>,
    ApiJson(request): ApiJson<PromotionRequest>,
) -> Result<Json<PromotionDto>, ApiError> {
    let promotion = request.to_promotion(id)?;
    let saved = state.promotions().save(&admin.caller(), &promotion).await?;
    Ok(Json(PromotionDto::from(&saved)))
}

/// Removes a promotion; carts holding its coupon see it rejected at their next quote.
#[utoipa::path(
    delete,
    path = "/promotions/{id}",
    operation_id = "admin_delete_promotion",
    tag = "admin-promotions",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The promotion id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such promotion (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn delete_promotion(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<PromotionId>,
) -> Result<StatusCode, ApiError> {
    state.promotions().delete(&admin.caller(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
