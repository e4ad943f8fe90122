//! Contacts and their activity in the CRM.

use std::sync::Arc;

use async_trait::async_trait;

use crate::events::{DomainEvent, EventEnvelope};
use crate::ports::{Crm, CrmContact, EventSubscriber, SubscriberError};

use super::integration;

/// `CustomerRegistered` upserts a contact; `OrderPlaced` by a signed-in customer records an
/// `order_placed` activity on their timeline (keyed by the event id). Guest orders have no
/// contact and are skipped.
#[derive(Clone)]
pub struct CrmSubscriber {
    crm: Arc<dyn Crm>,
}

impl std::fmt::Debug for CrmSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrmSubscriber").finish_non_exhaustive()
    }
}

impl CrmSubscriber {
    /// A subscriber feeding `crm`.
    pub fn new(crm: Arc<dyn Crm>) -> Self {
        CrmSubscriber { crm }
    }
}

#[async_trait]
impl EventSubscriber for CrmSubscriber {
    fn name(&self) -> &str {
        "crm"
    }

    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), SubscriberError> {
        match &envelope.event {
            DomainEvent::CustomerRegistered { customer_id, email } => {
                let contact =
                    CrmContact { customer: *customer_id, email: email.clone(), orders: 0 };
                self.crm.upsert_contact(&contact).await.map_err(integration)
            }
            DomainEvent::OrderPlaced { customer_id: Some(customer), .. } => self
                .crm
                .record_activity(*customer, envelope.id, envelope.event.kind())
                .await
                .map_err(integration),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::ids::{CustomerId, EventId, OrderId};
    use crate::ports::IntegrationError;
    use crate::services::test_support::*;

    #[derive(Default)]
    struct Recorded {
        contacts: Mutex<Vec<CrmContact>>,
        activities: Mutex<Vec<(CustomerId, EventId, String)>>,
    }

    #[async_trait]
    impl Crm for Recorded {
        async fn upsert_contact(&self, contact: &CrmContact) -> Result<(), IntegrationError> {
            self.contacts.lock().unwrap().push(contact.clone());
            Ok(())
        }
        async fn record_activity(
            &self,
            customer: CustomerId,
            event: EventId,
            activity: &str,
        ) -> Result<(), IntegrationError> {
            self.activities.lock().unwrap().push((customer, event, activity.to_owned()));
            Ok(())
        }
    }

    fn envelope(event: DomainEvent) -> EventEnvelope {
        EventEnvelope {
            id: EventId::from_uuid(uuid::Uuid::from_u128(9)),
            occurred_at: start(),
            event,
        }
    }

    #[tokio::test]
    async fn registrations_become_contacts_and_customer_orders_become_activities() {
        let crm = Arc::new(Recorded::default());
        let subscriber = CrmSubscriber::new(crm.clone());
        let order = |customer| DomainEvent::OrderPlaced {
            order_id: OrderId::from_uuid(uuid::Uuid::from_u128(2)),
            customer_id: customer,
            email: email(),
            total: usd(1),
            tax: usd(0),
            shipping: usd(0),
            lines: vec![],
        };

        subscriber
            .handle(&envelope(DomainEvent::CustomerRegistered {
                customer_id: ann(),
                email: email(),
            }))
            .await
            .unwrap();
        subscriber.handle(&envelope(order(Some(ann())))).await.unwrap();
        subscriber.handle(&envelope(order(None))).await.unwrap();

        assert_eq!(
            crm.contacts.lock().unwrap()[0],
            CrmContact { customer: ann(), email: email(), orders: 0 }
        );
        let activities = crm.activities.lock().unwrap().clone();
        assert_eq!(
            activities,
            [(ann(), EventId::from_uuid(uuid::Uuid::from_u128(9)), "order_placed".to_owned())]
        );
    }
}
