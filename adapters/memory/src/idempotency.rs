//! [`MemoryIdempotency`]: one remembered result per `(scope, key)`.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use shopkit_core::ids::IdempotencyKey;
use shopkit_core::ports::{IdempotencyBegin, IdempotencyStore, StoreError};

type RecordKey = (String, IdempotencyKey);

#[derive(Debug)]
enum Progress {
    /// Owned by a caller until the lease ends.
    Started { lease_until: DateTime<Utc> },
    /// Done; replayed until the retention ends (see `State::expiries`).
    Completed { result: String },
}

#[derive(Debug)]
struct Record {
    fingerprint: String,
    progress: Progress,
}

#[derive(Debug, Default)]
struct State {
    records: HashMap<RecordKey, Record>,
    /// Completed records by expiry, so expired ones are dropped without a scan.
    expiries: BTreeSet<(DateTime<Utc>, RecordKey)>,
}

impl State {
    /// Drops completed records whose retention ended at or before `now`.
    fn purge(&mut self, now: DateTime<Utc>) {
        while let Some(first) = self.expiries.first() {
            if first.0 > now {
                break;
            }
            if let Some((_, key)) = self.expiries.pop_first() {
                self.records.remove(&key);
            }
        }
    }
}

fn after(now: DateTime<Utc>, span: Duration, what: &str) -> Result<DateTime<Utc>, StoreError> {
    now.checked_add_signed(span).ok_or_else(|| StoreError::Invalid {
        reason: format!("a {what} of {span} from {now} is out of range: use a shorter one"),
    })
}

/// The in-memory [`IdempotencyStore`].
///
/// - `begin` decides under one lock, so of many concurrent callers exactly one gets
///   `Started`; a different fingerprint is `Mismatch` (whatever the record's state); a
///   started record whose lease has ended (`now >= lease_until`) is taken over;
/// - `complete` stores the result for `retention`; completing a record that is already
///   completed keeps the first result (a replay never changes); completing a key that is
///   not recorded (never begun, abandoned or expired) fails with `NotFound`;
/// - completed records vanish once their retention ends (dropped on the next call that
///   passes a later `now`), so the store does not grow without bound;
/// - `abandon` forgets a started record; a completed one is kept, an unknown key is fine.
///
/// Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryIdempotency {
    state: Arc<Mutex<State>>,
}

