//! Product search over an in-memory index.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use shopkit_core::catalog::{AttributeName, ProductStatus};
use shopkit_core::ids::ProductId;
use shopkit_core::money::Currency;
use shopkit_core::ports::{
    Cursor, CursorCodec, CursorError, Facet, FacetCount, SearchDocument, SearchError, SearchIndex,
    SearchQuery, SearchResults, SearchSort,
};

use crate::ids::random_cursor_codec;

/// The largest page a search returns.
pub const MAX_SEARCH_LIMIT: usize = 100;

/// The facet name that counts categories instead of an attribute.
const CATEGORY_FACET: &str = "category";

/// An in-memory [`SearchIndex`] with the semantics every search backend must offer.
///
/// - Only `Active` documents are found.
/// - Text is split into words at every character that is not a letter or digit and
///   lower-cased; every query word must equal a word of the title, the description or a
///   SKU. A query that equals a whole SKU (ignoring case) finds its product.
/// - Filters: category, attributes (each must match one of the document's values, ignoring
///   case; numbers compare by value, `1.20` = `1.2`), and an inclusive price range in the
///   query currency (a document without a price in that currency does not pass a range).
///   A price range or price sort without a currency is `Invalid`.
/// - Facets (`category` or an attribute name) count every match, one per product and value,
///   most frequent first, then by value.
/// - Sorts: relevance (an exact SKU first, then more query words in the title, then in the
///   description, then in SKUs), price ascending or descending (documents without a price
///   in the currency last), title (ignoring case); ties by product id.
/// - Pages: `limit` 1 to [`MAX_SEARCH_LIMIT`]; the cursor is opaque and signed with a key
///   of this index, bound to the query it came from. An altered cursor, one from another
///   index or another query is `Invalid`.
/// - [`set_down`](Self::set_down) makes every call `Unavailable`.
pub struct MemorySearch {
    docs: Mutex<BTreeMap<ProductId, SearchDocument>>,
    cursors: CursorCodec,
    down: AtomicBool,
}

impl fmt::Debug for MemorySearch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySearch")
            .field("documents", &self.lock().len())
            .finish_non_exhaustive()
    }
}

impl Default for MemorySearch {
    fn default() -> Self {
        MemorySearch::new()
    }
}

/// Why a document matched, for relevance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Relevance {
    exact_sku: bool,
    title: usize,
    description: usize,
    sku: usize,
}

struct Hit<'a> {
    doc: &'a SearchDocument,
    relevance: Relevance,
    price: Option<Decimal>,
}

impl MemorySearch {
    /// An empty index.
    ///
    /// # Panics
    /// When the operating system cannot provide randomness for the cursor key.
    pub fn new() -> Self {
        MemorySearch {
            docs: Mutex::new(BTreeMap::new()),
            cursors: random_cursor_codec("search"),
            down: AtomicBool::new(false),
        }
    }

    /// How many documents the index holds (active or not).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The document of `id`, if indexed.
    pub fn document(&self, id: ProductId) -> Option<SearchDocument> {
        self.lock().get(&id).cloned()
    }

    /// Takes the index down (`true`): every call is `Unavailable` until `set_down(false)`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<ProductId, SearchDocument>> {
        self.docs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_up(&self) -> Result<(), SearchError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SearchError::Unavailable {
                message: "the search index is down (set_down(true))".into(),
            });
        }
        Ok(())
    }

    fn decode_cursor(&self, cursor: &Cursor, fingerprint: &str) -> Result<usize, SearchError> {
        let not_issued = || {
            invalid("the cursor was not handed out by this index: pass back next_cursor unchanged")
        };
        let offset = self.cursors.decode_scoped(fingerprint, cursor).map_err(|err| match err {
            CursorError::OtherScope => invalid(
                "the cursor belongs to another search: keep the query unchanged between pages",
            ),
            _ => not_issued(),
        })?;
        offset.parse().map_err(|_| not_issued())
    }
}

