//! [`CacheMetrics`]: what the caching decorator did, for dashboards and tests.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a [`CachedProducts`](super::CachedProducts) since it was built. Each read of
/// a cached kind (`get`, `by_slug`, `categories`) is either a hit or a miss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheMetrics {
    /// Reads answered from Redis (tombstones of missing products included).
    pub hits: u64,
    /// Reads answered from the source: not in Redis, or Redis failed or was skipped.
    pub misses: u64,
    /// Calls to the source made by reads. Concurrent misses of one key share one call
    /// (single flight), so this can be far below `misses`.
    pub source_loads: u64,
    /// Redis commands that failed or timed out (reads, fills and invalidations).
    pub redis_errors: u64,
    /// Reads that did not ask Redis because it failed moments ago.
    pub bypassed: u64,
    /// Writes whose cache invalidation failed; retried before Redis is read again.
    pub invalidation_failures: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) source_loads: AtomicU64,
    pub(crate) redis_errors: AtomicU64,
    pub(crate) bypassed: AtomicU64,
    pub(crate) invalidation_failures: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CacheMetrics {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheMetrics {
            hits: read(&self.hits),
            misses: read(&self.misses),
            source_loads: read(&self.source_loads),
            redis_errors: read(&self.redis_errors),
            bypassed: read(&self.bypassed),
            invalidation_failures: read(&self.invalidation_failures),
        }
    }
}
