//! [`PgProducts`]: products with their variants, and categories.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use shopkit_core::catalog::{AttributeName, AttributeValue, Category, Product, ProductStatus};
use shopkit_core::ids::{CategoryId, ProductId, Sku, Slug};
use shopkit_core::ports::{Page, ProductQuery, ProductRepository, StoreError, clamp_page_limit};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::error::{Fail, retrying, store_error, undecodable, unencodable, unique_violation};
use crate::shared::Shared;

/// The product as the domain reads it: the row's body with its variants (in position
/// order) and its version. Every read of products selects this one column, so a product,
/// a page of them or the products of a list of SKUs is ONE query.
macro_rules! select_products {
    ($($rest:literal)*) => {
        concat!(
            "SELECT p.id, p.body || jsonb_build_object('version', p.version, 'variants', COALESCE(v.variants, '[]'::jsonb)) AS product
             FROM products p
             LEFT JOIN LATERAL (
                 SELECT jsonb_agg(x.body ORDER BY x.position) AS variants FROM variants x WHERE x.product_id = p.id
             ) v ON true ",
            $($rest),*
        )
    };
}

fn status_str(status: ProductStatus) -> &'static str {
    match status {
        ProductStatus::Draft => "draft",
        ProductStatus::Active => "active",
        ProductStatus::Archived => "archived",
    }
}

/// The filter terms a value of attribute `name` holds, by the rules of
/// [`AttributeValue::matches`]: text compares ignoring ASCII case (`t:`), numbers by value
/// (`n:`, normalised), booleans as `true`/`false` (`b:`), lists by any item (`t:`).
pub(crate) fn attribute_terms(name: &AttributeName, value: &AttributeValue) -> Vec<String> {
    let name = name.as_str();
    match value {
        AttributeValue::Text(t) => vec![format!("t:{name}={}", t.to_ascii_lowercase())],
        AttributeValue::Number(n) => vec![format!("n:{name}={}", n.normalize())],
        AttributeValue::Bool(b) => vec![format!("b:{name}={b}")],
        AttributeValue::List(items) => {
            items.iter().map(|i| format!("t:{name}={}", i.to_ascii_lowercase())).collect()
        }
    }
}

/// The terms a filter `name = wanted` accepts: a product matches when it holds one of
/// them (exactly when `AttributeValue::matches(wanted)` holds for its value).
pub(crate) fn wanted_terms(name: &AttributeName, wanted: &str) -> Vec<String> {
    let name = name.as_str();
    let mut terms = vec![format!("t:{name}={}", wanted.to_ascii_lowercase())];
    if let Ok(n) = wanted.parse::<Decimal>() {
        terms.push(format!("n:{name}={}", n.normalize()));
    }
    if let Ok(b) = wanted.parse::<bool>() {
        terms.push(format!("b:{name}={b}"));
    }
    terms
}

/// What a write stores: the derived columns and the JSON bodies.
struct StoredProduct {
    categories: Vec<String>,
    attributes: serde_json::Value,
    terms: Vec<String>,
    body: serde_json::Value,
    skus: Vec<String>,
    positions: Vec<i32>,
    variants: Vec<serde_json::Value>,
}

/// Splits `product`, as stored at `version`, into its row and its variants' rows.
fn to_rows(product: &Product, version: u64) -> Result<StoredProduct, StoreError> {
    let mut stored = product.clone();
    stored.version = version;
    let variants = std::mem::take(&mut stored.variants);
    let mut body = serde_json::to_value(&stored).map_err(|e| unencodable("product", e))?;
    if let Some(object) = body.as_object_mut() {
        // Variants are rows of their own; the read reassembles them.
        object.remove("variants");
    }
    let mut rows = StoredProduct {
        categories: product.categories.iter().map(|c| c.as_str().to_owned()).collect(),
        attributes: serde_json::to_value(&product.attributes)
            .map_err(|e| unencodable("product", e))?,
        terms: product.attributes.iter().flat_map(|(n, v)| attribute_terms(n, v)).collect(),
        body,
        skus: Vec::with_capacity(variants.len()),
        positions: Vec::with_capacity(variants.len()),
        variants: Vec::with_capacity(variants.len()),
    };
    for (position, variant) in variants.iter().enumerate() {
        rows.skus.push(variant.sku.as_str().to_owned());
        rows.positions.push(i32::try_from(position).unwrap_or(i32::MAX));
        rows.variants.push(serde_json::to_value(variant).map_err(|e| unencodable("product", e))?);
    }
    Ok(rows)
}

fn product_from_row(row: &PgRow) -> Result<Product, StoreError> {
    let json: serde_json::Value = row.try_get("product").map_err(store_error)?;
    serde_json::from_value(json).map_err(|e| undecodable("product", e))
}

