//! Contracts of [`ProductRepository`]: unique ids, slugs and SKUs, versioned updates,
//! `by_skus` lookups, cursor paging and filters, and categories.
//!
//! Each contract takes a fresh, empty repository.

use std::collections::HashSet;
use std::sync::Arc;

use shopkit_core::catalog::{AttributeValue, Product, ProductStatus};
use shopkit_core::ids::{ProductId, Slug};
use shopkit_core::ports::{Cursor, ProductQuery, ProductRepository, StoreError};

use crate::fixtures::{attribute, category, category_id, product, sku, unique, unique_sku, uuid};
use crate::support::{Must, race};

async fn inserted(repo: &dyn ProductRepository, mut p: Product) -> Product {
    let v = repo.insert(&p).await.must("insert a product");
    p.version = v;
    p
}

/// Every product of a listing, page by page, checking that no page repeats or skips one.
async fn list_all(repo: &dyn ProductRepository, mut query: ProductQuery) -> Vec<Product> {
    let mut all: Vec<Product> = Vec::new();
    for _ in 0..1000 {
        let page = repo.list(&query).await.must("list a page of products");
        assert!(page.items.len() <= query.limit.max(1), "a page holds at most `limit` products");
        all.extend(page.items);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return all,
        }
    }
    panic!("list never returned a last page (next_cursor stayed Some for 1000 pages)");
}

/// `insert` stores the product at version 1; `get`, `by_slug` and `by_skus` find it.
pub async fn insert_stores_version_1(repo: Arc<dyn ProductRepository>) {
    // Arrange
    let p = product()
        .variants(3)
        .category("shirts")
        .attribute("material", AttributeValue::Text("cotton".into()))
        .build();

    // Act
    let version = repo.insert(&p).await.must("insert");

    // Assert
    assert_eq!(version, 1, "insert must store version 1");
    let mut want = p.clone();
    want.version = 1;
    assert_eq!(
        repo.get(p.id).await.must("get"),
        Some(want.clone()),
        "get returns the product as stored"
    );
    assert_eq!(repo.by_slug(&p.slug).await.must("by_slug"), Some(want.clone()));
    assert_eq!(repo.by_skus(&[p.variants[2].sku.clone()]).await.must("by_skus"), vec![want]);
    assert_eq!(repo.get(ProductId::from_uuid(uuid())).await.must("get unknown"), None);
}

/// `insert` fails with `AlreadyExists` when the id, the slug or any variant SKU is taken,
/// and stores nothing.
pub async fn insert_rejects_a_taken_id_slug_or_sku(repo: Arc<dyn ProductRepository>) {
    // Arrange
    let existing = inserted(&*repo, product().variants(2).build()).await;
    let same_id = product().id(existing.id).build();
    let same_slug = product().slug(existing.slug.as_str()).build();
    let same_sku = product().skus(&[unique_sku(), existing.variants[1].sku.clone()]).build();

    // Act
    let results = [
        ("id", repo.insert(&same_id).await),
        ("slug", repo.insert(&same_slug).await),
        ("sku", repo.insert(&same_sku).await),
    ];

    // Assert
    for (what, r) in results {
        assert!(
            matches!(r, Err(StoreError::AlreadyExists { .. })),
            "inserting a product with a taken {what} must be AlreadyExists, got {r:?}"
        );
    }
    assert_eq!(
        repo.get(existing.id).await.must("get"),
        Some(existing),
        "the existing product is untouched"
    );
    assert_eq!(repo.get(same_slug.id).await.must("get"), None, "nothing is stored on a clash");
    assert_eq!(repo.get(same_sku.id).await.must("get"), None, "nothing is stored on a clash");
    assert_eq!(repo.by_skus(&[same_sku.variants[0].sku.clone()]).await.must("by_skus"), vec![]);
}

