//! [`MemoryProducts`]: the in-memory product repository.
//!
//! Uniqueness (id, slug, every variant SKU) is enforced through indexes kept in the same
//! lock as the products, so two concurrent inserts can never both take a slug.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use shopkit_core::catalog::{Category, Product};
use shopkit_core::ids::{CategoryId, ProductId, Sku, Slug};
use shopkit_core::ports::{
    CursorCodec, Page, ProductQuery, ProductRepository, StoreError, clamp_page_limit,
};

use crate::ids::random_cursor_codec;

#[derive(Debug, Default)]
struct State {
    products: BTreeMap<ProductId, Product>,
    slugs: HashMap<Slug, ProductId>,
    skus: HashMap<Sku, ProductId>,
    categories: HashMap<CategoryId, Category>,
}

impl State {
    /// Fails with `AlreadyExists` when `product`'s slug or a SKU belongs to another product.
    fn check_unique_keys(&self, product: &Product) -> Result<(), StoreError> {
        if self.slugs.get(&product.slug).is_some_and(|owner| *owner != product.id) {
            return Err(StoreError::AlreadyExists {
                entity: "product",
                key: format!("slug {}", product.slug),
            });
        }
        for variant in &product.variants {
            if self.skus.get(&variant.sku).is_some_and(|owner| *owner != product.id) {
                return Err(StoreError::AlreadyExists {
                    entity: "product",
                    key: format!("sku {}", variant.sku),
                });
            }
        }
        Ok(())
    }

    fn unindex(&mut self, product: &Product) {
        self.slugs.remove(&product.slug);
        for variant in &product.variants {
            self.skus.remove(&variant.sku);
        }
    }

    fn index(&mut self, product: &Product) {
        self.slugs.insert(product.slug.clone(), product.id);
        for variant in &product.variants {
            self.skus.insert(variant.sku.clone(), product.id);
        }
    }
}

/// The in-memory [`ProductRepository`]: products and categories.
///
/// - `insert` refuses a taken id, slug or SKU with `AlreadyExists` naming the key
///   (`"slug red-shirt"`, `"sku TEE-M"`) and stores version 1;
/// - `update` checks `product.version` against the stored one and stores version + 1;
///   slug and SKU uniqueness hold on update;
/// - `by_skus` answers from a SKU index in one lock;
/// - `list` is ordered by product id and pages with opaque, tamper-evident cursors that
///   only this instance (and its clones) accepts.
///
/// Clones share the same data.
#[derive(Debug, Clone)]
pub struct MemoryProducts {
    state: Arc<Mutex<State>>,
    cursors: CursorCodec,
}

