//! Catalog reads: `GET /products`, `GET /products/{product}`, `GET /categories`.
//! Public (no auth) and cacheable ([`CatalogCache`]): the URL is the whole cache key.
//! Products come with the availability of each SKU (in stock, backorder, "only N left"),
//! never stock counts.

use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::State;
use axum::response::Response;
use futures::future::{join_all, try_join_all};
use rust_decimal::Decimal;
use serde::Deserialize;
use shopkit_core::catalog::{AttributeName, Product};
use shopkit_core::ids::{CategoryId, ProductId, Sku, Slug};
use shopkit_core::money::Currency;
use shopkit_core::ports::{Page, SearchQuery, SearchSort};
use shopkit_core::services::{Availability, ProductListing, ShopError, Visibility};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::catalog_cache::CatalogCache;
use crate::dto::{
    CategoryDto, PageDto, PageLimit, ProblemDto, ProductView, StorefrontProductDto, cursor,
    parse_currency,
};
use crate::error::{ApiError, ProblemCode};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// The catalog routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products))
        .routes(routes!(get_product))
        .routes(routes!(list_categories))
}

/// The order of a product list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductSort {
    /// Best match first (with `q`).
    Relevance,
    /// Cheapest first in `currency`.
    PriceAsc,
    /// Dearest first in `currency`.
    PriceDesc,
    /// By title.
    Title,
}

impl From<ProductSort> for SearchSort {
    fn from(s: ProductSort) -> Self {
        match s {
            ProductSort::Relevance => SearchSort::Relevance,
            ProductSort::PriceAsc => SearchSort::PriceAsc,
            ProductSort::PriceDesc => SearchSort::PriceDesc,
            ProductSort::Title => SearchSort::Title,
        }
    }
}

/// Filters, order and paging of `GET /products`. Without `q`, price filters or `sort`,
/// the list comes straight from the catalog in a stable order; with any of them it comes
/// from the search index. Cursors of one kind do not work for the other.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductListQuery {
    /// Only products in this category (a handle such as `shirts`).
    pub category: Option<String>,
    /// Attribute filters, `name:value` pairs separated by commas (`colour:red,size:m`);
    /// every one must match.
    pub attributes: Option<String>,
    /// Free-text search over title, description and SKU.
    pub q: Option<String>,
    /// Lowest price (inclusive), a decimal in `currency`.
    pub min_price: Option<String>,
    /// Highest price (inclusive), a decimal in `currency`.
    pub max_price: Option<String>,
    /// Order of the results.
    #[param(inline)]
    pub sort: Option<ProductSort>,
    /// Show prices in this ISO 4217 currency only (and filter prices in it).
    #[param(value_type = Option<crate::openapi::CurrencyCodeSchema>)]
    pub currency: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The currency of a product read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CurrencyQuery {
    /// Show prices in this ISO 4217 currency only.
    #[param(value_type = Option<crate::openapi::CurrencyCodeSchema>)]
    pub currency: Option<String>,
}

pub(crate) fn currency(raw: Option<&str>) -> Result<Option<Currency>, ApiError> {
    raw.map(|c| {
        parse_currency(c, "currency").map_err(|e| ApiError::invalid_query("currency", e.detail()))
    })
    .transpose()
}

pub(crate) fn price(raw: Option<&str>, field: &str) -> Result<Option<Decimal>, ApiError> {
    raw.map(|p| match Decimal::from_str(p) {
        Ok(d) if !d.is_sign_negative() => Ok(d),
        _ => Err(ApiError::invalid_query(field, format!("{field} must be a decimal of 0 or more"))),
    })
    .transpose()
}

pub(crate) fn attribute_filters(
    raw: Option<&str>,
) -> Result<Vec<(AttributeName, String)>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(|pair| {
            let (name, value) = pair.split_once(':').ok_or_else(|| {
                ApiError::invalid_query("attributes", "use name:value pairs separated by commas")
            })?;
            let name = AttributeName::new(name.trim())
                .map_err(|e| ApiError::invalid_query("attributes", e.to_string()))?;
            Ok((name, value.trim().to_owned()))
        })
        .collect()
}

