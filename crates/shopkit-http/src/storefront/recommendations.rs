//! Recommendations: `GET /products/{product}/similar` (public, cacheable) and `GET
//! /recommendations` ("for you", signed-in customers), through the
//! [`RecommendationService`](shopkit_core::services::RecommendationService). A recommender
//! outage answers an empty list, never an error.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shopkit_core::ids::ProductId;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::products::{currency, shopper_view};
use crate::auth::CustomerAuth;
use crate::catalog_cache::CatalogCache;
use crate::dto::{PageDto, ProductSummaryDto};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// The recommendation routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(similar)).routes(routes!(for_you))
}

/// The most recommendations one call returns.
const MAX_LIMIT: u32 = 50;
/// How many when `limit` is not given.
const DEFAULT_LIMIT: u32 = 10;

/// How many recommendations, and in which currency.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecommendationQuery {
    /// How many, 1 to 50 (default 10).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
    /// Show prices in this ISO 4217 currency.
    #[param(value_type = Option<crate::openapi::CurrencyCodeSchema>)]
    pub currency: Option<String>,
}

impl RecommendationQuery {
    fn limit(&self) -> Result<usize, ApiError> {
        match self.limit.unwrap_or(DEFAULT_LIMIT) {
            n @ 1..=MAX_LIMIT => Ok(n as usize),
            n => Err(ApiError::invalid_query(
                "limit",
                format!("limit {n} is out of range: ask for 1 to {MAX_LIMIT}"),
            )),
        }
    }
}

/// Products on sale similar to a product ("customers who liked this also liked"), best
/// first.
#[utoipa::path(
    get,
    path = "/products/{product}/similar",
    tag = "catalog",
    params(
        ("product" = String, Path, description = "The product's id (a UUID)"),
        RecommendationQuery,
    ),
    responses(
        (status = 200, description = "Similar products, in one page (empty when nothing is known yet)", body = PageDto<ProductSummaryDto>, headers(
            ("ETag" = String, description = "Strong validator of the body: send it back as If-None-Match"),
            ("Cache-Control" = String, description = "`public, max-age=N`"),
        )),
        (status = 304, description = "Not modified (`If-None-Match` matched)"),
    )
)]
pub async fn similar(
    State(state): State<AppState>,
    cache: CatalogCache,
    ApiPath(product): ApiPath<ProductId>,
    ApiQuery(query): ApiQuery<RecommendationQuery>,
) -> Result<Response, ApiError> {
    let currency = currency(query.currency.as_deref())?;
    let products = state.recommendations().similar(product, query.limit()?).await?;
    let view = shopper_view(&state, &products, currency).await;
    let items = products.iter().map(|p| ProductSummaryDto::new(p, &view.view)).collect();
    Ok(cache.respond(&PageDto::all(items)))
}

/// Products on sale picked for the signed-in customer, best first. Personal: never cached
/// by shared caches.
#[utoipa::path(
    get,
    path = "/recommendations",
    tag = "catalog",
    security(("bearer" = [])),
    params(RecommendationQuery),
    responses(
        (status = 200, description = "Recommendations, in one page (empty when nothing is known yet)", body = PageDto<ProductSummaryDto>),
    )
)]
pub async fn for_you(
    State(state): State<AppState>,
    auth: CustomerAuth,
    ApiQuery(query): ApiQuery<RecommendationQuery>,
) -> Result<Response, ApiError> {
    let currency = currency(query.currency.as_deref())?;
    let products = state.recommendations().for_customer(auth.customer(), query.limit()?).await?;
    let view = shopper_view(&state, &products, currency).await;
    let items = products.iter().map(|p| ProductSummaryDto::new(p, &view.view)).collect();
    Ok(Json(PageDto::all(items)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_one_to_fifty_with_a_default_of_ten() {
        let q = |limit| RecommendationQuery { limit, currency: None };
        assert_eq!(q(None).limit().unwrap(), 10);
        assert_eq!(q(Some(50)).limit().unwrap(), 50);
        assert!(q(Some(0)).limit().is_err());
        assert!(q(Some(51)).limit().is_err());
    }
}