fn invalid(reason: &str) -> SearchError {
    SearchError::Invalid { reason: reason.to_owned() }
}

/// Lower-cased words: runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// What identifies a search apart from its page: a cursor is only valid for the same one.
fn fingerprint(query: &SearchQuery) -> String {
    let canonical = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        query.text,
        query.category,
        query.attributes,
        query.currency,
        query.min_price,
        query.max_price,
        query.sort
    );
    hex::encode(&Sha256::digest(canonical.as_bytes())[..8])
}

fn price_in(doc: &SearchDocument, currency: Option<Currency>) -> Option<Decimal> {
    let currency = currency?;
    doc.prices.iter().filter(|(c, _)| *c == currency).map(|(_, p)| *p).min()
}

fn value_matches(have: &str, wanted: &str) -> bool {
    if have.to_lowercase() == wanted.to_lowercase() {
        return true;
    }
    matches!((have.trim().parse::<Decimal>(), wanted.trim().parse::<Decimal>()), (Ok(a), Ok(b)) if a == b)
}

fn has_attribute(doc: &SearchDocument, name: &AttributeName, wanted: &str) -> bool {
    doc.attributes
        .iter()
        .any(|(n, values)| n == name && values.iter().any(|v| value_matches(v, wanted)))
}

/// How `doc` matches the query words, or `None` when a word is missing from it.
fn relevance(doc: &SearchDocument, query_words: &[String], whole_text: &str) -> Option<Relevance> {
    let exact_sku =
        !whole_text.is_empty() && doc.skus.iter().any(|s| s.to_lowercase() == whole_text);
    let title: BTreeSet<String> = words(&doc.title).collect();
    let description: BTreeSet<String> = words(&doc.description).collect();
    let skus: BTreeSet<String> = doc.skus.iter().flat_map(|s| words(s)).collect();
    let mut relevance = Relevance { exact_sku, ..Relevance::default() };
    for word in query_words {
        let (t, d, s) = (title.contains(word), description.contains(word), skus.contains(word));
        if !(t || d || s || exact_sku) {
            return None;
        }
        relevance.title += usize::from(t);
        relevance.description += usize::from(d);
        relevance.sku += usize::from(s);
    }
    Some(relevance)
}

fn compare(sort: SearchSort, a: &Hit<'_>, b: &Hit<'_>) -> CmpOrdering {
    let by = match sort {
        SearchSort::Relevance => b.relevance.cmp(&a.relevance),
        SearchSort::PriceAsc => (a.price.is_none(), a.price).cmp(&(b.price.is_none(), b.price)),
        SearchSort::PriceDesc => {
            (a.price.is_none(), Reverse(a.price)).cmp(&(b.price.is_none(), Reverse(b.price)))
        }
        SearchSort::Title => a.doc.title.to_lowercase().cmp(&b.doc.title.to_lowercase()),
    };
    by.then_with(|| a.doc.product_id.cmp(&b.doc.product_id))
}

fn facet(name: &str, hits: &[Hit<'_>]) -> Facet {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for hit in hits {
        let values: BTreeSet<&str> = if name == CATEGORY_FACET {
            hit.doc.categories.iter().map(|c| c.as_str()).collect()
        } else {
            hit.doc
                .attributes
                .iter()
                .filter(|(n, _)| n.as_str() == name)
                .flat_map(|(_, values)| values.iter().map(String::as_str))
                .collect()
        };
        for value in values {
            *counts.entry(value.to_owned()).or_default() += 1;
        }
    }
    let mut counts: Vec<FacetCount> =
        counts.into_iter().map(|(value, count)| FacetCount { value, count }).collect();
    // Stable sort over value order: equal counts stay sorted by value.
    counts.sort_by_key(|c| Reverse(c.count));
    Facet { name: name.to_owned(), counts }
}