/// What a storefront product response needs besides the product: media URLs and what the
/// shopper may know of stock ([`InventoryService::availability`], never back-office
/// levels).
///
/// [`InventoryService::availability`]: shopkit_core::services::InventoryService::availability
#[derive(Debug)]
pub(crate) struct ShopperView {
    /// Currency, media URLs, and `stock` as 1 (can be bought now) or 0 per SKU: the
    /// storefront never learns stock counts, and [`ProductView`] only tells `in_stock`.
    pub(crate) view: ProductView,
    /// Availability by SKU; `None` when stock could not be checked.
    pub(crate) availability: Option<HashMap<Sku, Availability>>,
}

impl ShopperView {
    /// `product` as the storefront shows it.
    pub(crate) fn product(&self, product: &Product) -> StorefrontProductDto {
        StorefrontProductDto::new(product, &self.view, self.availability.as_ref())
    }
}

/// Gathers the media URLs and availability of `products` through the services. A stock
/// outage degrades to unknown availability (`null`); a missing media URL to `url: null`.
pub(crate) async fn shopper_view(
    state: &AppState,
    products: &[Product],
    currency: Option<Currency>,
) -> ShopperView {
    let media = products.iter().flat_map(|p| p.media.iter());
    let urls = join_all(
        media.map(|m| async move { state.media().url(m).await.map(|url| (m.key.clone(), url)) }),
    )
    .await;
    let skus: Vec<Sku> =
        products.iter().flat_map(|p| p.variants.iter().map(|v| v.sku.clone())).collect();
    let availability = if skus.is_empty() {
        Some(HashMap::new())
    } else {
        match state.shop().inventory().availability(&skus).await {
            Ok(found) => Some(found.into_iter().map(|a| (a.sku.clone(), a)).collect()),
            Err(e) => {
                tracing::warn!(error = %e, "availability unknown for a catalog read");
                None
            }
        }
    };
    let stock = availability.as_ref().map(|known: &HashMap<Sku, Availability>| {
        known.iter().map(|(sku, a)| (sku.clone(), i64::from(a.in_stock))).collect()
    });
    ShopperView {
        view: ProductView { currency, media_urls: urls.into_iter().flatten().collect(), stock },
        availability,
    }
}

/// Everything a product response needs besides the product: media URLs and whether each
/// SKU can be bought now (see [`shopper_view`]).
pub(crate) async fn product_view(
    state: &AppState,
    products: &[Product],
    currency: Option<Currency>,
) -> ProductView {
    shopper_view(state, products, currency).await.view
}

