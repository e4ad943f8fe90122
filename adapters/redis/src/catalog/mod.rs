//! [`CachedProducts`]: a read-through Redis cache in front of any [`ProductRepository`].
//!
//! The decorator's contract (what is cached, consistency, degradation) is documented on
//! [`CachedProducts`].

mod flight;
mod health;
mod metrics;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shopkit_core::catalog::{Category, Product};
use shopkit_core::ids::{ProductId, Sku, Slug};
use shopkit_core::ports::{Page, ProductQuery, ProductRepository, StoreError};

use self::flight::Flights;
use self::health::Health;
pub use self::metrics::CacheMetrics;
use self::metrics::Counters;
use crate::connection::{RedisConnection, RedisFailure};
use crate::shared_error::reissue;

/// The layout of cached values; bump it when `Product` or `Category` change shape, so a
/// new release reads fresh keys instead of failing to decode the old ones.
const FORMAT: &str = "v1";

/// At most this many keys per invalidation script call (Lua's `unpack` has a limit).
const INVALIDATE_BATCH: usize = 256;

/// How long the catalog generation lives after the last write (it only has to outlive the
/// fills in flight, which take milliseconds).
const GENERATION_TTL_MS: u64 = 24 * 3600 * 1000;

/// How long the catalog cache keeps what it stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogCacheConfig {
    /// How long a product or the category list stays cached. It bounds how stale a value
    /// can be when an invalidation was lost (Redis down during a write).
    pub ttl: Duration,
    /// How long "no such product" stays cached (a tombstone).
    pub negative_ttl: Duration,
    /// After a Redis failure, how long reads skip Redis and go straight to the source.
    pub retry_redis_after: Duration,
}

impl Default for CatalogCacheConfig {
    /// 5 minutes, 30 seconds for missing products, 1 second of pause after a failure.
    fn default() -> Self {
        CatalogCacheConfig {
            ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(30),
            retry_redis_after: Duration::from_secs(1),
        }
    }
}

/// Where a read's answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    Redis,
    Source,
}

/// A flight's shared outcome.
type Outcome<T> = Result<(T, Origin), Arc<StoreError>>;

/// A [`ProductRepository`] that caches its source's reads in Redis. Indistinguishable
/// from its source to callers: it runs the same conformance suite.
///
/// # What is cached
/// - `get` (by id) and `by_slug`: the product as JSON, for `ttl`; a product that does not
///   exist as a tombstone (`null`), for the shorter `negative_ttl`, so a crawler asking for
///   missing slugs does not reach the database each time.
/// - `categories`: the whole list (small, read on every storefront page), for `ttl`.
/// - `by_skus` and `list` pass through. `by_skus` prices carts and checkout, which must see
///   the current price and status; `list` pages with filters and cursors, whose results
///   every write would have to invalidate. Storefront listings come from the search index.
///
/// # Consistency
/// Every write goes to the source first; then the decorator deletes the entries the write
/// may have changed: the id and slug of an inserted product, the id and the old and new
/// slug of an updated one, the id and slug of a deleted one, the category list on
/// `upsert_category`. In the same script it bumps a catalog *generation*: a reader fills
/// Redis only if the generation is still the one it saw before loading from the source, so
/// a value loaded before a write can never be stored after that write's invalidation.
/// Within the process, a write also grounds the single flights of those keys, so a read
/// that starts after a write never shares a load that started before it.
///
/// To learn the old slug, `update` and `delete` read the product from the source first
/// (one extra source read per catalog write; writes are back-office traffic). All writers
/// of the catalog must go through this decorator (or another one on the same key prefix);
/// changes made around it show after at most `ttl`. One race remains, bounded by `ttl`: a
/// `delete` concurrent with an `update` that renames the product may leave the new slug
/// cached.
///
/// # Single flight
/// Concurrent reads of one key in this process share one flight: one Redis lookup and, on
/// a miss, one source call, whose answer (or error) every waiting reader gets. 64 cold
/// concurrent `get`s of a product make one database read.
///
/// # Degradation
/// Redis is an optimisation, never a dependency of a shopper's request:
/// - a read whose Redis command fails or times out goes to the source; the failure is
///   counted (`redis_errors`) and logged at `warn` (at most every 10 s). For
///   `retry_redis_after` after a failure, reads skip Redis altogether (`bypassed`), so a
///   dead Redis costs one timeout, not one per request.
/// - a write whose invalidation fails still succeeds: the failure is counted
///   (`invalidation_failures`), and the keys are deleted before this process reads Redis
///   again. Other processes may serve the old value until its `ttl` passes.
/// - single flight keeps working while Redis is down: concurrent misses of one key still
///   make one source call.
pub struct CachedProducts<P: ?Sized = dyn ProductRepository> {
    source: Arc<P>,
    redis: RedisConnection,
    config: CatalogCacheConfig,
    generation_key: String,
    fill: Script,
    invalidate: Script,
    products: Flights<Outcome<Option<Product>>>,
    categories: Flights<Outcome<Vec<Category>>>,
    health: Health,
    counters: Counters,
}

