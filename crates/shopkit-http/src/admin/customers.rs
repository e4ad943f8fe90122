//! Customer accounts: `GET /customers` (by id, paged), `GET /customers/{id}`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use shopkit_core::ids::CustomerId;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminAuth;
use crate::dto::{AdminCustomerDto, PageDto, PageLimit, ProblemDto, cursor};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// The customer routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_customers)).routes(routes!(get_customer))
}

/// Paging of a back-office list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminPageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Customers, by id.
#[utoipa::path(
    get,
    path = "/customers",
    operation_id = "admin_list_customers",
    tag = "admin-customers",
    security(("bearer" = [])),
    params(AdminPageQuery),
    responses((status = 200, description = "A page of customers", body = PageDto<AdminCustomerDto>))
)]
pub async fn list_customers(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiQuery(query): ApiQuery<AdminPageQuery>,
) -> Result<Json<PageDto<AdminCustomerDto>>, ApiError> {
    let limit = PageLimit::new(query.limit)?.get();
    let page = state.shop().customers().list(&admin.caller(), cursor(query.cursor), limit).await?;
    Ok(Json(PageDto::from_page(page, |c| AdminCustomerDto::from(&c))))
}

/// A customer with their address book.
#[utoipa::path(
    get,
    path = "/customers/{id}",
    operation_id = "admin_get_customer",
    tag = "admin-customers",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The customer id")),
    responses(
        (status = 200, description = "The customer", body = AdminCustomerDto),
        (status = 404, description = "No such customer (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn get_customer(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<Json<AdminCustomerDto>, ApiError> {
    let customer = state.shop().customers().get(&admin.caller(), id).await?;
    Ok(Json(AdminCustomerDto::from(&customer)))
}