/// The products of search or recommendation hits that are on sale now, in hit order. A hit
/// the catalog no longer shows (unpublished since it was indexed) is skipped.
///
/// # Errors
/// The catalog's storage errors.
pub(crate) async fn on_sale(
    state: &AppState,
    hits: &[ProductId],
) -> Result<Vec<Product>, ApiError> {
    let catalog = state.shop().catalog();
    let found = try_join_all(hits.iter().map(|id| async move {
        match catalog.product(*id, Visibility::Storefront).await {
            Ok(product) => Ok(Some(product)),
            Err(ShopError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }))
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// Lists products on sale.
#[utoipa::path(
    get,
    path = "/products",
    tag = "catalog",
    params(ProductListQuery),
    responses(
        (status = 200, description = "A page of products", body = PageDto<StorefrontProductDto>, headers(
            ("ETag" = String, description = "Strong validator of the body: send it back as If-None-Match"),
            ("Cache-Control" = String, description = "`public, max-age=N`"),
        )),
        (status = 304, description = "Not modified (`If-None-Match` matched)"),
    )
)]
pub async fn list_products(
    State(state): State<AppState>,
    cache: CatalogCache,
    ApiQuery(query): ApiQuery<ProductListQuery>,
) -> Result<Response, ApiError> {
    let currency = currency(query.currency.as_deref())?;
    let limit = PageLimit::new(query.limit)?.get();
    let category = query
        .category
        .as_deref()
        .map(CategoryId::new)
        .transpose()
        .map_err(|e| ApiError::invalid_query("category", e.to_string()))?;
    let attributes = attribute_filters(query.attributes.as_deref())?;
    let min_price = price(query.min_price.as_deref(), "min_price")?;
    let max_price = price(query.max_price.as_deref(), "max_price")?;
    if (min_price.is_some() || max_price.is_some()) && currency.is_none() {
        return Err(ApiError::invalid_query("currency", "price filters need a currency"));
    }
    let cursor = cursor(query.cursor);
    let catalog = state.shop().catalog();
    let searching =
        query.q.is_some() || min_price.is_some() || max_price.is_some() || query.sort.is_some();
    let page: Page<Product> = if searching {
        let search = SearchQuery {
            text: query.q.unwrap_or_default(),
            category,
            attributes,
            currency,
            min_price,
            max_price,
            facets: Vec::new(),
            sort: query.sort.map(SearchSort::from).unwrap_or_default(),
            cursor,
            limit,
        };
        let results = catalog.search(&search).await?;
        Page { items: on_sale(&state, &results.hits).await?, next_cursor: results.next_cursor }
    } else {
        let listing = ProductListing { category, attributes, status: None, cursor, limit };
        catalog.list(listing, Visibility::Storefront).await?
    };
    let view = shopper_view(&state, &page.items, currency).await;
    let body = PageDto::new(page.items.iter().map(|p| view.product(p)).collect(), page.next_cursor);
    Ok(cache.respond(&body))
}

/// A product on sale, by id or slug.
#[utoipa::path(
    get,
    path = "/products/{product}",
    tag = "catalog",
    params(
        ("product" = String, Path, description = "The product's id (a UUID) or slug"),
        CurrencyQuery,
    ),
    responses(
        (status = 200, description = "The product with the availability of each SKU", body = StorefrontProductDto, headers(
            ("ETag" = String, description = "Strong validator of the body: send it back as If-None-Match"),
            ("Cache-Control" = String, description = "`public, max-age=N`"),
        )),
        (status = 304, description = "Not modified (`If-None-Match` matched)"),
        (status = 404, description = "No product on sale has this id or slug (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn get_product(
    State(state): State<AppState>,
    cache: CatalogCache,
    ApiPath(product): ApiPath<String>,
    ApiQuery(query): ApiQuery<CurrencyQuery>,
) -> Result<Response, ApiError> {
    let currency = currency(query.currency.as_deref())?;
    let catalog = state.shop().catalog();
    let product = if let Ok(id) = ProductId::from_str(&product) {
        catalog.product(id, Visibility::Storefront).await?
    } else {
        let slug = Slug::new(&product).map_err(|_| {
            ApiError::new(
                ProblemCode::InvalidPath,
                "use a product id (UUID) or slug (lowercase a-z 0-9 -)",
            )
        })?;
        catalog.product_by_slug(&slug, Visibility::Storefront).await?
    };
    let view = shopper_view(&state, std::slice::from_ref(&product), currency).await;
    Ok(cache.respond(&view.product(&product)))
}

/// Every category, by position.
#[utoipa::path(
    get,
    path = "/categories",
    tag = "catalog",
    responses(
        (status = 200, description = "Every category in one page", body = PageDto<CategoryDto>, headers(
            ("ETag" = String, description = "Strong validator of the body: send it back as If-None-Match"),
            ("Cache-Control" = String, description = "`public, max-age=N`"),
        )),
        (status = 304, description = "Not modified (`If-None-Match` matched)"),
    )
)]
pub async fn list_categories(
    State(state): State<AppState>,
    cache: CatalogCache,
) -> Result<Response, ApiError> {
    let categories = state.shop().catalog().categories().await?;
    Ok(cache.respond(&PageDto::all(categories.iter().map(CategoryDto::from).collect())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_filters_are_name_value_pairs() {
        let filters = attribute_filters(Some("colour:red, size:m")).unwrap();
        assert_eq!(filters.len(), 2);
        assert_eq!(filters[1].1, "m");
        assert!(attribute_filters(Some("colour")).is_err());
        assert!(attribute_filters(Some("Colour:red")).is_err());
    }

    #[test]
    fn prices_are_non_negative_decimals() {
        assert!(price(Some("12.50"), "min_price").unwrap().is_some());
        assert!(price(Some("-1"), "min_price").is_err());
        assert!(price(Some("abc"), "min_price").is_err());
    }
}
