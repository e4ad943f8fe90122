//! [`DynamoProducts`]: the product repository.
//!
//! # Items
//! | item | `pk` | `sk` | index keys | holds |
//! |---|---|---|---|---|
//! | product | `PRODUCT#<id>` | `PRODUCT` | gsi1 `PRODUCTS` / `<id>`; gsi2 `SLUG#<slug>` / `PRODUCT` | the whole product, variants embedded |
//! | category listing copy | `PRODUCT#<id>` | `CATEGORY#<category>` | gsi1 `CATEGORY#<category>` / `<id>` | a copy of the product |
//! | slug claim | `SLUG#<slug>` | `SLUG` | | `product_id` |
//! | SKU claim | `SKU#<sku>` | `SKU` | | `product_id` |
//! | category | `CATEGORIES` | `<category id>` | | the category |
//!
//! Why this shape:
//! - **Variants are embedded** in the product item, so a product page is one `GetItem`.
//!   Uniqueness is what DynamoDB cannot index, so each slug and each SKU has a claim item
//!   written in the same `TransactWriteItems` as the product, under `attribute_not_exists`:
//!   of two products racing for one slug, exactly one transaction commits.
//! - **Listings are one `Query` on gsi1**, ordered by product id (UUIDs sort as strings the
//!   way they sort as ids). A product is in several categories, and an index key holds one
//!   value, so each category gets a copy of the product under its own sort key, written in
//!   the same transaction as the product: the copies never disagree with it. "All
//!   products" is the product items themselves under the constant `PRODUCTS` partition
//!   (catalog writes are rare; a catalog written faster than about 1,000 products per
//!   second would need that partition sharded).
//! - **By slug is one `Query` on gsi2** (eventually consistent, like every index read: a
//!   slug changed a moment ago may still find the product under its old slug). Uniqueness
//!   itself never relies on an index: claims are read and written consistently.
//! - **`by_skus` is two batched round trips** whatever the number of SKUs up to 100 (SKU
//!   claims, then products), each `BatchGetItem` chunked at 100 keys with unprocessed keys
//!   retried.
//! - **Versions** are checked by condition expressions (`version = :expected`); a failed
//!   condition returns the stored item (`ALL_OLD`), so `VersionConflict` says the stored
//!   version without another read.
//!
//! Limits: a product's writes (product, slug, one claim per SKU, one copy per category)
//! must fit one transaction of 100 writes, and the product item 400 KB; past either, the
//! write is `Invalid` with what to change, before anything is sent.

mod codec;

use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use shopkit_core::catalog::{Category, Product};
use shopkit_core::ids::{CategoryId, ProductId, Sku, Slug};
use shopkit_core::ports::{
    CursorCodec, Page, ProductQuery, ProductRepository, StoreError, clamp_page_limit,
};

use crate::config::DynamoConfig;
use crate::db::{Db, Reason, TransactError};
use crate::error::store_error;
use crate::item::{Item, Reader, check_size, item_size, key, s};
use crate::table::{GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK};
use crate::write::{Expr, delete, put};

/// DynamoDB's limit on the total size of one transaction.
const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;

/// How often `delete` re-reads a product that changed between its read and its write.
const DELETE_ATTEMPTS: usize = 5;

/// The partition of the "all products" listing on gsi1.
const ALL_PRODUCTS: &str = "PRODUCTS";

fn product_pk(id: ProductId) -> String {
    format!("PRODUCT#{id}")
}

fn product_key(id: ProductId) -> Item {
    key(product_pk(id), "PRODUCT")
}

fn category_listing(category: &CategoryId) -> String {
    format!("CATEGORY#{category}")
}

fn copy_key(id: ProductId, category: &CategoryId) -> Item {
    key(product_pk(id), category_listing(category))
}

fn slug_key(slug: &Slug) -> Item {
    key(format!("SLUG#{slug}"), "SLUG")
}

fn sku_key(sku: &Sku) -> Item {
    key(format!("SKU#{sku}"), "SKU")
}

fn category_key(id: &CategoryId) -> Item {
    key("CATEGORIES", id.as_str())
}

/// The stored product item (keys, index keys and the product at `version`).
fn stored_product(product: &Product, version: u64) -> Item {
    let mut item = codec::product_item(product, version);
    item.extend(product_key(product.id));
    item.insert(GSI1PK.to_owned(), s(ALL_PRODUCTS));
    item.insert(GSI1SK.to_owned(), s(product.id.to_string()));
    item.insert(GSI2PK.to_owned(), s(format!("SLUG#{}", product.slug)));
    item.insert(GSI2SK.to_owned(), s("PRODUCT"));
    item
}

