//! [`PgSearch`]: product search with PostgreSQL full-text search.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use shopkit_core::catalog::{AttributeName, ProductStatus};
use shopkit_core::ids::ProductId;
use shopkit_core::ports::{
    Cursor, CursorError, Facet, FacetCount, SearchDocument, SearchError, SearchIndex, SearchQuery,
    SearchResults, SearchSort,
};
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::error::store_error;
use crate::shared::Shared;

/// The largest page a search returns.
pub const MAX_SEARCH_LIMIT: usize = 100;

/// The facet name that counts categories instead of an attribute.
const CATEGORY_FACET: &str = "category";

fn invalid(reason: impl Into<String>) -> SearchError {
    SearchError::Invalid { reason: reason.into() }
}

fn unavailable(e: sqlx::Error) -> SearchError {
    // SearchError carries no source: log the backend error once, here.
    let mapped = store_error(e);
    tracing::warn!(error = %mapped, source = ?std::error::Error::source(&mapped), "search failed");
    SearchError::Unavailable { message: mapped.to_string() }
}

fn status_str(status: ProductStatus) -> &'static str {
    match status {
        ProductStatus::Draft => "draft",
        ProductStatus::Active => "active",
        ProductStatus::Archived => "archived",
    }
}

/// Whether `text` holds a word (a run of letters or digits): a text without one matches
/// every product, as an empty one does.
fn has_words(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

/// The filter terms of one attribute value: the value lower-cased, and its normalised
/// number when it is one (so `1.20` matches `1.2`).
fn value_terms(name: &str, value: &str) -> Vec<String> {
    let mut terms = vec![format!("{name}={}", value.to_lowercase())];
    if let Ok(n) = value.trim().parse::<Decimal>() {
        terms.push(format!("{name}#{}", n.normalize()));
    }
    terms
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

/// Checks the query; returns the facets to count, without repeats.
fn check_query(query: &SearchQuery) -> Result<Vec<String>, SearchError> {
    if !(1..=MAX_SEARCH_LIMIT).contains(&query.limit) {
        return Err(invalid(format!("limit must be 1 to {MAX_SEARCH_LIMIT}, got {}", query.limit)));
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
            return Err(invalid(format!(
                "facet {name:?} is neither `category` nor an attribute name (lowercase a-z 0-9 _)"
            )));
        }
        if !facets.contains(name) {
            facets.push(name.clone());
        }
    }
    Ok(facets)
}

/// The columns of a document.
struct Stored {
    title_key: String,
    categories: Vec<String>,
    attributes: serde_json::Value,
    terms: Vec<String>,
    sku_text: String,
    sku_keys: Vec<String>,
    prices: serde_json::Value,
}

fn stored(doc: &SearchDocument) -> Stored {
    let mut attributes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut terms = Vec::new();
    for (name, values) in &doc.attributes {
        let slot = attributes.entry(name.as_str()).or_default();
        for v in values {
            if !slot.contains(&v.as_str()) {
                slot.push(v);
            }
            terms.extend(value_terms(name.as_str(), v));
        }
    }
    let mut lowest: BTreeMap<&str, Decimal> = BTreeMap::new();
    for (currency, price) in &doc.prices {
        let slot = lowest.entry(currency.code()).or_insert(*price);
        if price < slot {
            *slot = *price;
        }
    }
    let prices: serde_json::Map<String, serde_json::Value> = lowest
        .into_iter()
        .map(|(code, price)| (code.to_owned(), serde_json::Value::String(price.to_string())))
        .collect();
    Stored {
        title_key: doc.title.to_lowercase(),
        categories: doc.categories.iter().map(|c| c.as_str().to_owned()).collect(),
        attributes: serde_json::json!(attributes),
        terms,
        sku_text: doc.skus.join(" "),
        sku_keys: doc.skus.iter().map(|s| s.to_lowercase()).collect(),
        prices: serde_json::Value::Object(prices),
    }
}

/// The PostgreSQL [`SearchIndex`] (table `search_documents`): full-text search over the
/// documents the catalog's search sync subscriber indexes.
///
/// - Only `Active` documents are searched (partial GIN indexes).
/// - Text: `websearch_to_tsquery('simple', text)` against a weighted `tsvector` (title A,
///   description B, SKUs C): every word must match a word of the title, the description
///   or a SKU, ignoring case, without stemming. The web-search syntax is honoured on top
///   (`"a phrase"`, `word or word`, `-word`). A text equal to a whole SKU (ignoring case)
///   finds its product. A text without any letter or digit matches everything.
/// - Filters: category, attributes (ignoring case; numbers by value), and an inclusive
///   price range in the query currency (documents without a price in it do not pass).
///   A price range or price sort without a currency is `Invalid`.
/// - Facets (`category` or an attribute name) count every match, most frequent first,
///   then by value.
/// - Sorts: relevance (an exact SKU first, then `ts_rank_cd`), price ascending or
///   descending (documents without a price in the currency last), title ignoring case;
///   ties by product id.
/// - ONE query per search: the page of hits, the total and every facet come back
///   together. Pages: `limit` 1 to 100; the cursor is an offset signed with the store's
///   key and bound to the query (another query's or an altered cursor is `Invalid`).
#[derive(Clone, Debug)]
pub struct PgSearch {
    shared: Arc<Shared>,
}

impl PgSearch {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        PgSearch { shared }
    }
}

