//! Contracts of [`SearchIndex`]: only active products, every word must match, exact SKUs,
//! filters, facets over all matches, sorts, and pages that never repeat or skip.
//!
//! Each contract takes a fresh, empty index. A document is searchable as soon as `index`
//! returns (an OpenSearch adapter indexes with `refresh=wait_for`).

use std::collections::HashSet;
use std::sync::Arc;

use rust_decimal::Decimal;
use shopkit_core::catalog::ProductStatus;
use shopkit_core::ids::ProductId;
use shopkit_core::money::Currency;
use shopkit_core::ports::{
    Cursor, Facet, SearchDocument, SearchError, SearchIndex, SearchQuery, SearchSort,
};

use crate::fixtures::{attribute, category_id, uuid};
use crate::support::Must;

/// A document for an active product with `title`, priced `usd` (in cents) in USD.
pub fn document(title: &str, usd: i64) -> SearchDocument {
    SearchDocument {
        product_id: ProductId::from_uuid(uuid()),
        title: title.to_owned(),
        description: String::new(),
        categories: Vec::new(),
        attributes: Vec::new(),
        skus: Vec::new(),
        prices: vec![(Currency::USD, Decimal::new(usd, 2))],
        status: ProductStatus::Active,
    }
}

fn query(text: &str) -> SearchQuery {
    SearchQuery { text: text.to_owned(), limit: 50, ..SearchQuery::default() }
}

async fn indexed(index: &dyn SearchIndex, docs: &[SearchDocument]) {
    for d in docs {
        index.index(d).await.must("index a document");
    }
}

fn hits(index_results: &shopkit_core::ports::SearchResults) -> HashSet<ProductId> {
    index_results.hits.iter().copied().collect()
}

/// Every hit of a search, page by page, checking that pages never repeat a hit.
async fn all_hits(index: &dyn SearchIndex, mut q: SearchQuery) -> Vec<ProductId> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let page = index.search(&q).await.must("search");
        assert!(page.hits.len() <= q.limit, "a page holds at most `limit` hits");
        out.extend(page.hits);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
    panic!("search never returned a last page");
}

/// Only documents with `status: Active` appear in results.
pub async fn only_active_products_are_found(index: Arc<dyn SearchIndex>) {
    // Arrange
    let active = document("Lantern brass", 1000);
    let draft = SearchDocument { status: ProductStatus::Draft, ..document("Lantern copper", 1000) };
    let archived =
        SearchDocument { status: ProductStatus::Archived, ..document("Lantern iron", 1000) };
    indexed(&*index, &[active.clone(), draft, archived]).await;

    // Act
    let by_word = index.search(&query("lantern")).await.must("search");
    let everything = index.search(&query("")).await.must("search all");

    // Assert
    assert_eq!(by_word.hits, vec![active.product_id], "drafts and archived products never appear");
    assert_eq!(everything.hits, vec![active.product_id], "empty text matches every ACTIVE product");
    assert_eq!(everything.total, 1);
}

/// Every word of the text must match the title, description or a SKU, case-insensitively.
pub async fn every_word_must_match(index: Arc<dyn SearchIndex>) {
    // Arrange
    let shirt = SearchDocument {
        description: "Organic cotton, garment dyed".into(),
        ..document("Harbour Shirt", 3900)
    };
    let jacket =
        SearchDocument { description: "Waxed cotton".into(), ..document("Harbour Jacket", 12900) };
    let mug = document("Enamel Mug", 1500);
    indexed(&*index, &[shirt.clone(), jacket.clone(), mug]).await;

    // Act
    let one_word = index.search(&query("HARBOUR")).await.must("search");
    let two_words = index.search(&query("harbour ORGANIC")).await.must("search");
    let title_and_description = index.search(&query("jacket waxed")).await.must("search");
    let unmatched_word = index.search(&query("harbour zeppelin")).await.must("search");

    // Assert
    assert_eq!(
        hits(&one_word),
        HashSet::from([shirt.product_id, jacket.product_id]),
        "case-insensitive"
    );
    assert_eq!(
        two_words.hits,
        vec![shirt.product_id],
        "every word must match (title + description)"
    );
    assert_eq!(title_and_description.hits, vec![jacket.product_id]);
    assert!(unmatched_word.hits.is_empty(), "a word matching nothing leaves no hit");
    assert_eq!(unmatched_word.total, 0);
}