fn check_query(query: &SearchQuery) -> Result<Vec<String>, SearchError> {
    if !(1..=MAX_SEARCH_LIMIT).contains(&query.limit) {
        return Err(SearchError::Invalid {
            reason: format!("limit must be 1 to {MAX_SEARCH_LIMIT}, got {}", query.limit),
        });
    }
    let price_sort = matches!(query.sort, SearchSort::PriceAsc | SearchSort::PriceDesc);
    if query.currency.is_none()
        && (query.min_price.is_some() || query.max_price.is_some() || price_sort)
    {
        return Err(invalid("price filters and price sorts need a currency"));
    }
    let mut facets = Vec::new();
    for name in &query.facets {
        if name != CATEGORY_FACET && AttributeName::new(name).is_err() {
            return Err(SearchError::Invalid {
                reason: format!(
                    "facet {name:?} is neither `category` nor an attribute name (lowercase a-z 0-9 _)"
                ),
            });
        }
        if !facets.contains(name) {
            facets.push(name.clone());
        }
    }
    Ok(facets)
}

#[async_trait]
impl SearchIndex for MemorySearch {
    async fn index(&self, doc: &SearchDocument) -> Result<(), SearchError> {
        self.check_up()?;
        self.lock().insert(doc.product_id, doc.clone());
        Ok(())
    }

