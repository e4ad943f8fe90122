//! [`MemoryOutbox`]: the in-memory outbox, shared with the order and customer
//! repositories so that a state change and its events land in one atomic step.
//!
//! # Lock ordering
//! The outbox lock is the innermost lock of this crate: [`MemoryOrders`](crate::MemoryOrders)
//! and [`MemoryCustomers`](crate::MemoryCustomers) take their own lock first, then the
//! outbox's (through [`MemoryOutbox::lock`]), and write both before releasing either. The
//! outbox never takes another lock, so the order `orders -> outbox` and
//! `customers -> outbox` cannot deadlock, and no reader ever sees an order without its
//! events or events without their order.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use shopkit_core::events::{EventEnvelope, OutboxEntry, OutboxStatus};
use shopkit_core::ids::EventId;
use shopkit_core::ports::{Cursor, CursorCodec, OutboxStore, Page, StoreError, clamp_page_limit};

use crate::ids::random_cursor_codec;

/// Where an entry sits in the log: when it happened, then the order it was appended in.
type Position = (DateTime<Utc>, u64);

#[derive(Debug)]
struct Slot {
    position: Position,
    entry: OutboxEntry,
}

/// The outbox's data. Crate-visible so that repositories can append under their own lock
/// (see the module docs for the lock ordering).
#[derive(Debug, Default)]
pub(crate) struct OutboxState {
    next_seq: u64,
    slots: HashMap<EventId, Slot>,
    /// Every entry, by position.
    log: BTreeMap<Position, EventId>,
    /// `Pending` and `InFlight` entries, by position: what `claim_due` looks through.
    undelivered: BTreeMap<Position, EventId>,
}

impl OutboxState {
    /// Appends events, skipping ids already present. Cannot fail, so a repository can call
    /// it after its own checks and be sure the whole write happens.
    pub(crate) fn append(&mut self, events: &[EventEnvelope]) {
        for envelope in events {
            if self.slots.contains_key(&envelope.id) {
                continue;
            }
            let position = (envelope.occurred_at, self.next_seq);
            self.next_seq += 1;
            self.log.insert(position, envelope.id);
            self.undelivered.insert(position, envelope.id);
            self.slots
                .insert(envelope.id, Slot { position, entry: OutboxEntry::new(envelope.clone()) });
        }
    }

    fn slot_mut(&mut self, id: EventId) -> Result<&mut Slot, StoreError> {
        self.slots.get_mut(&id).ok_or_else(|| StoreError::not_found("event", id))
    }

    /// Applies `change` to entry `id` and keeps the `undelivered` index in step.
    fn update(
        &mut self,
        id: EventId,
        change: impl FnOnce(&mut OutboxEntry) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let slot = self.slot_mut(id)?;
        change(&mut slot.entry)?;
        let position = slot.position;
        match slot.entry.status {
            OutboxStatus::Pending | OutboxStatus::InFlight => self.undelivered.insert(position, id),
            OutboxStatus::Delivered | OutboxStatus::Dead => self.undelivered.remove(&position),
        };
        Ok(())
    }
}

/// Adds the subscribers in `more` that `to` lacks, keeping the order they arrived in.
fn merge_delivered(to: &mut Vec<String>, more: &[String]) {
    for name in more {
        if !to.contains(name) {
            to.push(name.clone());
        }
    }
}

fn refuse_terminal(entry: &OutboxEntry, action: &str) -> Result<(), StoreError> {
    match entry.status {
        OutboxStatus::Delivered | OutboxStatus::Dead => Err(StoreError::Invalid {
            reason: format!(
                "event {} is already {:?}: cannot {action} it; use redeliver to send it again",
                entry.envelope.id, entry.status
            ),
        }),
        OutboxStatus::Pending | OutboxStatus::InFlight => Ok(()),
    }
}

fn encode_position((at, seq): Position) -> String {
    format!("{}|{seq}", at.to_rfc3339_opts(SecondsFormat::Nanos, true))
}

fn decode_position(raw: &str) -> Result<Position, StoreError> {
    let (at, seq) = raw.split_once('|').ok_or(StoreError::InvalidCursor)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| StoreError::InvalidCursor)?;
    let seq = seq.parse().map_err(|_| StoreError::InvalidCursor)?;
    Ok((at.with_timezone(&Utc), seq))
}

