//! Contracts of [`OutboxStore`]: idempotent appends, claim leases that hand each due entry
//! to one caller at a time (oldest first), delivery outcomes, redelivery, and the event
//! log listing.
//!
//! Each contract takes a fresh, empty outbox.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use shopkit_core::events::{OutboxEntry, OutboxStatus};
use shopkit_core::ids::EventId;
use shopkit_core::ports::{Cursor, OutboxStore, StoreError};

use crate::fixtures::{at, event, events, t0};
use crate::support::{Must, race};

fn lease() -> Duration {
    Duration::seconds(30)
}

async fn entry(outbox: &dyn OutboxStore, id: EventId) -> OutboxEntry {
    let mut cursor = None;
    for _ in 0..1000 {
        let page = outbox.list(None, cursor, 100).await.must("list the outbox");
        if let Some(e) = page.items.into_iter().find(|e| e.envelope.id == id) {
            return e;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    panic!("event {id} is not in the outbox");
}

fn ids(entries: &[OutboxEntry]) -> Vec<EventId> {
    entries.iter().map(|e| e.envelope.id).collect()
}

/// `append` is idempotent by event id: appending an id again changes nothing.
pub async fn append_is_idempotent_by_event_id(outbox: Arc<dyn OutboxStore>) {
    // Arrange
    let evs = events(3, t0());
    outbox.append(&evs).await.must("append");
    let mut changed = evs[0].clone();
    changed.occurred_at = at(999);

    // Act
    outbox.append(&evs).await.must("append the same events again");
    outbox.append(&[changed]).await.must("append an existing id with other content");

    // Assert
    let all = outbox.list(None, None, 100).await.must("list");
    assert_eq!(all.items.len(), 3, "appending an id again adds no entry");
    assert_eq!(
        entry(&*outbox, evs[0].id).await.envelope,
        evs[0],
        "appending an id again changes nothing"
    );
}

/// `claim_due` hands out due `Pending` entries oldest first, marks them `InFlight` until
/// `now + lease`, and leaves entries not yet due.
pub async fn claim_due_claims_due_entries_oldest_first(outbox: Arc<dyn OutboxStore>) {
    // Arrange
    let late = event(at(3));
    let oldest = event(at(1));
    let middle = event(at(2));
    let future = event(at(100));
    outbox.append(&[late.clone(), oldest.clone(), future.clone()]).await.must("append");
    outbox.append(std::slice::from_ref(&middle)).await.must("append");

    // Act
    let first = outbox.claim_due(at(10), lease(), 2).await.must("claim 2");
    let second = outbox.claim_due(at(10), lease(), 10).await.must("claim the rest");

    // Assert
    assert_eq!(ids(&first), vec![oldest.id, middle.id], "oldest first, at most `limit`");
    assert_eq!(ids(&second), vec![late.id], "entries not yet due are not claimed");
    for e in first.iter().chain(&second) {
        assert_eq!(e.status, OutboxStatus::InFlight, "a claimed entry is InFlight");
    }
    let claimed = entry(&*outbox, oldest.id).await;
    assert_eq!(claimed.status, OutboxStatus::InFlight);
    assert_eq!(claimed.next_attempt_at, at(10) + lease(), "InFlight until now + lease");
    assert_eq!(entry(&*outbox, future.id).await.status, OutboxStatus::Pending);
}

/// An `InFlight` entry is not claimed again until its lease passes; then it is.
pub async fn a_claim_is_leased_until_it_expires(outbox: Arc<dyn OutboxStore>) {
    // Arrange
    let e = event(t0());
    outbox.append(std::slice::from_ref(&e)).await.must("append");
    outbox.claim_due(at(1), lease(), 10).await.must("claim");

    // Act
    let during = outbox
        .claim_due(at(1) + lease() - Duration::seconds(1), lease(), 10)
        .await
        .must("claim during lease");
    let after = outbox
        .claim_due(at(1) + lease() + Duration::seconds(1), lease(), 10)
        .await
        .must("claim after lease");

    // Assert
    assert!(during.is_empty(), "an entry is not handed out twice during its lease");
    assert_eq!(ids(&after), vec![e.id], "an entry whose lease passed is due again");
}

/// 8 dispatchers claim concurrently until nothing is left: every entry is handed out
/// exactly once.
pub async fn concurrent_claimers_never_get_the_same_entry(outbox: Arc<dyn OutboxStore>) {
    // Arrange
    let evs = events(60, t0());
    outbox.append(&evs).await.must("append");

    // Act
    let claims = race(8, |_| {
        let outbox = Arc::clone(&outbox);
        async move {
            let mut mine = Vec::new();
            for _ in 0..100 {
                let batch = outbox.claim_due(at(100), lease(), 3).await.must("claim");
                if batch.is_empty() {
                    break;
                }
                mine.extend(batch.into_iter().map(|e| e.envelope.id));
            }
            mine
        }
    })
    .await;

    // Assert
    let all: Vec<EventId> = claims.into_iter().flatten().collect();
    let unique: HashSet<EventId> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "no entry may be handed to two claimers");
    assert_eq!(unique, evs.iter().map(|e| e.id).collect(), "every due entry is claimed");
}

/// `mark_delivered` records the subscribers and the entry is never claimed again.
pub async fn delivered_entries_are_not_claimed_again(outbox: Arc<dyn OutboxStore>) {
    // Arrange
    let e = event(t0());
    outbox.append(std::slice::from_ref(&e)).await.must("append");
    outbox.claim_due(at(1), lease(), 10).await.must("claim");

    // Act
    outbox.mark_delivered(e.id, &["mail".into(), "ledger".into()]).await.must("mark delivered");

    // Assert
    let stored = entry(&*outbox, e.id).await;
    assert_eq!(stored.status, OutboxStatus::Delivered);
    assert_eq!(stored.delivered_to, vec!["mail".to_owned(), "ledger".to_owned()]);
    let later = outbox.claim_due(at(1) + lease() * 10, lease(), 10).await.must("claim later");
    assert!(later.is_empty(), "a delivered entry is never due again");
}

/// `mark_failed` puts the entry back to `Pending` at `next_attempt_at` with the error and
/// the subscribers that did get it; it is claimed again only then.
pub async fn failed_entries_are_retried_at_their_next_attempt(outbox: Arc<dyn OutboxStore>) {
    // Arrange
    let e = event(t0());
    outbox.append(std::slice::from_ref(&e)).await.must("append");
    outbox.claim_due(at(1), lease(), 10).await.must("claim");

    // Act
    outbox
        .mark_failed(e.id, &["mail".into()], "ledger timed out", at(300))
        .await
        .must("mark failed");

    // Assert
    let stored = entry(&*outbox, e.id).await;
    assert_eq!(stored.status, OutboxStatus::Pending);
    assert_eq!(stored.next_attempt_at, at(300));
    assert_eq!(stored.delivered_to, vec!["mail".to_owned()]);
    assert_eq!(stored.last_error.as_deref(), Some("ledger timed out"));
    assert!(
        outbox.claim_due(at(299), lease(), 10).await.must("claim early").is_empty(),
        "not due before next_attempt_at"
    );
    let retried = outbox.claim_due(at(300), lease(), 10).await.must("claim at next_attempt_at");
    assert_eq!(ids(&retried), vec![e.id]);
    assert_eq!(
        retried[0].delivered_to,
        vec!["mail".to_owned()],
        "the claim carries who already has it"
    );
}

/// `mark_dead` gives up on an entry: it is `Dead` and never claimed again.
pub async fn dead_entries_are_not_claimed(outbox: Arc<dyn OutboxStore>) {
    // Arrange
    let e = event(t0());
    outbox.append(std::slice::from_ref(&e)).await.must("append");
    outbox.claim_due(at(1), lease(), 10).await.must("claim");

    // Act
    outbox.mark_dead(e.id, &[], "malformed payload").await.must("mark dead");

    // Assert
    let stored = entry(&*outbox, e.id).await;
    assert_eq!(stored.status, OutboxStatus::Dead);
    assert_eq!(stored.last_error.as_deref(), Some("malformed payload"));
    assert!(
        outbox.claim_due(at(10_000), lease(), 10).await.must("claim").is_empty(),
        "dead entries are not due"
    );
}

/// `redeliver` puts a `Delivered` or `Dead` entry back to `Pending`, due now, with its
/// `delivered_to` cleared.
pub async fn redeliver_makes_an_entry_due_now_for_everyone(outbox: Arc<dyn OutboxStore>) {
    // Arrange
    let delivered = event(t0());
    let dead = event(t0());
    outbox.append(&[delivered.clone(), dead.clone()]).await.must("append");
    outbox.claim_due(at(1), lease(), 10).await.must("claim");
    outbox.mark_delivered(delivered.id, &["mail".into()]).await.must("mark delivered");
    outbox.mark_dead(dead.id, &["mail".into()], "gave up").await.must("mark dead");

    // Act
    outbox.redeliver(delivered.id, at(500)).await.must("redeliver a delivered entry");
    outbox.redeliver(dead.id, at(500)).await.must("redeliver a dead entry");

    // Assert
    for id in [delivered.id, dead.id] {
        let stored = entry(&*outbox, id).await;
        assert_eq!(stored.status, OutboxStatus::Pending, "redelivered entries are Pending");
        assert!(stored.next_attempt_at <= at(500), "redelivered entries are due now");
        assert!(stored.delivered_to.is_empty(), "redeliver clears delivered_to");
    }
    let mut claimed = ids(&outbox.claim_due(at(500), lease(), 10).await.must("claim"));
    claimed.sort();
    let mut want = vec![delivered.id, dead.id];
    want.sort();
    assert_eq!(claimed, want);
}

/// `list` is newest first, filters by status, pages without repeats or gaps, and rejects
/// a foreign cursor.
pub async fn list_is_newest_first_and_filters_by_status(outbox: Arc<dyn OutboxStore>) {
    // Arrange
    let evs = events(7, t0());
    outbox.append(&evs).await.must("append");
    let claimed = outbox.claim_due(at(1), lease(), 2).await.must("claim the two oldest");
    for e in &claimed {
        outbox.mark_delivered(e.envelope.id, &[]).await.must("mark delivered");
    }

    // Act
    let mut all = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..100 {
        let page = outbox.list(None, cursor, 3).await.must("list");
        assert!(page.items.len() <= 3);
        all.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let delivered =
        outbox.list(Some(OutboxStatus::Delivered), None, 100).await.must("list delivered");
    let foreign = outbox.list(None, Some(Cursor("bogus".into())), 10).await;

    // Assert
    let want: Vec<EventId> = evs.iter().rev().map(|e| e.id).collect();
    assert_eq!(ids(&all), want, "newest first, each entry once");
    let mut got = ids(&delivered.items);
    got.sort();
    let mut want_delivered = vec![evs[0].id, evs[1].id];
    want_delivered.sort();
    assert_eq!(got, want_delivered, "status filter");
    assert!(
        matches!(foreign, Err(StoreError::InvalidCursor)),
        "a foreign cursor must be InvalidCursor, got {foreign:?}"
    );
}