/// The copy of the product listed under `category`.
fn stored_copy(product: &Product, version: u64, category: &CategoryId) -> Item {
    let mut item = codec::product_item(product, version);
    item.extend(copy_key(product.id, category));
    item.insert(GSI1PK.to_owned(), s(category_listing(category)));
    item.insert(GSI1SK.to_owned(), s(product.id.to_string()));
    item
}

fn claim(key_item: Item, entity: &str, id: ProductId) -> Item {
    let mut item = key_item;
    item.insert("entity".to_owned(), s(entity));
    item.insert("product_id".to_owned(), s(id.to_string()));
    item
}

/// What a write of a transaction is, to name the clash when its condition fails.
#[derive(Clone, Debug)]
enum Write {
    Product,
    Slug(Slug),
    Sku(Sku),
    Other,
}

/// A transaction under construction, with what each write is.
struct Writes {
    table: String,
    items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    kinds: Vec<Write>,
    bytes: usize,
}

impl Writes {
    fn new(table: &str) -> Self {
        Writes { table: table.to_owned(), items: Vec::new(), kinds: Vec::new(), bytes: 0 }
    }

    fn put(
        &mut self,
        kind: Write,
        item: Item,
        condition: Option<&str>,
        expr: &Expr,
    ) -> Result<(), StoreError> {
        self.bytes += item_size(&item);
        self.items.push(put(&self.table, item, condition, expr)?);
        self.kinds.push(kind);
        Ok(())
    }

    fn delete(&mut self, key_item: Item) -> Result<(), StoreError> {
        self.items.push(delete(&self.table, key_item, None, &Expr::new())?);
        self.kinds.push(Write::Other);
        Ok(())
    }
}

const NEW_ITEM: &str = "attribute_not_exists(#pk)";

fn not_exists() -> Expr {
    Expr::new().name("#pk", PK)
}

fn distinct_categories(product: &Product) -> Vec<&CategoryId> {
    let mut seen = HashSet::new();
    product.categories.iter().filter(|c| seen.insert(*c)).collect()
}

/// Refuses a product this adapter cannot store, before anything is sent: a SKU on two
/// variants (two claims of one item in one transaction), an item above 400 KB, a
/// transaction above 4 MB.
fn check_storable(product: &Product, version: u64) -> Result<(), StoreError> {
    let mut skus = HashSet::new();
    for v in &product.variants {
        if !skus.insert(&v.sku) {
            return Err(StoreError::Invalid {
                reason: format!(
                    "SKU {} appears on two variants of product {}: give each variant its own SKU",
                    v.sku, product.id
                ),
            });
        }
    }
    let item = stored_product(product, version);
    check_size(
        &item,
        &format!("product {}", product.id),
        "shorten the description, move long content to media, or split the variants over several products",
    )?;
    let copies = distinct_categories(product).len();
    let total = item_size(&item) * (1 + copies);
    if total > MAX_TRANSACTION_BYTES {
        return Err(StoreError::Invalid {
            reason: format!(
                "product {} and its {copies} category copies take {total} bytes, above DynamoDB's 4 MB transaction limit: list it in fewer categories or shorten it",
                product.id
            ),
        });
    }
    Ok(())
}

fn transaction_advice(product: &Product) -> String {
    format!(
        "a product write takes 2 writes plus one per variant ({}) and one per category ({}); give the product fewer variants or categories",
        product.variants.len(),
        distinct_categories(product).len()
    )
}

/// The `AlreadyExists` for the first write of `kinds` whose condition failed.
fn clash(reasons: &[Reason], kinds: &[Write], id: ProductId) -> Option<StoreError> {
    reasons.iter().zip(kinds).find(|(r, _)| r.condition_failed()).map(|(_, kind)| {
        let key = match kind {
            Write::Product => format!("id {id}"),
            Write::Slug(slug) => format!("slug {slug}"),
            Write::Sku(sku) => format!("sku {sku}"),
            Write::Other => format!("id {id}"),
        };
        StoreError::AlreadyExists { entity: "product", key }
    })
}

