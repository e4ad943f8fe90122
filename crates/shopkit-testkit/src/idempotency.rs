//! Contracts of [`IdempotencyStore`]: one owner per `(scope, key)` under any concurrency,
//! fingerprint mismatches, completed results replayed until retention ends, and abandon.
//!
//! Each contract takes a fresh, empty store.

use std::sync::Arc;

use chrono::Duration;
use shopkit_core::ids::IdempotencyKey;
use shopkit_core::ports::{IdempotencyBegin, IdempotencyStore};

use crate::fixtures::{at, t0, unique};
use crate::support::{Must, race};

const SCOPE: &str = "checkout";

fn key() -> IdempotencyKey {
    IdempotencyKey::new(&format!("key-{}", unique())).must("build an idempotency key")
}

fn lease() -> Duration {
    Duration::seconds(60)
}

fn retention() -> Duration {
    Duration::hours(24)
}

/// 32 concurrent `begin`s with one key: exactly one is `Started`, the others `InProgress`.
pub async fn concurrent_begins_have_exactly_one_owner(store: Arc<dyn IdempotencyStore>) {
    // Arrange
    let k = key();

    // Act
    let results = race(32, |_| {
        let store = Arc::clone(&store);
        let k = k.clone();
        async move { store.begin(SCOPE, &k, "fp-1", t0(), lease()).await }
    })
    .await;

    // Assert
    let mut started = 0;
    for r in results {
        match r.must("begin") {
            IdempotencyBegin::Started => started += 1,
            IdempotencyBegin::InProgress => {}
            other => panic!("a concurrent begin must be Started or InProgress, got {other:?}"),
        }
    }
    assert_eq!(started, 1, "exactly one of 32 concurrent begins must be Started");
}

/// While the owner works (within its lease), another `begin` is `InProgress`.
pub async fn begin_during_the_lease_is_in_progress(store: Arc<dyn IdempotencyStore>) {
    // Arrange
    let k = key();
    assert_eq!(
        store.begin(SCOPE, &k, "fp", t0(), lease()).await.must("begin"),
        IdempotencyBegin::Started
    );

    // Act
    let second = store
        .begin(SCOPE, &k, "fp", t0() + lease() - Duration::seconds(1), lease())
        .await
        .must("begin again");

    // Assert
    assert_eq!(second, IdempotencyBegin::InProgress);
}

/// After `complete`, `begin` replays `Completed(result)` until the retention ends; then the
/// key is new again.
pub async fn completed_results_are_replayed_until_retention_ends(store: Arc<dyn IdempotencyStore>) {
    // Arrange
    let k = key();
    store.begin(SCOPE, &k, "fp", t0(), lease()).await.must("begin");
    store.complete(SCOPE, &k, r#"{"order":"o-1"}"#, at(5), retention()).await.must("complete");

    // Act
    let replay = store.begin(SCOPE, &k, "fp", at(6), lease()).await.must("begin after completion");
    let late_replay = store
        .begin(SCOPE, &k, "fp", at(5) + retention() - Duration::seconds(1), lease())
        .await
        .must("begin");
    let expired = store
        .begin(SCOPE, &k, "fp", at(5) + retention() + Duration::seconds(1), lease())
        .await
        .must("begin");

    // Assert
    assert_eq!(
        replay,
        IdempotencyBegin::Completed(r#"{"order":"o-1"}"#.into()),
        "the stored result is replayed"
    );
    assert_eq!(
        late_replay,
        IdempotencyBegin::Completed(r#"{"order":"o-1"}"#.into()),
        "until retention ends"
    );
    assert_eq!(
        expired,
        IdempotencyBegin::Started,
        "after retention the record has expired: the key is new"
    );
}

/// `begin` with another fingerprint than the stored one is `Mismatch`, in progress or
/// completed.
pub async fn a_different_fingerprint_is_a_mismatch(store: Arc<dyn IdempotencyStore>) {
    // Arrange
    let in_progress = key();
    store.begin(SCOPE, &in_progress, "fp-a", t0(), lease()).await.must("begin");
    let completed = key();
    store.begin(SCOPE, &completed, "fp-a", t0(), lease()).await.must("begin");
    store.complete(SCOPE, &completed, "done", at(1), retention()).await.must("complete");

    // Act
    let r1 = store.begin(SCOPE, &in_progress, "fp-b", at(2), lease()).await.must("begin");
    let r2 = store.begin(SCOPE, &completed, "fp-b", at(2), lease()).await.must("begin");

    // Assert
    assert_eq!(r1, IdempotencyBegin::Mismatch, "another request with an in-progress key");
    assert_eq!(r2, IdempotencyBegin::Mismatch, "another request with a completed key");
}

/// `abandon` deletes an in-progress record: the key can be used again, even with another
/// request.
pub async fn abandon_frees_the_key(store: Arc<dyn IdempotencyStore>) {
    // Arrange
    let k = key();
    store.begin(SCOPE, &k, "fp-a", t0(), lease()).await.must("begin");

    // Act
    store.abandon(SCOPE, &k).await.must("abandon");
    let again = store.begin(SCOPE, &k, "fp-b", at(1), lease()).await.must("begin after abandon");

    // Assert
    assert_eq!(again, IdempotencyBegin::Started);
}

/// Scopes are independent: one key in two scopes has two owners.
pub async fn scopes_are_independent(store: Arc<dyn IdempotencyStore>) {
    // Arrange
    let k = key();
    store.begin("checkout", &k, "fp", t0(), lease()).await.must("begin");

    // Act
    let other =
        store.begin("refund", &k, "other-fp", t0(), lease()).await.must("begin in another scope");

    // Assert
    assert_eq!(other, IdempotencyBegin::Started);
}