/// Concurrent inserts of different products with one slug: exactly one wins.
pub async fn concurrent_inserts_with_one_slug_have_one_winner(repo: Arc<dyn ProductRepository>) {
    // Arrange
    let slug = format!("contested-{}", unique());

    // Act
    let results = race(16, |_| {
        let repo = Arc::clone(&repo);
        let p = product().slug(&slug).build();
        async move { repo.insert(&p).await }
    })
    .await;

    // Assert
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "exactly one of 16 concurrent inserts with one slug must win");
    for r in &results {
        assert!(
            matches!(r, Ok(1) | Err(StoreError::AlreadyExists { .. })),
            "losers must be AlreadyExists, got {r:?}"
        );
    }
}

/// `update` with the stored version stores the change and returns version + 1.
pub async fn update_with_the_stored_version_bumps_it(repo: Arc<dyn ProductRepository>) {
    // Arrange
    let mut p = inserted(&*repo, product().build()).await;
    p.title = "Renamed".into();
    p.variants[0].prices = vec![crate::fixtures::usd(2499)];

    // Act
    let v = repo.update(&p).await.must("update at the stored version");

    // Assert
    assert_eq!(v, 2, "update must return the stored version + 1");
    p.version = 2;
    assert_eq!(repo.get(p.id).await.must("get"), Some(p));
}

/// `update` from a stale version is a `VersionConflict` and changes nothing.
pub async fn stale_version_update_is_a_conflict(repo: Arc<dyn ProductRepository>) {
    // Arrange
    let original = inserted(&*repo, product().build()).await;
    let mut winner = original.clone();
    winner.title = "Winner".into();
    winner.version = repo.update(&winner).await.must("update");
    let mut stale = original.clone();
    stale.title = "Stale".into();

    // Act
    let result = repo.update(&stale).await;

    // Assert
    assert!(
        matches!(result, Err(StoreError::VersionConflict { expected: 1, actual: 2, .. })),
        "updating version 1 over version 2 must be VersionConflict {{ expected: 1, actual: 2 }}, got {result:?}"
    );
    assert_eq!(repo.get(original.id).await.must("get"), Some(winner), "a conflict changes nothing");
}

/// 16 concurrent updates from one version: exactly one wins, stored at version + 1.
pub async fn concurrent_updates_from_one_version_have_one_winner(repo: Arc<dyn ProductRepository>) {
    // Arrange
    let base = inserted(&*repo, product().build()).await;

    // Act
    let results = race(16, |i| {
        let repo = Arc::clone(&repo);
        let mut mine = base.clone();
        mine.title = format!("Title {i}");
        async move { (repo.update(&mine).await, mine) }
    })
    .await;

    // Assert
    let winners: Vec<Product> = results
        .into_iter()
        .filter_map(|(r, mut mine)| match r {
            Ok(v) => {
                mine.version = v;
                Some(mine)
            }
            Err(StoreError::VersionConflict { .. }) => None,
            Err(e) => panic!("a losing update must be VersionConflict, got {e:?}"),
        })
        .collect();
    assert_eq!(winners.len(), 1, "exactly one of 16 concurrent updates must win");
    assert_eq!(repo.get(base.id).await.must("get"), Some(winners[0].clone()));
    assert_eq!(winners[0].version, 2);
}