fn version_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The PostgreSQL [`ProductRepository`] (tables `products`, `variants`, `categories`).
///
/// Round trips: `get`, `by_slug`, `by_skus` and a `list` page are one query each, variants
/// included (a lateral `jsonb_agg`); `insert` and `update` are one statement each (the
/// product row and its variant rows written by data-modifying CTEs, atomically).
///
/// - Id, slug and SKU uniqueness are constraints; a clash is `AlreadyExists` (mapped by
///   constraint name) and writes nothing.
/// - `update` is `UPDATE ... WHERE id = $1 AND version = $2`: from a stale version it
///   matches no row and is `VersionConflict` with the stored version.
/// - Attribute filters follow `AttributeValue::matches` exactly (normalised terms, GIN).
/// - `list` pages by id with opaque cursors signed by the store's key.
#[derive(Clone, Debug)]
pub struct PgProducts {
    shared: Arc<Shared>,
}

impl PgProducts {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        PgProducts { shared }
    }

    fn clash(product: &Product, e: &sqlx::Error) -> Option<StoreError> {
        let key = match unique_violation(e)? {
            "products_pkey" => format!("id {}", product.id),
            "products_slug_key" => format!("slug {}", product.slug),
            "variants_pkey" => "one of its SKUs".to_owned(),
            _ => return None,
        };
        Some(StoreError::AlreadyExists { entity: "product", key })
    }

    fn write_error(product: &Product, e: Fail<StoreError>) -> StoreError {
        match e {
            Fail::Db(db) => Self::clash(product, &db).unwrap_or_else(|| store_error(db)),
            Fail::Domain(e) => e,
        }
    }

    async fn insert_once(&self, product: &Product) -> Result<u64, Fail<StoreError>> {
        let rows = to_rows(product, 1).map_err(Fail::Domain)?;
        sqlx::query(
            "WITH p AS (
                 INSERT INTO products (id, slug, status, categories, attributes, attribute_terms, version, created_at, updated_at, body)
                 VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9)
                 RETURNING id
             )
             INSERT INTO variants (sku, product_id, position, body)
             SELECT v.sku, p.id, v.position, v.body
             FROM p, unnest($10::text[], $11::int4[], $12::jsonb[]) AS v(sku, position, body)",
        )
        .bind(product.id.as_uuid())
        .bind(product.slug.as_str())
        .bind(status_str(product.status))
        .bind(rows.categories)
        .bind(rows.attributes)
        .bind(rows.terms)
        .bind(product.created_at)
        .bind(product.updated_at)
        .bind(rows.body)
        .bind(rows.skus)
        .bind(rows.positions)
        .bind(rows.variants)
        .execute(&self.shared.pool)
        .await?;
        Ok(1)
    }

    async fn update_once(&self, product: &Product) -> Result<u64, Fail<StoreError>> {
        let next = product.version.saturating_add(1);
        let rows = to_rows(product, next).map_err(Fail::Domain)?;
        let expected = i64::try_from(product.version).unwrap_or(i64::MAX);
        // One statement: the version-checked product row, then its variants: those it no
        // longer has go, those it keeps change, new ones are inserted. A new SKU that
        // another product holds fails the whole statement on `variants_pkey`.
        let version: Option<i64> = sqlx::query_scalar(
            "WITH p AS (
                 UPDATE products
                 SET slug = $2, status = $3, categories = $4, attributes = $5, attribute_terms = $6,
                     version = version + 1, created_at = $7, updated_at = $8, body = $9
                 WHERE id = $1 AND version = $10
                 RETURNING id, version
             ),
             v AS (
                 SELECT * FROM unnest($11::text[], $12::int4[], $13::jsonb[]) AS v(sku, position, body)
             ),
             gone AS (
                 DELETE FROM variants x USING p WHERE x.product_id = p.id AND x.sku <> ALL($11::text[])
             ),
             kept AS (
                 UPDATE variants x SET position = v.position, body = v.body
                 FROM p, v WHERE x.product_id = p.id AND x.sku = v.sku
             ),
             added AS (
                 INSERT INTO variants (sku, product_id, position, body)
                 SELECT v.sku, p.id, v.position, v.body FROM p, v
                 WHERE NOT EXISTS (SELECT 1 FROM variants x WHERE x.product_id = p.id AND x.sku = v.sku)
             )
             SELECT version FROM p",
        )
        .bind(product.id.as_uuid())
        .bind(product.slug.as_str())
        .bind(status_str(product.status))
        .bind(rows.categories)
        .bind(rows.attributes)
        .bind(rows.terms)
        .bind(product.created_at)
        .bind(product.updated_at)
        .bind(rows.body)
        .bind(expected)
        .bind(rows.skus)
        .bind(rows.positions)
        .bind(rows.variants)
        .fetch_optional(&self.shared.pool)
        .await?;
        if let Some(v) = version {
            return Ok(version_of(v));
        }
        // No row matched: the product is gone, or another writer moved the version on.
        let actual: Option<i64> = sqlx::query_scalar("SELECT version FROM products WHERE id = $1")
            .bind(product.id.as_uuid())
            .fetch_optional(&self.shared.pool)
            .await?;
        Err(Fail::Domain(match actual {
            None => StoreError::not_found("product", product.id),
            Some(actual) => StoreError::VersionConflict {
                entity: "product",
                id: product.id.to_string(),
                expected: product.version,
                actual: version_of(actual),
            },
        }))
    }
}

