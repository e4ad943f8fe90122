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

use chrono::Duration;

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
        f.debug_struct("Dispatcher")
            .field("subscribers", &names)
            .field("config", &self.config)
            .finish_non_exhaustive()
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
            // The claim counted this attempt (a claim that crashed counts too, so an event
            // that kills its dispatcher still goes dead eventually).
            let attempt = entry.attempts.max(1);
            let mut delivered_to = entry.delivered_to.clone();
            let outcome = self.deliver(&entry, &mut delivered_to).await;
            let recorded = match outcome {
                Outcome::Delivered => {
                    report.delivered += 1;
                    self.outbox.mark_delivered(id, &delivered_to).await
                }
                Outcome::Failed { error, permanent }
                    if permanent || attempt >= self.config.max_attempts =>
                {
                    tracing::warn!(event = %id, kind = entry.envelope.event.kind(), %error, "event delivery gave up");
                    report.dead += 1;
                    self.outbox.mark_dead(id, &delivered_to, &error).await
                }
                Outcome::Failed { error, .. } => {
                    let next = now + self.backoff(id, attempt - 1);
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
        if errors.is_empty() {
            Outcome::Delivered
        } else {
            Outcome::Failed { error: errors.join("; "), permanent }
        }
    }

    /// The delay after the `failed`-th failed attempt of `event` (0 for the first failure).
    pub fn backoff(&self, event: EventId, failed: u32) -> Duration {
        backoff(&self.config, event, failed)
    }
}