/// The in-memory [`OutboxStore`].
///
/// - `append` is idempotent by event id;
/// - `claim_due` hands each due entry (`Pending` and due, or `InFlight` with its lease
///   passed) to one caller, oldest first (by `occurred_at`, then append order), and counts
///   the claim as an attempt;
/// - `mark_delivered`, `mark_failed` and `mark_dead` fail with `NotFound` for an unknown id;
///   a failure or death reported for an entry already `Delivered` or `Dead` is refused with
///   `Invalid` (a dispatcher whose lease ran out cannot undo another's outcome);
/// - `redeliver` puts a `Delivered` or `Dead` entry back to `Pending`, due now, with
///   `delivered_to` cleared and the attempt count reset; an `InFlight` entry is refused;
/// - `list` is newest first and pages with opaque cursors.
///
/// Clones share the same log. Pass a clone to [`MemoryOrders::new`](crate::MemoryOrders::new)
/// and [`MemoryCustomers::new`](crate::MemoryCustomers::new) so their writes and events
/// are atomic.
#[derive(Debug, Clone)]
pub struct MemoryOutbox {
    state: Arc<Mutex<OutboxState>>,
    cursors: CursorCodec,
}

impl Default for MemoryOutbox {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryOutbox {
    /// An empty outbox.
    pub fn new() -> Self {
        MemoryOutbox { state: Arc::default(), cursors: random_cursor_codec("outbox") }
    }

    /// Locks the outbox. Callers that hold a lock of their own must have taken it first
    /// (the outbox lock is always the innermost one) and must not `.await` while holding it.
    pub(crate) fn lock(&self) -> MutexGuard<'_, OutboxState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl OutboxStore for MemoryOutbox {
    async fn append(&self, events: &[EventEnvelope]) -> Result<(), StoreError> {
        self.lock().append(events);
        Ok(())
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let lease_until = now.checked_add_signed(lease).ok_or_else(|| StoreError::Invalid {
            reason: format!("a lease of {lease} from {now} is out of range: use a shorter lease"),
        })?;
        if lease_until <= now {
            return Err(StoreError::Invalid { reason: format!("lease {lease} must be positive") });
        }
        let mut state = self.lock();
        let due: Vec<EventId> = state
            .undelivered
            .values()
            .filter(|id| {
                state.slots.get(id).is_some_and(|slot| {
                    matches!(slot.entry.status, OutboxStatus::Pending | OutboxStatus::InFlight)
                        && slot.entry.next_attempt_at <= now
                })
            })
            .take(limit)
            .copied()
            .collect();
        let mut claimed = Vec::with_capacity(due.len());
        for id in due {
            let slot = state.slot_mut(id)?;
            slot.entry.status = OutboxStatus::InFlight;
            slot.entry.next_attempt_at = lease_until;
            slot.entry.attempts = slot.entry.attempts.saturating_add(1);
            claimed.push(slot.entry.clone());
        }
        Ok(claimed)
    }

    async fn mark_delivered(&self, id: EventId, delivered_to: &[String]) -> Result<(), StoreError> {
        self.lock().update(id, |entry| {
            entry.status = OutboxStatus::Delivered;
            merge_delivered(&mut entry.delivered_to, delivered_to);
            Ok(())
        })
    }

    async fn mark_failed(
        &self,
        id: EventId,
        delivered_to: &[String],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.lock().update(id, |entry| {
            refuse_terminal(entry, "mark failed")?;
            entry.status = OutboxStatus::Pending;
            entry.next_attempt_at = next_attempt_at;
            entry.last_error = Some(error.to_owned());
            merge_delivered(&mut entry.delivered_to, delivered_to);
            Ok(())
        })
    }

    async fn mark_dead(
        &self,
        id: EventId,
        delivered_to: &[String],
        error: &str,
    ) -> Result<(), StoreError> {
        self.lock().update(id, |entry| {
            if entry.status != OutboxStatus::Dead {
                refuse_terminal(entry, "mark dead")?;
            }
            entry.status = OutboxStatus::Dead;
            entry.last_error = Some(error.to_owned());
            merge_delivered(&mut entry.delivered_to, delivered_to);
            Ok(())
        })
    }