impl<P: ?Sized> std::fmt::Debug for CachedProducts<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedProducts")
            .field("redis", &self.redis)
            .field("config", &self.config)
            .field("metrics", &self.counters.snapshot())
            .finish_non_exhaustive()
    }
}

impl<P: ProductRepository + ?Sized> CachedProducts<P> {
    /// `source` behind a cache on `redis`'s namespace (keys `{prefix}:catalog:v1:...`).
    pub fn new(source: Arc<P>, redis: RedisConnection, config: CatalogCacheConfig) -> Self {
        CachedProducts {
            generation_key: redis.key(format_args!("catalog:{FORMAT}:generation")),
            source,
            redis,
            health: Health::new(config.retry_redis_after),
            config,
            fill: Script::new(include_str!("../scripts/catalog_fill.lua")),
            invalidate: Script::new(include_str!("../scripts/catalog_invalidate.lua")),
            products: Flights::default(),
            categories: Flights::default(),
            counters: Counters::default(),
        }
    }

    /// What the cache did so far.
    pub fn metrics(&self) -> CacheMetrics {
        self.counters.snapshot()
    }

    /// The source behind the cache.
    pub fn source(&self) -> &Arc<P> {
        &self.source
    }

    fn id_key(&self, id: ProductId) -> String {
        self.redis.key(format_args!("catalog:{FORMAT}:id:{id}"))
    }

    fn slug_key(&self, slug: &Slug) -> String {
        self.redis.key(format_args!("catalog:{FORMAT}:slug:{slug}"))
    }

    fn categories_key(&self) -> String {
        self.redis.key(format_args!("catalog:{FORMAT}:categories"))
    }

    /// Counts and reports a Redis failure; reads skip Redis for a moment.
    fn redis_failed(&self, what: &str, failure: &RedisFailure) {
        Counters::bump(&self.counters.redis_errors);
        self.health.failed(what, failure);
    }

    /// Whether reads may use Redis now: it has not failed moments ago, and invalidations
    /// that failed earlier have now gone through.
    async fn redis_usable(&self) -> bool {
        if !self.health.is_up() {
            return false;
        }
        let pending = self.health.pending();
        if pending.is_empty() {
            return true;
        }
        match self.run_invalidate(&pending).await {
            Ok(()) => {
                self.health.settled(&pending);
                tracing::info!(keys = pending.len(), "catalog cache: late invalidations applied");
                true
            }
            Err(failure) => {
                self.redis_failed("retrying invalidations", &failure);
                false
            }
        }
    }

    async fn run_invalidate(&self, keys: &[String]) -> Result<(), RedisFailure> {
        for batch in keys.chunks(INVALIDATE_BATCH) {
            let mut call = self.invalidate.key(&self.generation_key);
            call.arg(GENERATION_TTL_MS);
            for key in batch {
                call.key(key);
            }
            self.redis.invoke::<()>("invalidate", &call).await?;
        }
        Ok(())
    }