    async fn remove(&self, id: ProductId) -> Result<(), SearchError> {
        self.check_up()?;
        self.lock().remove(&id);
        Ok(())
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchResults, SearchError> {
        self.check_up()?;
        let facet_names = check_query(query)?;
        let fingerprint = fingerprint(query);
        let offset = match &query.cursor {
            Some(cursor) => self.decode_cursor(cursor, &fingerprint)?,
            None => 0,
        };
        let mut query_words: Vec<String> = Vec::new();
        for word in words(&query.text) {
            if !query_words.contains(&word) {
                query_words.push(word);
            }
        }
        let whole_text = query.text.trim().to_lowercase();

        let docs = self.lock();
        let mut hits: Vec<Hit<'_>> = docs
            .values()
            .filter(|doc| doc.status == ProductStatus::Active)
            .filter(|doc| query.category.as_ref().is_none_or(|c| doc.categories.contains(c)))
            .filter(|doc| {
                query.attributes.iter().all(|(name, value)| has_attribute(doc, name, value))
            })
            .filter_map(|doc| {
                let price = price_in(doc, query.currency);
                let in_range = match (price, query.min_price, query.max_price) {
                    (_, None, None) => true,
                    (None, _, _) => false,
                    (Some(p), min, max) => min.is_none_or(|m| p >= m) && max.is_none_or(|m| p <= m),
                };
                let relevance = relevance(doc, &query_words, &whole_text)?;
                in_range.then_some(Hit { doc, relevance, price })
            })
            .collect();
        hits.sort_by(|a, b| compare(query.sort, a, b));

        let facets = facet_names.iter().map(|name| facet(name, &hits)).collect();
        let total = hits.len();
        let end = offset.saturating_add(query.limit).min(total);
        let page =
            hits.get(offset..end).unwrap_or_default().iter().map(|h| h.doc.product_id).collect();
        let next_cursor =
            (end < total).then(|| self.cursors.encode_scoped(&fingerprint, &end.to_string()));
        Ok(SearchResults {
            hits: page,
            total: u64::try_from(total).unwrap_or(u64::MAX),
            facets,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use shopkit_core::ids::CategoryId;
    use uuid::Uuid;

    use super::*;

    fn id(n: u128) -> ProductId {
        ProductId::from_uuid(Uuid::from_u128(n))
    }

    fn doc(n: u128, title: &str, description: &str) -> SearchDocument {
        SearchDocument {
            product_id: id(n),
            title: title.into(),
            description: description.into(),
            categories: vec![],
            attributes: vec![],
            skus: vec![format!("SKU-{n}")],
            prices: vec![],
            status: ProductStatus::Active,
        }
    }

    fn query(text: &str) -> SearchQuery {
        SearchQuery { text: text.into(), limit: 20, ..SearchQuery::default() }
    }

    fn attr(name: &str, values: &[&str]) -> (AttributeName, Vec<String>) {
        (AttributeName::new(name).unwrap(), values.iter().map(|v| (*v).to_owned()).collect())
    }

    async fn index(docs: Vec<SearchDocument>) -> MemorySearch {
        let search = MemorySearch::new();
        for d in &docs {
            search.index(d).await.unwrap();
        }
        search
    }

    #[tokio::test]
    async fn only_active_products_are_found() {
        let mut draft = doc(2, "Red shirt", "");
        draft.status = ProductStatus::Draft;
        let mut archived = doc(3, "Red shirt", "");
        archived.status = ProductStatus::Archived;
        let search = index(vec![doc(1, "Red shirt", ""), draft, archived]).await;

        let results = search.search(&query("shirt")).await.unwrap();

        assert_eq!(results.hits, [id(1)]);
        assert_eq!(results.total, 1);
    }

    #[tokio::test]
    async fn every_word_must_match_ignoring_case() {
        let search =
            index(vec![doc(1, "Red Shirt", "cotton"), doc(2, "Blue shirt", "Cotton")]).await;

        let both = search.search(&query("SHIRT cotton")).await.unwrap();
        let red = search.search(&query("red cotton")).await.unwrap();
        let none = search.search(&query("red wool")).await.unwrap();

        assert_eq!(both.hits, [id(1), id(2)]);
        assert_eq!(red.hits, [id(1)]);
        assert!(none.hits.is_empty());
    }

    #[tokio::test]
    async fn words_match_whole_words_not_substrings() {
        let search = index(vec![doc(1, "T-shirt", "")]).await;

        let part = search.search(&query("shir")).await.unwrap();
        let whole = search.search(&query("shirt")).await.unwrap();

        assert!(part.hits.is_empty());
        assert_eq!(whole.hits, [id(1)]);
    }

    #[tokio::test]
    async fn an_exact_sku_finds_its_product_and_ranks_first() {
        let mut mug = doc(2, "Mug", "");
        mug.skus = vec!["MUG-RED_01.L".into()];
        let search = index(vec![doc(1, "Mug red", "mug red 01 l"), mug]).await;

        let results = search.search(&query("mug-red_01.l")).await.unwrap();

        assert_eq!(results.hits[0], id(2));
    }

    #[tokio::test]
    async fn an_empty_query_finds_every_active_product_by_id() {
        let search = index(vec![doc(2, "B", ""), doc(1, "A", "")]).await;

        let results = search.search(&query("")).await.unwrap();

        assert_eq!(results.hits, [id(1), id(2)]);
    }

    #[tokio::test]
    async fn title_matches_rank_above_description_matches_and_ties_go_by_id() {
        let search = index(vec![
            doc(1, "Lamp", "a red lamp shade"),
            doc(2, "Red lamp", ""),
            doc(3, "Lamp", "red"),
        ])
        .await;

        let results = search.search(&query("red lamp")).await.unwrap();

        assert_eq!(results.hits, [id(2), id(1), id(3)]);
    }

    #[tokio::test]
    async fn category_and_attribute_filters_must_all_match() {
        let shoes = CategoryId::new("shoes").unwrap();
        let mut a = doc(1, "Runner", "");
        a.categories = vec![shoes.clone()];
        a.attributes = vec![attr("colour", &["Red", "blue"]), attr("size_eu", &["42.0"])];
        let mut b = doc(2, "Walker", "");
        b.categories = vec![shoes.clone()];
        b.attributes = vec![attr("colour", &["red"])];
        let search = index(vec![a, b, doc(3, "Hat", "")]).await;
        let mut q = query("");
        q.category = Some(shoes);
        q.attributes = vec![(AttributeName::new("colour").unwrap(), "RED".into())];

        let red_shoes = search.search(&q).await.unwrap();
        q.attributes.push((AttributeName::new("size_eu").unwrap(), "42".into()));
        let red_42 = search.search(&q).await.unwrap();

        assert_eq!(red_shoes.hits, [id(1), id(2)]);
        assert_eq!(red_42.hits, [id(1)]);
    }

    #[tokio::test]
    async fn price_filters_apply_in_the_query_currency() {
        let priced = |n, usd: i64| {
            let mut d = doc(n, "Item", "");
            d.prices =
                vec![(Currency::USD, Decimal::new(usd, 2)), (Currency::EUR, Decimal::new(1, 0))];
            d
        };
        let search =
            index(vec![priced(1, 500), priced(2, 1500), priced(3, 2500), doc(4, "Item", "")]).await;
        let mut q = query("");
        q.currency = Some(Currency::USD);
        q.min_price = Some(Decimal::new(5, 0));
        q.max_price = Some(Decimal::new(15, 0));

        let results = search.search(&q).await.unwrap();

        assert_eq!(results.hits, [id(1), id(2)]);
    }

    #[tokio::test]
    async fn price_sorts_follow_the_query_currency_with_unpriced_last() {
        let priced = |n, usd: i64| {
            let mut d = doc(n, "Item", "");
            d.prices = vec![(Currency::USD, Decimal::new(usd, 0))];
            d
        };
        let search = index(vec![
            priced(1, 30),
            priced(2, 10),
            doc(3, "Item", ""),
            priced(4, 20),
            priced(5, 10),
        ])
        .await;
        let mut q = query("");
        q.currency = Some(Currency::USD);

        q.sort = SearchSort::PriceAsc;
        let asc = search.search(&q).await.unwrap();
        q.sort = SearchSort::PriceDesc;
        let desc = search.search(&q).await.unwrap();

        assert_eq!(asc.hits, [id(2), id(5), id(4), id(1), id(3)]);
        assert_eq!(desc.hits, [id(1), id(4), id(2), id(5), id(3)]);
    }

    #[tokio::test]
    async fn the_title_sort_ignores_case() {
        let search =
            index(vec![doc(1, "banana", ""), doc(2, "Apple", ""), doc(3, "cherry", "")]).await;
        let mut q = query("");
        q.sort = SearchSort::Title;

        let results = search.search(&q).await.unwrap();

        assert_eq!(results.hits, [id(2), id(1), id(3)]);
    }

    #[tokio::test]
    async fn facets_count_every_match_most_frequent_first_then_by_value() {
        let with = |n, colour: &[&str], category: &str| {
            let mut d = doc(n, "Tee", "");
            d.attributes = vec![attr("colour", colour)];
            d.categories = vec![CategoryId::new(category).unwrap()];
            d
        };
        let search = index(vec![
            with(1, &["red"], "tops"),
            with(2, &["blue", "red"], "tops"),
            with(3, &["green"], "sale"),
            with(4, &["blue"], "tops"),
        ])
        .await;
        let mut q = query("tee");
        q.limit = 1;
        q.facets = vec!["colour".into(), "category".into()];

        let results = search.search(&q).await.unwrap();

        assert_eq!(results.hits.len(), 1);
        let counts =
            |f: &Facet| f.counts.iter().map(|c| (c.value.clone(), c.count)).collect::<Vec<_>>();
        assert_eq!(results.facets[0].name, "colour");
        assert_eq!(
            counts(&results.facets[0]),
            [("blue".into(), 2), ("red".into(), 2), ("green".into(), 1)]
        );
        assert_eq!(counts(&results.facets[1]), [("tops".into(), 3), ("sale".into(), 1)]);
    }

    #[tokio::test]
    async fn pages_neither_repeat_nor_skip_a_hit() {
        let search = index((1..=25).map(|n| doc(n, "Sock", "")).collect()).await;
        let mut q = query("sock");
        q.limit = 10;

        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = search.search(&q).await.unwrap();
            assert_eq!(page.total, 25);
            seen.extend(page.hits);
            pages += 1;
            match page.next_cursor {
                Some(cursor) => q.cursor = Some(cursor),
                None => break,
            }
        }

        assert_eq!(pages, 3);
        assert_eq!(seen, (1..=25).map(id).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_tampered_or_foreign_cursor_is_invalid() {
        let docs: Vec<_> = (1..=5).map(|n| doc(n, "Sock", "")).collect();
        let search = index(docs.clone()).await;
        let other = index(docs).await;
        let mut q = query("sock");
        q.limit = 2;
        let cursor = search.search(&q).await.unwrap().next_cursor.unwrap();

        let mut tampered = cursor.0.clone();
        tampered.replace_range(0..1, if tampered.starts_with('A') { "B" } else { "A" });
        let with =
            |c: &str, text: &str| SearchQuery { cursor: Some(Cursor(c.to_owned())), ..query(text) };

        assert!(matches!(
            search.search(&with(&tampered, "sock")).await,
            Err(SearchError::Invalid { .. })
        ));
        assert!(matches!(
            search.search(&with("garbage", "sock")).await,
            Err(SearchError::Invalid { .. })
        ));
        assert!(matches!(
            other.search(&with(&cursor.0, "sock")).await,
            Err(SearchError::Invalid { ref reason }) if reason.contains("not handed out by this index")
        ));
        assert!(matches!(
            search.search(&with(&cursor.0, "other")).await,
            Err(SearchError::Invalid { ref reason }) if reason.contains("another search")
        ));
        assert!(search.search(&with(&cursor.0, "sock")).await.is_ok());
    }

    #[tokio::test]
    async fn limits_outside_one_to_a_hundred_are_invalid() {
        let search = MemorySearch::new();

        for limit in [0, 101] {
            let q = SearchQuery { limit, ..query("") };
            assert!(
                matches!(search.search(&q).await, Err(SearchError::Invalid { .. })),
                "limit {limit}"
            );
        }
        assert!(search.search(&SearchQuery { limit: 100, ..query("") }).await.is_ok());
    }

    #[tokio::test]
    async fn bad_facet_names_and_prices_without_a_currency_are_invalid() {
        let search = MemorySearch::new();

        let facet =
            search.search(&SearchQuery { facets: vec!["Colour!".into()], ..query("") }).await;
        let price =
            search.search(&SearchQuery { min_price: Some(Decimal::ONE), ..query("") }).await;
        let sort = search.search(&SearchQuery { sort: SearchSort::PriceAsc, ..query("") }).await;

        assert!(matches!(facet, Err(SearchError::Invalid { .. })));
        assert!(matches!(price, Err(SearchError::Invalid { .. })));
        assert!(matches!(sort, Err(SearchError::Invalid { .. })));
    }

    #[tokio::test]
    async fn indexing_replaces_and_removing_forgets() {
        let search = index(vec![doc(1, "Old title", "")]).await;

        search.index(&doc(1, "New title", "")).await.unwrap();
        let old = search.search(&query("old")).await.unwrap();
        let new = search.search(&query("new")).await.unwrap();
        search.remove(id(1)).await.unwrap();
        search.remove(id(99)).await.unwrap();

        assert!(old.hits.is_empty());
        assert_eq!(new.hits, [id(1)]);
        assert!(search.search(&query("")).await.unwrap().hits.is_empty());
    }

    #[tokio::test]
    async fn a_down_index_is_unavailable() {
        let search = MemorySearch::new();
        search.set_down(true);

        let result = search.search(&query("")).await;

        assert!(matches!(result, Err(SearchError::Unavailable { .. })));
    }
}
