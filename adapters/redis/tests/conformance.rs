//! The Redis adapters against the `shopkit-testkit` conformance suites, on a real Redis.
//!
//! Run with: `SHOPKIT_TEST_REDIS_URL=redis://127.0.0.1:6379 cargo test -p shopkit-redis --test conformance`
//! (`eval "$(scripts/services)"` starts Redis and exports the variable). Without the
//! variable every test prints why it skips; with `CI=true` it fails instead.
//!
//! Each test gets its own key prefix, so the tests run in parallel on one server.
//! - carts: `RedisCarts`, the whole suite, concurrency cases included;
//! - cache: `RedisCache`, on Redis's own clock (`TimeControl::wall`: the contracts use
//!   TTLs of a few seconds);
//! - products: `CachedProducts` over the in-memory repository: the decorator must be
//!   indistinguishable from its source.

mod support;

use std::sync::Arc;

use shopkit_core::ports::{Cache, CartStore, ProductRepository};
use shopkit_memory::MemoryProducts;
use shopkit_redis::{CachedProducts, CatalogCacheConfig, RedisCache, RedisCarts};
use shopkit_testkit::TimeControl;
use support::fresh_connection;

shopkit_testkit::carts_contracts!(requires "SHOPKIT_TEST_REDIS_URL", async |url: String| {
    Arc::new(RedisCarts::new(fresh_connection(&url).await)) as Arc<dyn CartStore>
});

shopkit_testkit::cache_contracts!(requires "SHOPKIT_TEST_REDIS_URL", async |url: String| {
    let cache = Arc::new(RedisCache::new(fresh_connection(&url).await)) as Arc<dyn Cache>;
    (cache, TimeControl::wall())
});

shopkit_testkit::products_contracts!(requires "SHOPKIT_TEST_REDIS_URL", async |url: String| {
    let source = Arc::new(MemoryProducts::new());
    let redis = fresh_connection(&url).await;
    Arc::new(CachedProducts::new(source, redis, CatalogCacheConfig::default()))
        as Arc<dyn ProductRepository>
});