    /// After a write that may have changed `keys`: grounds their flights and deletes them
    /// from Redis. Never fails: a failed deletion is counted, logged and retried later.
    async fn invalidate(&self, keys: Vec<String>) {
        self.products.ground(&keys);
        self.categories.ground(&keys);
        if let Err(failure) = self.run_invalidate(&keys).await {
            Counters::bump(&self.counters.invalidation_failures);
            self.redis_failed(
                "a write could not invalidate the cache (it still succeeded)",
                &failure,
            );
            self.health.defer(&keys);
        }
    }

    /// Read-through of `key` with single flight: Redis, else `load` from the source (then
    /// stored for `ttl_of(value)` unless a write got in between).
    async fn read_through<T, L, Fut>(
        &self,
        flights: &Flights<Outcome<T>>,
        key: String,
        ttl_of: impl Fn(&T) -> Duration,
        load: L,
    ) -> Result<T, StoreError>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync,
        L: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let (outcome, _) = flights.run(&key, || self.fly(&key, ttl_of, load)).await;
        match outcome {
            Ok((value, Origin::Redis)) => {
                Counters::bump(&self.counters.hits);
                Ok(value)
            }
            Ok((value, Origin::Source)) => {
                Counters::bump(&self.counters.misses);
                Ok(value)
            }
            Err(error) => Err(reissue(&error)),
        }
    }

    /// One flight: look in Redis, else load and fill.
    async fn fly<T, L, Fut>(
        &self,
        key: &str,
        ttl_of: impl Fn(&T) -> Duration,
        load: L,
    ) -> Outcome<T>
    where
        T: Serialize + DeserializeOwned,
        L: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        // The generation seen before loading: `Some` when Redis answered (fill allowed).
        let mut seen_generation = None;
        if self.redis_usable().await {
            let lookup = redis::cmd("MGET").arg(key).arg(&self.generation_key).clone();
            match self.redis.query::<(Option<Vec<u8>>, Option<u64>)>("MGET", &lookup).await {
                Ok((Some(bytes), generation)) => match serde_json::from_slice::<T>(&bytes) {
                    Ok(value) => return Ok((value, Origin::Redis)),
                    Err(error) => {
                        // Written by another release, or corrupted: reload and overwrite.
                        tracing::warn!(key, %error, "catalog cache: undecodable entry replaced");
                        seen_generation = Some(generation.unwrap_or(0));
                    }
                },
                Ok((None, generation)) => seen_generation = Some(generation.unwrap_or(0)),
                Err(failure) => self.redis_failed("a read", &failure),
            }
        } else {
            Counters::bump(&self.counters.bypassed);
        }
        Counters::bump(&self.counters.source_loads);
        let value = load().await.map_err(Arc::new)?;
        if let Some(generation) = seen_generation {
            self.store(key, &value, ttl_of(&value), generation).await;
        }
        Ok((value, Origin::Source))
    }

    /// Stores a loaded value unless the catalog changed since `generation` was read.
    async fn store<T: Serialize>(&self, key: &str, value: &T, ttl: Duration, generation: u64) {
        let bytes = match serde_json::to_vec(value) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(key, %error, "catalog cache: value not cacheable");
                return;
            }
        };
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut call = self.fill.key(key);
        call.key(&self.generation_key).arg(generation).arg(bytes).arg(ttl_ms);
        match self.redis.invoke::<i64>("fill", &call).await {
            Ok(1) => {}
            Ok(_) => tracing::debug!(key, "catalog cache: fill skipped, a write got in between"),
            Err(failure) => self.redis_failed("storing a loaded value", &failure),
        }
    }

    /// The product as the source has it now (to learn its current slug before a write).
    async fn current(&self, id: ProductId) -> Option<Product> {
        match self.source.get(id).await {
            Ok(found) => found,
            Err(error) => {
                tracing::debug!(%id, %error, "catalog cache: could not read the product before a write");
                None
            }
        }
    }
}