#[async_trait]
impl SearchIndex for PgSearch {
    async fn index(&self, doc: &SearchDocument) -> Result<(), SearchError> {
        let s = stored(doc);
        sqlx::query(
            "INSERT INTO search_documents (product_id, status, title, title_key, description, categories,
                                           attributes, attribute_terms, sku_text, sku_keys, prices)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (product_id) DO UPDATE
             SET status = EXCLUDED.status, title = EXCLUDED.title, title_key = EXCLUDED.title_key,
                 description = EXCLUDED.description, categories = EXCLUDED.categories,
                 attributes = EXCLUDED.attributes, attribute_terms = EXCLUDED.attribute_terms,
                 sku_text = EXCLUDED.sku_text, sku_keys = EXCLUDED.sku_keys, prices = EXCLUDED.prices",
        )
        .bind(doc.product_id.as_uuid())
        .bind(status_str(doc.status))
        .bind(&doc.title)
        .bind(s.title_key)
        .bind(&doc.description)
        .bind(s.categories)
        .bind(s.attributes)
        .bind(s.terms)
        .bind(s.sku_text)
        .bind(s.sku_keys)
        .bind(s.prices)
        .execute(&self.shared.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn remove(&self, id: ProductId) -> Result<(), SearchError> {
        sqlx::query("DELETE FROM search_documents WHERE product_id = $1")
            .bind(id.as_uuid())
            .execute(&self.shared.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchResults, SearchError> {
        let facet_names = check_query(query)?;
        let scope = fingerprint(query);
        let key = self
            .shared
            .cursor_key()
            .await
            .map_err(|e| SearchError::Unavailable { message: e.to_string() })?;
        let codec = key.codec("search");
        let offset: i64 = match &query.cursor {
            Some(cursor) => {
                let position = codec.decode_scoped(&scope, cursor).map_err(|e| match e {
                    CursorError::OtherScope => invalid(
                        "the cursor belongs to another search: keep the query unchanged between pages",
                    ),
                    _ => invalid(
                        "the cursor was not handed out by this index: pass back next_cursor unchanged",
                    ),
                })?;
                position
                    .parse()
                    .map_err(|_| invalid("the cursor was not handed out by this index"))?
            }
            None => 0,
        };
        let limit = query.limit as i64;
        let whole = query.text.trim().to_lowercase();
        let currency = query.currency.map(|c| c.code());

        let mut sql = QueryBuilder::<Postgres>::new(
            "WITH m AS MATERIALIZED (SELECT d.product_id, d.title_key, d.categories, d.attributes, (d.prices ->> ",
        );
        sql.push_bind(currency).push(")::numeric AS price, (");
        sql.push_bind(whole.clone()).push(" <> '' AND ");
        sql.push_bind(whole.clone()).push(" = ANY(d.sku_keys)) AS exact_sku, ");
        let text = has_words(&query.text);
        if text {
            sql.push("ts_rank_cd(d.tsv, q.tsq) AS rank FROM search_documents d, websearch_to_tsquery('simple', ");
            sql.push_bind(query.text.clone())
                .push(") AS q(tsq) WHERE d.status = 'active' AND (d.tsv @@ q.tsq OR ");
            sql.push_bind(whole.clone()).push(" = ANY(d.sku_keys))");
        } else {
            sql.push("0::real AS rank FROM search_documents d WHERE d.status = 'active'");
        }
        if let Some(category) = &query.category {
            sql.push(" AND d.categories @> ARRAY[").push_bind(category.as_str().to_owned());
            sql.push("]::text[]");
        }
        for (name, wanted) in &query.attributes {
            sql.push(" AND d.attribute_terms && ")
                .push_bind(value_terms(name.as_str(), wanted))
                .push("::text[]");
        }
        if let Some(min) = query.min_price {
            sql.push(" AND (d.prices ->> ")
                .push_bind(currency)
                .push(")::numeric >= ")
                .push_bind(min);
        }
        if let Some(max) = query.max_price {
            sql.push(" AND (d.prices ->> ")
                .push_bind(currency)
                .push(")::numeric <= ")
                .push_bind(max);
        }
        let order = match query.sort {
            SearchSort::Relevance => "exact_sku DESC, rank DESC, product_id",
            SearchSort::PriceAsc => "price ASC NULLS LAST, product_id",
            SearchSort::PriceDesc => "price DESC NULLS LAST, product_id",
            SearchSort::Title => "title_key COLLATE \"C\", product_id",
        };
        sql.push("), page AS (SELECT product_id, row_number() OVER (ORDER BY ").push(order);
        sql.push(") AS ord FROM m) ");
        sql.push("SELECT 0 AS kind, ord, product_id, NULL::text AS facet, NULL::text AS value, 0::int8 AS n FROM page WHERE ord > ")
            .push_bind(offset)
            .push(" AND ord <= ")
            .push_bind(offset.saturating_add(limit));
        sql.push(" UNION ALL SELECT 1, 0, NULL, NULL, NULL, count(*) FROM m");
        sql.push(" UNION ALL SELECT 2, 0, NULL, 'category', c.value, count(DISTINCT m.product_id) FROM m, unnest(m.categories) AS c(value) WHERE ")
            .push_bind(facet_names.iter().any(|f| f == CATEGORY_FACET))
            .push(" GROUP BY c.value");
        sql.push(" UNION ALL SELECT 2, 0, NULL, a.key, v.value, count(DISTINCT m.product_id) FROM m, jsonb_each(m.attributes) AS a(key, value), jsonb_array_elements_text(a.value) AS v(value) WHERE a.key = ANY(")
            .push_bind(facet_names.clone())
            .push(") GROUP BY a.key, v.value");

        let rows = sql.build().fetch_all(&self.shared.pool).await.map_err(unavailable)?;
        let mut hits: Vec<(i64, ProductId)> = Vec::new();
        let mut total: i64 = 0;
        let mut counts: HashMap<String, Vec<FacetCount>> = HashMap::new();
        for row in &rows {
            let kind: i32 = row.try_get("kind").map_err(unavailable)?;
            let n: i64 = row.try_get("n").map_err(unavailable)?;
            match kind {
                0 => {
                    let ord: i64 = row.try_get("ord").map_err(unavailable)?;
                    let id: Uuid = row.try_get("product_id").map_err(unavailable)?;
                    hits.push((ord, ProductId::from_uuid(id)));
                }
                1 => total = n,
                _ => {
                    let facet: String = row.try_get("facet").map_err(unavailable)?;
                    let value: String = row.try_get("value").map_err(unavailable)?;
                    counts
                        .entry(facet)
                        .or_default()
                        .push(FacetCount { value, count: u64::try_from(n).unwrap_or(0) });
                }
            }
        }
        hits.sort_by_key(|(ord, _)| *ord);
        let facets = facet_names
            .iter()
            .map(|name| {
                let mut counts = counts.remove(name).unwrap_or_default();
                counts.sort_by(|a, b| a.value.cmp(&b.value));
                counts.sort_by_key(|c| Reverse(c.count));
                Facet { name: name.clone(), counts }
            })
            .collect();
        let end = offset.saturating_add(limit);
        let next_cursor: Option<Cursor> =
            (end < total).then(|| codec.encode_scoped(&scope, &end.to_string()));
        Ok(SearchResults {
            hits: hits.into_iter().map(|(_, id)| id).collect(),
            total: u64::try_from(total).unwrap_or(0),
            facets,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_terms_ignore_case_and_compare_numbers_by_value() {
        let held = value_terms("size_eu", "42.0");
        let wanted = value_terms("size_eu", "42");

        assert!(held.iter().any(|t| wanted.contains(t)));
        assert!(value_terms("colour", "Red").contains(&"colour=red".to_owned()));
        assert!(
            !value_terms("colour", "red").iter().any(|t| value_terms("colour", "blue").contains(t))
        );
    }

    #[test]
    fn a_text_without_letters_or_digits_has_no_words() {
        assert!(!has_words("  -!? "));
        assert!(has_words("mug"));
        assert!(has_words("42"));
    }

    #[test]
    fn limits_facets_and_price_filters_are_checked() {
        let ok = SearchQuery { limit: 10, ..SearchQuery::default() };
        assert!(check_query(&ok).is_ok());
        for bad in [
            SearchQuery { limit: 0, ..ok.clone() },
            SearchQuery { limit: 101, ..ok.clone() },
            SearchQuery { facets: vec!["Colour!".into()], ..ok.clone() },
            SearchQuery { min_price: Some(Decimal::ONE), ..ok.clone() },
            SearchQuery { sort: SearchSort::PriceAsc, ..ok.clone() },
        ] {
            assert!(matches!(check_query(&bad), Err(SearchError::Invalid { .. })), "{bad:?}");
        }
    }
}
