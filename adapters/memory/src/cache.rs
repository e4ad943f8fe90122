//! [`MemoryCache`]: a bounded key-value cache with TTLs read from an injected clock.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use shopkit_core::ports::{Cache, Clock, StoreError};

#[derive(Debug)]
struct Entry {
    value: Vec<u8>,
    expires_at: DateTime<Utc>,
    /// When it was written, in write order: the eviction order.
    seq: u64,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Keys by write order, oldest first.
    by_age: BTreeMap<u64, String>,
    next_seq: u64,
}

impl State {
    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            self.by_age.remove(&entry.seq);
        }
    }
}

/// The in-memory [`Cache`].
///
/// - A value lives for its TTL as measured by the injected [`Clock`] (so tests move time
///   with a manual clock); an expired entry is never returned, and is dropped when read.
/// - At most `capacity` entries are kept (100 000 by default): writing a new key into a
///   full cache evicts the oldest written entry, so memory stays bounded even when
///   nothing is ever read again.
/// - A TTL of zero or less is refused with `Invalid` (as Redis refuses `EX 0`).
///
/// Clones share the same entries.
#[derive(Clone)]
pub struct MemoryCache {
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
    capacity: usize,
}

impl fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.lock().entries.len();
        f.debug_struct("MemoryCache")
            .field("entries", &len)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl MemoryCache {
    /// The default bound on the number of entries.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// An empty cache of [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) entries on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_capacity(clock, Self::DEFAULT_CAPACITY)
    }

    /// An empty cache that keeps at most `capacity` entries (at least 1).
    pub fn with_capacity(clock: Arc<dyn Clock>, capacity: usize) -> Self {
        MemoryCache { state: Arc::default(), clock, capacity: capacity.max(1) }
    }

    /// How many entries are stored, counting expired ones not yet dropped.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now();
        let mut state = self.lock();
        match state.entries.get(key) {
            Some(entry) if now < entry.expires_at => Ok(Some(entry.value.clone())),
            Some(_) => {
                state.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        if ttl <= Duration::zero() {
            return Err(StoreError::Invalid {
                reason: format!("cache TTL must be positive, got {ttl}"),
            });
        }
        let now = self.clock.now();
        // A TTL beyond the calendar means "for as long as the cache keeps it".
        let expires_at = now.checked_add_signed(ttl).unwrap_or(DateTime::<Utc>::MAX_UTC);
        let mut state = self.lock();
        state.remove(key);
        while state.entries.len() >= self.capacity {
            let Some((_, oldest)) = state.by_age.pop_first() else {
                break;
            };
            state.entries.remove(&oldest);
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        state.by_age.insert(seq, key.to_owned());
        state.entries.insert(key.to_owned(), Entry { value: value.to_vec(), expires_at, seq });
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::at_fixed_start())
    }

    #[tokio::test]
    async fn a_value_lives_until_its_ttl_passes() {
        let clock = clock();
        let cache = MemoryCache::new(clock.clone());
        cache.set("k", b"v", Duration::seconds(10)).await.unwrap();

        clock.advance(Duration::seconds(9));
        let fresh = cache.get("k").await.unwrap();
        clock.advance(Duration::seconds(1));
        let stale = cache.get("k").await.unwrap();

        assert_eq!(fresh.as_deref(), Some(&b"v"[..]));
        assert_eq!(stale, None);
        assert!(cache.is_empty(), "expired entries are dropped when read");
    }

    #[tokio::test]
    async fn a_full_cache_evicts_the_oldest_write() {
        let cache = MemoryCache::with_capacity(clock(), 2);
        cache.set("a", b"1", Duration::hours(1)).await.unwrap();
        cache.set("b", b"2", Duration::hours(1)).await.unwrap();
        cache.set("a", b"3", Duration::hours(1)).await.unwrap();

        cache.set("c", b"4", Duration::hours(1)).await.unwrap();

        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("b").await.unwrap(), None);
        assert_eq!(cache.get("a").await.unwrap().as_deref(), Some(&b"3"[..]));
        assert_eq!(cache.get("c").await.unwrap().as_deref(), Some(&b"4"[..]));
    }

    #[tokio::test]
    async fn non_positive_ttls_are_refused_and_missing_deletes_are_fine() {
        let cache = MemoryCache::new(clock());
        assert!(matches!(
            cache.set("k", b"v", Duration::zero()).await,
            Err(StoreError::Invalid { .. })
        ));
        assert_eq!(cache.get("k").await.unwrap(), None);
        cache.delete("missing").await.unwrap();
    }
}
