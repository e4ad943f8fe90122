//! Delivering outbox events to subscribers, at least once.
//!
//! The core never sleeps: the shop's runtime calls [`Dispatcher::run_once`] in a loop (and
//! waits between empty rounds). Each round claims due entries under a lease, so several
//! dispatchers never deliver one entry at once, hands each entry to every subscriber that
//! does not have it yet, and records the outcome:
//! - every subscriber handled it: **delivered**;
//! - one failed transiently: **retried** later, with exponential backoff
//!   (`base × 2^attempts`, capped, plus up to a quarter of jitter derived from the event id:
//!   deterministic, yet entries that failed together do not retry together); the
//!   subscribers that succeeded are recorded and not called again;
//! - one failed permanently, or the attempts ran out: **dead**, with what was delivered
//!   and the error recorded, for a human to redeliver.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::events::OutboxEntry;
use crate::ids::EventId;
use crate::ports::{Clock, EventSubscriber, OutboxStore, SubscriberError};

use super::error::ShopError;

/// How the dispatcher claims and retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchConfig {
    /// Entries claimed per round.
    pub batch: usize,
    /// How long a claim lasts (longer than a round's slowest subscriber calls).
    pub lease: Duration,
    /// Attempts before an entry goes dead.
    pub max_attempts: u32,
    /// The first retry delay.
    pub base_backoff: Duration,
    /// The longest retry delay.
    pub max_backoff: Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            batch: 50,
            lease: Duration::minutes(1),
            max_attempts: 10,
            base_backoff: Duration::seconds(5),
            max_backoff: Duration::hours(1),
        }
    }
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Entries every subscriber now has.
    pub delivered: usize,
    /// Entries scheduled for another attempt.
    pub retried: usize,
    /// Entries given up on.
    pub dead: usize,
}

impl DispatchReport {
    /// Entries handled this round (zero: nothing was due).
    pub fn total(&self) -> usize {
        self.delivered + self.retried + self.dead
    }
}

/// Delivers outbox entries to subscribers.
#[derive(Clone)]
pub struct Dispatcher {
    outbox: Arc<dyn OutboxStore>,
    clock: Arc<dyn Clock>,
    subscribers: Vec<Arc<dyn EventSubscriber>>,
    config: DispatchConfig,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.subscribers.iter().map(|s| s.name()).collect();
        f.debug_struct("Dispatcher").field("subscribers", &names).field("config", &self.config).finish_non_exhaustive()
    }
}

enum Outcome {
    Delivered,
    Failed { error: String, permanent: bool },
}

impl Dispatcher {
    /// A dispatcher for `subscribers` (their names must be unique and stable).
    pub fn new(
        outbox: Arc<dyn OutboxStore>,
        clock: Arc<dyn Clock>,
        subscribers: Vec<Arc<dyn EventSubscriber>>,
        config: DispatchConfig,
    ) -> Self {
        Dispatcher { outbox, clock, subscribers, config }
    }

    /// Claims due entries and delivers them once each; see the [module docs](self).
    ///
    /// # Errors
    /// The outbox's error when entries cannot be claimed. A failure to record an outcome is
    /// logged: the claim lapses and the entry is delivered again (subscribers dedupe).
    pub async fn run_once(&self) -> Result<DispatchReport, ShopError> {
        let now = self.clock.now();
        let entries = self.outbox.claim_due(now, self.config.lease, self.config.batch).await?;
        let mut report = DispatchReport::default();
        for entry in entries {
            let id = entry.envelope.id;
            let mut delivered_to = entry.delivered_to.clone();
            let outcome = self.deliver(&entry, &mut delivered_to).await;
            let recorded = match outcome {
                Outcome::Delivered => {
                    report.delivered += 1;
                    self.outbox.mark_delivered(id, &delivered_to).await
                }
                Outcome::Failed { error, permanent } if permanent || entry.attempts + 1 >= self.config.max_attempts => {
                    tracing::warn!(event = %id, kind = entry.envelope.event.kind(), %error, "event delivery gave up");
                    report.dead += 1;
                    self.outbox.mark_dead(id, &delivered_to, &error).await
                }
                Outcome::Failed { error, .. } => {
                    let next = now + self.backoff(id, entry.attempts);
                    tracing::info!(event = %id, %error, %next, "event delivery will be retried");
                    report.retried += 1;
                    self.outbox.mark_failed(id, &delivered_to, &error, next).await
                }
            };
            if let Err(e) = recorded {
                tracing::warn!(event = %id, error = %e, "delivery outcome not recorded; the entry comes back when its lease ends");
            }
        }
        Ok(report)
    }

    /// Hands the entry to every subscriber that does not have it; records who took it.
    async fn deliver(&self, entry: &OutboxEntry, delivered_to: &mut Vec<String>) -> Outcome {
        let mut errors: Vec<String> = Vec::new();
        let mut permanent = false;
        for subscriber in &self.subscribers {
            let name = subscriber.name();
            if delivered_to.iter().any(|d| d == name) {
                continue;
            }
            match subscriber.handle(&entry.envelope).await {
                Ok(()) => delivered_to.push(name.to_owned()),
                Err(SubscriberError::Transient(reason)) => errors.push(format!("{name}: {reason}")),
                Err(SubscriberError::Permanent(reason)) => {
                    permanent = true;
                    errors.push(format!("{name}: permanent: {reason}"));
                }
            }
        }
        if errors.is_empty() { Outcome::Delivered } else { Outcome::Failed { error: errors.join("; "), permanent } }
    }

    /// The delay before attempt `attempts + 1` of `event`.
    pub fn backoff(&self, event: EventId, attempts: u32) -> Duration {
        backoff(&self.config, event, attempts)
    }

    /// When the next round is worth running: now, if this one was full.
    pub fn next_round_at(&self, report: &DispatchReport, now: DateTime<Utc>, idle: Duration) -> DateTime<Utc> {
        if report.total() >= self.config.batch { now } else { now + idle }
    }
}

/// `base × 2^attempts`, capped at `max`, plus jitter of up to a quarter derived from the
/// event id, still capped at `max`.
fn backoff(config: &DispatchConfig, event: EventId, attempts: u32) -> Duration {
    let base = config.base_backoff.num_milliseconds().max(0);
    let max = config.max_backoff.num_milliseconds().max(0);
    let exponential = base.saturating_mul(1i64.checked_shl(attempts.min(62)).unwrap_or(i64::MAX)).min(max);
    // Up to 25 % more, from the low bits of the event id.
    let permille = i64::from((event.as_uuid().as_u128() % 251) as u16);
    let jitter = exponential / 1000 * permille;
    Duration::milliseconds(exponential.saturating_add(jitter).min(max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn backoff_doubles_is_capped_and_is_deterministic_per_event() {
        let config = DispatchConfig {
            base_backoff: Duration::seconds(10),
            max_backoff: Duration::minutes(5),
            ..DispatchConfig::default()
        };
        let id = EventId::from_uuid(Uuid::from_u128(1000)); // 1000 % 251 = 247 permille
        assert_eq!(backoff(&config, id, 0), Duration::milliseconds(10_000 + 2_470));
        assert_eq!(backoff(&config, id, 1), Duration::milliseconds(20_000 + 4_940));
        assert_eq!(backoff(&config, id, 30), Duration::minutes(5));
        assert_eq!(backoff(&config, id, u32::MAX), Duration::minutes(5));
        let other = EventId::from_uuid(Uuid::from_u128(1001));
        assert_ne!(backoff(&config, id, 2), backoff(&config, other, 2));
        assert_eq!(backoff(&config, id, 2), backoff(&config, id, 2));
    }
}
