//! `CachedProducts` on a real Redis: single flight, negative caching, invalidation, TTLs,
//! and the generation that keeps a slow reader from caching what a write replaced.
//!
//! Run with: `SHOPKIT_TEST_REDIS_URL=redis://127.0.0.1:6379 cargo test -p shopkit-redis --test catalog_cache`
//!
//! TTL tests let real time pass (Redis expires keys on its own clock), with TTLs of about a
//! second.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use shopkit_core::catalog::Product;
use shopkit_core::ids::{ProductId, Slug};
use shopkit_core::ports::ProductRepository;
use shopkit_redis::{CachedProducts, CatalogCacheConfig, RedisConnection};
use shopkit_testkit::fixtures::{category, product, unique, uuid};
use shopkit_testkit::{Must, race, require_service};
use support::{CountingProducts, REDIS_URL_VAR, fresh_connection, raw};

type Cached = CachedProducts<CountingProducts>;

async fn cached(url: &str, config: CatalogCacheConfig) -> (Arc<Cached>, Arc<CountingProducts>) {
    let source = CountingProducts::new();
    let cache = CachedProducts::new(Arc::clone(&source), fresh_connection(url).await, config);
    (Arc::new(cache), source)
}

async fn inserted(repo: &dyn ProductRepository, mut p: Product) -> Product {
    p.version = repo.insert(&p).await.must("insert");
    p
}

fn short_ttls() -> CatalogCacheConfig {
    CatalogCacheConfig {
        ttl: Duration::from_millis(1000),
        negative_ttl: Duration::from_millis(1000),
        ..CatalogCacheConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_cold_reads_make_one_source_call() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (cache, source) = cached(&url, CatalogCacheConfig::default()).await;
    let p = inserted(&*source, product().build()).await;

    // Act
    let results = race(64, |_| {
        let cache = Arc::clone(&cache);
        async move { cache.get(p.id).await }
    })
    .await;

    // Assert
    for r in results {
        assert_eq!(r.must("a concurrent get"), Some(p.clone()));
    }
    assert_eq!(source.gets.load(Ordering::SeqCst), 1, "one source call for 64 cold reads");
    let m = cache.metrics();
    assert_eq!(m.source_loads, 1);
    assert_eq!(m.hits + m.misses, 64, "every read is a hit or a miss: {m:?}");
    assert_eq!(m.redis_errors, 0);
}

#[tokio::test]
async fn a_missing_product_is_cached_as_a_tombstone_until_it_is_inserted() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (cache, source) = cached(&url, CatalogCacheConfig::default()).await;
    let p = product().build();

    // Act
    let first = cache.get(p.id).await.must("get a missing product");
    let second = cache.get(p.id).await.must("get it again");
    let p = inserted(&*cache, p).await;
    let after_insert = cache.get(p.id).await.must("get after insert");

    // Assert
    assert_eq!((first, second), (None, None));
    assert_eq!(after_insert, Some(p), "the insert removed the tombstone");
    assert_eq!(source.gets.load(Ordering::SeqCst), 2, "the second miss came from Redis");
    assert_eq!(cache.metrics().hits, 1);
}

#[tokio::test]
async fn a_tombstone_expires_after_the_negative_ttl() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let config = CatalogCacheConfig {
        negative_ttl: Duration::from_millis(300),
        ..CatalogCacheConfig::default()
    };
    let (cache, source) = cached(&url, config).await;
    let slug = Slug::new(&format!("soon-{}", unique())).must("slug");
    cache.by_slug(&slug).await.must("cache the tombstone");
    // A product appears behind the cache's back (another service, a data fix).
    inserted(source.behind_the_cache(), product().slug(slug.as_str()).build()).await;

    // Act
    let within = cache.by_slug(&slug).await.must("by_slug within the negative TTL");
    tokio::time::sleep(Duration::from_millis(400)).await; // Redis's clock must pass the TTL
    let after = cache.by_slug(&slug).await.must("by_slug after it");

    // Assert
    assert_eq!(within, None, "the tombstone answers while it lives");
    assert!(after.is_some(), "after the negative TTL the source is asked again");
    assert_eq!(source.by_slugs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_value_changed_behind_the_cache_shows_after_its_ttl() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (cache, source) = cached(&url, short_ttls()).await;
    let mut p = inserted(&*cache, product().title("Old").build()).await;
    cache.get(p.id).await.must("warm the cache");
    p.title = "New".into();
    p.version = source.behind_the_cache().update(&p).await.must("update behind the cache");

    // Act
    let cached_title = cache.get(p.id).await.must("get within the TTL").must("found").title;
    tokio::time::sleep(Duration::from_millis(1100)).await; // Redis's clock must pass the TTL
    let fresh = cache.get(p.id).await.must("get after the TTL").must("found");

    // Assert
    assert_eq!(cached_title, "Old", "within the TTL the cached copy answers");
    assert_eq!(fresh, p, "the TTL bounds staleness");
}

