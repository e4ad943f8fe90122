//! Product search: `GET /search`, through [`CatalogService::search`]. Public and cacheable
//! ([`CatalogCache`]): the URL is the whole cache key.
//!
//! [`CatalogService::search`]: shopkit_core::services::CatalogService::search

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Deserialize;
use shopkit_core::catalog::AttributeName;
use shopkit_core::ids::CategoryId;
use shopkit_core::ports::{SearchQuery, SearchSort};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::products::{ProductSort, currency, on_sale, price, shopper_view};
use crate::catalog_cache::CatalogCache;
use crate::dto::{PageLimit, ProductSummaryDto, SearchResultsDto, cursor};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// The search routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

/// The prefix of attribute filter parameters (`attr.colour=red`).
const ATTRIBUTE_PREFIX: &str = "attr.";
/// The facet that counts categories instead of an attribute.
const CATEGORY_FACET: &str = "category";
/// The most attribute filters one search may have.
const MAX_ATTRIBUTE_FILTERS: usize = 20;
/// The most facets one search may count.
const MAX_FACETS: usize = 10;
/// The longest search text accepted.
const MAX_TEXT: usize = 200;

/// The parameters of `GET /search` (besides the `attr.<name>` filters, read from the raw
/// query string).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Free text: every word must match the title, description or a SKU; empty finds
    /// every product on sale.
    pub q: Option<String>,
    /// Only products in this category (a handle such as `shirts`).
    pub category: Option<String>,
    /// Lowest price (inclusive), a decimal in `currency`.
    pub min_price: Option<String>,
    /// Highest price (inclusive), a decimal in `currency`.
    pub max_price: Option<String>,
    /// Show prices in this ISO 4217 currency (required by price filters and price sorts).
    #[param(value_type = Option<crate::openapi::CurrencyCodeSchema>)]
    pub currency: Option<String>,
    /// Order of the results (default: relevance).
    #[param(inline)]
    pub sort: Option<ProductSort>,
    /// Facets to count, comma-separated: `category` and attribute names
    /// (`category,colour,size`), at most 10.
    pub facets: Option<String>,
    /// The `next_cursor` of the previous page (with the same other parameters).
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The `attr.<name>=<value>` pairs of a query string, in order.
fn attribute_filters(raw: Option<&str>) -> Result<Vec<(AttributeName, String)>, ApiError> {
    let pairs = form_urlencoded::parse(raw.unwrap_or_default().as_bytes());
    let mut filters = Vec::new();
    for (key, value) in pairs {
        let Some(name) = key.strip_prefix(ATTRIBUTE_PREFIX) else {
            continue;
        };
        let name = AttributeName::new(name)
            .map_err(|e| ApiError::invalid_query(key.as_ref(), e.to_string()))?;
        filters.push((name, value.trim().to_owned()));
    }
    if filters.len() > MAX_ATTRIBUTE_FILTERS {
        return Err(ApiError::invalid_query(
            "attr",
            format!("at most {MAX_ATTRIBUTE_FILTERS} attribute filters"),
        ));
    }
    Ok(filters)
}

/// The facet names of `facets=a,b`.
fn facet_names(raw: Option<&str>) -> Result<Vec<String>, ApiError> {
    let names: Vec<String> = raw
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            if n == CATEGORY_FACET {
                return Ok(n.to_owned());
            }
            AttributeName::new(n)
                .map(|a| a.as_str().to_owned())
                .map_err(|e| ApiError::invalid_query("facets", e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    if names.len() > MAX_FACETS {
        return Err(ApiError::invalid_query("facets", format!("at most {MAX_FACETS} facets")));
    }
    Ok(names)
}

/// Searches the products on sale, with filters, facet counts and a sort.
///
/// Attribute filters are `attr.<name>=<value>` parameters (`attr.colour=red&attr.size=m`):
/// every one must match. Hits come as product summaries with the price in `currency`.
#[utoipa::path(
    get,
    path = "/search",
    tag = "catalog",
    params(
        SearchParams,
        ("attr.<name>" = Option<String>, Query, description = "An attribute filter: `attr.colour=red` keeps products whose `colour` is `red`; repeat for more (all must match)"),
    ),
    responses(
        (status = 200, description = "A page of hits with the total and the facet counts", body = SearchResultsDto, headers(
            ("ETag" = String, description = "Strong validator of the body: send it back as If-None-Match"),
            ("Cache-Control" = String, description = "`public, max-age=N`"),
        )),
        (status = 304, description = "Not modified (`If-None-Match` matched)"),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    cache: CatalogCache,
    RawQuery(raw): RawQuery,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Response, ApiError> {
    let currency = currency(params.currency.as_deref())?;
    let limit = PageLimit::new(params.limit)?.get();
    let text = params.q.unwrap_or_default().trim().to_owned();
    if text.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid_query("q", format!("at most {MAX_TEXT} characters")));
    }
    let category = params
        .category
        .as_deref()
        .map(CategoryId::new)
        .transpose()
        .map_err(|e| ApiError::invalid_query("category", e.to_string()))?;
    let min_price = price(params.min_price.as_deref(), "min_price")?;
    let max_price = price(params.max_price.as_deref(), "max_price")?;
    let sort = params.sort.map(SearchSort::from).unwrap_or_default();
    let by_price = matches!(sort, SearchSort::PriceAsc | SearchSort::PriceDesc);
    if (min_price.is_some() || max_price.is_some() || by_price) && currency.is_none() {
        return Err(ApiError::invalid_query(
            "currency",
            "price filters and price sorts need a currency",
        ));
    }
    let query = SearchQuery {
        text,
        category,
        attributes: attribute_filters(raw.as_deref())?,
        currency,
        min_price,
        max_price,
        facets: facet_names(params.facets.as_deref())?,
        sort,
        cursor: cursor(params.cursor),
        limit,
    };
    let results = state.shop().catalog().search(&query).await?;
    let products = on_sale(&state, &results.hits).await?;
    let view = shopper_view(&state, &products, currency).await;
    let items = products.iter().map(|p| ProductSummaryDto::new(p, &view.view)).collect();
    let body = SearchResultsDto::new(items, results.next_cursor, results.total, &results.facets);
    Ok(cache.respond(&body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_filters_come_from_attr_parameters_only() {
        let filters =
            attribute_filters(Some("q=tee&attr.colour=red&attr.size=M%20&limit=2")).unwrap();

        let pairs: Vec<_> = filters.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("colour", "red"), ("size", "M")]);
        let bad = attribute_filters(Some("attr.Colour=red")).unwrap_err();
        assert_eq!(bad.extension("field").unwrap(), "attr.Colour");
    }

    #[test]
    fn facets_are_category_or_attribute_names() {
        assert_eq!(facet_names(Some("category, colour")).unwrap(), ["category", "colour"]);
        assert!(facet_names(None).unwrap().is_empty());
        assert!(facet_names(Some("Colour")).is_err());
        assert!(facet_names(Some(&"a,".repeat(11))).is_err());
    }
}
