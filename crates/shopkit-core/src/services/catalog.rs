//! Browsing and managing the catalog, with the search index kept in sync.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::catalog::{
    Attributes, Category, MediaRef, Product, ProductStatus, ShippingRequirement, Variant,
};
use crate::ids::{CategoryId, ProductId, Sku, Slug, VariantId};
use crate::money::{Currency, Money};
use crate::ports::{
    Clock, Cursor, IdGenerator, Page, ProductQuery, ProductRepository, SearchDocument, SearchIndex,
    SearchQuery, SearchResults, StoreError,
};

use super::error::ShopError;

/// Who a catalog read is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Shoppers: active products only; drafts and archived products are "not found".
    #[default]
    Storefront,
    /// Back-office: every product, whatever its status.
    BackOffice,
}

/// A product as an editor writes it: everything but ids, version and timestamps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductDraft {
    /// The URL handle; `None` makes one from the title on create and keeps the current
    /// one on update (URLs stay stable when a title is edited).
    pub slug: Option<Slug>,
    /// The title.
    pub title: String,
    /// The description.
    pub description: String,
    /// Draft, active or archived.
    pub status: ProductStatus,
    /// Categories.
    pub categories: Vec<CategoryId>,
    /// Open attributes.
    pub attributes: Attributes,
    /// Media references.
    pub media: Vec<MediaRef>,
    /// The variants; at least one.
    pub variants: Vec<VariantDraft>,
}

/// A variant as an editor writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantDraft {
    /// The SKU. On update, a variant keeps its id when its SKU is unchanged.
    pub sku: Sku,
    /// A short title (`"Red / M"`).
    pub title: String,
    /// Option values.
    pub options: BTreeMap<String, String>,
    /// One price per currency.
    pub prices: Vec<Money>,
    /// Shipping weight in grams.
    pub weight_grams: u32,
    /// Shipped (physical goods) or not (digital goods, services).
    pub shipping: ShippingRequirement,
}

impl ProductDraft {
    /// A draft with a title and variants; no slug (made from the title), empty
    /// description, no categories, attributes or media, status `Draft`.
    pub fn new(title: impl Into<String>, variants: Vec<VariantDraft>) -> Self {
        ProductDraft {
            slug: None,
            title: title.into(),
            description: String::new(),
            status: ProductStatus::Draft,
            categories: Vec::new(),
            attributes: Attributes::new(),
            media: Vec::new(),
            variants,
        }
    }

    /// The same draft with another status.
    #[must_use]
    pub fn with_status(mut self, status: ProductStatus) -> Self {
        self.status = status;
        self
    }
}

impl VariantDraft {
    /// A shipped variant with a SKU, a title and prices; no options, weight 0.
    pub fn new(sku: Sku, title: impl Into<String>, prices: Vec<Money>) -> Self {
        VariantDraft {
            sku,
            title: title.into(),
            options: BTreeMap::new(),
            prices,
            weight_grams: 0,
            shipping: ShippingRequirement::Required,
        }
    }

    /// The same variant, delivered without shipping (a download, a code by email).
    #[must_use]
    pub fn not_shipped(mut self) -> Self {
        self.shipping = ShippingRequirement::NotRequired;
        self
    }
}

/// A product listing request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductListing {
    /// Only this category.
    pub category: Option<CategoryId>,
    /// Only products whose attribute matches each value.
    pub attributes: Vec<(crate::catalog::AttributeName, String)>,
    /// Only this status (back-office only; the storefront always lists active products).
    pub status: Option<ProductStatus>,
    /// Where to continue.
    pub cursor: Option<Cursor>,
    /// Page size, 1 to 100.
    pub limit: usize,
}

/// Products and categories: create, update, read, list, search.
///
/// Writes go to the product repository first; the search index follows. A search failure
/// after a successful write is logged and does not fail the write (the catalog is the
/// truth; [`CatalogService::reindex`] repairs the index).
#[derive(Clone)]
pub struct CatalogService {
    products: Arc<dyn ProductRepository>,
    search: Arc<dyn SearchIndex>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl std::fmt::Debug for CatalogService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogService").finish_non_exhaustive()
    }
}

impl CatalogService {
    /// A catalog service over these ports.
    pub fn new(
        products: Arc<dyn ProductRepository>,
        search: Arc<dyn SearchIndex>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        CatalogService { products, search, clock, ids }
    }