/// The [`ProductRepository`] on DynamoDB (see the module docs for the items).
///
/// - `insert` is one transaction: the product under `attribute_not_exists`, a claim per
///   slug and SKU under `attribute_not_exists`, a copy per category. A taken id, slug or
///   SKU is `AlreadyExists` naming it (`"slug red-shirt"`); nothing is written.
/// - `update` reads the stored product (1 consistent `GetItem`), then writes one
///   transaction: the product under `version = :read`, claims for a new slug and new SKUs,
///   deletions of released claims and dropped category copies. A stale version is
///   `VersionConflict` with the stored version; a taken slug or SKU `AlreadyExists`.
/// - `get` is one consistent `GetItem`; `by_slug` one `Query` (gsi2); `list` one `Query`
///   (gsi1) per page when no filter drops products; `by_skus` two `BatchGetItem`s.
/// - Cursors are signed (see [`DynamoConfig::with_cursor_secret`]); a cursor of another
///   category, table or secret is `InvalidCursor`.
///
/// Clones share the client.
#[derive(Clone, Debug)]
pub struct DynamoProducts {
    db: Db,
    /// DynamoDB pages with `LastEvaluatedKey`, a map of key attributes. Handing it out raw
    /// would leak the table design and let a client start a query anywhere (another
    /// category's partition, a forged key). So a cursor carries only the listing (its gsi1
    /// partition, as the scope) and the last product handed out, signed; `list` rebuilds
    /// the `ExclusiveStartKey` from them.
    cursors: CursorCodec,
}

impl DynamoProducts {
    /// The product repository on `config`'s table (create it with
    /// [`create_tables`](crate::create_tables)).
    pub fn new(client: Client, config: &DynamoConfig) -> Self {
        DynamoProducts { db: Db::new(client, config), cursors: config.cursor_codec() }
    }

    async fn run(&self, writes: Writes, product: &Product) -> Result<(), TransactError> {
        self.db
            .transact(
                writes.items,
                &format!("writing product {}", product.id),
                &transaction_advice(product),
            )
            .await
    }

    async fn query_page(
        &self,
        index: &str,
        partition_attr: &str,
        partition: &str,
        status: Option<&str>,
        limit: Option<i32>,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let mut request = self
            .db
            .client
            .query()
            .table_name(&*self.db.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", partition_attr)
            .expression_attribute_values(":pk", s(partition))
            .set_limit(limit)
            .set_exclusive_start_key(start);
        if let Some(status) = status {
            request = request
                .filter_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status));
        }
        let out = request.send().await.map_err(|e| store_error("Query", &self.db.table, e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }
}

fn matches_attributes(product: &Product, query: &ProductQuery) -> bool {
    query.status.is_none_or(|status| product.status == status)
        && query.attributes.iter().all(|(name, wanted)| {
            product.attributes.get(name).is_some_and(|value| value.matches(wanted))
        })
}

#[async_trait]
impl ProductRepository for DynamoProducts {
    async fn insert(&self, product: &Product) -> Result<u64, StoreError> {
        check_storable(product, 1)?;
        let mut writes = Writes::new(&self.db.table);
        writes.put(Write::Product, stored_product(product, 1), Some(NEW_ITEM), &not_exists())?;
        writes.put(
            Write::Slug(product.slug.clone()),
            claim(slug_key(&product.slug), "slug", product.id),
            Some(NEW_ITEM),
            &not_exists(),
        )?;
        for v in &product.variants {
            writes.put(
                Write::Sku(v.sku.clone()),
                claim(sku_key(&v.sku), "sku", product.id),
                Some(NEW_ITEM),
                &not_exists(),
            )?;
        }
        for category in distinct_categories(product) {
            writes.put(Write::Other, stored_copy(product, 1, category), None, &Expr::new())?;
        }
        let kinds = writes.kinds.clone();
        match self.run(writes, product).await {
            Ok(()) => Ok(1),
            Err(TransactError::Store(e)) => Err(e),
            Err(TransactError::Cancelled(reasons)) => Err(clash(&reasons, &kinds, product.id)
                .unwrap_or_else(|| unexplained("inserting", product.id))),
        }
    }