/// Slug and SKU uniqueness hold on `update` too: taking another product's slug or SKU is
/// `AlreadyExists` and changes nothing.
pub async fn update_keeps_slugs_and_skus_unique(repo: Arc<dyn ProductRepository>) {
    // Arrange
    let other = inserted(&*repo, product().build()).await;
    let mine = inserted(&*repo, product().build()).await;
    let mut steal_slug = mine.clone();
    steal_slug.slug = other.slug.clone();
    let mut steal_sku = mine.clone();
    steal_sku.variants[0].sku = other.variants[0].sku.clone();

    // Act
    let r1 = repo.update(&steal_slug).await;
    let r2 = repo.update(&steal_sku).await;

    // Assert
    assert!(
        matches!(r1, Err(StoreError::AlreadyExists { .. })),
        "taking a slug on update, got {r1:?}"
    );
    assert!(
        matches!(r2, Err(StoreError::AlreadyExists { .. })),
        "taking a SKU on update, got {r2:?}"
    );
    assert_eq!(repo.get(mine.id).await.must("get"), Some(mine.clone()));
    assert_eq!(repo.by_slug(&other.slug).await.must("by_slug"), Some(other.clone()));
    // A product may keep its own slug and SKUs, and change them to free ones.
    let mut renamed = mine.clone();
    renamed.slug = Slug::new(&format!("renamed-{}", unique())).must("slug");
    renamed.variants[0].sku = unique_sku();
    repo.update(&renamed).await.must("update to a free slug and SKU");
    assert_eq!(repo.by_slug(&mine.slug).await.must("by_slug"), None, "the old slug is free again");
    assert_eq!(repo.by_skus(&[mine.variants[0].sku.clone()]).await.must("by_skus"), vec![]);
}

/// `by_skus` returns the product of each SKU that exists, each product once; missing
/// SKUs are simply absent.
pub async fn by_skus_returns_each_product_once(repo: Arc<dyn ProductRepository>) {
    // Arrange
    let a = inserted(&*repo, product().variants(3).build()).await;
    let b = inserted(&*repo, product().variants(1).build()).await;
    inserted(&*repo, product().build()).await;
    let asked = vec![
        a.variants[0].sku.clone(),
        sku("NO-SUCH-SKU"),
        a.variants[2].sku.clone(),
        b.variants[0].sku.clone(),
    ];

    // Act
    let found = repo.by_skus(&asked).await.must("by_skus");

    // Assert
    let mut ids: Vec<ProductId> = found.iter().map(|p| p.id).collect();
    ids.sort();
    let mut want = vec![a.id, b.id];
    want.sort();
    assert_eq!(ids, want, "each product holding an asked SKU, once");
    assert!(repo.by_skus(&[]).await.must("by_skus of nothing").is_empty());
}

/// `list` pages by product id with opaque cursors, never repeating or skipping a product.
pub async fn list_pages_never_repeat_or_skip(repo: Arc<dyn ProductRepository>) {
    // Arrange
    let mut ids = Vec::new();
    for _ in 0..23 {
        ids.push(inserted(&*repo, product().build()).await.id);
    }
    ids.sort();

    // Act
    let listed = list_all(&*repo, ProductQuery { limit: 5, ..ProductQuery::default() }).await;

    // Assert
    let got: Vec<ProductId> = listed.iter().map(|p| p.id).collect();
    assert_eq!(got, ids, "every product exactly once, ordered by product id");
}

/// `list` clamps the page size to 1..=100.
pub async fn list_clamps_the_page_size(repo: Arc<dyn ProductRepository>) {
    // Arrange
    for _ in 0..101 {
        inserted(&*repo, product().build()).await;
    }

    // Act
    let big =
        repo.list(&ProductQuery { limit: 1000, ..ProductQuery::default() }).await.must("list");
    let zero = repo.list(&ProductQuery { limit: 0, ..ProductQuery::default() }).await.must("list");

    // Assert
    assert_eq!(big.items.len(), 100, "a page holds at most 100 products");
    assert!(big.next_cursor.is_some(), "the 101st product is on the next page");
    assert_eq!(zero.items.len(), 1, "a limit of 0 is clamped to 1");
}

/// `list` rejects a cursor it did not hand out with `InvalidCursor`.
pub async fn list_rejects_a_foreign_cursor(repo: Arc<dyn ProductRepository>) {
    // Arrange
    inserted(&*repo, product().build()).await;
    let query = ProductQuery {
        cursor: Some(Cursor("not-a-cursor-we-issued".into())),
        limit: 10,
        ..ProductQuery::default()
    };

    // Act
    let result = repo.list(&query).await;

    // Assert
    assert!(
        matches!(result, Err(StoreError::InvalidCursor)),
        "a foreign cursor must be InvalidCursor, got {result:?}"
    );
}