#[tokio::test]
async fn an_update_serves_the_new_slug_and_forgets_the_old_one() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (cache, _source) = cached(&url, CatalogCacheConfig::default()).await;
    let before = inserted(&*cache, product().build()).await;
    let new_slug = Slug::new(&format!("renamed-{}", unique())).must("slug");
    // Warm every key the update touches: id, old slug, and a tombstone of the new slug.
    cache.get(before.id).await.must("warm id");
    cache.by_slug(&before.slug).await.must("warm old slug");
    assert_eq!(cache.by_slug(&new_slug).await.must("warm new slug"), None);
    let mut after = before.clone();
    after.slug = new_slug.clone();
    after.title = "Renamed".into();

    // Act
    after.version = cache.update(&after).await.must("update");

    // Assert
    assert_eq!(cache.by_slug(&before.slug).await.must("old slug"), None, "old slug is gone");
    assert_eq!(cache.by_slug(&new_slug).await.must("new slug"), Some(after.clone()));
    assert_eq!(cache.get(before.id).await.must("id"), Some(after));
}

#[tokio::test]
async fn delete_forgets_the_id_and_the_slug() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (cache, _source) = cached(&url, CatalogCacheConfig::default()).await;
    let p = inserted(&*cache, product().build()).await;
    cache.get(p.id).await.must("warm id");
    cache.by_slug(&p.slug).await.must("warm slug");

    // Act
    cache.delete(p.id).await.must("delete");

    // Assert
    assert_eq!(cache.get(p.id).await.must("get"), None);
    assert_eq!(cache.by_slug(&p.slug).await.must("by_slug"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_loaded_before_a_write_cannot_store_its_stale_value() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange: a reader loads version 1 from the source and is held before it fills Redis.
    let (cache, source) = cached(&url, CatalogCacheConfig::default()).await;
    let p = inserted(&*cache, product().title("Old").build()).await;
    source.hold_next_get();
    let reader = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move { cache.get(p.id).await })
    };
    source.held.notified().await;

    // Act: a write lands while the reader holds its old value, then the reader finishes.
    let mut newer = p.clone();
    newer.title = "New".into();
    newer.version = cache.update(&newer).await.must("update");
    source.release.notify_one();
    let read_during_write = reader.await.expect("reader task").must("the slow read");

    // Assert
    assert_eq!(read_during_write, Some(p), "a read concurrent with a write may see either");
    assert_eq!(
        cache.get(newer.id).await.must("get after both"),
        Some(newer),
        "the slow reader's old value must not have been cached over the write"
    );
}

#[tokio::test]
async fn categories_are_cached_until_a_category_is_upserted() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (cache, source) = cached(&url, CatalogCacheConfig::default()).await;
    cache.upsert_category(&category("shoes", "Shoes", 1)).await.must("upsert");
    cache.categories().await.must("warm");

    // Act
    let cached_list = cache.categories().await.must("cached");
    cache.upsert_category(&category("hats", "Hats", 0)).await.must("upsert another");
    let after = cache.categories().await.must("after the upsert");

    // Assert
    assert_eq!(cached_list.len(), 1);
    let names: Vec<&str> = after.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Hats", "Shoes"]);
    assert_eq!(source.category_reads.load(Ordering::SeqCst), 2, "one read per change");
}

#[tokio::test]
async fn an_undecodable_entry_is_reloaded_from_the_source_and_replaced() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange: what a release with another product layout might have left.
    let source = CountingProducts::new();
    let redis: RedisConnection = fresh_connection(&url).await;
    let key = format!("{}:catalog:v1:id:", redis.key_prefix());
    let cache = CachedProducts::new(Arc::clone(&source), redis, CatalogCacheConfig::default());
    let p = inserted(&cache, product().build()).await;
    let mut conn = raw(&url).await;
    let _: () = redis::cmd("SET")
        .arg(format!("{key}{}", p.id))
        .arg("{\"not\":\"a product\"}")
        .query_async(&mut conn)
        .await
        .expect("plant a foreign entry");

    // Act
    let first = cache.get(p.id).await.must("get over a foreign entry");
    let second = cache.get(p.id).await.must("get again");

    // Assert
    assert_eq!(first, Some(p.clone()));
    assert_eq!(second, Some(p));
    assert_eq!(source.gets.load(Ordering::SeqCst), 1, "the reloaded value replaced the entry");
}

#[tokio::test]
async fn by_skus_and_list_always_ask_the_source() {
    let Some(url) = require_service(REDIS_URL_VAR) else { return };
    // Arrange
    let (cache, source) = cached(&url, CatalogCacheConfig::default()).await;
    let mut p = inserted(&*cache, product().build()).await;
    cache.by_skus(&[p.variants[0].sku.clone()]).await.must("by_skus");
    p.title = "Repriced".into();
    p.version = source.behind_the_cache().update(&p).await.must("update behind the cache");

    // Act
    let found = cache.by_skus(&[p.variants[0].sku.clone()]).await.must("by_skus again");

    // Assert
    assert_eq!(found, vec![p], "checkout pricing never sees a cached product");
    assert_eq!(cache.metrics().hits, 0);
    let unknown = ProductId::from_uuid(uuid());
    assert_eq!(cache.get(unknown).await.must("get unknown"), None);
}