#[async_trait]
impl ProductRepository for PgProducts {
    async fn insert(&self, product: &Product) -> Result<u64, StoreError> {
        retrying(|| self.insert_once(product)).await.map_err(|e| Self::write_error(product, e))
    }

    async fn update(&self, product: &Product) -> Result<u64, StoreError> {
        retrying(|| self.update_once(product)).await.map_err(|e| Self::write_error(product, e))
    }

    async fn delete(&self, id: ProductId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM products WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.shared.pool)
            .await
            .map_err(store_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("product", id));
        }
        Ok(())
    }

    async fn get(&self, id: ProductId) -> Result<Option<Product>, StoreError> {
        let row = sqlx::query(select_products!("WHERE p.id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(product_from_row).transpose()
    }

    async fn by_slug(&self, slug: &Slug) -> Result<Option<Product>, StoreError> {
        let row = sqlx::query(select_products!("WHERE p.slug = $1"))
            .bind(slug.as_str())
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(product_from_row).transpose()
    }

    async fn by_skus(&self, skus: &[Sku]) -> Result<Vec<Product>, StoreError> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let skus: Vec<&str> = skus.iter().map(Sku::as_str).collect();
        let rows = sqlx::query(select_products!(
            "WHERE p.id IN (SELECT product_id FROM variants WHERE sku = ANY($1)) ORDER BY p.id"
        ))
        .bind(skus)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(product_from_row).collect()
    }

    async fn list(&self, query: &ProductQuery) -> Result<Page<Product>, StoreError> {
        let key = self.shared.cursor_key().await?;
        let codec = key.codec("products");
        let after: Option<Uuid> = match &query.cursor {
            Some(c) => Some(codec.decode(c)?.parse().map_err(|_| StoreError::InvalidCursor)?),
            None => None,
        };
        let limit = clamp_page_limit(query.limit);
        let mut sql = QueryBuilder::<Postgres>::new(select_products!("WHERE true"));
        if let Some(after) = after {
            sql.push(" AND p.id > ").push_bind(after);
        }
        if let Some(status) = query.status {
            sql.push(" AND p.status = ").push_bind(status_str(status));
        }
        if let Some(category) = &query.category {
            sql.push(" AND p.categories @> ARRAY[").push_bind(category.as_str().to_owned());
            sql.push("]::text[]");
        }
        for (name, wanted) in &query.attributes {
            sql.push(" AND p.attribute_terms && ").push_bind(wanted_terms(name, wanted));
            sql.push("::text[]");
        }
        sql.push(" ORDER BY p.id LIMIT ").push_bind(limit as i64 + 1);
        let rows = sql.build().fetch_all(&self.shared.pool).await.map_err(store_error)?;
        let more = rows.len() > limit;
        let items: Vec<Product> =
            rows.iter().take(limit).map(product_from_row).collect::<Result<_, _>>()?;
        let next_cursor = match items.last() {
            Some(last) if more => Some(codec.encode(&last.id.to_string())),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    async fn upsert_category(&self, category: &Category) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO categories (id, name, parent, position) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, parent = EXCLUDED.parent, position = EXCLUDED.position",
        )
        .bind(category.id.as_str())
        .bind(&category.name)
        .bind(category.parent.as_ref().map(CategoryId::as_str))
        .bind(i64::from(category.position))
        .execute(&self.shared.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, parent, position FROM categories ORDER BY position, id COLLATE \"C\"",
        )
        .fetch_all(&self.shared.pool)
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id").map_err(store_error)?;
                let parent: Option<String> = row.try_get("parent").map_err(store_error)?;
                let position: i64 = row.try_get("position").map_err(store_error)?;
                let bad = |_| StoreError::Unavailable {
                    message: format!("stored category {id:?} is not a valid category id"),
                    source: None,
                };
                Ok(Category {
                    id: CategoryId::new(&id).map_err(bad)?,
                    name: row.try_get("name").map_err(store_error)?,
                    parent: parent.as_deref().map(CategoryId::new).transpose().map_err(bad)?,
                    position: u32::try_from(position).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> AttributeName {
        AttributeName::new(n).unwrap()
    }

    /// The terms agree with `AttributeValue::matches` on every pairing tried.
    #[test]
    fn filter_terms_match_exactly_when_the_domain_says_so() {
        let values = [
            AttributeValue::Text("Cotton".into()),
            AttributeValue::Text("1.20".into()),
            AttributeValue::Number(Decimal::new(12, 1)),
            AttributeValue::Number(Decimal::new(42, 0)),
            AttributeValue::Bool(true),
            AttributeValue::List(vec!["Red".into(), "blue".into()]),
        ];
        let wanted = [
            "cotton", "COTTON", "1.2", "1.20", "42", "42.0", "true", "True", "red", "BLUE", "green",
        ];
        for value in &values {
            let held = attribute_terms(&name("a"), value);
            for w in wanted {
                let accepted = wanted_terms(&name("a"), w);
                let hit = held.iter().any(|t| accepted.contains(t));
                assert_eq!(hit, value.matches(w), "{value:?} vs {w:?}");
            }
        }
    }
}