/// `base × 2^attempts`, capped at `max`, plus jitter of up to a quarter derived from the
/// event id, still capped at `max`.
fn backoff(config: &DispatchConfig, event: EventId, attempts: u32) -> Duration {
    let base = config.base_backoff.num_milliseconds().max(0);
    let max = config.max_backoff.num_milliseconds().max(0);
    let exponential =
        base.saturating_mul(1i64.checked_shl(attempts.min(62)).unwrap_or(i64::MAX)).min(max);
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

#[cfg(test)]
mod delivery_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::events::{DomainEvent, EventEnvelope, OutboxStatus};
    use crate::ids::CustomerId;
    use crate::ports::{Message, NotifyError};
    use crate::services::subscribers::NotificationSubscriber;
    use crate::services::test_support::*;

    fn config() -> DispatchConfig {
        DispatchConfig {
            base_backoff: Duration::seconds(10),
            max_backoff: Duration::minutes(10),
            ..DispatchConfig::default()
        }
    }

    fn subscriber(
        name: &'static str,
        outcome: fn() -> Result<(), SubscriberError>,
        calls: usize,
    ) -> Arc<dyn EventSubscriber> {
        let mut mock = MockSubscriber::new();
        mock.expect_name().return_const(name.to_owned());
        mock.expect_handle().times(calls).returning(move |_| outcome());
        Arc::new(mock)
    }

    async fn one_event(world: &World) -> EventEnvelope {
        let envelope = EventEnvelope {
            id: EventId::from_uuid(uuid::Uuid::from_u128(42)),
            occurred_at: start(),
            event: DomainEvent::CustomerRegistered {
                customer_id: CustomerId::from_uuid(uuid::Uuid::from_u128(7)),
                email: email(),
            },
        };
        world.outbox.append(std::slice::from_ref(&envelope)).await.unwrap();
        envelope
    }

    #[tokio::test]
    async fn a_notifier_outage_loses_nothing_and_the_event_is_delivered_once_it_is_back() {
        let world = World::new();
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;
        let order = world.shop().checkout().checkout(request(&cart, &access, "k-1")).await.unwrap();
        let sent: Arc<Mutex<Vec<Message>>> = Arc::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let mut notifier = MockNotifier::new();
        let (log, count) = (sent.clone(), calls.clone());
        notifier.expect_send().times(2).returning(move |m| {
            if count.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(NotifyError::Unavailable { message: "SES throttled".into() });
            }
            log.lock().unwrap().push(m.clone());
            Ok("msg-1".into())
        });
        let notifications =
            NotificationSubscriber::new(Arc::new(notifier), world.customers.clone(), "Shop");
        let dispatcher = world.shop().dispatcher_with(vec![Arc::new(notifications)], config());

        let first = dispatcher.run_once().await.unwrap();
        assert_eq!(first, DispatchReport { delivered: 0, retried: 1, dead: 0 });
        assert_eq!(world.orders.all().len(), 1, "the order stands whatever the notifier does");
        let entry = &world.outbox.entries()[0];
        assert_eq!(entry.status, OutboxStatus::Pending);
        assert!(entry.last_error.as_deref().is_some_and(|e| e.contains("SES throttled")));
        assert_eq!(dispatcher.run_once().await.unwrap().total(), 0, "not due before its backoff");

        world.clock.advance(Duration::minutes(1));
        let second = dispatcher.run_once().await.unwrap();

        assert_eq!(second, DispatchReport { delivered: 1, retried: 0, dead: 0 });
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].dedup_key,
            format!("{}:order_placed", world.outbox.entries()[0].envelope.id)
        );
        assert_eq!(sent[0].to, "ann@example.com");
        assert!(
            sent[0].text.contains("Total: 25.00 USD")
                && sent[0].text.contains(&order.id().to_string())
        );
        assert_eq!(world.outbox.entries()[0].status, OutboxStatus::Delivered);
    }

    #[tokio::test]
    async fn a_permanent_subscriber_error_goes_dead_after_recording_who_has_the_event() {
        let world = World::new();
        one_event(&world).await;
        let dispatcher = world.shop().dispatcher_with(
            vec![
                subscriber("analytics", || Ok(()), 1),
                subscriber(
                    "ledger",
                    || Err(SubscriberError::Permanent("no such account".into())),
                    1,
                ),
            ],
            config(),
        );

        let report = dispatcher.run_once().await.unwrap();

        assert_eq!(report, DispatchReport { delivered: 0, retried: 0, dead: 1 });
        let entry = &world.outbox.entries()[0];
        assert_eq!(entry.status, OutboxStatus::Dead);
        assert_eq!(entry.delivered_to, ["analytics"]);
        assert!(
            entry
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("ledger") && e.contains("no such account"))
        );
        world.clock.advance(Duration::hours(1));
        assert_eq!(dispatcher.run_once().await.unwrap().total(), 0, "dead entries are not retried");
    }

    #[tokio::test]
    async fn subscribers_that_have_an_event_are_not_called_again_on_retry() {
        let world = World::new();
        one_event(&world).await;
        let flaky_calls = Arc::new(AtomicUsize::new(0));
        let mut flaky = MockSubscriber::new();
        flaky.expect_name().return_const("crm".to_owned());
        let count = flaky_calls.clone();
        flaky.expect_handle().times(2).returning(move |_| {
            if count.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(SubscriberError::Transient("CRM down".into()))
            } else {
                Ok(())
            }
        });
        let dispatcher = world.shop().dispatcher_with(
            vec![subscriber("analytics", || Ok(()), 1), Arc::new(flaky)],
            config(),
        );

        assert_eq!(dispatcher.run_once().await.unwrap().retried, 1);
        world.clock.advance(Duration::minutes(1));
        assert_eq!(dispatcher.run_once().await.unwrap().delivered, 1);

        assert_eq!(world.outbox.entries()[0].delivered_to, ["analytics", "crm"]);
    }

    #[tokio::test]
    async fn an_event_goes_dead_when_its_attempts_run_out() {
        let world = World::new();
        one_event(&world).await;
        let dispatcher = world.shop().dispatcher_with(
            vec![subscriber("crm", || Err(SubscriberError::Transient("down".into())), 2)],
            DispatchConfig { max_attempts: 2, ..config() },
        );

        assert_eq!(dispatcher.run_once().await.unwrap().retried, 1);
        world.clock.advance(Duration::minutes(10));
        assert_eq!(dispatcher.run_once().await.unwrap().dead, 1);
        assert_eq!(world.outbox.entries()[0].status, OutboxStatus::Dead);
    }
}
