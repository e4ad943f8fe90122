//! Every event to the analytics sink.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::CustomerId;
use crate::money::Money;
use crate::ports::{AnalyticsEvent, AnalyticsSink, EventSubscriber, SubscriberError};

use super::integration;

/// Tracks every event by its kind (`order_placed`), with ids, amounts and counts as
/// properties. No personal data: emails, names, addresses and free-text reasons stay out.
#[derive(Clone)]
pub struct AnalyticsSubscriber {
    sink: Arc<dyn AnalyticsSink>,
}

impl std::fmt::Debug for AnalyticsSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticsSubscriber").finish_non_exhaustive()
    }
}

impl AnalyticsSubscriber {
    /// A subscriber feeding `sink`.
    pub fn new(sink: Arc<dyn AnalyticsSink>) -> Self {
        AnalyticsSubscriber { sink }
    }
}

fn money(props: &mut BTreeMap<String, String>, name: &str, m: &Money) {
    props.insert(name.to_owned(), m.amount().to_string());
    props.insert("currency".to_owned(), m.currency().code().to_owned());
}

/// The customer and properties of an event.
fn describe(event: &DomainEvent) -> (Option<CustomerId>, BTreeMap<String, String>) {
    let mut props = BTreeMap::new();
    if let Some(order) = event.order_id() {
        props.insert("order_id".to_owned(), order.to_string());
    }
    let customer = match event {
        DomainEvent::OrderPlaced { customer_id, total, tax, shipping, lines, .. } => {
            money(&mut props, "total", total);
            money(&mut props, "tax", tax);
            money(&mut props, "shipping", shipping);
            props.insert("lines".to_owned(), lines.len().to_string());
            props.insert(
                "units".to_owned(),
                lines.iter().map(|l| u64::from(l.quantity)).sum::<u64>().to_string(),
            );
            *customer_id
        }
        DomainEvent::OrderPaid { amount, .. } => {
            money(&mut props, "amount", amount);
            None
        }
        DomainEvent::OrderShipped { shipment_id, lines, tracking, .. } => {
            props.insert("shipment_id".to_owned(), shipment_id.to_string());
            props.insert(
                "units".to_owned(),
                lines.iter().map(|l| u64::from(l.quantity)).sum::<u64>().to_string(),
            );
            if let Some(t) = tracking {
                props.insert("carrier".to_owned(), t.carrier.clone());
            }
            None
        }
        DomainEvent::OrderCancelled { lines, .. } => {
            props.insert(
                "units".to_owned(),
                lines.iter().map(|l| u64::from(l.quantity)).sum::<u64>().to_string(),
            );
            None
        }
        DomainEvent::RefundRequested { refund_id, amount, .. }
        | DomainEvent::RefundApproved { refund_id, amount, .. } => {
            props.insert("refund_id".to_owned(), refund_id.to_string());
            money(&mut props, "amount", amount);
            None
        }
        DomainEvent::RefundProcessed { refund_id, amount, restock, .. } => {
            props.insert("refund_id".to_owned(), refund_id.to_string());
            money(&mut props, "amount", amount);
            props.insert(
                "restocked_units".to_owned(),
                restock.iter().map(|l| u64::from(l.quantity)).sum::<u64>().to_string(),
            );
            None
        }
        DomainEvent::RefundRejected { refund_id, .. }
        | DomainEvent::RefundFailed { refund_id, .. } => {
            props.insert("refund_id".to_owned(), refund_id.to_string());
            None
        }
        DomainEvent::OrderDelivered { .. }
        | DomainEvent::OrderCancellationStarted { .. }
        | DomainEvent::OrderCancellationAbandoned { .. } => None,
        DomainEvent::CustomerRegistered { customer_id, .. } => Some(*customer_id),
        DomainEvent::CartAbandoned { cart_id, customer_id, item_count } => {
            props.insert("cart_id".to_owned(), cart_id.to_string());
            props.insert("units".to_owned(), item_count.to_string());
            Some(*customer_id)
        }
    };
    (customer, props)
}

#[async_trait]
impl EventSubscriber for AnalyticsSubscriber {
    fn name(&self) -> &str {
        "analytics"
    }

    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), SubscriberError> {
        let (customer, properties) = describe(&envelope.event);
        let event = AnalyticsEvent {
            id: envelope.id,
            name: envelope.event.kind().to_owned(),
            customer,
            at: envelope.occurred_at,
            properties,
        };
        self.sink.track(&event).await.map_err(integration)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::ids::{EventId, OrderId};
    use crate::ports::IntegrationError;
    use crate::services::test_support::*;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<AnalyticsEvent>>);

    #[async_trait]
    impl AnalyticsSink for Recorded {
        async fn track(&self, event: &AnalyticsEvent) -> Result<(), IntegrationError> {
            self.0.lock().unwrap().push(event.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn every_event_is_tracked_by_kind_without_personal_data() {
        let sink = Arc::new(Recorded::default());
        let subscriber = AnalyticsSubscriber::new(sink.clone());
        let placed = EventEnvelope {
            id: EventId::from_uuid(uuid::Uuid::from_u128(1)),
            occurred_at: start(),
            event: DomainEvent::OrderPlaced {
                order_id: OrderId::from_uuid(uuid::Uuid::from_u128(2)),
                customer_id: Some(ann()),
                email: email(),
                total: usd(25_00),
                tax: usd(0),
                shipping: usd(5_00),
                lines: vec![],
            },
        };

        subscriber.handle(&placed).await.unwrap();

        let tracked = sink.0.lock().unwrap()[0].clone();
        assert_eq!(
            (tracked.name.as_str(), tracked.customer, tracked.id),
            ("order_placed", Some(ann()), placed.id)
        );
        assert_eq!(tracked.properties["total"], "25.00");
        assert_eq!(tracked.properties["currency"], "USD");
        assert!(tracked.properties.values().all(|v| !v.contains('@')), "no email in analytics");
    }
}
