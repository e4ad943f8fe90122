//! Product search.

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Cursor;
use crate::catalog::{AttributeName, ProductStatus};
use crate::ids::{CategoryId, ProductId};
use crate::money::Currency;

/// What the index knows of a product: built from the catalog by the search sync
/// subscriber, never edited by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchDocument {
    /// The product.
    pub product_id: ProductId,
    /// Title (weighted highest).
    pub title: String,
    /// Description.
    pub description: String,
    /// Categories.
    pub categories: Vec<CategoryId>,
    /// Attribute values for facets, as text.
    pub attributes: Vec<(AttributeName, Vec<String>)>,
    /// SKUs (exact-match searchable).
    pub skus: Vec<String>,
    /// Lowest price per currency, for price filters and sorts.
    pub prices: Vec<(Currency, Decimal)>,
    /// Only active products appear in results.
    pub status: ProductStatus,
}

/// How results are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    /// Best match first (ties by product id).
    #[default]
    Relevance,
    /// Cheapest first in the query currency.
    PriceAsc,
    /// Dearest first in the query currency.
    PriceDesc,
    /// By title.
    Title,
}

/// A search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Free text; empty matches every active product.
    pub text: String,
    /// Only this category.
    pub category: Option<CategoryId>,
    /// Attribute filters (all must match).
    pub attributes: Vec<(AttributeName, String)>,
    /// Price filters apply in this currency.
    pub currency: Option<Currency>,
    /// Lowest price, inclusive.
    pub min_price: Option<Decimal>,
    /// Highest price, inclusive.
    pub max_price: Option<Decimal>,
    /// Attributes to count values of (plus `category` if named).
    pub facets: Vec<String>,
    /// Order.
    pub sort: SearchSort,
    /// Where to continue.
    pub cursor: Option<Cursor>,
    /// Page size, 1 to 100.
    pub limit: usize,
}

/// One value of a facet and how many results have it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCount {
    /// The value.
    pub value: String,
    /// Matching products.
    pub count: u64,
}

/// Counts for one facet over all matches (not just the page), most frequent first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facet {
    /// The attribute name, or `category`.
    pub name: String,
    /// The counts.
    pub counts: Vec<FacetCount>,
}

/// Search results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Matching product ids for this page, in order.
    pub hits: Vec<ProductId>,
    /// Total matches.
    pub total: u64,
    /// Facet counts over all matches.
    pub facets: Vec<Facet>,
    /// Where the next page starts.
    pub next_cursor: Option<Cursor>,
}

/// A search backend failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The query is malformed (bad cursor, limit, facet name).
    #[error("invalid search: {reason}")]
    Invalid {
        /// Why.
        reason: String,
    },
    /// The backend is unreachable. Retryable.
    #[error("search unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
    },
}

/// A product search engine (OpenSearch, PostgreSQL full-text or an embedded engine).
///
/// # Contract
/// - Only documents with `status: Active` appear in results.
/// - Every word of `text` MUST match title, description or SKU (case-insensitive); an
///   exact SKU matches its product.
/// - Facet counts cover every match, not only the page.
/// - `index` replaces the document of the same product; `remove` of an unknown id is fine.
/// - Pages never repeat or skip a hit for an unchanged index; a foreign cursor is `Invalid`.
#[async_trait]
pub trait SearchIndex: Send + Sync + 'static {
    /// Adds or replaces a document.
    async fn index(&self, doc: &SearchDocument) -> Result<(), SearchError>;
    /// Removes a product.
    async fn remove(&self, id: ProductId) -> Result<(), SearchError>;
    /// Searches.
    async fn search(&self, query: &SearchQuery) -> Result<SearchResults, SearchError>;
}