    /// Creates a product (version 1) and indexes it.
    ///
    /// # Errors
    /// [`ShopError::Invalid`] when no slug is given and the title has no letters or digits;
    /// [`ShopError::Catalog`] when the product breaks a catalog rule;
    /// [`ShopError::AlreadyExists`] when the slug or a SKU is taken.
    pub async fn create_product(&self, draft: ProductDraft) -> Result<Product, ShopError> {
        let now = self.clock.now();
        let slug = match draft.slug {
            Some(slug) => slug,
            None => Slug::from_title(&draft.title)?,
        };
        let variants = draft
            .variants
            .into_iter()
            .map(|v| variant(VariantId::from_uuid(self.ids.uuid()), v))
            .collect();
        let mut product = Product {
            id: ProductId::from_uuid(self.ids.uuid()),
            slug,
            title: draft.title,
            description: draft.description,
            status: draft.status,
            categories: draft.categories,
            attributes: draft.attributes,
            media: draft.media,
            variants,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        product.validate()?;
        product.version = self.products.insert(&product).await?;
        self.index(&product).await;
        Ok(product)
    }

    /// Replaces a product's content if it is still at `version` (the version the editor
    /// read). Variants keep their ids by SKU; a `None` slug keeps the current slug.
    ///
    /// # Errors
    /// [`ShopError::NotFound`]; [`ShopError::Conflict`] when the product changed since the
    /// editor read it (reload and re-apply the edit); as [`CatalogService::create_product`].
    pub async fn update_product(
        &self,
        id: ProductId,
        version: u64,
        draft: ProductDraft,
    ) -> Result<Product, ShopError> {
        let now = self.clock.now();
        let current =
            self.products.get(id).await?.ok_or_else(|| ShopError::not_found("product", id))?;
        if current.version != version {
            return Err(ShopError::Conflict { entity: "product", id: id.to_string() });
        }
        let variants = draft
            .variants
            .into_iter()
            .map(|v| {
                let id = current
                    .variant_by_sku(&v.sku)
                    .map_or_else(|| VariantId::from_uuid(self.ids.uuid()), |existing| existing.id);
                variant(id, v)
            })
            .collect();
        let mut product = Product {
            id,
            slug: draft.slug.unwrap_or_else(|| current.slug.clone()),
            title: draft.title,
            description: draft.description,
            status: draft.status,
            categories: draft.categories,
            attributes: draft.attributes,
            media: draft.media,
            variants,
            version,
            created_at: current.created_at,
            updated_at: now,
        };
        product.validate()?;
        product.version = self.products.update(&product).await?;
        self.index(&product).await;
        Ok(product)
    }

    /// Publishes, archives or un-publishes a product. Retries a concurrent edit (the
    /// status change does not depend on the rest of the product).
    ///
    /// # Errors
    /// [`ShopError::NotFound`]; [`ShopError::Conflict`] when the product kept changing.
    pub async fn set_status(
        &self,
        id: ProductId,
        status: ProductStatus,
    ) -> Result<Product, ShopError> {
        for attempt in 1..=super::MAX_ATTEMPTS {
            let mut product =
                self.products.get(id).await?.ok_or_else(|| ShopError::not_found("product", id))?;
            if product.status == status {
                return Ok(product);
            }
            product.status = status;
            product.updated_at = self.clock.now();
            match self.products.update(&product).await {
                Ok(version) => {
                    product.version = version;
                    self.index(&product).await;
                    return Ok(product);
                }
                Err(StoreError::VersionConflict { .. }) if attempt < super::MAX_ATTEMPTS => {
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ShopError::Conflict { entity: "product", id: id.to_string() })
    }

    /// Deletes a draft product (published products are archived instead, so past orders
    /// keep their references).
    ///
    /// # Errors
    /// [`ShopError::NotFound`]; [`ShopError::Invalid`] for a product that is not a draft.
    pub async fn delete_draft(&self, id: ProductId) -> Result<(), ShopError> {
        let product =
            self.products.get(id).await?.ok_or_else(|| ShopError::not_found("product", id))?;
        if product.status != ProductStatus::Draft {
            return Err(ShopError::Invalid {
                field: "status",
                reason: "only draft products can be deleted: archive this one instead".into(),
            });
        }
        self.products.delete(id).await?;
        if let Err(e) = self.search.remove(id).await {
            tracing::warn!(product = %id, error = %e, "search index not updated after a product delete");
        }
        Ok(())
    }

    /// A product by id.
    ///
    /// # Errors
    /// [`ShopError::NotFound`] when there is none, or when it is not active and the read is
    /// for the storefront.
    pub async fn product(
        &self,
        id: ProductId,
        visibility: Visibility,
    ) -> Result<Product, ShopError> {
        let product = self.products.get(id).await?;
        visible(product, visibility).ok_or_else(|| ShopError::not_found("product", id))
    }

    /// A product by slug.
    ///
    /// # Errors
    /// As [`CatalogService::product`].
    pub async fn product_by_slug(
        &self,
        slug: &Slug,
        visibility: Visibility,
    ) -> Result<Product, ShopError> {
        let product = self.products.by_slug(slug).await?;
        visible(product, visibility).ok_or_else(|| ShopError::not_found("product", slug))
    }

    /// A page of products, by id. The storefront sees active products only, whatever
    /// `listing.status` says.
    ///
    /// # Errors
    /// [`ShopError::Invalid`] for a foreign cursor; storage errors.
    pub async fn list(
        &self,
        listing: ProductListing,
        visibility: Visibility,
    ) -> Result<Page<Product>, ShopError> {
        let status = match visibility {
            Visibility::Storefront => Some(ProductStatus::Active),
            Visibility::BackOffice => listing.status,
        };
        let query = ProductQuery {
            category: listing.category,
            attributes: listing.attributes,
            status,
            cursor: listing.cursor,
            limit: listing.limit.clamp(1, 100),
        };
        Ok(self.products.list(&query).await?)
    }

    /// Every category, by position then id.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn categories(&self) -> Result<Vec<Category>, ShopError> {
        Ok(self.products.categories().await?)
    }

    /// Creates or replaces a category.
    ///
    /// # Errors
    /// [`ShopError::Invalid`] for a blank name or a category that is its own parent.
    pub async fn upsert_category(&self, category: Category) -> Result<Category, ShopError> {
        if category.name.trim().is_empty() {
            return Err(ShopError::Invalid {
                field: "name",
                reason: "a category needs a name".into(),
            });
        }
        if category.parent.as_ref() == Some(&category.id) {
            return Err(ShopError::Invalid {
                field: "parent",
                reason: "a category cannot be its own parent".into(),
            });
        }
        self.products.upsert_category(&category).await?;
        Ok(category)
    }

    /// Searches active products.
    ///
    /// # Errors
    /// [`ShopError::Invalid`] for a malformed query; [`ShopError::Unavailable`] when the
    /// search backend is down.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchResults, ShopError> {
        Ok(self.search.search(query).await?)
    }

    /// Re-indexes one product from the catalog (repairs the index after a search outage).
    ///
    /// # Errors
    /// [`ShopError::NotFound`]; the search backend's error.
    pub async fn reindex(&self, id: ProductId) -> Result<(), ShopError> {
        let product =
            self.products.get(id).await?.ok_or_else(|| ShopError::not_found("product", id))?;
        Ok(self.search.index(&search_document(&product)).await?)
    }

    async fn index(&self, product: &Product) {
        if let Err(e) = self.search.index(&search_document(product)).await {
            tracing::warn!(product = %product.id, error = %e, "search index not updated after a product write; reindex it");
        }
    }
}

fn variant(id: VariantId, v: VariantDraft) -> Variant {
    Variant {
        id,
        sku: v.sku,
        title: v.title,
        options: v.options,
        prices: v.prices,
        weight_grams: v.weight_grams,
        shipping: v.shipping,
    }
}

fn visible(product: Option<Product>, visibility: Visibility) -> Option<Product> {
    product.filter(|p| visibility == Visibility::BackOffice || p.is_active())
}

/// What the search index knows of a product.
pub fn search_document(product: &Product) -> SearchDocument {
    let mut currencies: Vec<Currency> =
        product.variants.iter().flat_map(|v| v.prices.iter().map(Money::currency)).collect();
    currencies.sort();
    currencies.dedup();
    SearchDocument {
        product_id: product.id,
        title: product.title.clone(),
        description: product.description.clone(),
        categories: product.categories.clone(),
        attributes: product
            .attributes
            .iter()
            .map(|(name, value)| (name.clone(), value.facet_values()))
            .collect(),
        skus: product.variants.iter().map(|v| v.sku.to_string()).collect(),
        prices: currencies
            .into_iter()
            .filter_map(|c| product.price_from(c).map(|p| (c, p.amount())))
            .collect(),
        status: product.status,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog::CatalogError;
    use crate::ports::SearchError;
    use crate::services::test_support::*;

    fn draft(title: &str, sku_code: &str, status: ProductStatus) -> ProductDraft {
        ProductDraft {
            slug: None,
            title: title.into(),
            description: String::new(),
            status,
            categories: vec![],
            attributes: Attributes::new(),
            media: vec![],
            variants: vec![VariantDraft {
                sku: sku(sku_code),
                title: "One size".into(),
                options: BTreeMap::new(),
                prices: vec![
                    usd(15_00),
                    Money::from_minor(14_00, Currency::EUR),
                    Money::from_minor(2_000, Currency::JPY),
                ],
                weight_grams: 300,
                shipping: ShippingRequirement::Required,
            }],
        }
    }

    #[tokio::test]
    async fn a_new_product_gets_a_slug_from_its_title_and_a_search_document() {
        let world = World::new();
        let catalog = world.shop().catalog().clone();

        let created = catalog
            .create_product(draft("Linen Shirt, Blue!", "LINEN-B", ProductStatus::Active))
            .await
            .unwrap();

        assert_eq!(created.slug.as_str(), "linen-shirt-blue");
        assert_eq!(created.version, 1);
        let docs = world.search.docs.lock().unwrap().clone();
        let doc = docs.iter().find(|d| d.product_id == created.id).unwrap();
        assert_eq!(doc.skus, ["LINEN-B"]);
        assert_eq!(doc.prices.len(), 3);
        let by_slug = catalog.product_by_slug(&created.slug, Visibility::Storefront).await.unwrap();
        assert_eq!(by_slug.id, created.id);
    }

    #[tokio::test]
    async fn the_storefront_never_sees_drafts() {
        let world = World::new();
        let catalog = world.shop().catalog().clone();
        let hidden =
            catalog.create_product(draft("Secret", "SECRET", ProductStatus::Draft)).await.unwrap();

        let err = catalog.product(hidden.id, Visibility::Storefront).await.unwrap_err();
        assert!(matches!(err, ShopError::NotFound { entity: "product", .. }));
        assert_eq!(catalog.product(hidden.id, Visibility::BackOffice).await.unwrap().id, hidden.id);
        let listing = ProductListing {
            status: Some(ProductStatus::Draft),
            limit: 50,
            ..ProductListing::default()
        };
        let storefront = catalog.list(listing.clone(), Visibility::Storefront).await.unwrap();
        assert!(storefront.items.iter().all(Product::is_active));
        assert_eq!(catalog.list(listing, Visibility::BackOffice).await.unwrap().items.len(), 1);
    }

    #[tokio::test]
    async fn an_edit_based_on_a_stale_version_is_a_conflict_and_variants_keep_their_ids() {
        let world = World::new();
        let catalog = world.shop().catalog().clone();
        let created =
            catalog.create_product(draft("Shirt", "SHIRT", ProductStatus::Active)).await.unwrap();

        let mut edit = draft("Shirt (new)", "SHIRT", ProductStatus::Active);
        edit.description = "Now in linen".into();
        let updated =
            catalog.update_product(created.id, created.version, edit.clone()).await.unwrap();
        let stale = catalog.update_product(created.id, created.version, edit).await.unwrap_err();

        assert_eq!(updated.version, 2);
        assert_eq!(updated.slug, created.slug, "slugs stay stable when titles change");
        assert_eq!(updated.variants[0].id, created.variants[0].id);
        assert!(matches!(stale, ShopError::Conflict { entity: "product", .. }));
    }

    #[tokio::test]
    async fn a_product_that_breaks_a_catalog_rule_is_not_written() {
        let world = World::new();
        let catalog = world.shop().catalog().clone();
        let mut empty = draft("Ghost", "GHOST", ProductStatus::Active);
        empty.variants.clear();
        assert!(matches!(
            catalog.create_product(empty).await,
            Err(ShopError::Catalog(CatalogError::NoVariants { .. }))
        ));
        let taken =
            catalog.create_product(draft("Tee", "TEE-2", ProductStatus::Active)).await.unwrap_err();
        assert!(matches!(taken, ShopError::AlreadyExists { .. }), "slug tee is taken");
        let punctuation =
            catalog.create_product(draft("!!!", "BANG", ProductStatus::Active)).await.unwrap_err();
        assert!(matches!(punctuation, ShopError::Invalid { field: "slug", .. }));
    }

    #[tokio::test]
    async fn a_search_outage_after_a_write_is_logged_and_the_write_stands() {
        let world = World::new();
        let mut search = MockSearch::new();
        search
            .expect_index()
            .times(1)
            .returning(|_| Err(SearchError::Unavailable { message: "cluster red".into() }));
        let catalog = CatalogService::new(
            world.products.clone(),
            Arc::new(search),
            world.clock.clone(),
            world.ids.clone(),
        );

        let created =
            catalog.create_product(draft("Socks", "SOCKS", ProductStatus::Active)).await.unwrap();

        assert_eq!(
            catalog.product(created.id, Visibility::Storefront).await.unwrap().title,
            "Socks"
        );
    }

    #[tokio::test]
    async fn publishing_a_draft_puts_it_in_the_search_results() {
        let world = World::new();
        let catalog = world.shop().catalog().clone();
        let created =
            catalog.create_product(draft("Hat", "HAT", ProductStatus::Draft)).await.unwrap();
        let published = catalog.set_status(created.id, ProductStatus::Active).await.unwrap();
        assert!(published.is_active());
        assert_eq!(
            catalog
                .search(&SearchQuery::default())
                .await
                .unwrap()
                .hits
                .iter()
                .filter(|h| **h == created.id)
                .count(),
            1
        );
    }
}
