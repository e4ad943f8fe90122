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
                let contact = CrmContact { customer: *customer_id, email: email.clone(), orders: 0 };
                self.crm.upsert_contact(&contact).await.map_err(integration)
            }
            DomainEvent::OrderPlaced { customer_id: Some(customer), .. } => {
                self.crm.record_activity(*customer, envelope.id, envelope.event.kind()).await.map_err(integration)
            }
            _ => Ok(()),
        }
    }
}