/// An exact SKU finds its product.
pub async fn an_exact_sku_finds_its_product(index: Arc<dyn SearchIndex>) {
    // Arrange
    let boots = SearchDocument {
        skus: vec!["BOOT-OAK-42".into(), "BOOT-OAK-43".into()],
        ..document("Field Boots", 18900)
    };
    indexed(&*index, &[boots.clone(), document("Field Socks", 900)]).await;

    // Act
    let found = index.search(&query("BOOT-OAK-43")).await.must("search by SKU");

    // Assert
    assert_eq!(found.hits, vec![boots.product_id]);
}

/// Category, attribute and price filters all apply; price bounds are inclusive and in the
/// query currency.
pub async fn filters_by_category_attributes_and_price(index: Arc<dyn SearchIndex>) {
    // Arrange
    let colour = attribute("colour");
    let mk = |title: &str, cents: i64, cat: &str, c: &str| SearchDocument {
        categories: vec![category_id(cat)],
        attributes: vec![(colour.clone(), vec![c.to_owned()])],
        prices: vec![
            (Currency::USD, Decimal::new(cents, 2)),
            (Currency::EUR, Decimal::new(cents * 2, 2)),
        ],
        ..document(title, cents)
    };
    let cheap_red = mk("Red Tee", 1000, "tops", "red");
    let mid_red = mk("Red Polo", 2500, "tops", "red");
    let dear_red = mk("Red Coat", 9000, "coats", "red");
    let mid_blue = mk("Blue Polo", 2500, "tops", "blue");
    indexed(&*index, &[cheap_red.clone(), mid_red.clone(), dear_red, mid_blue]).await;

    // Act
    let q = SearchQuery {
        category: Some(category_id("tops")),
        attributes: vec![(colour.clone(), "red".into())],
        currency: Some(Currency::USD),
        min_price: Some(Decimal::new(1000, 2)),
        max_price: Some(Decimal::new(2500, 2)),
        ..query("")
    };
    let found = index.search(&q).await.must("search with filters");
    let in_eur = index
        .search(&SearchQuery { currency: Some(Currency::EUR), ..q.clone() })
        .await
        .must("search with EUR price filters");

    // Assert
    assert_eq!(
        hits(&found),
        HashSet::from([cheap_red.product_id, mid_red.product_id]),
        "all filters apply, bounds inclusive"
    );
    assert_eq!(
        in_eur.hits,
        vec![cheap_red.product_id],
        "price filters apply in the query currency"
    );
}

/// Facet counts cover every match, not only the page, most frequent first.
pub async fn facet_counts_cover_every_match(index: Arc<dyn SearchIndex>) {
    // Arrange
    let colour = attribute("colour");
    let mut docs = Vec::new();
    for (k, c) in ["red", "red", "red", "blue", "blue", "green"].iter().enumerate() {
        docs.push(SearchDocument {
            categories: vec![category_id(if k < 4 { "tops" } else { "coats" })],
            attributes: vec![(colour.clone(), vec![(*c).to_owned()])],
            ..document(&format!("Quilted Item {k}"), 1000 + k as i64)
        });
    }
    docs.push(document("Unrelated Lamp", 500));
    indexed(&*index, &docs).await;

    // Act
    let q = SearchQuery {
        facets: vec!["colour".into(), "category".into()],
        limit: 2,
        ..query("quilted")
    };
    let page = index.search(&q).await.must("search with facets");

    // Assert
    assert_eq!(page.hits.len(), 2, "the page is limited");
    assert_eq!(page.total, 6, "total counts every match");
    let counts =
        |f: &Facet| f.counts.iter().map(|c| (c.value.clone(), c.count)).collect::<Vec<_>>();
    let colour_facet = page.facets.iter().find(|f| f.name == "colour").must("a colour facet");
    assert_eq!(
        counts(colour_facet),
        vec![("red".to_owned(), 3), ("blue".to_owned(), 2), ("green".to_owned(), 1)],
        "colour counts over all 6 matches, most frequent first"
    );
    let category_facet = page.facets.iter().find(|f| f.name == "category").must("a category facet");
    assert_eq!(counts(category_facet), vec![("tops".to_owned(), 4), ("coats".to_owned(), 2)]);
}