impl MemoryIdempotency {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotency {
    async fn begin(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyBegin, StoreError> {
        let lease_until = after(now, lease, "lease")?;
        let mut state = self.lock();
        state.purge(now);
        let record_key = (scope.to_owned(), key.clone());
        let Some(record) = state.records.get_mut(&record_key) else {
            let record = Record {
                fingerprint: fingerprint.to_owned(),
                progress: Progress::Started { lease_until },
            };
            state.records.insert(record_key, record);
            return Ok(IdempotencyBegin::Started);
        };
        if record.fingerprint != fingerprint {
            return Ok(IdempotencyBegin::Mismatch);
        }
        Ok(match &mut record.progress {
            Progress::Completed { result } => IdempotencyBegin::Completed(result.clone()),
            Progress::Started { lease_until: current } if now >= *current => {
                *current = lease_until;
                IdempotencyBegin::Started
            }
            Progress::Started { .. } => IdempotencyBegin::InProgress,
        })
    }

    async fn complete(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        result: &str,
        now: DateTime<Utc>,
        retention: Duration,
    ) -> Result<(), StoreError> {
        let expires_at = after(now, retention, "retention")?;
        let mut state = self.lock();
        state.purge(now);
        let record_key = (scope.to_owned(), key.clone());
        let record = state
            .records
            .get_mut(&record_key)
            .ok_or_else(|| StoreError::not_found("idempotency key", format!("{scope}/{key}")))?;
        if let Progress::Completed { .. } = record.progress {
            return Ok(());
        }
        record.progress = Progress::Completed { result: result.to_owned() };
        state.expiries.insert((expires_at, record_key));
        Ok(())
    }

    async fn abandon(&self, scope: &str, key: &IdempotencyKey) -> Result<(), StoreError> {
        let mut state = self.lock();
        let record_key = (scope.to_owned(), key.clone());
        if let Some(Record { progress: Progress::Started { .. }, .. }) =
            state.records.get(&record_key)
        {
            state.records.remove(&record_key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn key(raw: &str) -> IdempotencyKey {
        IdempotencyKey::new(raw).unwrap()
    }

    const LEASE: Duration = Duration::seconds(30);

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_many_concurrent_callers_exactly_one_starts() {
        let store = MemoryIdempotency::new();
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(
                    async move { store.begin("checkout", &key("k1"), "fp", t0(), LEASE).await },
                )
            })
            .collect();
        let mut started = 0;
        for task in tasks {
            match task.await.unwrap().unwrap() {
                IdempotencyBegin::Started => started += 1,
                other => assert_eq!(other, IdempotencyBegin::InProgress),
            }
        }
        assert_eq!(started, 1);
    }

    #[tokio::test]
    async fn a_lapsed_lease_can_be_taken_over_once() {
        let store = MemoryIdempotency::new();
        store.begin("checkout", &key("k1"), "fp", t0(), LEASE).await.unwrap();
        let later = t0() + LEASE;

        let before = store
            .begin("checkout", &key("k1"), "fp", later - Duration::seconds(1), LEASE)
            .await
            .unwrap();
        let takeover = store.begin("checkout", &key("k1"), "fp", later, LEASE).await.unwrap();
        let after_takeover = store.begin("checkout", &key("k1"), "fp", later, LEASE).await.unwrap();

        assert_eq!(before, IdempotencyBegin::InProgress);
        assert_eq!(takeover, IdempotencyBegin::Started);
        assert_eq!(after_takeover, IdempotencyBegin::InProgress);
    }

    #[tokio::test]
    async fn a_result_is_replayed_until_its_retention_ends_and_then_vanishes() {
        let store = MemoryIdempotency::new();
        store.begin("checkout", &key("k1"), "fp", t0(), LEASE).await.unwrap();
        store.complete("checkout", &key("k1"), "order-1", t0(), Duration::hours(24)).await.unwrap();
        store.complete("checkout", &key("k1"), "order-2", t0(), Duration::hours(24)).await.unwrap();

        let replay = store
            .begin("checkout", &key("k1"), "fp", t0() + Duration::hours(23), LEASE)
            .await
            .unwrap();
        let other = store
            .begin("checkout", &key("k1"), "other", t0() + Duration::hours(23), LEASE)
            .await
            .unwrap();
        let fresh = store
            .begin("checkout", &key("k1"), "other", t0() + Duration::hours(24), LEASE)
            .await
            .unwrap();

        assert_eq!(replay, IdempotencyBegin::Completed("order-1".into()));
        assert_eq!(other, IdempotencyBegin::Mismatch);
        assert_eq!(fresh, IdempotencyBegin::Started);
        assert_eq!(store.lock().expiries.len(), 0);
    }

    #[tokio::test]
    async fn scopes_keep_keys_apart_and_abandon_frees_a_key() {
        let store = MemoryIdempotency::new();
        store.begin("checkout", &key("k1"), "fp", t0(), LEASE).await.unwrap();
        let other_scope = store.begin("refund", &key("k1"), "fp2", t0(), LEASE).await.unwrap();
        store.abandon("checkout", &key("k1")).await.unwrap();

        let again = store.begin("checkout", &key("k1"), "fp3", t0(), LEASE).await.unwrap();

        assert_eq!(other_scope, IdempotencyBegin::Started);
        assert_eq!(again, IdempotencyBegin::Started);
    }

    #[tokio::test]
    async fn completing_an_unknown_key_is_not_found() {
        let store = MemoryIdempotency::new();
        let err = store
            .complete("checkout", &key("nope"), "r", t0(), Duration::hours(1))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }));
    }

    #[tokio::test]
    async fn abandon_keeps_a_completed_result() {
        let store = MemoryIdempotency::new();
        store.begin("checkout", &key("k1"), "fp", t0(), LEASE).await.unwrap();
        store.complete("checkout", &key("k1"), "order-1", t0(), Duration::hours(1)).await.unwrap();

        store.abandon("checkout", &key("k1")).await.unwrap();

        let replay = store.begin("checkout", &key("k1"), "fp", t0(), LEASE).await.unwrap();
        assert_eq!(replay, IdempotencyBegin::Completed("order-1".into()));
    }
}
