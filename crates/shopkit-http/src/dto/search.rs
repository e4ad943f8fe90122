//! Search results and product summaries (search hits, recommendations).

use serde::{Deserialize, Serialize};
use shopkit_core::catalog::Product;
use shopkit_core::ports::{Cursor, Facet};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{MediaDto, MoneyDto, ProductView};

/// A product in a result list: enough for a tile; `GET /products/{product}` has the rest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductSummaryDto {
    /// The product id.
    pub id: Uuid,
    /// The URL handle.
    pub slug: String,
    /// The title.
    pub title: String,
    /// Category handles.
    pub categories: Vec<String>,
    /// The lowest variant price in the requested `currency` ("from 19.99"); `null`
    /// without `currency` or when no variant is sold in it.
    pub price_from: Option<MoneyDto>,
    /// The first picture or video.
    pub image: Option<MediaDto>,
    /// Whether at least one variant can be bought now; `null` when stock could not be
    /// checked.
    pub in_stock: Option<bool>,
}

impl ProductSummaryDto {
    /// A product seen through `view`.
    pub fn new(product: &Product, view: &ProductView) -> Self {
        ProductSummaryDto {
            id: product.id.as_uuid(),
            slug: product.slug.to_string(),
            title: product.title.clone(),
            categories: product.categories.iter().map(ToString::to_string).collect(),
            price_from: view.currency.and_then(|c| product.price_from(c)).map(MoneyDto::from),
            image: product.media.first().map(|m| MediaDto {
                url: view.media_urls.get(&m.key).cloned(),
                kind: m.kind.into(),
                alt: m.alt.clone(),
                key: m.key.clone(),
            }),
            in_stock: view.stock.as_ref().map(|stock| {
                product.variants.iter().any(|v| stock.get(&v.sku).is_some_and(|n| *n > 0))
            }),
        }
    }
}

/// One value of a facet and how many results have it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FacetCountDto {
    /// The value (a category handle, or an attribute value as text).
    pub value: String,
    /// Matching products.
    pub count: u64,
}

/// Counts of one facet over every match (not only this page), most frequent first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FacetDto {
    /// `category` or an attribute name.
    pub name: String,
    /// The values.
    pub counts: Vec<FacetCountDto>,
}

impl From<&Facet> for FacetDto {
    fn from(f: &Facet) -> Self {
        FacetDto {
            name: f.name.clone(),
            counts: f
                .counts
                .iter()
                .map(|c| FacetCountDto { value: c.value.clone(), count: c.count })
                .collect(),
        }
    }
}

/// A page of search results: `{"items": [...], "next_cursor": ..., "total": N, "facets":
/// [...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SearchResultsDto {
    /// The hits of this page, best first (or in the requested order).
    pub items: Vec<ProductSummaryDto>,
    /// Where the next page starts (pass it back as `cursor`); `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many products match in all (an estimate when the index is catching up with
    /// the catalog).
    pub total: u64,
    /// The requested facets, counted over every match.
    pub facets: Vec<FacetDto>,
}

impl SearchResultsDto {
    /// A page of converted hits.
    pub fn new(
        items: Vec<ProductSummaryDto>,
        next_cursor: Option<Cursor>,
        total: u64,
        facets: &[Facet],
    ) -> Self {
        SearchResultsDto {
            items,
            next_cursor: next_cursor.map(|c| c.0),
            total,
            facets: facets.iter().map(FacetDto::from).collect(),
        }
    }
}