    async fn update(&self, product: &Product) -> Result<u64, StoreError> {
        let stored = self
            .db
            .get(product_key(product.id))
            .await?
            .ok_or_else(|| StoreError::not_found("product", product.id))?;
        let old = codec::decode(&stored)?;
        if old.version != product.version {
            return Err(StoreError::VersionConflict {
                entity: "product",
                id: product.id.to_string(),
                expected: product.version,
                actual: old.version,
            });
        }
        let version = product.version + 1;
        check_storable(product, version)?;
        let mut writes = Writes::new(&self.db.table);
        let expected = Expr::new()
            .name("#version", "version")
            .value(":expected", crate::item::n(product.version));
        writes.put(
            Write::Product,
            stored_product(product, version),
            Some("#version = :expected"),
            &expected,
        )?;
        if old.slug != product.slug {
            writes.put(
                Write::Slug(product.slug.clone()),
                claim(slug_key(&product.slug), "slug", product.id),
                Some(NEW_ITEM),
                &not_exists(),
            )?;
            writes.delete(slug_key(&old.slug))?;
        }
        let old_skus: BTreeSet<&Sku> = old.variants.iter().map(|v| &v.sku).collect();
        let new_skus: BTreeSet<&Sku> = product.variants.iter().map(|v| &v.sku).collect();
        for sku in new_skus.difference(&old_skus) {
            writes.put(
                Write::Sku((*sku).clone()),
                claim(sku_key(sku), "sku", product.id),
                Some(NEW_ITEM),
                &not_exists(),
            )?;
        }
        for sku in old_skus.difference(&new_skus) {
            writes.delete(sku_key(sku))?;
        }
        let new_categories = distinct_categories(product);
        for category in distinct_categories(&old) {
            if !new_categories.contains(&category) {
                writes.delete(copy_key(product.id, category))?;
            }
        }
        for category in new_categories {
            writes.put(
                Write::Other,
                stored_copy(product, version, category),
                None,
                &Expr::new(),
            )?;
        }
        let kinds = writes.kinds.clone();
        match self.run(writes, product).await {
            Ok(()) => Ok(version),
            Err(TransactError::Store(e)) => Err(e),
            Err(TransactError::Cancelled(reasons)) => {
                if let Some(first) = reasons.first().filter(|r| r.condition_failed()) {
                    return Err(match &first.item {
                        Some(item) => StoreError::VersionConflict {
                            entity: "product",
                            id: product.id.to_string(),
                            expected: product.version,
                            actual: Reader::new(item, "product").u64("version")?,
                        },
                        None => StoreError::not_found("product", product.id),
                    });
                }
                Err(clash(&reasons, &kinds, product.id)
                    .unwrap_or_else(|| unexplained("updating", product.id)))
            }
        }
    }

    async fn delete(&self, id: ProductId) -> Result<(), StoreError> {
        for _ in 0..DELETE_ATTEMPTS {
            let stored = self
                .db
                .get(product_key(id))
                .await?
                .ok_or_else(|| StoreError::not_found("product", id))?;
            let old = codec::decode(&stored)?;
            let mut writes = Writes::new(&self.db.table);
            let expected = Expr::new()
                .name("#version", "version")
                .value(":expected", crate::item::n(old.version));
            writes.items.push(delete(
                &self.db.table,
                product_key(id),
                Some("#version = :expected"),
                &expected,
            )?);
            writes.kinds.push(Write::Product);
            writes.delete(slug_key(&old.slug))?;
            for v in &old.variants {
                writes.delete(sku_key(&v.sku))?;
            }
            for category in distinct_categories(&old) {
                writes.delete(copy_key(id, category))?;
            }
            match self.run(writes, &old).await {
                Ok(()) => return Ok(()),
                Err(TransactError::Store(e)) => return Err(e),
                // Changed (or deleted) since the read: read again.
                Err(TransactError::Cancelled(_)) => {}
            }
        }
        Err(StoreError::Unavailable {
            message: format!(
                "product {id} kept changing while being deleted ({DELETE_ATTEMPTS} attempts): retry"
            ),
            source: None,
        })
    }

    async fn get(&self, id: ProductId) -> Result<Option<Product>, StoreError> {
        self.db.get(product_key(id)).await?.as_ref().map(codec::decode).transpose()
    }

    async fn by_slug(&self, slug: &Slug) -> Result<Option<Product>, StoreError> {
        let (items, _) =
            self.query_page(GSI2, GSI2PK, &format!("SLUG#{slug}"), None, Some(1), None).await?;
        items.first().map(codec::decode).transpose()
    }