/// `list` filters by status, category and attribute values (all must hold).
pub async fn list_filters_by_status_category_and_attributes(repo: Arc<dyn ProductRepository>) {
    // Arrange
    let cotton_shirt = inserted(
        &*repo,
        product()
            .category("shirts")
            .attribute("material", AttributeValue::Text("Cotton".into()))
            .build(),
    )
    .await;
    let wool_shirt = inserted(
        &*repo,
        product()
            .category("shirts")
            .attribute("material", AttributeValue::Text("wool".into()))
            .build(),
    )
    .await;
    let draft_shirt =
        inserted(&*repo, product().category("shirts").status(ProductStatus::Draft).build()).await;
    inserted(&*repo, product().category("shoes").build()).await;

    // Act
    let active_shirts = list_all(
        &*repo,
        ProductQuery {
            category: Some(category_id("shirts")),
            status: Some(ProductStatus::Active),
            limit: 2,
            ..ProductQuery::default()
        },
    )
    .await;
    let cotton = list_all(
        &*repo,
        ProductQuery {
            attributes: vec![(attribute("material"), "cotton".into())],
            limit: 10,
            ..ProductQuery::default()
        },
    )
    .await;
    let drafts = list_all(
        &*repo,
        ProductQuery { status: Some(ProductStatus::Draft), limit: 10, ..ProductQuery::default() },
    )
    .await;

    // Assert
    let ids = |ps: &[Product]| ps.iter().map(|p| p.id).collect::<HashSet<_>>();
    assert_eq!(
        ids(&active_shirts),
        HashSet::from([cotton_shirt.id, wool_shirt.id]),
        "category and status filter"
    );
    assert_eq!(
        ids(&cotton),
        HashSet::from([cotton_shirt.id]),
        "attribute filter (AttributeValue::matches)"
    );
    assert_eq!(ids(&drafts), HashSet::from([draft_shirt.id]), "status filter");
}

/// `delete` removes a product; its slug and SKUs are free again.
pub async fn delete_removes_a_product(repo: Arc<dyn ProductRepository>) {
    // Arrange
    let p = inserted(&*repo, product().build()).await;

    // Act
    repo.delete(p.id).await.must("delete");

    // Assert
    assert_eq!(repo.get(p.id).await.must("get"), None);
    assert_eq!(repo.by_slug(&p.slug).await.must("by_slug"), None);
    assert!(repo.by_skus(&[p.variants[0].sku.clone()]).await.must("by_skus").is_empty());
    let reuse = product().slug(p.slug.as_str()).skus(&[p.variants[0].sku.clone()]).build();
    repo.insert(&reuse).await.must("insert a product with the deleted one's slug and SKU");
}

/// `upsert_category` creates or replaces; `categories` lists them by position then id.
pub async fn categories_are_upserted_and_ordered_by_position(repo: Arc<dyn ProductRepository>) {
    // Arrange
    repo.upsert_category(&category("shoes", "Shoes", 2)).await.must("upsert");
    repo.upsert_category(&category("bags", "Bags", 1)).await.must("upsert");
    repo.upsert_category(&category("hats", "Hats", 1)).await.must("upsert");

    // Act
    repo.upsert_category(&category("shoes", "Footwear", 0)).await.must("replace a category");
    let all = repo.categories().await.must("categories");

    // Assert
    let got: Vec<(String, String)> =
        all.iter().map(|c| (c.id.to_string(), c.name.clone())).collect();
    assert_eq!(
        got,
        vec![
            ("shoes".to_owned(), "Footwear".to_owned()),
            ("bags".to_owned(), "Bags".to_owned()),
            ("hats".to_owned(), "Hats".to_owned()),
        ],
        "categories by position then id, replaced in place"
    );
}