impl Default for MemoryProducts {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryProducts {
    /// An empty catalog.
    pub fn new() -> Self {
        MemoryProducts { state: Arc::default(), cursors: random_cursor_codec("products") }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn matches_query(product: &Product, query: &ProductQuery) -> bool {
    query.status.is_none_or(|status| product.status == status)
        && query.category.as_ref().is_none_or(|c| product.categories.contains(c))
        && query.attributes.iter().all(|(name, wanted)| {
            product.attributes.get(name).is_some_and(|value| value.matches(wanted))
        })
}

#[async_trait]
impl ProductRepository for MemoryProducts {
    async fn insert(&self, product: &Product) -> Result<u64, StoreError> {
        let mut state = self.lock();
        if state.products.contains_key(&product.id) {
            return Err(StoreError::AlreadyExists {
                entity: "product",
                key: format!("id {}", product.id),
            });
        }
        state.check_unique_keys(product)?;
        let mut stored = product.clone();
        stored.version = 1;
        state.index(&stored);
        state.products.insert(stored.id, stored);
        Ok(1)
    }

    async fn update(&self, product: &Product) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let current = state
            .products
            .get(&product.id)
            .ok_or_else(|| StoreError::not_found("product", product.id))?;
        if current.version != product.version {
            return Err(StoreError::VersionConflict {
                entity: "product",
                id: product.id.to_string(),
                expected: product.version,
                actual: current.version,
            });
        }
        state.check_unique_keys(product)?;
        let version = current.version + 1;
        if let Some(old) = state.products.remove(&product.id) {
            state.unindex(&old);
        }
        let mut stored = product.clone();
        stored.version = version;
        state.index(&stored);
        state.products.insert(stored.id, stored);
        Ok(version)
    }

    async fn delete(&self, id: ProductId) -> Result<(), StoreError> {
        let mut state = self.lock();
        let old = state.products.remove(&id).ok_or_else(|| StoreError::not_found("product", id))?;
        state.unindex(&old);
        Ok(())
    }

    async fn get(&self, id: ProductId) -> Result<Option<Product>, StoreError> {
        Ok(self.lock().products.get(&id).cloned())
    }

    async fn by_slug(&self, slug: &Slug) -> Result<Option<Product>, StoreError> {
        let state = self.lock();
        Ok(state.slugs.get(slug).and_then(|id| state.products.get(id)).cloned())
    }

    async fn by_skus(&self, skus: &[Sku]) -> Result<Vec<Product>, StoreError> {
        let state = self.lock();
        let mut ids: Vec<ProductId> = Vec::new();
        for sku in skus {
            if let Some(id) = state.skus.get(sku)
                && !ids.contains(id)
            {
                ids.push(*id);
            }
        }
        Ok(ids.iter().filter_map(|id| state.products.get(id)).cloned().collect())
    }

    async fn list(&self, query: &ProductQuery) -> Result<Page<Product>, StoreError> {
        let after = match &query.cursor {
            Some(cursor) => Some(
                self.cursors
                    .decode(cursor)?
                    .parse::<ProductId>()
                    .map_err(|_| StoreError::InvalidCursor)?,
            ),
            None => None,
        };
        let limit = clamp_page_limit(query.limit);
        let state = self.lock();
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut matching = state
            .products
            .range((start, Bound::Unbounded))
            .map(|(_, p)| p)
            .filter(|p| matches_query(p, query));
        let items: Vec<Product> = matching.by_ref().take(limit).cloned().collect();
        let next_cursor = match items.last() {
            Some(last) if matching.next().is_some() => {
                Some(self.cursors.encode(&last.id.to_string()))
            }
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    async fn upsert_category(&self, category: &Category) -> Result<(), StoreError> {
        self.lock().categories.insert(category.id.clone(), category.clone());
        Ok(())
    }

    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let mut all: Vec<Category> = self.lock().categories.values().cloned().collect();
        all.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.id.cmp(&b.id)));
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::DateTime;
    use shopkit_core::catalog::{
        AttributeName, AttributeValue, Attributes, ProductStatus, Variant,
    };
    use shopkit_core::ids::VariantId;
    use shopkit_core::money::{Currency, Money};
    use shopkit_core::ports::Cursor;
    use uuid::Uuid;

    use super::*;

    fn product(n: u128, slug: &str, skus: &[&str]) -> Product {
        Product {
            id: ProductId::from_uuid(Uuid::from_u128(n)),
            slug: Slug::new(slug).unwrap(),
            title: slug.to_owned(),
            description: String::new(),
            status: ProductStatus::Active,
            categories: vec![],
            attributes: Attributes::new(),
            media: vec![],
            variants: skus
                .iter()
                .map(|sku| Variant {
                    id: VariantId::from_uuid(Uuid::new_v4()),
                    sku: Sku::new(sku).unwrap(),
                    title: (*sku).to_owned(),
                    options: BTreeMap::new(),
                    prices: vec![Money::from_minor(1000, Currency::USD)],
                    weight_grams: 100,
                    shipping: shopkit_core::catalog::ShippingRequirement::Required,
                })
                .collect(),
            version: 0,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    fn query(limit: usize, cursor: Option<Cursor>) -> ProductQuery {
        ProductQuery { limit, cursor, ..ProductQuery::default() }
    }

    #[tokio::test]
    async fn insert_names_the_clashing_slug_or_sku() {
        let repo = MemoryProducts::new();
        repo.insert(&product(1, "tee", &["TEE-M"])).await.unwrap();

        let slug = repo.insert(&product(2, "tee", &["OTHER"])).await.unwrap_err();
        let sku = repo.insert(&product(3, "other", &["TEE-M"])).await.unwrap_err();

        assert!(matches!(slug, StoreError::AlreadyExists { ref key, .. } if key == "slug tee"));
        assert!(matches!(sku, StoreError::AlreadyExists { ref key, .. } if key == "sku TEE-M"));
        assert_eq!(repo.by_skus(&[Sku::new("OTHER").unwrap()]).await.unwrap(), vec![]);
    }

    #[tokio::test]
    async fn update_frees_the_old_slug_and_skus() {
        let repo = MemoryProducts::new();
        let mut p = product(1, "tee", &["TEE-M"]);
        p.version = repo.insert(&p).await.unwrap();
        p.slug = Slug::new("shirt").unwrap();
        p.variants[0].sku = Sku::new("SHIRT-M").unwrap();

        assert_eq!(repo.update(&p).await.unwrap(), 2);

        assert!(repo.by_slug(&Slug::new("tee").unwrap()).await.unwrap().is_none());
        assert!(repo.by_skus(&[Sku::new("TEE-M").unwrap()]).await.unwrap().is_empty());
        repo.insert(&product(2, "tee", &["TEE-M"])).await.unwrap();
    }

    #[tokio::test]
    async fn a_stale_update_conflicts_and_changes_nothing() {
        let repo = MemoryProducts::new();
        let mut p = product(1, "tee", &["TEE-M"]);
        p.version = repo.insert(&p).await.unwrap();
        let stale = p.clone();
        p.title = "first".into();
        repo.update(&p).await.unwrap();

        let err = repo.update(&stale).await.unwrap_err();

        assert!(matches!(err, StoreError::VersionConflict { expected: 1, actual: 2, .. }));
        assert_eq!(repo.get(p.id).await.unwrap().unwrap().title, "first");
    }

    #[tokio::test]
    async fn pages_cover_every_product_once_in_id_order() {
        let repo = MemoryProducts::new();
        for n in (1..=7).rev() {
            repo.insert(&product(n, &format!("p{n}"), &[&format!("SKU{n}")])).await.unwrap();
        }
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = repo.list(&query(3, cursor)).await.unwrap();
            seen.extend(page.items.iter().map(|p| p.id.as_uuid().as_u128()));
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen, (1..=7).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn the_last_full_page_has_no_next_cursor() {
        let repo = MemoryProducts::new();
        for n in 1..=4 {
            repo.insert(&product(n, &format!("p{n}"), &[&format!("SKU{n}")])).await.unwrap();
        }
        let first = repo.list(&query(2, None)).await.unwrap();
        let second = repo.list(&query(2, first.next_cursor)).await.unwrap();
        assert_eq!(second.items.len(), 2);
        assert_eq!(second.next_cursor, None);
    }

    #[tokio::test]
    async fn tampered_or_foreign_cursors_are_rejected() {
        let repo = MemoryProducts::new();
        for n in 1..=3 {
            repo.insert(&product(n, &format!("p{n}"), &[&format!("SKU{n}")])).await.unwrap();
        }
        let cursor = repo.list(&query(1, None)).await.unwrap().next_cursor.unwrap();
        // Point the cursor at another id but keep the MAC.
        let (_, mac) = cursor.0.split_once('.').unwrap();
        let forged = Cursor(format!(
            "{}.{mac}",
            URL_SAFE_NO_PAD.encode(format!("\n{}", ProductId::from_uuid(Uuid::from_u128(2))))
        ));
        let other_store = MemoryProducts::new();

        for bad in [forged, Cursor("garbage".into()), Cursor(String::new())] {
            assert!(matches!(
                repo.list(&query(1, Some(bad))).await,
                Err(StoreError::InvalidCursor)
            ));
        }
        assert!(matches!(
            other_store.list(&query(1, Some(cursor.clone()))).await,
            Err(StoreError::InvalidCursor)
        ));
        assert!(repo.list(&query(1, Some(cursor))).await.is_ok());
    }

    #[tokio::test]
    async fn list_clamps_the_limit_and_filters() {
        let repo = MemoryProducts::new();
        let colour = AttributeName::new("colour").unwrap();
        for n in 1..=120 {
            let mut p = product(n, &format!("p{n}"), &[&format!("SKU{n}")]);
            if n % 2 == 0 {
                p.attributes.insert(colour.clone(), AttributeValue::List(vec!["Red".into()]));
                p.categories.push(CategoryId::new("shirts").unwrap());
            }
            if n == 4 {
                p.status = ProductStatus::Draft;
            }
            repo.insert(&p).await.unwrap();
        }

        assert_eq!(repo.list(&query(0, None)).await.unwrap().items.len(), 1);
        assert_eq!(repo.list(&query(1000, None)).await.unwrap().items.len(), 100);
        let filtered = repo
            .list(&ProductQuery {
                category: Some(CategoryId::new("shirts").unwrap()),
                attributes: vec![(colour, "red".into())],
                status: Some(ProductStatus::Active),
                cursor: None,
                limit: 100,
            })
            .await
            .unwrap();
        assert_eq!(filtered.items.len(), 59);
        assert!(filtered.items.iter().all(|p| p.id.as_uuid().as_u128() % 2 == 0));
        assert_eq!(filtered.next_cursor, None);
    }

    #[tokio::test]
    async fn categories_come_by_position_then_id() {
        let repo = MemoryProducts::new();
        for (id, position) in [("b", 1), ("a", 1), ("c", 0)] {
            let category = Category {
                id: CategoryId::new(id).unwrap(),
                name: id.into(),
                parent: None,
                position,
            };
            repo.upsert_category(&category).await.unwrap();
        }
        let ids: Vec<String> =
            repo.categories().await.unwrap().into_iter().map(|c| c.id.to_string()).collect();
        assert_eq!(ids, ["c", "a", "b"]);
    }
}