    async fn by_skus(&self, skus: &[Sku]) -> Result<Vec<Product>, StoreError> {
        let mut seen = HashSet::new();
        let asked: Vec<&Sku> = skus.iter().filter(|s| seen.insert(*s)).collect();
        if asked.is_empty() {
            return Ok(Vec::new());
        }
        let claims = self.db.batch_get(asked.iter().map(|s| sku_key(s)).collect()).await?;
        let mut owner_of: HashMap<String, ProductId> = HashMap::new();
        for item in &claims {
            let r = Reader::new(item, "SKU claim");
            let sku = r.str(PK)?.strip_prefix("SKU#").unwrap_or_default().to_owned();
            owner_of.insert(sku, r.parse::<ProductId>("product_id")?);
        }
        let mut ids: Vec<ProductId> = Vec::new();
        for sku in asked {
            if let Some(id) = owner_of.get(sku.as_str())
                && !ids.contains(id)
            {
                ids.push(*id);
            }
        }
        let found = self.db.batch_get(ids.iter().map(|id| product_key(*id)).collect()).await?;
        let mut by_id: HashMap<ProductId, Product> = HashMap::new();
        for item in &found {
            let p = codec::decode(item)?;
            by_id.insert(p.id, p);
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    async fn list(&self, query: &ProductQuery) -> Result<Page<Product>, StoreError> {
        let limit = clamp_page_limit(query.limit);
        let listing =
            query.category.as_ref().map_or_else(|| ALL_PRODUCTS.to_owned(), category_listing);
        let mut start = match &query.cursor {
            Some(cursor) => {
                let after: ProductId = self
                    .cursors
                    .decode_scoped(&listing, cursor)?
                    .parse()
                    .map_err(|_| StoreError::InvalidCursor)?;
                let mut k = match &query.category {
                    Some(c) => copy_key(after, c),
                    None => product_key(after),
                };
                k.insert(GSI1PK.to_owned(), s(listing.as_str()));
                k.insert(GSI1SK.to_owned(), s(after.to_string()));
                Some(k)
            }
            None => None,
        };
        let status = query.status.map(codec::status_code);
        // One more than a page, to know whether another page follows.
        let wanted = limit + 1;
        let mut items: Vec<Product> = Vec::with_capacity(wanted);
        loop {
            let page_limit = i32::try_from(wanted).unwrap_or(i32::MAX);
            let (page, last) =
                self.query_page(GSI1, GSI1PK, &listing, status, Some(page_limit), start).await?;
            for item in &page {
                let product = codec::decode(item)?;
                if matches_attributes(&product, query) {
                    items.push(product);
                    if items.len() == wanted {
                        break;
                    }
                }
            }
            if items.len() == wanted || last.is_none() {
                break;
            }
            start = last;
        }
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|p| self.cursors.encode_scoped(&listing, &p.id.to_string()))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    async fn upsert_category(&self, category: &Category) -> Result<(), StoreError> {
        let mut item = codec::category_item(category);
        item.extend(category_key(&category.id));
        self.db
            .client
            .put_item()
            .table_name(&*self.db.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| store_error("PutItem", &self.db.table, e))?;
        Ok(())
    }

    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let mut all = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .db
                .client
                .query()
                .table_name(&*self.db.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", AttributeValue::S("CATEGORIES".to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error("Query", &self.db.table, e))?;
            for item in out.items() {
                all.push(codec::decode_category(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        all.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.id.cmp(&b.id)));
        Ok(all)
    }
}

fn unexplained(doing: &str, id: ProductId) -> StoreError {
    StoreError::Unavailable {
        message: format!(
            "DynamoDB cancelled {doing} product {id} without naming a failed condition: retry"
        ),
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_claim_names_the_clashing_key() {
        let id = ProductId::from_uuid(uuid::Uuid::nil());
        let kinds = vec![
            Write::Product,
            Write::Slug(Slug::new("tee").unwrap()),
            Write::Sku(Sku::new("TEE-M").unwrap()),
        ];
        let reasons = vec![
            Reason::default(),
            Reason::default(),
            Reason { code: Some("ConditionalCheckFailed".into()), item: None },
        ];
        let err = clash(&reasons, &kinds, id).unwrap();
        assert!(
            matches!(err, StoreError::AlreadyExists { ref key, .. } if key == "sku TEE-M"),
            "{err:?}"
        );
    }

    #[test]
    fn a_sku_on_two_variants_is_refused_before_sending() {
        let mut p = test_product();
        p.variants.push(p.variants[0].clone());
        assert!(matches!(check_storable(&p, 1), Err(StoreError::Invalid { .. })));
    }

    #[test]
    fn a_product_above_400_kb_is_refused_with_advice() {
        let mut p = test_product();
        p.description = "x".repeat(410 * 1024);
        let err = check_storable(&p, 1).unwrap_err().to_string();
        assert!(err.contains("400 KB") && err.contains("description"), "{err}");
    }

    fn test_product() -> Product {
        use shopkit_core::catalog::{Attributes, ProductStatus, Variant};
        use shopkit_core::ids::VariantId;
        Product {
            id: ProductId::from_uuid(uuid::Uuid::new_v4()),
            slug: Slug::new("tee").unwrap(),
            title: "Tee".into(),
            description: String::new(),
            status: ProductStatus::Active,
            categories: vec![],
            attributes: Attributes::new(),
            media: vec![],
            variants: vec![Variant {
                id: VariantId::from_uuid(uuid::Uuid::new_v4()),
                sku: Sku::new("TEE-M").unwrap(),
                title: "M".into(),
                options: Default::default(),
                prices: vec![],
                weight_grams: 1,
                shipping: shopkit_core::catalog::ShippingRequirement::Required,
            }],
            version: 0,
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
        }
    }
}
