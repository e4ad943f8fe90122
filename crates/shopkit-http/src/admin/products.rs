//! Back-office catalog: products (list with any status, read, create, full update with
//! optimistic concurrency, status change, delete drafts) and categories (list, upsert).
//!
//! Variants and prices are part of the product body. A product that is not a draft
//! cannot be deleted: `422 validation_failed` with `field: "status"` (the catalog service's
//! rule; archive it instead, so past orders keep their references).

use axum::Json;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shopkit_core::ids::{CategoryId, ProductId};
use shopkit_core::services::{ProductDraft, ProductListing, Visibility};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminAuth;
use crate::dto::{
    AdminProductDto, CategoryDto, CategoryRequest, CreateProductRequest, PageDto, PageLimit,
    ProblemDto, ProductStatusDto, ProductStatusRequest, UpdateProductRequest, cursor,
};
use crate::error::{ApiError, ProblemCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::storefront::products::{attribute_filters, product_view};

/// The back-office catalog routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product, delete_product))
        .routes(routes!(set_product_status))
        .routes(routes!(list_categories))
        .routes(routes!(upsert_category))
}

/// Filters and paging of the back-office product list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminProductListQuery {
    /// Only products with this status (default: every status).
    #[param(inline)]
    pub status: Option<ProductStatusDto>,
    /// Only products in this category (a handle).
    pub category: Option<String>,
    /// Attribute filters, `name:value` pairs separated by commas; every one must match.
    pub attributes: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

async fn admin_view(state: &AppState, product: &shopkit_core::catalog::Product) -> AdminProductDto {
    let view = product_view(state, std::slice::from_ref(product), None).await;
    AdminProductDto::new(product, &view)
}

/// Lists products of any status, by id.
#[utoipa::path(
    get,
    path = "/products",
    operation_id = "admin_list_products",
    tag = "admin-catalog",
    security(("bearer" = [])),
    params(AdminProductListQuery),
    responses(
        (status = 200, description = "A page of products", body = PageDto<AdminProductDto>),
    )
)]
pub async fn list_products(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiQuery(query): ApiQuery<AdminProductListQuery>,
) -> Result<Json<PageDto<AdminProductDto>>, ApiError> {
    let limit = PageLimit::new(query.limit)?.get();
    let category = query
        .category
        .as_deref()
        .map(CategoryId::new)
        .transpose()
        .map_err(|e| ApiError::invalid_query("category", e.to_string()))?;
    let listing = ProductListing {
        category,
        attributes: attribute_filters(query.attributes.as_deref())?,
        status: query.status.map(Into::into),
        cursor: cursor(query.cursor),
        limit,
    };
    let page = state.shop().catalog().list(listing, Visibility::BackOffice).await?;
    let view = product_view(&state, &page.items, None).await;
    Ok(Json(PageDto::new(
        page.items.iter().map(|p| AdminProductDto::new(p, &view)).collect(),
        page.next_cursor,
    )))
}

/// Creates a product (a draft unless `status` says otherwise).
#[utoipa::path(
    post,
    path = "/products",
    operation_id = "admin_create_product",
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
    let location = HeaderValue::from_str(&format!("/api/admin/v1/products/{}", product.id))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let body = admin_view(&state, &product).await;
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(body)).into_response())
}

/// A product of any status.
#[utoipa::path(
    get,
    path = "/products/{id}",
    operation_id = "admin_get_product",
    tag = "admin-catalog",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The product id")),
    responses(
        (status = 200, description = "The product, with its `version`", body = AdminProductDto),
        (status = 404, description = "No such product (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn get_product(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<ProductId>,
) -> Result<Json<AdminProductDto>, ApiError> {
    let product = state.shop().catalog().product(id, Visibility::BackOffice).await?;
    Ok(Json(admin_view(&state, &product).await))
}

/// Replaces a product's content (variants and prices included) if it is still at
/// `version`.
#[utoipa::path(
    put,
    path = "/products/{id}",
    operation_id = "admin_update_product",
    tag = "admin-catalog",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The product id")),
    request_body = UpdateProductRequest,
    responses(
        (status = 200, description = "The product at its new version", body = AdminProductDto),
        (status = 404, description = "No such product (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The product changed since `version` was read (`conflict`): reload and re-apply; or a slug or SKU is taken (`already_exists`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid or a catalog rule is broken (`validation_failed` with `field`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn update_product(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<ProductId>,
    ApiJson(request): ApiJson<UpdateProductRequest>,
) -> Result<Json<AdminProductDto>, ApiError> {
    let (version, draft) = request.into_draft()?;
    let product = state.shop().catalog().update_product(id, version, draft).await?;
    Ok(Json(admin_view(&state, &product).await))
}

/// Publishes, archives or un-publishes a product (whatever else changed concurrently).
#[utoipa::path(
    post,
    path = "/products/{id}/status",
    operation_id = "admin_set_product_status",
    tag = "admin-catalog",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The product id")),
    request_body = ProductStatusRequest,
    responses(
        (status = 200, description = "The product with its new status", body = AdminProductDto),
        (status = 404, description = "No such product (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The product kept changing concurrently (`conflict`): retry", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn set_product_status(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<ProductId>,
    ApiJson(request): ApiJson<ProductStatusRequest>,
) -> Result<Json<AdminProductDto>, ApiError> {
    let product = state.shop().catalog().set_status(id, request.status.into()).await?;
    Ok(Json(admin_view(&state, &product).await))
}

/// Deletes a draft product. Published products are archived instead (`POST
/// /products/{id}/status`), so past orders keep their references.
#[utoipa::path(
    delete,
    path = "/products/{id}",
    operation_id = "admin_delete_product",
    tag = "admin-catalog",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The product id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such product (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "The product is not a draft (`validation_failed`, `field: \"status\"`): archive it instead", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn delete_product(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<ProductId>,
) -> Result<StatusCode, ApiError> {
    state.shop().catalog().delete_draft(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every category, by position.
#[utoipa::path(
    get,
    path = "/categories",
    operation_id = "admin_list_categories",
    tag = "admin-catalog",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every category in one page", body = PageDto<CategoryDto>),
    )
)]
pub async fn list_categories(
    State(state): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<PageDto<CategoryDto>>, ApiError> {
    let categories = state.shop().catalog().categories().await?;
    Ok(Json(PageDto::all(categories.iter().map(CategoryDto::from).collect())))
}

/// Creates or replaces a category.
#[utoipa::path(
    put,
    path = "/categories/{id}",
    operation_id = "admin_upsert_category",
    tag = "admin-catalog",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The category handle (`shirts`, `mens-shoes`)")),
    request_body = CategoryRequest,
    responses(
        (status = 200, description = "The category as stored", body = CategoryDto),
        (status = 422, description = "A blank name, a malformed parent, or a category that is its own parent (`validation_failed` with `field`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn upsert_category(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<CategoryRequest>,
) -> Result<Json<CategoryDto>, ApiError> {
    let id = CategoryId::new(&id).map_err(|e| {
        ApiError::new(ProblemCode::InvalidPath, format!("{e}: use a handle such as `shirts`"))
    })?;
    let category = state.shop().catalog().upsert_category(request.into_category(id)?).await?;
    Ok(Json(CategoryDto::from(&category)))
}
