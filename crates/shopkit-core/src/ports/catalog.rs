//! The product repository.

use async_trait::async_trait;

use super::{Cursor, Page, StoreError};
use crate::catalog::{AttributeName, Category, Product, ProductStatus};
use crate::ids::{CategoryId, ProductId, Sku, Slug};

/// A product listing request. Listings are ordered by product id (stable under inserts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductQuery {
    /// Only products in this category.
    pub category: Option<CategoryId>,
    /// Only products whose attribute matches each value (see `AttributeValue::matches`).
    pub attributes: Vec<(AttributeName, String)>,
    /// Only products in this status (`None`: any status; the storefront asks for active).
    pub status: Option<ProductStatus>,
    /// Where to continue.
    pub cursor: Option<Cursor>,
    /// Page size, 1 to 100 (adapters clamp).
    pub limit: usize,
}

/// Where products and categories live.
///
/// # Contract
/// - `insert` MUST fail with `AlreadyExists` when the id, the slug or any variant SKU is
///   taken, and store the product with version 1.
/// - `update` MUST fail with `VersionConflict` unless the stored version equals
///   `product.version`, and on success store version + 1 and return it. Slug and SKU
///   uniqueness hold on update too.
/// - `by_skus` MUST return, in one round trip where the backend allows, the product of
///   each SKU that exists (missing SKUs are simply absent): checkout and cart pricing use
///   it, so it must not be N+1.
/// - `update` or `delete` of a product that does not exist MUST be `NotFound`.
/// - `list` MUST page with opaque cursors, never repeat or skip a product between pages,
///   and reject a foreign cursor with `InvalidCursor`.
#[async_trait]
pub trait ProductRepository: Send + Sync + 'static {
    /// Stores a new product.
    async fn insert(&self, product: &Product) -> Result<u64, StoreError>;
    /// Replaces a product if its version matches; returns the new version.
    async fn update(&self, product: &Product) -> Result<u64, StoreError>;
    /// Removes a product (prefer archiving; this is for drafts).
    async fn delete(&self, id: ProductId) -> Result<(), StoreError>;
    /// The product with `id`.
    async fn get(&self, id: ProductId) -> Result<Option<Product>, StoreError>;
    /// The product with `slug`.
    async fn by_slug(&self, slug: &Slug) -> Result<Option<Product>, StoreError>;
    /// The products that hold these SKUs, each product once.
    async fn by_skus(&self, skus: &[Sku]) -> Result<Vec<Product>, StoreError>;
    /// A page of products.
    async fn list(&self, query: &ProductQuery) -> Result<Page<Product>, StoreError>;
    /// Creates or replaces a category.
    async fn upsert_category(&self, category: &Category) -> Result<(), StoreError>;
    /// Every category, by position then id.
    async fn categories(&self) -> Result<Vec<Category>, StoreError>;
}
