//! The event subscribers a profile hands to the outbox worker.

use std::sync::Arc;

use shopkit_core::ports::EventSubscriber;

/// The subscribers the outbox delivers to (restock, notifications, ledger, CRM, analytics,
/// recommendations), in delivery order.
#[derive(Clone)]
pub struct Subscribers(Vec<Arc<dyn EventSubscriber>>);

impl Subscribers {
    /// Wraps a list.
    pub fn new(list: Vec<Arc<dyn EventSubscriber>>) -> Self {
        Subscribers(list)
    }

    /// The list.
    pub fn list(&self) -> Vec<Arc<dyn EventSubscriber>> {
        self.0.clone()
    }
}

impl std::fmt::Debug for Subscribers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|s| s.name())).finish()
    }
}