/// Whether a write that ended with `result` may have changed the source. Refusals
/// (conflict, exists, not found, invalid) changed nothing; an unavailable source may have
/// applied the write before failing, so it counts.
fn may_have_written<T>(result: &Result<T, StoreError>) -> bool {
    !matches!(
        result,
        Err(StoreError::AlreadyExists { .. }
            | StoreError::VersionConflict { .. }
            | StoreError::NotFound { .. }
            | StoreError::Invalid { .. }
            | StoreError::InvalidCursor)
    )
}

#[async_trait]
impl<P: ProductRepository + ?Sized> ProductRepository for CachedProducts<P> {
    async fn insert(&self, product: &Product) -> Result<u64, StoreError> {
        let result = self.source.insert(product).await;
        if may_have_written(&result) {
            // Tombstones of the id and slug may be cached ("no such product").
            let keys = vec![self.id_key(product.id), self.slug_key(&product.slug)];
            self.invalidate(keys).await;
        }
        result
    }

    async fn update(&self, product: &Product) -> Result<u64, StoreError> {
        let before = self.current(product.id).await;
        let result = self.source.update(product).await;
        if may_have_written(&result) {
            let mut keys = vec![self.id_key(product.id), self.slug_key(&product.slug)];
            if let Some(old) = before.filter(|old| old.slug != product.slug) {
                keys.push(self.slug_key(&old.slug));
            }
            self.invalidate(keys).await;
        }
        result
    }

    async fn delete(&self, id: ProductId) -> Result<(), StoreError> {
        let before = self.current(id).await;
        let result = self.source.delete(id).await;
        if may_have_written(&result) {
            let mut keys = vec![self.id_key(id)];
            keys.extend(before.map(|old| self.slug_key(&old.slug)));
            self.invalidate(keys).await;
        }
        result
    }

    async fn get(&self, id: ProductId) -> Result<Option<Product>, StoreError> {
        let ttl = |found: &Option<Product>| self.ttl_of(found.is_some());
        self.read_through(&self.products, self.id_key(id), ttl, || self.source.get(id)).await
    }

    async fn by_slug(&self, slug: &Slug) -> Result<Option<Product>, StoreError> {
        let ttl = |found: &Option<Product>| self.ttl_of(found.is_some());
        self.read_through(&self.products, self.slug_key(slug), ttl, || self.source.by_slug(slug))
            .await
    }

    async fn by_skus(&self, skus: &[Sku]) -> Result<Vec<Product>, StoreError> {
        self.source.by_skus(skus).await
    }

    async fn list(&self, query: &ProductQuery) -> Result<Page<Product>, StoreError> {
        self.source.list(query).await
    }

    async fn upsert_category(&self, category: &Category) -> Result<(), StoreError> {
        let result = self.source.upsert_category(category).await;
        if may_have_written(&result) {
            self.invalidate(vec![self.categories_key()]).await;
        }
        result
    }

    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let ttl = |_: &Vec<Category>| self.config.ttl;
        self.read_through(&self.categories, self.categories_key(), ttl, || self.source.categories())
            .await
    }
}

impl<P: ?Sized> CachedProducts<P> {
    fn ttl_of(&self, found: bool) -> Duration {
        if found { self.config.ttl } else { self.config.negative_ttl }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_change_nothing_but_an_unavailable_source_may_have_written() {
        let conflict: Result<(), _> = Err(StoreError::VersionConflict {
            entity: "product",
            id: "p".into(),
            expected: 1,
            actual: 2,
        });
        let down: Result<(), _> =
            Err(StoreError::Unavailable { message: "timeout".into(), source: None });

        assert!(!may_have_written(&conflict));
        assert!(may_have_written(&down));
        assert!(may_have_written(&Ok(())));
    }
}