/// `index` replaces the document of the same product; `remove` removes it, and removing
/// an unknown id is fine.
pub async fn index_replaces_and_remove_removes(index: Arc<dyn SearchIndex>) {
    // Arrange
    let original = document("Walnut Desk", 40000);
    indexed(&*index, std::slice::from_ref(&original)).await;
    let renamed = SearchDocument { title: "Maple Desk".into(), ..original.clone() };

    // Act
    index.index(&renamed).await.must("index again");
    let old_word = index.search(&query("walnut")).await.must("search");
    let new_word = index.search(&query("maple")).await.must("search");
    index.remove(original.product_id).await.must("remove");
    index.remove(ProductId::from_uuid(uuid())).await.must("remove an unknown id");
    let after = index.search(&query("desk")).await.must("search after remove");

    // Assert
    assert!(old_word.hits.is_empty(), "the replaced document is gone");
    assert_eq!(new_word.hits, vec![original.product_id], "the product appears once, as replaced");
    assert!(after.hits.is_empty(), "a removed product is not found");
}

/// Pages never repeat or skip a hit for an unchanged index, under every sort.
pub async fn pages_never_repeat_or_skip(index: Arc<dyn SearchIndex>) {
    // Arrange
    let docs: Vec<SearchDocument> = (0..11)
        .map(|k| {
            document(
                &format!("Pebble Vase {}", ["A", "B", "C"][k % 3]),
                1000 + (k as i64 % 4) * 100,
            )
        })
        .collect();
    indexed(&*index, &docs).await;
    let want: HashSet<ProductId> = docs.iter().map(|d| d.product_id).collect();

    for sort in
        [SearchSort::Relevance, SearchSort::PriceAsc, SearchSort::PriceDesc, SearchSort::Title]
    {
        // Act
        let q = SearchQuery { sort, currency: Some(Currency::USD), limit: 3, ..query("pebble") };
        let got = all_hits(&*index, q).await;

        // Assert
        let unique: HashSet<ProductId> = got.iter().copied().collect();
        assert_eq!(got.len(), unique.len(), "pages repeated a hit under {sort:?}");
        assert_eq!(unique, want, "pages skipped a hit under {sort:?}");
    }
}

/// `PriceAsc`/`PriceDesc` order by the price in the query currency; `Title` by title.
pub async fn sorts_by_price_and_title(index: Arc<dyn SearchIndex>) {
    // Arrange
    let b = document("Bramble Jam", 700);
    let c = document("Cherry Jam", 300);
    let a = document("Apricot Jam", 500);
    indexed(&*index, &[b.clone(), c.clone(), a.clone()]).await;
    let sorted = |sort| SearchQuery { sort, currency: Some(Currency::USD), ..query("jam") };

    // Act
    let asc = index.search(&sorted(SearchSort::PriceAsc)).await.must("search");
    let desc = index.search(&sorted(SearchSort::PriceDesc)).await.must("search");
    let title = index.search(&sorted(SearchSort::Title)).await.must("search");

    // Assert
    assert_eq!(asc.hits, vec![c.product_id, a.product_id, b.product_id], "cheapest first");
    assert_eq!(desc.hits, vec![b.product_id, a.product_id, c.product_id], "dearest first");
    assert_eq!(title.hits, vec![a.product_id, b.product_id, c.product_id], "by title");
}

/// A cursor the index did not hand out is `Invalid`.
pub async fn a_foreign_cursor_is_invalid(index: Arc<dyn SearchIndex>) {
    // Arrange
    indexed(&*index, &[document("Linen Towel", 1200)]).await;

    // Act
    let result =
        index.search(&SearchQuery { cursor: Some(Cursor("bogus".into())), ..query("") }).await;

    // Assert
    assert!(
        matches!(result, Err(SearchError::Invalid { .. })),
        "a foreign cursor must be Invalid, got {result:?}"
    );
}