    async fn redeliver(&self, id: EventId, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.lock().update(id, |entry| match entry.status {
            OutboxStatus::InFlight => Err(StoreError::Invalid {
                reason: format!("event {id} is being delivered right now: wait for the outcome"),
            }),
            OutboxStatus::Pending => {
                entry.next_attempt_at = now;
                Ok(())
            }
            OutboxStatus::Delivered | OutboxStatus::Dead => {
                entry.status = OutboxStatus::Pending;
                entry.next_attempt_at = now;
                entry.delivered_to.clear();
                entry.attempts = 0;
                Ok(())
            }
        })
    }

    async fn list(
        &self,
        status: Option<OutboxStatus>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page<OutboxEntry>, StoreError> {
        let before = match &cursor {
            Some(c) => Bound::Excluded(decode_position(&self.cursors.decode(c)?)?),
            None => Bound::Unbounded,
        };
        let limit = clamp_page_limit(limit);
        let state = self.lock();
        let mut matching = state
            .log
            .range((Bound::Unbounded, before))
            .rev()
            .filter_map(|(_, id)| state.slots.get(id))
            .filter(|slot| status.is_none_or(|s| slot.entry.status == s));
        let page: Vec<&Slot> = matching.by_ref().take(limit).collect();
        let next_cursor = match page.last() {
            Some(last) if matching.next().is_some() => {
                Some(self.cursors.encode(&encode_position(last.position)))
            }
            _ => None,
        };
        Ok(Page { items: page.into_iter().map(|slot| slot.entry.clone()).collect(), next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use shopkit_core::events::DomainEvent;
    use shopkit_core::ids::{CartId, CustomerId};
    use uuid::Uuid;

    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn event(at: DateTime<Utc>) -> EventEnvelope {
        EventEnvelope {
            id: EventId::from_uuid(Uuid::new_v4()),
            occurred_at: at,
            event: DomainEvent::CartAbandoned {
                cart_id: CartId::from_uuid(Uuid::new_v4()),
                customer_id: CustomerId::from_uuid(Uuid::new_v4()),
                item_count: 1,
            },
        }
    }

    /// An outbox holding one event at `t0()`, claimed (`InFlight`) with a 30 s lease.
    async fn outbox_with_one_claimed_event() -> (MemoryOutbox, EventEnvelope) {
        let outbox = MemoryOutbox::new();
        let e = event(t0());
        outbox.append(std::slice::from_ref(&e)).await.unwrap();
        outbox.claim_due(t0(), Duration::seconds(30), 10).await.unwrap();
        (outbox, e)
    }

    fn ids(entries: &[OutboxEntry]) -> Vec<EventId> {
        entries.iter().map(|e| e.envelope.id).collect()
    }

    #[tokio::test]
    async fn appending_an_event_twice_stores_it_once() {
        let outbox = MemoryOutbox::new();
        let e = event(t0());
        outbox.append(&[e.clone(), e.clone()]).await.unwrap();
        outbox.append(&[e]).await.unwrap();
        assert_eq!(outbox.list(None, None, 100).await.unwrap().items.len(), 1);
    }

    #[tokio::test]
    async fn a_claimed_entry_is_not_claimed_again_until_its_lease_passes() {
        let outbox = MemoryOutbox::new();
        let (old, new) = (event(t0()), event(t0() + Duration::seconds(1)));
        outbox.append(&[new.clone(), old.clone()]).await.unwrap();
        let lease = Duration::seconds(30);
        let now = t0() + Duration::seconds(5);

        let first = outbox.claim_due(now, lease, 10).await.unwrap();
        let second = outbox.claim_due(now + Duration::seconds(29), lease, 10).await.unwrap();
        let after_lease = outbox.claim_due(now + Duration::seconds(30), lease, 1).await.unwrap();

        assert_eq!(ids(&first), [old.id, new.id], "oldest first");
        assert!(first.iter().all(|e| e.status == OutboxStatus::InFlight && e.attempts == 1));
        assert!(second.is_empty());
        assert_eq!(ids(&after_lease), [old.id]);
        assert_eq!(after_lease[0].attempts, 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_dispatchers_never_claim_the_same_entry() {
        let outbox = MemoryOutbox::new();
        let events: Vec<EventEnvelope> =
            (0..200).map(|i| event(t0() + Duration::milliseconds(i))).collect();
        outbox.append(&events).await.unwrap();
        let now = t0() + Duration::hours(1);

        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let outbox = outbox.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let batch = outbox.claim_due(now, Duration::minutes(5), 7).await.unwrap();
                        if batch.is_empty() {
                            return mine;
                        }
                        mine.extend(ids(&batch));
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }

        let total = all.len();
        all.sort();
        all.dedup();
        assert_eq!((total, all.len()), (200, 200));
    }

    #[tokio::test]
    async fn a_late_failure_cannot_undo_a_delivery() {
        let (outbox, e) = outbox_with_one_claimed_event().await;
        outbox.mark_delivered(e.id, &["crm".into()]).await.unwrap();

        let late = outbox.mark_failed(e.id, &[], "timeout", t0()).await;

        assert!(matches!(late, Err(StoreError::Invalid { .. })));
        let entry = &outbox.list(None, None, 10).await.unwrap().items[0];
        assert_eq!(entry.status, OutboxStatus::Delivered);
        assert_eq!(entry.delivered_to, ["crm"]);
    }

    #[tokio::test]
    async fn failure_keeps_who_has_it_and_waits_for_the_retry_time() {
        let (outbox, e) = outbox_with_one_claimed_event().await;
        let retry_at = t0() + Duration::minutes(1);

        outbox.mark_failed(e.id, &["crm".into()], "ledger down", retry_at).await.unwrap();

        assert!(
            outbox
                .claim_due(retry_at - Duration::seconds(1), Duration::seconds(30), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let again = outbox.claim_due(retry_at, Duration::seconds(30), 10).await.unwrap();
        assert_eq!(again[0].delivered_to, ["crm"]);
        assert_eq!(again[0].last_error.as_deref(), Some("ledger down"));
    }

    #[tokio::test]
    async fn redelivery_clears_recipients_and_makes_the_entry_due() {
        let (outbox, e) = outbox_with_one_claimed_event().await;
        outbox.mark_dead(e.id, &["crm".into()], "malformed").await.unwrap();
        assert!(
            outbox
                .claim_due(t0() + Duration::days(1), Duration::seconds(30), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let now = t0() + Duration::days(2);

        outbox.redeliver(e.id, now).await.unwrap();

        let entry = &outbox.claim_due(now, Duration::seconds(30), 10).await.unwrap()[0];
        assert!(entry.delivered_to.is_empty());
        assert_eq!(entry.attempts, 1);
    }

    #[tokio::test]
    async fn unknown_ids_are_not_found() {
        let outbox = MemoryOutbox::new();
        let id = EventId::from_uuid(Uuid::new_v4());
        assert!(matches!(outbox.mark_delivered(id, &[]).await, Err(StoreError::NotFound { .. })));
        assert!(matches!(outbox.redeliver(id, t0()).await, Err(StoreError::NotFound { .. })));
    }

    #[tokio::test]
    async fn the_log_pages_newest_first_and_filters_by_status() {
        let outbox = MemoryOutbox::new();
        let events: Vec<EventEnvelope> =
            (0..5).map(|i| event(t0() + Duration::seconds(i))).collect();
        outbox.append(&events).await.unwrap();
        outbox.claim_due(t0(), Duration::seconds(30), 1).await.unwrap();
        outbox.mark_delivered(events[0].id, &[]).await.unwrap();

        let first = outbox.list(None, None, 2).await.unwrap();
        let second = outbox.list(None, first.next_cursor.clone(), 2).await.unwrap();
        let third = outbox.list(None, second.next_cursor.clone(), 2).await.unwrap();
        let delivered = outbox.list(Some(OutboxStatus::Delivered), None, 10).await.unwrap();

        assert_eq!(ids(&first.items), [events[4].id, events[3].id]);
        assert_eq!(ids(&second.items), [events[2].id, events[1].id]);
        assert_eq!(ids(&third.items), [events[0].id]);
        assert_eq!(third.next_cursor, None);
        assert_eq!(ids(&delivered.items), [events[0].id]);
        let forged = Cursor(first.next_cursor.unwrap().0.replace('.', "x."));
        assert!(matches!(outbox.list(None, Some(forged), 2).await, Err(StoreError::InvalidCursor)));
    }
}
