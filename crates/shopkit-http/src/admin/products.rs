//! Back-office catalog: `POST /products` (create).

use axum::Json;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use shopkit_core::services::ProductDraft;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminAuth;
use crate::dto::{AdminProductDto, CreateProductRequest, ProblemDto};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::storefront::products::product_view;

/// The back-office catalog routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_product))
}

/// Creates a product (a draft unless `status` says otherwise).
#[utoipa::path(
    post,
    path = "/products",
    tag = "admin-catalog",
    security(("bearer" = [])),
    request_body = CreateProductRequest,
    responses(
        (status = 201, description = "The product; `Location` is its back-office URL", body = AdminProductDto),
        (status = 409, description = "The slug or a SKU is taken (`already_exists`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid or a catalog rule is broken (`validation_failed` with `field`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn create_product(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiJson(request): ApiJson<CreateProductRequest>,
) -> Result<Response, ApiError> {
    let draft = ProductDraft::try_from(request)?;
    let product = state.shop().catalog().create_product(draft).await?;
    let view = product_view(&state, std::slice::from_ref(&product), None).await;
    let location = HeaderValue::from_str(&format!("/api/admin/v1/products/{}", product.id))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(AdminProductDto::new(&product, &view)))
        .into_response())
}
