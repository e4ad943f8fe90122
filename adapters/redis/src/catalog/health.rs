//! How the caching decorator copes with a failing Redis: it stops asking for a moment, logs
//! without flooding, and remembers the invalidations it could not make.

use std::collections::HashSet;
use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// At most this many keys wait for a failed invalidation to be retried; beyond it they are
/// dropped (and logged): their TTL still bounds how long they stay stale.
const MAX_PENDING: usize = 10_000;

/// How often a failing Redis is logged at `warn` (the rest are counted and summarised).
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The decorator's view of Redis's health.
#[derive(Debug)]
pub(crate) struct Health {
    /// Reads skip Redis until then (after a failure).
    down_until: Mutex<Option<Instant>>,
    retry_after: Duration,
    /// Keys whose invalidation failed: deleted before Redis is read again.
    pending: Mutex<HashSet<String>>,
    warnings: WarnGate,
}

impl Health {
    /// Healthy; after a failure, reads skip Redis for `retry_after`.
    pub(crate) fn new(retry_after: Duration) -> Self {
        Health {
            down_until: Mutex::new(None),
            retry_after,
            pending: Mutex::new(HashSet::new()),
            warnings: WarnGate::new(WARN_EVERY),
        }
    }

    /// Whether reads should ask Redis now.
    pub(crate) fn is_up(&self) -> bool {
        lock(&self.down_until).is_none_or(|until| Instant::now() >= until)
    }

    /// Records a failure: reads skip Redis for a while, and it is logged (rate-limited).
    pub(crate) fn failed(&self, what: &str, error: &dyn Display) {
        *lock(&self.down_until) = Some(Instant::now() + self.retry_after);
        self.warnings.warn(what, error);
    }

    /// Remembers `keys` for deletion once Redis answers again.
    pub(crate) fn defer(&self, keys: &[String]) {
        let mut pending = lock(&self.pending);
        for key in keys {
            if pending.len() >= MAX_PENDING {
                tracing::warn!(
                    dropped = keys.len(),
                    "too many cache invalidations waiting for Redis; the rest expire with their TTL"
                );
                return;
            }
            pending.insert(key.clone());
        }
    }

    /// The keys waiting for invalidation.
    pub(crate) fn pending(&self) -> Vec<String> {
        lock(&self.pending).iter().cloned().collect()
    }

    /// Forgets `keys`: their invalidation went through.
    pub(crate) fn settled(&self, keys: &[String]) {
        let mut pending = lock(&self.pending);
        for key in keys {
            pending.remove(key);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Logs at `warn` at most once per period, with how many were suppressed since.
#[derive(Debug)]
struct WarnGate {
    every: Duration,
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl WarnGate {
    fn new(every: Duration) -> Self {
        WarnGate { every, last: Mutex::new(None), suppressed: AtomicU64::new(0) }
    }

    fn warn(&self, what: &str, error: &dyn Display) {
        let now = Instant::now();
        {
            let mut last = lock(&self.last);
            if last.is_some_and(|at| now.duration_since(at) < self.every) {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            *last = Some(now);
        }
        let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
        tracing::warn!(
            error = %error,
            suppressed,
            "catalog cache degraded: {what}; serving from the source (similar warnings are \
             logged at most every {}s)",
            self.every.as_secs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn after_a_failure_reads_skip_redis_for_a_while() {
        let health = Health::new(Duration::from_secs(1));
        assert!(health.is_up());

        health.failed("a read", &"connection refused");
        let during = health.is_up();
        tokio::time::advance(Duration::from_millis(1001)).await;

        assert!(!during);
        assert!(health.is_up(), "Redis is tried again after the pause");
    }

    #[tokio::test(start_paused = true)]
    async fn warnings_are_rate_limited_and_count_what_they_suppress() {
        let gate = WarnGate::new(Duration::from_secs(10));

        gate.warn("a", &"e");
        gate.warn("b", &"e");
        gate.warn("c", &"e");
        let suppressed = gate.suppressed.load(Ordering::Relaxed);
        tokio::time::advance(Duration::from_secs(10)).await;
        gate.warn("d", &"e");

        assert_eq!(suppressed, 2);
        assert_eq!(gate.suppressed.load(Ordering::Relaxed), 0, "reported with the next warning");
    }

    #[test]
    fn deferred_invalidations_are_kept_until_settled() {
        let health = Health::new(Duration::from_secs(1));
        health.defer(&["a".into(), "b".into()]);

        health.settled(&["a".into()]);

        assert_eq!(health.pending(), vec!["b".to_owned()]);
    }
}
